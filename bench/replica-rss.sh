#!/usr/bin/env bash
# A replica's memory after following a loaded writer for a bounded time, both as real
# processes on loopback (libp2p). The writer is loaded by `tally bench --node` (HTTP,
# signed transfers) for DURATION seconds; the replica's resident set and V8 heap are read
# from its /metrics (process_resident_memory_bytes, nodejs_heap_size_used_bytes) every
# 10 s, then once more after it caught up (at most 10 minutes) and idled 10 s; the
# writer's resident set beside it. Both are whole processes (store, executor, block cache
# and libp2p): an upper bound on what the network layer holds.
#
#   npx tsc -p . && bash bench/replica-rss.sh [DURATION=180]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-180}
work=$(mktemp -d /tmp/tally-rss-XXXXXX)
export TALLY_HOME=$work/home TALLY_PASSPHRASE=bench TALLY_SCRYPT_N=1024
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
tally=(node bin/tally.js)

# No rate limit on the writer: the benchmark is one client, and at full load it used up an
# address's 60,000 units a minute (a 10-minute run was refused with rate_limited at 166 s).
"${tally[@]}" node --dev --data "$work/w" --http 127.0.0.1:0 --internal 127.0.0.1:0 --p2p /ip4/127.0.0.1/tcp/0 --rate-limit off --json > "$work/w.log" 2>&1 &
pids+=($!)
until head -1 "$work/w.log" 2>/dev/null | grep -q listening; do sleep 0.2; done
first=$(head -1 "$work/w.log")
whttp=$(node -e 'const l=JSON.parse(process.argv[1]);console.log(l.http)' "$first")
wint=$(node -e 'const l=JSON.parse(process.argv[1]);console.log(l.internal)' "$first")
addr=$(node -e 'const l=JSON.parse(process.argv[1]);console.log(l.p2p.addrs.find(a=>a.includes("/p2p/")))' "$first")
key=$(node -e 'const l=JSON.parse(process.argv[1]);console.log(l.nodeKey)' "$first")

"${tally[@]}" init --data "$work/r" --follow "$addr" --node-key "$key" --json > /dev/null
"${tally[@]}" node --data "$work/r" --follow "$addr" --http 127.0.0.1:0 --internal 127.0.0.1:0 --json > "$work/r.log" 2>&1 &
pids+=($!)
until head -1 "$work/r.log" 2>/dev/null | grep -q listening; do sleep 0.2; done
rline=$(head -1 "$work/r.log")
rint=$(node -e 'const l=JSON.parse(process.argv[1]);console.log(l.internal)' "$rline")
rhttp=$(node -e 'const l=JSON.parse(process.argv[1]);console.log(l.http)' "$rline")

metric() { curl -s "$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }
mib() { echo "$(metric "$1" "$2") / 1048576" | bc -l; }
height() { curl -s "$1/v1/node" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(JSON.parse(s).height))'; }
sample() {
  printf '%5d  %7s  %6s  %11.1f  %12.1f  %10.1f\n' "$1" "$(height "$rhttp")" "$(height "$whttp")" \
    "$(mib "$rint" process_resident_memory_bytes)" "$(mib "$rint" nodejs_heap_size_used_bytes)" "$(mib "$wint" process_resident_memory_bytes)"
}
echo " secs  replica  writer  replica_rss  replica_heap  writer_rss   (heights; MiB)"
start=$(date +%s)
sample 0
"${tally[@]}" bench --node "$whttp" --duration "$DURATION" --json > "$work/bench.json" 2> "$work/bench.err" &
bench=$!
pids+=($bench)
while kill -0 "$bench" 2>/dev/null; do sleep 10; sample $(( $(date +%s) - start )); done
wh=$(height "$whttp")
for _ in $(seq 1 600); do [ "$(height "$rhttp")" -ge "$wh" ] && break; sleep 1; done
sleep 10
sample $(( $(date +%s) - start ))
echo "bench: $(node -e 'const b=require(process.argv[1]);console.log(JSON.stringify(b.http ?? b))' "$work/bench.json")"
echo "replica peak RSS (VmHWM): $(awk '/VmHWM/{print $2, $3}' "/proc/${pids[1]}/status")"
