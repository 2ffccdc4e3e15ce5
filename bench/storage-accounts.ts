// Storage alone, as the state fills with new accounts: each block commits N registrations
// (three new state keys each, at random places in the key order, and N transaction rows)
// in the encrypted store, and the commit's time is reported per block and in total. A
// state of random keys dirties pages all over its table in every block, so this is where
// the WAL checkpoint interval shows; `--checkpoint PAGES` overrides the store's own.
// `--per-transaction N` commits N blocks per storage transaction, as a replica's run does
// while it catches up (the time is then per transaction). `--frames` turns the WAL's
// checkpoints off and reports the pages (WAL frames) each registration writes, and
// `--only state|txs` writes only the state keys or only the transaction rows: which
// table's pages the commits write.
//
//   node dist/bench/storage-accounts.js [--blocks 33] [--per-block 3000] [--per-transaction 1] [--checkpoint PAGES] [--sync FULL|NORMAL] [--frames] [--only state|txs]
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabaseKey } from '../src/store/keyfile.js';
import { SqliteStore, type TxRow } from '../src/store/sqlite.js';
import { helpFromHeader } from './usage.js';

helpFromHeader(import.meta.url);

const arg = (name: string, dflt: string | undefined) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const BLOCKS = Number(arg('--blocks', '33'));
const PER = Number(arg('--per-block', '3000'));
const checkpoint = arg('--checkpoint', undefined);
const sync = arg('--sync', 'FULL') as 'FULL' | 'NORMAL';
const PER_TX = Number(arg('--per-transaction', '1'));
const FRAMES = process.argv.includes('--frames');
const ONLY = arg('--only', undefined);
if (ONLY !== undefined && ONLY !== 'state' && ONLY !== 'txs') throw new Error('--only takes state or txs');
if (FRAMES && checkpoint !== undefined) throw new Error('--frames turns checkpoints off: use it without --checkpoint');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-storage-accounts-'));
const keyPath = path.join(dir, 'db.key');
createDatabaseKey(keyPath);
const store = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath, create: true, synchronous: sync });
if (checkpoint !== undefined) store.db.exec(`PRAGMA wal_autocheckpoint = ${Number(checkpoint)}`);
if (FRAMES) store.db.exec('PRAGMA wal_autocheckpoint = 0');
const walPath = path.join(dir, 'tally.db-wal');
const walBytes = () => (fs.existsSync(walPath) ? fs.statSync(walPath).size : 0);
/** A WAL frame: a 24-byte header and one page (SQLCipher's page size is SQLite's, 4,096). */
const FRAME_BYTES = 24 + 4096;

const record = () => JSON.stringify({ pub: crypto.randomBytes(32).toString('base64url'), name: `u${crypto.randomBytes(8).toString('hex')}`, balance: '0', nonce: 0 });
function block(height: number): { writes: Map<string, string>; txs: TxRow[] } {
  const writes = new Map<string, string>();
  const txs: TxRow[] = [];
  for (let i = 0; i < PER; i++) {
    const id = crypto.randomBytes(20).toString('hex');
    if (ONLY !== 'txs') {
      writes.set(`ledger/acct/${id}`, record());
      writes.set(`ledger/name/u${id.slice(0, 12)}`, JSON.stringify(id));
      writes.set(`auth/${id}`, record());
    }
    if (ONLY !== 'state') txs.push({ id: crypto.randomBytes(32), height, idx: i, sender: id, type: 'ledger.register', env: 'e'.repeat(400), status: 'ok', code: null, events: '[]' });
  }
  return { writes, txs };
}

const perBlock: number[] = [];
const framesPer: number[] = [];
for (let h = 1; h <= BLOCKS; h += PER_TX) {
  // made before the clock starts: only the commit is timed
  const group = Array.from({ length: Math.min(PER_TX, BLOCKS - h + 1) }, (_, i) => ({ height: h + i, ...block(h + i) }));
  const wal0 = walBytes();
  const t0 = performance.now();
  store.transaction(() => {
    for (const { height, writes, txs } of group) store.writeBlock({ block: { height, hash: `h${height}`, header: '{}', sig: 's' }, txs, writes });
  });
  perBlock.push(performance.now() - t0);
  framesPer.push((walBytes() - wal0) / FRAME_BYTES / (group.length * PER));
}
const checkpointPages = (store.db.pragma('wal_autocheckpoint', { simple: true }) as number);
store.close();
const mib = (fs.statSync(path.join(dir, 'tally.db')).size / 2 ** 20).toFixed(0);
fs.rmSync(dir, { recursive: true, force: true });
const last = perBlock.slice(-5);
console.log(JSON.stringify({
  blocks: BLOCKS, perBlock: PER, blocksPerTransaction: PER_TX, stateKeys: BLOCKS * PER * 3, sync, checkpointPages, dbMiB: Number(mib),
  totalCommitMs: Math.round(perBlock.reduce((a, b) => a + b, 0)),
  lastFiveAvgCommitMs: Math.round(last.reduce((a, b) => a + b, 0) / last.length),
  usPerRegistration: Math.round((perBlock.reduce((a, b) => a + b, 0) * 1000) / (BLOCKS * PER)),
  ...(ONLY ? { only: ONLY } : {}),
  // Per registration, over all commits and over the last five commits (the fullest state).
  ...(FRAMES ? { pagesPerRegistration: round2(mean(framesPer)), lastFivePagesPerRegistration: round2(mean(framesPer.slice(-5))) } : {}),
}, null, 2));

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
