// `tally bench` (also `npm run bench`).
import os from 'node:os';
import type { Command } from 'commander';
import { flag, intFlag, oneOf } from '../core/decode.js';
import { fail } from '../core/errors.js';
import { connectClient } from '../api/client.js';
import { runBench, type BenchResult } from '../../bench/bench.js';
import { runNotaryBench } from '../../bench/notary.js';
import { runMarketsBench } from '../../bench/markets.js';
import { parseKeyType } from '../modules/notary/keys.js';
import { output, table } from './output.js';

export function registerBenchCommand(program: Command): void {
  const bench = program.command('bench')
    .description('measure committed signed transfers per second (HTTP batch and Unix socket), latency, and the Ed25519 verify limit of this machine')
    .option('--node <url>', 'benchmark a running node at http(s)://host:port instead of starting a fresh dev node')
    .option('--socket <path>', 'with --node: also benchmark its Unix socket')
    .option('--yes', 'with --node: run even on a chain that is not a dev chain (the benchmark registers accounts and commits transfers on it for good)')
    .option('--duration <secs>', 'seconds per transport (1 to 3600)', intFlag('--duration', 1, 3600), 10)
    .option('--accounts <n>', 'accounts sending to each other (1 to 100000)', intFlag('--accounts', 1, 100_000), 2000)
    .option('--batch <n>', 'transactions per HTTP request (1 to 1000)', intFlag('--batch', 1, 1000), 500)
    .option('--socket-batch <n>', 'transactions per socket line, a line is at most 64 KiB (1 to 150)', intFlag('--socket-batch', 1, 150), 100)
    .option('--concurrency <n>', 'HTTP requests in flight (1 to 64)', intFlag('--concurrency', 1, 64), 8)
    .option('--socket-concurrency <n>', 'socket lines in flight, over as many connections (1 to 256)', intFlag('--socket-concurrency', 1, 256), 32)
    .option('--sync <FULL|NORMAL>', 'synchronous mode of the node it starts', flag('--sync', oneOf(['FULL', 'NORMAL'])), 'FULL')
    .option('--cpu-prof <dir>', 'the node it starts runs under node --cpu-prof and writes its profile into this folder when it stops')
    .option('--json', 'print one JSON object: tx_per_s, p50_ms, p99_ms, verify_per_s, ratio, ...')
    .action(async (opts) => {
      if (opts.cpuProf && opts.node) fail('bad_flag', '--cpu-prof profiles the node the benchmark starts; it cannot profile a running node (--node)');
      if (opts.node && !opts.yes) await refuseUnlessDevChain(opts.node, opts.accounts);
      const result = await runBench({
        node: opts.node,
        socket: opts.socket,
        durationSecs: opts.duration,
        accounts: opts.accounts,
        httpBatch: opts.batch,
        socketBatch: opts.socketBatch,
        concurrency: opts.concurrency,
        socketConcurrency: opts.socketConcurrency,
        sync: opts.sync,
        ...(opts.cpuProf ? { cpuProfDir: opts.cpuProf } : {}),
        log: opts.json ? () => {} : (line) => process.stderr.write(line + '\n'),
      });
      if (result.http.committed + result.socket.committed === 0) {
        // A run that committed nothing measured nothing: say so in the exit code, with the counts.
        if (!opts.json) output(opts, result, () => human(result));
        const { http, socket } = result;
        fail('bench_nothing_committed', `every transaction was refused or failed (HTTP: ${http.refused} refused, ${http.failed} failed; socket: ${socket.refused} refused, ${socket.failed} failed)`, {
          details: { result }, hint: 'the first refusal code is printed above; a node under a low --rate-limit or another chain\'s rules refuses the benchmark',
        });
      }
      output(opts, result, () => human(result));
    });

  bench.command('markets')
    .description('markets: the matching core alone in orders/s on one thread, and the block execution time of settling N positions from one attestation')
    .option('--orders <n>', 'orders into the matching core (1000 to 10000000)', intFlag('--orders', 1000, 10_000_000), 300_000)
    .option('--positions <n>', 'positions settled in one block (1 to 20000)', intFlag('--positions', 1, 20_000), 10_000)
    .option('--json', 'print one JSON object')
    .action(async (opts, cmd: Command) => {
      opts.json = opts.json ?? (cmd.parent?.opts() as { json?: boolean }).json;
      const r = runMarketsBench({ orders: opts.orders, positions: opts.positions });
      output(opts, r, () => table([
        ['matching core', `${r.matching.orders_per_s} orders/s on one thread (${r.matching.orders} orders in ${r.matching.seconds} s, ${r.matching.fills} fills, ${r.matching.resting_at_end} resting at the end; goal >= 100000)`],
        ['settlement', `${r.settlement.positions} positions settled from one attestation in ${r.settlement.block_ms} ms of block execution (${r.settlement.writes} state writes; goal < 1000 ms)`],
        ['node', r.node_version],
      ]));
    });

  bench.command('notary')
    .description('notary signatures per second (RSA-2048 RSA-PSS by default) on all cores, beside `openssl speed -multi <cores>` in the same run')
    .option('--duration <secs>', 'sign for about this long: as many records as bare node:crypto signs in it (1 to 3600)', intFlag('--duration', 1, 3600), 20)
    .option('--records <n>', 'sign exactly this many records instead (1 to 1000000)', intFlag('--records', 1, 1_000_000))
    .option('--threads <n>', 'signing threads, 1 to 64 (default: one per core)', intFlag('--threads', 1, 64), Math.min(os.availableParallelism(), 64))
    .option('--type <type>', 'rsa2048 | rsa3072 | ed25519', 'rsa2048')
    .option('--openssl-seconds <n>', 'seconds openssl speed runs (1 to 60)', intFlag('--openssl-seconds', 1, 60), 5)
    .option('--json', 'print one JSON object: signatures_per_s, openssl_sign_per_s, ratio, ...')
    .action(async (opts, cmd: Command) => {
      // `bench` has its own --json, which commander gives to the parent
      opts.json = opts.json ?? (cmd.parent?.opts() as { json?: boolean }).json;
      // and --duration too (its own default is 10): take the parent's when given on the command line
      if (cmd.parent?.getOptionValueSource('duration') === 'cli') opts.duration = (cmd.parent.opts() as { duration: number }).duration;
      const r = await runNotaryBench({
        records: opts.records,
        durationSecs: opts.duration,
        threads: opts.threads,
        keyType: parseKeyType(opts.type),
        opensslSeconds: opts.opensslSeconds,
        log: opts.json ? () => {} : (line) => process.stderr.write(line + '\n'),
      });
      output(opts, r, () => table([
        ['notary', `${r.signatures_per_s} ${r.key_type} signatures/s (${r.records} records in ${r.seconds} s, ${r.threads} signing threads, every chunk fsynced)`],
        ['openssl speed', r.openssl_sign_per_s === null ? 'openssl not found' : `${r.openssl_sign_per_s} sign/s (-multi ${r.threads}; mean of ${r.openssl_before} before and ${r.openssl_after} after)`],
        ['bare node:crypto', `${r.node_crypto_sign_per_s} sign/s (crypto.sign loops in ${r.threads} threads, no database)`],
        ['ratio', r.ratio === null ? '-' : `${r.ratio} of openssl's rate (target >= 0.85 RSA, >= 0.7 Ed25519); ${r.ratio_node_crypto} of bare node:crypto's, which is ${r.ratio_node_crypto_openssl ?? '-'} of openssl's`],
        ['signing threads', r.profile === null ? '-' : r.profile.signer_threads.map((t) => `${t.cpu_s} s signing, ${t.wait_s} s waiting for a core, ${t.idle_s} s idle`).join('; ')],
        ['other threads', r.profile === null ? '-' : `main thread ${r.profile.main_thread.cpu_s} s on a core (${r.profile.main_thread.wait_s} s waiting for one), the rest ${r.profile.other_threads_cpu_s} s`],
        ['per signature', r.profile === null ? '-' : `${r.profile.statements_per_signature} SQLite statements, ${r.profile.transactions_per_signature} write transactions`],
        ['machine', `${r.cpu}, ${r.cores} cores, Node ${r.node_version}, OpenSSL ${r.openssl_version}`],
      ]));
    });
}

/** A dev chain: "tally-dev" (what `tally node --dev` makes) or any chain id ending in "-dev". */
export function isDevChain(chain: string): boolean {
  return chain === 'tally-dev' || chain.endsWith('-dev');
}

async function refuseUnlessDevChain(target: string, accounts: number): Promise<void> {
  const client = connectClient(target);
  let chain: string;
  try {
    chain = ((await client.call('node.info')) as { chain: string }).chain;
  } finally {
    client.close();
  }
  if (!isDevChain(chain)) {
    fail('not_dev_chain', `the node at ${target} runs chain "${chain}", which is not a dev chain: the benchmark would register ${accounts} accounts and commit transfers on it for good`, {
      hint: 'benchmark a dev node (`tally node --dev`, or a chain id ending in "-dev"), or pass --yes if this chain is meant for it',
    });
  }
}

function human(r: BenchResult): string {
  return table([
    ['HTTP batch', `${r.http.tx_per_s} tx/s committed (p50 ${r.http.p50_ms} ms, p99 ${r.http.p99_ms} ms submit-to-acknowledge)`],
    ['Unix socket', `${r.socket.tx_per_s} tx/s committed (p50 ${r.socket.p50_ms} ms, p99 ${r.socket.p99_ms} ms)`],
    ['one at a time', `p50 ${r.single.p50_ms} ms, p99 ${r.single.p99_ms} ms submit-to-acknowledge on an idle node (${r.single.count} txs over the socket)`],
    ['Ed25519 verify', `${r.verify_per_s}/s on ${r.cores} cores (node:crypto)` + (r.openssl_verify_per_s ? `, ${r.openssl_verify_per_s}/s (openssl speed)` : '')],
    ['ratio', `${r.ratio} of the verify limit` + (r.ratio_openssl ? ` (${r.ratio_openssl} of openssl's)` : '')],
    ['machine', `${r.cpu}, Node ${r.node_version}, synchronous=${r.sync}`],
  ]);
}
