// `tally bench` (also `npm run bench`).
import os from 'node:os';
import type { Command } from 'commander';
import { fail } from '../core/errors.js';
import { runBench, type BenchResult } from '../../bench/bench.js';
import { runNotaryBench } from '../../bench/notary.js';
import { parseKeyType } from '../modules/notary/keys.js';
import { output, table } from './output.js';

export function registerBenchCommand(program: Command): void {
  const bench = program.command('bench')
    .description('measure committed signed transfers per second (HTTP batch and Unix socket), latency, and the Ed25519 verify limit of this machine')
    .option('--node <url>', 'benchmark a running node at http(s)://host:port instead of starting a fresh dev node')
    .option('--socket <path>', 'with --node: also benchmark its Unix socket')
    .option('--duration <secs>', 'seconds per transport', '10')
    .option('--accounts <n>', 'accounts sending to each other', '2000')
    .option('--batch <n>', 'transactions per HTTP request', '500')
    .option('--socket-batch <n>', 'transactions per socket line (a line is at most 64 KiB)', '100')
    .option('--concurrency <n>', 'HTTP requests in flight', '8')
    .option('--socket-concurrency <n>', 'socket lines in flight (over as many connections)', '32')
    .option('--sync <FULL|NORMAL>', 'synchronous mode of the node it starts', 'FULL')
    .option('--json', 'print one JSON object: tx_per_s, p50_ms, p99_ms, verify_per_s, ratio, ...')
    .action(async (opts) => {
      const n = (v: string, flag: string, max: number) => {
        const x = Number(v);
        if (!Number.isInteger(x) || x < 1 || x > max) fail('bad_flag', `${flag} must be an integer from 1 to ${max}`);
        return x;
      };
      const result = await runBench({
        node: opts.node,
        socket: opts.socket,
        durationSecs: n(opts.duration, '--duration', 3600),
        accounts: n(opts.accounts, '--accounts', 100_000),
        httpBatch: n(opts.batch, '--batch', 1000),
        socketBatch: n(opts.socketBatch, '--socket-batch', 150),
        concurrency: n(opts.concurrency, '--concurrency', 64),
        socketConcurrency: n(opts.socketConcurrency, '--socket-concurrency', 256),
        sync: opts.sync === 'NORMAL' ? 'NORMAL' : 'FULL',
        log: opts.json ? () => {} : (line) => process.stderr.write(line + '\n'),
      });
      output(opts, result, () => human(result));
    });

  bench.command('notary')
    .description('notary signatures per second (RSA-2048 RSA-PSS by default) on all cores, beside `openssl speed -multi <cores>` in the same run')
    .option('--records <n>', 'records to sign', '8000')
    .option('--threads <n>', 'signing threads (default: one per core)', String(os.availableParallelism()))
    .option('--type <type>', 'rsa2048 | rsa3072 | ed25519', 'rsa2048')
    .option('--openssl-seconds <n>', 'seconds openssl speed runs', '5')
    .option('--json', 'print one JSON object: signatures_per_s, openssl_sign_per_s, ratio, ...')
    .action(async (opts, cmd: Command) => {
      // `bench` has its own --json, which commander gives to the parent
      opts.json = opts.json ?? (cmd.parent?.opts() as { json?: boolean }).json;
      const n = (v: string, flag: string, max: number) => {
        const x = Number(v);
        if (!Number.isInteger(x) || x < 1 || x > max) fail('bad_flag', `${flag} must be an integer from 1 to ${max}`);
        return x;
      };
      const r = await runNotaryBench({
        records: n(opts.records, '--records', 1_000_000),
        threads: n(opts.threads, '--threads', 64),
        keyType: parseKeyType(opts.type),
        opensslSeconds: n(opts.opensslSeconds, '--openssl-seconds', 60),
        log: opts.json ? () => {} : (line) => process.stderr.write(line + '\n'),
      });
      output(opts, r, () => table([
        ['notary', `${r.signatures_per_s} ${r.key_type} signatures/s (${r.records} records in ${r.seconds} s, ${r.threads} signing threads, every chunk fsynced)`],
        ['openssl speed', r.openssl_sign_per_s === null ? 'openssl not found' : `${r.openssl_sign_per_s} sign/s (-multi ${r.threads}; mean of ${r.openssl_before} before and ${r.openssl_after} after)`],
        ['bare node:crypto', `${r.node_crypto_sign_per_s} sign/s (crypto.sign loops in ${r.threads} threads, no database)`],
        ['ratio', r.ratio === null ? '-' : `${r.ratio} of openssl's rate (target >= 0.7); ${r.ratio_node_crypto} of bare node:crypto's, which is ${r.ratio_node_crypto_openssl ?? '-'} of openssl's`],
        ['machine', `${r.cpu}, ${r.cores} cores, Node ${r.node_version}, OpenSSL ${r.openssl_version}`],
      ]));
    });
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
