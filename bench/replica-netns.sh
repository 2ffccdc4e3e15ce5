#!/usr/bin/env bash
# A replica on another host: the writer and the replica in two network namespaces joined
# by one veth pair, its rate capped with tc's tbf at RATE each way (netem, which would add
# delay, is not in this machine's kernel; with it, a WAN round trip could be added here).
# The writer is loaded by `tally bench --node` from its own
# namespace for DURATION seconds; both heights are sampled every 0.5 s, and the replica's
# lag is reported in blocks and in milliseconds (from the moment the writer showed a height
# to the moment the replica showed it). Then a second replica starts from genesis on the
# replica's side and its full sync over the same link is timed (tx/s). Needs root and
# iproute2; addresses 10.214.0.1-2 exist only inside the two namespaces.
#
#   npx tsc -p . && bash bench/replica-netns.sh [DURATION=60] [RATE=100mbit]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-60}
RATE=${2:-100mbit}
work=$(mktemp -d /tmp/tally-netns-XXXXXX)
export TALLY_HOME=$work/home TALLY_PASSPHRASE=bench TALLY_SCRYPT_N=1024
nsw=tally-bw-$$
nsr=tally-br-$$
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  ip netns del "$nsw" 2>/dev/null || true
  ip netns del "$nsr" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$nsw"
ip netns add "$nsr"
ip link add "bw$$" netns "$nsw" type veth peer name "br$$" netns "$nsr"
ip -n "$nsw" link set lo up
ip -n "$nsr" link set lo up
ip -n "$nsw" addr add 10.214.0.1/30 dev "bw$$"
ip -n "$nsr" addr add 10.214.0.2/30 dev "br$$"
ip -n "$nsw" link set "bw$$" up
ip -n "$nsr" link set "br$$" up
for side in "$nsw bw$$" "$nsr br$$"; do
  set -- $side
  ip netns exec "$1" tc qdisc add dev "$2" root tbf rate "$RATE" burst 256kbit latency 200ms
done
inw=(ip netns exec "$nsw")
inr=(ip netns exec "$nsr")
tally=(node bin/tally.js)
field() { node -e 'const l=JSON.parse(process.argv[1]);const v=eval("l."+process.argv[2]);console.log(v)' "$1" "$2"; }

"${inw[@]}" "${tally[@]}" node --dev --data "$work/w" --http 127.0.0.1:0 --internal off --p2p /ip4/10.214.0.1/tcp/0 --rate-limit off --json > "$work/w.log" 2>&1 &
pids+=($!)
until head -1 "$work/w.log" 2>/dev/null | grep -q listening; do sleep 0.2; done
first=$(head -1 "$work/w.log")
whttp=$(field "$first" http)
addr=$(field "$first" 'p2p.addrs.find(a=>a.includes("/p2p/"))')
key=$(field "$first" nodeKey)
wsock=$(field "$first" socket)

# Not called in $(...): its pid must reach this shell's list. Sets $followed to its HTTP URL.
follow() { # $1: data dir, $2: log
  "${inr[@]}" "${tally[@]}" init --data "$1" --follow "$addr" --node-key "$key" --json > /dev/null
  "${inr[@]}" "${tally[@]}" node --data "$1" --follow "$addr" --http 127.0.0.1:0 --internal off --json > "$2" 2>&1 &
  pids+=($!)
  until head -1 "$2" 2>/dev/null | grep -q listening; do sleep 0.2; done
  followed=$(field "$(head -1 "$2")" http)
}
follow "$work/r" "$work/r.log"
rhttp=$followed
echo "link: veth between two namespaces, tbf rate $RATE each way"

# Heights every 0.5 s, from inside each namespace: "<unix ms> <writer height> <replica height>".
node - "$nsw" "$whttp" "$nsr" "$rhttp" > "$work/heights" 2> /dev/null <<'EOF' &
const { execFileSync } = require('node:child_process');
const [nsw, whttp, nsr, rhttp] = process.argv.slice(2);
const h = (ns, url) => { try { return JSON.parse(execFileSync('ip', ['netns', 'exec', ns, 'curl', '-s', '--max-time', '2', url + '/v1/node'], { encoding: 'utf8' })).height; } catch { return -1; } };
setInterval(() => console.log(Date.now(), h(nsw, whttp), h(nsr, rhttp)), 500);
EOF
sampler_pid=$!
pids+=($sampler_pid)
"${inw[@]}" "${tally[@]}" bench --node "$whttp" --socket "$wsock" --duration "$DURATION" --json > "$work/bench.json" 2> "$work/bench.err"
wh=$("${inw[@]}" curl -s "$whttp/v1/node" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(JSON.parse(s).height))')
for _ in $(seq 1 600); do
  [ "$("${inr[@]}" curl -s "$rhttp/v1/node" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(JSON.parse(s).height))')" -ge "$wh" ] && break
  sleep 0.5
done
kill "$sampler_pid" 2>/dev/null || true
echo "bench (writer, HTTP then socket): $(node -e 'const b=require(process.argv[1]);console.log(JSON.stringify({http: b.http.tx_per_s, socket: b.socket.tx_per_s, verify_per_s: b.verify_per_s}))' "$work/bench.json")"
node - "$work/heights" <<'EOF'
const rows = require('node:fs').readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number)).filter((r) => r[1] >= 0 && r[2] >= 0);
const firstSeen = new Map(); // writer height -> first sample time it was seen
for (const [t, w] of rows) for (let h = (firstSeen.size ? Math.max(...firstSeen.keys()) + 1 : w); h <= w; h++) if (!firstSeen.has(h)) firstSeen.set(h, t);
const lagMs = [];
let last = -1;
for (const [t, , r] of rows) { for (let h = last + 1; h <= r; h++) if (firstSeen.has(h)) lagMs.push(t - firstSeen.get(h)); last = Math.max(last, r); }
const loaded = rows.filter((r) => r[1] > rows[0][1]);
const lagBlocks = loaded.map((r) => r[1] - r[2]);
const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : null; };
console.log(JSON.stringify({ samples: rows.length, lagBlocks: { p50: q(lagBlocks, 0.5), p99: q(lagBlocks, 0.99), max: Math.max(...lagBlocks) }, lagMs: { p50: q(lagMs, 0.5), p99: q(lagMs, 0.99), note: 'sampled every 500 ms: +-500 ms' } }));
EOF

# Full sync of the whole chain over the same link, from genesis.
start=$(date +%s%N)
follow "$work/r2" "$work/r2.log"
r2=$followed
for _ in $(seq 1 1200); do
  [ "$("${inr[@]}" curl -s "$r2/v1/node" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(JSON.parse(s).height))')" -ge "$wh" ] && break
  sleep 0.25
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
# The benchmark's committed transactions (its registrations, both phases, the single ones):
# the chain holds these plus genesis.
txs=$(node -e 'const b=require(process.argv[1]);console.log(b.accounts + b.http.committed + b.socket.committed + b.single.count)' "$work/bench.json")
echo "full sync from genesis over the link: height $wh, about $txs transactions, in ${ms} ms including process start: $(( txs * 1000 / ms )) tx/s"
