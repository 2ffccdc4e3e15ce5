// Storage alone: how long committing a block costs per transfer in the encrypted store
// (SQLCipher, WAL, synchronous=FULL), as the database grows. Run: npm run bench:storage
// [-- BLOCKS TXS_PER_BLOCK]. The sequencer makes exactly these two calls per block: commitBlock,
// then the signed-height record (one fdatasync of <data>/signed.wm). With a third argument
// `tree`, each block also updates the state tree and commits its rows in the same
// transaction, as the proposer does; `tree_us_per_transfer` is the update's share.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabaseKey } from '../src/store/keyfile.js';
import { SqliteStore, txSeq, type TxRow } from '../src/store/sqlite.js';
import { SignedWatermark } from '../src/store/watermark.js';
import type { IndexedTx } from '../src/chain/app-module.js';
import { ledgerIndexer, ledgerMigrations } from '../src/modules/ledger/history.js';
import { transferKey } from '../src/modules/ledger/state.js';
import { buildStoredTree, StoredTree } from '../src/chain/state-tree/stored.js';
import { helpFromHeader } from './usage.js';

helpFromHeader(import.meta.url);

const blocks = Number(process.argv[2] ?? 100);
const txsPerBlock = Number(process.argv[3] ?? 2000);
const withTree = process.argv[4] === 'tree';
const accounts = 2000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-storage-bench-'));
const keyPath = path.join(dir, 'db.key');
createDatabaseKey(keyPath);
const store = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath, create: true });
store.migrate('ledger', ledgerMigrations);
const indexer = ledgerIndexer(store);
// The sequencer records the signed height (one fdatasync) after each commit: measured with it.
const watermark = SignedWatermark.open(dir);
let tree: StoredTree | undefined;
if (withTree) {
  buildStoredTree(store, [], 0);
  tree = new StoredTree(store, 256);
}
let treeMs = 0;

// Shaped like a committed ledger.send: canonical envelope, one transfer event, four state
// writes (sender nonce, both balances, the contestable transfer record) and two history rows.
const id = (n: number) => `${crypto.createHash('sha256').update(String(n)).digest('hex').slice(0, 40)}`;
const env = (from: string, to: string, nonce: number) =>
  `{"pub":"${'p'.repeat(43)}","sig":"${'s'.repeat(86)}","tx":{"body":{"amount":"0.000001","to":"${to}"},"chain":"tally-dev","expires":1795000000,"from":"${from}","nonce":${nonce},"type":"ledger.send"}}`;

let elapsedMs = 0;
for (let h = 1; h <= blocks; h++) {
  const txs: TxRow[] = [];
  const indexed: IndexedTx[] = [];
  const writes = new Map<string, string | null>();
  for (let i = 0; i < txsPerBlock; i++) {
    const from = id(i % accounts);
    const to = id((i * 7 + h) % accounts);
    const txId = crypto.randomBytes(32);
    txs.push({
      id: txId, height: h, idx: i, sender: from, type: 'ledger.send', env: env(from, to, h), status: 'ok', code: null,
      events: `[{"amount":"0.000001","from":"${from}","to":"${to}","type":"ledger.transfer"}]`,
    });
    indexed.push({
      seq: txSeq(h, i), id: txId.toString('hex'),
      tx: { chain: 'tally-dev', type: 'ledger.send', from, nonce: h, expires: 0, body: {} },
      receipt: { id: txId.toString('hex'), height: h, index: i, status: 'ok', events: [{ type: 'ledger.transfer', from, to, amount: '0.000001' }] },
    });
    writes.set(transferKey(h, i), `{"amount":"1","from":"${from}","id":"${txId.toString('hex')}","time":${Date.now()},"to":"${to}"}`);
    writes.set(`auth/${from}`, `{"nonce":${h},"pub":"${'p'.repeat(43)}"}`);
    writes.set(`ledger/acct/${from}`, `{"balance":"${999_000_000 - h}","created":1,"name":"a${i}"}`);
    writes.set(`ledger/acct/${to}`, `{"balance":"${1_000_000_000 + h}","created":1,"name":"b${i}"}`);
  }
  const t0 = performance.now();
  const hash = crypto.randomBytes(32).toString('hex');
  const batch = tree ? tree.update(h, writes) : undefined;
  const rows = batch ? tree!.rows(batch) : undefined;
  treeMs += performance.now() - t0;
  store.commitBlock({
    block: { height: h, hash, header: '{}', sig: 's' }, txs, writes,
    also: () => indexer.index({ height: h, timeMs: Date.now() }, indexed),
    ...(rows ? { tree: rows } : {}),
  });
  if (batch) tree!.committed(batch);
  watermark.record(h, hash);
  elapsedMs += performance.now() - t0;
}
store.close();
watermark.close();
fs.rmSync(dir, { recursive: true, force: true });
const transfers = blocks * txsPerBlock;
console.log(JSON.stringify({
  blocks, txs_per_block: txsPerBlock, transfers,
  us_per_transfer: Math.round((elapsedMs * 1000) / transfers * 10) / 10,
  ...(withTree ? { tree_us_per_transfer: Math.round((treeMs * 1000) / transfers * 10) / 10 } : {}),
  transfers_per_s: Math.round(transfers / (elapsedMs / 1000)),
}));
