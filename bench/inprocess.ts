// `npm run bench:inprocess [-- TRANSFERS ACCOUNTS [KEEP]]`: committed transfers per second of a
// node running in this process (no HTTP, no socket, no client on the same cores: the
// node's own cost per transfer), and the CPU each thread spent. The main thread executes
// and commits blocks (the state tree's update is there); the verifier threads check
// signatures. It only uses TallyNode's public calls, so the same file runs against an
// older commit for a side-by-side figure (README "State tree figures").
//
// A fresh dev chain (synchronous=FULL, every module loaded), ACCOUNTS accounts registered
// first (not timed), then TRANSFERS pre-signed ledger.send between them, submitted in
// batches of 500 by 8 lanes (an account's nonces in order), timed from the first submit to
// the last commit.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initDataDir, TallyNode } from '../src/chain/node.js';
import { defaultGenesis } from '../src/chain/genesis.js';
import { signTx, type Envelope, type Tx } from '../src/chain/envelope.js';
import type { SubmitResult } from '../src/chain/app-module.js';
import { accountIdFromPub, signerFromPrivateKey, type Signer } from '../src/core/keys.js';
import { allModules } from '../src/modules/index.js';
import { measureVerifyRate } from './bench.js';
import { threadCpu, threadCpuDelta } from './thread-cpu.js';
import { helpFromHeader } from './usage.js';

helpFromHeader(import.meta.url);

const transfers = Number(process.argv[2] ?? 24_000);
const accountCount = Number(process.argv[3] ?? 2_000);
// KEEP: state tree versions kept (default 256, more than such a run makes). A small one
// (2) makes every block prune what the block KEEP before it made stale, as a node does
// on any chain past its first 256 blocks.
const keepVersions = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
const lanes = 8;
const batch = 500;

interface Account { signer: Signer; id: string; nonce: number }

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-inprocess-'));
const genesis = defaultGenesis(allModules.map((m) => m.chain), { chain: 'tally-dev', decimals: 6, dev: true });
const ledger = genesis.modules.ledger as { registration: { policy: string; grant: string } };
ledger.registration.policy = 'open';
ledger.registration.grant = '1000';
initDataDir(dir, genesis, allModules);
const node = TallyNode.open({ dataDir: dir, modules: allModules, synchronous: 'FULL', ...(keepVersions === undefined ? {} : { stateTreeKeepVersions: keepVersions }) });

const accounts: Account[] = Array.from({ length: accountCount }, () => {
  const signer = signerFromPrivateKey(crypto.generateKeyPairSync('ed25519').privateKey);
  return { signer, id: accountIdFromPub(signer.pub), nonce: 0 };
});
const txFor = (a: Account, type: string, body: Record<string, unknown>): Envelope => {
  const tx: Tx = { chain: 'tally-dev', type, from: a.id, nonce: a.nonce++, expires: Math.floor(Date.now() / 1000) + 3600, body };
  return signTx(tx, a.signer);
};
const check = (results: SubmitResult[], what: string) => {
  const bad = results.find((r) => 'error' in r || r.status !== 'ok');
  if (bad) throw new Error(`${what} failed: ${JSON.stringify(bad)}`);
};

try {
  for (let i = 0; i < accounts.length; i += 1000) {
    check(await node.submit(accounts.slice(i, i + 1000).map((a, k) => txFor(a, 'ledger.register', { name: `p${i + k}` }))), 'registration');
  }
  // Lane j owns accounts j, j + lanes, ...: its batches go one after another.
  const perLane: Envelope[][] = Array.from({ length: lanes }, () => []);
  for (let made = 0, round = 0; made < transfers; round++) {
    for (let i = 0; i < accounts.length && made < transfers; i++, made++) {
      perLane[i % lanes]!.push(txFor(accounts[i]!, 'ledger.send', { to: accounts[(i + 1 + round) % accounts.length]!.id, amount: '0.000001' }));
    }
  }
  const height0 = node.tip.height;
  const threads0 = threadCpu();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(perLane.map(async (list) => {
    for (let i = 0; i < list.length; i += batch) check(await node.submit(list.slice(i, i + batch)), 'transfer');
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const threads = threadCpuDelta(threads0, threadCpu());
  const main = threads.find((t) => t.main);
  const verify = await measureVerifyRate(3);
  console.log(JSON.stringify({
    transfers,
    accounts: accountCount,
    blocks: node.tip.height - height0,
    seconds: +seconds.toFixed(2),
    tx_per_s: Math.round(transfers / seconds),
    main_cpu_us_per_transfer: main ? Math.round((main.cpuS * 1e6) / transfers) : null,
    main_wait_s: main?.waitS ?? null,
    process_cpu_us_per_transfer: Math.round((cpu.user + cpu.system) / transfers),
    threads: threads.slice(0, 6).map((t) => `${t.main ? 'main' : t.name}: ${t.cpuS}s cpu, ${t.waitS}s waiting`),
    verify_per_s: verify,
    load_avg: os.loadavg().map((x) => +x.toFixed(2)),
    node_version: process.version,
  }));
} finally {
  await node.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
