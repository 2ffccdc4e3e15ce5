// State snapshots: every state entry at one height with the signed header of that height,
// as JSON lines. The proof of completeness is the root: the entries, and nothing else,
// recompute exactly the header's stateRoot (smt.ts's reference root over the whole set),
// so a snapshot with an entry added, dropped or changed fails. Format (README, "Snapshots"):
//   line 1: {"format": "tally-state-snapshot/v1", height, entries, genesis, genesisBlock, block}
//   then one line per entry, sorted by key: [key, valueText]
import fs from 'node:fs';
import { bytesToHex } from '@noble/hashes/utils.js';
import { canonicalJson } from '../core/canonical.js';
import { fail, TallyError } from '../core/errors.js';
import { smtPath, smtRootOfSorted, smtSortEntries, smtValueHash, type SmtEntry } from '../core/smt.js';
import { hasStateTreeRoot, STATE_TREE_HEADER_VERSION } from '../core/header.js';
import type { SqliteStore } from '../store/sqlite.js';
import { blockHash, verifyHeaderSignature, type BlockHeader, type SignedBlock } from './blocks.js';
import { genesisHash, validateGenesis, type Genesis } from './genesis.js';
import type { ChainModule } from './module.js';

export const SNAPSHOT_FORMAT = 'tally-state-snapshot/v1';
/** One line: a state key and value (a transaction is at most 4 KiB; module records stay far below this). */
export const SNAPSHOT_LINE_BYTES_MAX = 1024 * 1024;

export interface SnapshotHead {
  format: typeof SNAPSHOT_FORMAT;
  height: number;
  entries: number;
  genesis: Genesis;
  /** block 0, whose prevHash is the genesis hash: it ties the genesis to the node key */
  genesisBlock: SignedBlock;
  block: SignedBlock;
}

export type Progress = (done: number, total: number) => void;

const blockOf = (row: { hash: string; header: string; sig: string }): SignedBlock => ({ hash: row.hash, header: JSON.parse(row.header) as BlockHeader, sig: row.sig });

/**
 * Write the committed state at the tip to `file` (created, never overwritten), from one
 * read transaction of `store` (its own read-only connection: the node may keep running).
 */
export function exportSnapshot(store: SqliteStore, file: string, progress: Progress = () => {}): SnapshotHead {
  store.db.exec('BEGIN');
  let fd: number | undefined;
  try {
    const tip = store.tip();
    const first = store.block(0);
    const rawGenesis = store.getMeta('genesis');
    if (!tip || !first || !rawGenesis) fail('db_corrupt', 'the database has no genesis or no blocks', { status: 500 });
    const block = blockOf(tip);
    if (!hasStateTreeRoot(block.header)) {
      fail('snapshot_unavailable', `the tip (height ${block.header.height}) is a version 1 block: its stateRoot is not a state tree root`, { hint: 'let the node make one block on this version, then export' });
    }
    const total = (store.db.prepare('SELECT count(*) AS n FROM state').get() as { n: number }).n;
    const head: SnapshotHead = { format: SNAPSHOT_FORMAT, height: block.header.height, entries: total, genesis: JSON.parse(rawGenesis) as Genesis, genesisBlock: blockOf(first), block };
    try {
      fd = fs.openSync(file, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') fail('file_exists', `${file} exists: it is never overwritten`);
      throw err;
    }
    const chunks: string[] = [JSON.stringify(head)];
    let size = chunks[0]!.length;
    let n = 0;
    const flush = () => {
      fs.writeSync(fd!, chunks.join('\n') + '\n');
      chunks.length = 0;
      size = 0;
    };
    for (const { k, v } of store.allState()) {
      const line = JSON.stringify([k, v]);
      chunks.push(line);
      size += line.length;
      if (++n % 10_000 === 0) progress(n, total);
      if (size > 1 << 20) flush();
    }
    if (chunks.length) flush();
    if (n !== total) fail('db_corrupt', `counted ${total} state entries but read ${n}`, { status: 500 });
    fs.fsyncSync(fd);
    progress(n, total);
    return head;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
    if (store.db.inTransaction) store.db.exec('COMMIT');
  }
}

/** The lines of a file, each at most SNAPSHOT_LINE_BYTES_MAX bytes, read in bounded chunks. */
export function* snapshotLines(file: string): Generator<string> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    fail('file_unreadable', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const buf = Buffer.alloc(1 << 20);
    let rest = Buffer.alloc(0);
    for (;;) {
      const got = fs.readSync(fd, buf, 0, buf.length, null);
      if (got === 0) break;
      let data = Buffer.concat([rest, buf.subarray(0, got)]);
      let nl: number;
      while ((nl = data.indexOf(10)) >= 0) {
        yield data.subarray(0, nl).toString('utf8');
        data = data.subarray(nl + 1);
      }
      if (data.length > SNAPSHOT_LINE_BYTES_MAX) fail('snapshot_invalid', `a line of ${file} is over ${SNAPSHOT_LINE_BYTES_MAX} bytes`);
      rest = Buffer.from(data);
    }
    if (rest.length > 0) fail('snapshot_invalid', `${file} does not end with a newline (cut short?)`);
  } finally {
    fs.closeSync(fd);
  }
}

const bad = (message: string): never => fail('snapshot_invalid', `the snapshot does not verify: ${message}`, { hint: 'nothing in it can be trusted; export it again from a node you trust' });

/** Check the first line: format, the two signed blocks (by `nodeKey`), the genesis they tie to. */
export function checkSnapshotHead(line: string, nodeKey: string, modules: readonly ChainModule[]): SnapshotHead {
  let head: SnapshotHead;
  try {
    head = JSON.parse(line) as SnapshotHead;
  } catch {
    return bad('the first line is not JSON');
  }
  if (typeof head !== 'object' || head === null || head.format !== SNAPSHOT_FORMAT) return bad(`the first line's format must be "${SNAPSHOT_FORMAT}"`);
  if (!Number.isSafeInteger(head.entries) || head.entries < 0) return bad('entries must be a non-negative integer');
  for (const [what, b] of [['block', head.block], ['genesisBlock', head.genesisBlock]] as const) {
    if (typeof b !== 'object' || b === null || typeof b.header !== 'object' || b.header === null) return bad(`${what} must be {hash, header, sig}`);
    if (b.header.proposer !== nodeKey) return bad(`${what} was not made by the node key you trust`);
    let ok: boolean;
    try {
      ok = blockHash(b.header) === b.hash && verifyHeaderSignature(b.header, b.sig);
    } catch {
      ok = false;
    }
    if (!ok) return bad(`${what}'s hash or signature does not verify`);
  }
  const h = head.block.header as BlockHeader & { version?: number };
  if (!hasStateTreeRoot(h)) return bad(`the header is version ${String(h.version ?? 1)}: only a header of version ${STATE_TREE_HEADER_VERSION} or later has a state tree root as its stateRoot`);
  if (head.height !== h.height) return bad(`the snapshot says height ${head.height} but its header is of height ${h.height}`);
  if (head.genesisBlock.header.height !== 0) return bad('genesisBlock is not block 0');
  let genesis: Genesis;
  try {
    genesis = validateGenesis(head.genesis, modules);
  } catch (err) {
    return bad(`the genesis is not valid: ${(err as Error).message}`);
  }
  if (genesisHash(genesis) !== head.genesisBlock.header.prevHash) return bad('the genesis is not the one block 0 links to');
  if (genesis.chain !== h.chain || head.genesisBlock.header.chain !== h.chain) return bad('the blocks and the genesis are of different chains');
  return { ...head, genesis };
}

export interface SnapshotCheck {
  head: SnapshotHead;
  root: string;
}

/**
 * Verify a snapshot file: the head (above), then every entry line (a [key, valueText] pair
 * of strings, keys strictly ascending, as many as the head says), and the root of the
 * entries equal to the header's stateRoot. `onEntry` sees each entry once it parsed (init
 * writes them, inside a transaction it rolls back unless this returns).
 */
export function verifySnapshotFile(file: string, nodeKey: string, modules: readonly ChainModule[], progress: Progress = () => {},
  onEntry?: (key: string, value: string) => void): SnapshotCheck {
  const lines = snapshotLines(file);
  const first = lines.next();
  if (first.done) return bad('the file is empty');
  const head = checkSnapshotHead(first.value, nodeKey, modules);
  const entries: SmtEntry[] = [];
  let prev: string | undefined;
  for (const line of lines) {
    let pair: unknown;
    try {
      pair = JSON.parse(line);
    } catch {
      return bad(`entry ${entries.length + 1} is not JSON`);
    }
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') return bad(`entry ${entries.length + 1} is not [key, valueText]`);
    const [key, value] = pair as [string, string];
    if (prev !== undefined && !(key > prev)) return bad(`entry ${entries.length + 1} ("${key.slice(0, 80)}") is not after "${prev.slice(0, 80)}": keys must be sorted and distinct`);
    if (entries.length >= head.entries) return bad(`more entries than the ${head.entries} the first line announces`);
    prev = key;
    onEntry?.(key, value);
    entries.push({ path: smtPath(key), valueHash: smtValueHash(value) });
    if (entries.length % 10_000 === 0) progress(entries.length, head.entries);
  }
  if (entries.length !== head.entries) return bad(`${entries.length} entries, not the ${head.entries} the first line announces (cut short?)`);
  progress(entries.length, head.entries);
  const root = bytesToHex(smtRootOfSorted(smtSortEntries(entries)));
  if (root !== head.block.header.stateRoot) return bad(`the entries' root ${root} is not the header's stateRoot ${head.block.header.stateRoot}: an entry is missing, extra or changed`);
  return { head, root };
}

/** The canonical text check init applies before it stores a value. */
export function assertCanonicalValue(key: string, value: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new TallyError('snapshot_invalid', `the value of "${key.slice(0, 80)}" is not JSON`);
  }
  if (canonicalJson(parsed) !== value) throw new TallyError('snapshot_invalid', `the value of "${key.slice(0, 80)}" is not in canonical JSON`);
}
