// The signed-height watermark: outside the database, how far this node has published its
// chain, so a database that lost committed blocks (a damaged WAL is silently cut at the
// damage, a restored backup is older) is refused instead of signing other blocks at heights
// the world has already seen.
//
// Order, per block: sign, commit (SQLite fsync), record here (fsync), and only then
// acknowledge, emit or serve the block. So every block anyone has seen is at or below the
// watermark, and at start a database tip below it is a rollback: `db_behind_signed`.
//   - crash after commit, before record: the tip is one above the watermark; that block was
//     never shown to anyone, the start records it and goes on.
//   - crash after sign, before commit: the signature died with the process (never written,
//     never sent); the node signs a block at that height again, which nobody can tell apart.
// Recording before commit instead would make "crashed mid-commit" and "lost the last
// committed block" look the same (watermark one above the tip), and the second must refuse.
//
// File: two 128-byte slots, each {height, hash} with a checksum. A record overwrites the
// slot NOT holding the newest entry and fdatasyncs: a write torn by a crash damages only
// that slot, and the other still holds the previous height (whose block, again, is the
// newest anyone saw). One preallocated file, written in place: one fdatasync per block,
// no rename and no directory fsync, and no new disk blocks needed when the disk is full.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../core/errors.js';
import { acquireNodeLock } from './lock.js';
import { SqliteStore } from './sqlite.js';

const SLOT = 128;

export interface SignedMark {
  height: number;
  hash: string;
}

/** What the watermark needs of the database. */
export interface ChainTip {
  tip(): { height: number; hash: string } | undefined;
  block(height: number): { hash: string } | undefined;
}

export class SignedWatermark {
  private newest: { mark: SignedMark; slot: number } | undefined;

  private constructor(readonly file: string, private readonly fd: number, private readonly durable: boolean) {
    this.newest = readSlots(fd, file);
  }

  /** Open (creating, mode 0600) `<dataDir>/signed.wm`. `durable`: fdatasync each record (synchronous FULL/EXTRA). */
  static open(dataDir: string, durable = true): SignedWatermark {
    const file = path.join(dataDir, 'signed.wm');
    if (!fs.existsSync(file)) createFile(file);
    const fd = fs.openSync(file, 'r+');
    return new SignedWatermark(file, fd, durable);
  }

  get mark(): SignedMark | undefined {
    return this.newest?.mark;
  }

  /**
   * At start: refuse a database behind what was signed, or holding another block at the
   * signed height; then record the tip (a block committed just before a crash).
   */
  check(db: ChainTip): void {
    const tip = db.tip();
    if (!tip) fail('db_corrupt', 'the database has no blocks', { status: 500, hint: 'restore tally.db from a backup' });
    const mark = this.mark;
    if (mark && tip.height < mark.height) {
      fail('db_behind_signed', `the database ends at height ${tip.height}, but this node signed up to height ${mark.height} (${this.file}): committed blocks were lost (a damaged WAL or an older copy of tally.db)`, {
        status: 500,
        details: { dbHeight: tip.height, signedHeight: mark.height, signedHash: mark.hash },
        hint: `restore tally.db (with its -wal) from a backup that reaches height ${mark.height}. Only if none exists: \`tally node --accept-rollback ${tip.height}\` continues from height ${tip.height}, re-signing heights that clients may already hold blocks for`,
      });
    }
    if (mark && db.block(mark.height)?.hash !== mark.hash) {
      fail('db_signed_mismatch', `the database holds another block at height ${mark.height} than the one this node signed (${this.file})`, {
        status: 500,
        details: { signedHeight: mark.height, signedHash: mark.hash, dbHash: db.block(mark.height)?.hash ?? null },
        hint: 'this tally.db is not this node\'s chain: restore the right tally.db from a backup',
      });
    }
    if (!mark || tip.height > mark.height) this.record(tip.height, tip.hash);
  }

  /**
   * After a block is committed and before anyone learns of it. Throws if the record is not
   * durable: the caller must then not publish the block (the node stops; at restart the
   * committed block is recorded by check()).
   */
  record(height: number, hash: string): void {
    const slot = this.newest ? 1 - this.newest.slot : 0;
    fs.writeSync(this.fd, encodeSlot({ height, hash }), 0, SLOT, slot * SLOT);
    if (this.durable) fs.fdatasyncSync(this.fd);
    this.newest = { mark: { height, hash }, slot };
  }

  /** `--accept-rollback`: the operator accepts the database tip; both slots are set to it. */
  reset(mark: SignedMark): void {
    const both = Buffer.concat([encodeSlot(mark), encodeSlot(mark)]);
    fs.writeSync(this.fd, both, 0, both.length, 0);
    fs.fsyncSync(this.fd);
    this.newest = { mark, slot: 0 };
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

function checksum(mark: SignedMark): string {
  return crypto.createHash('sha256').update(`${mark.height}:${mark.hash}`).digest('hex').slice(0, 16);
}

function encodeSlot(mark: SignedMark): Buffer {
  const text = JSON.stringify({ height: mark.height, hash: mark.hash, check: checksum(mark) });
  if (text.length > SLOT - 1) throw new Error('invariant violated: watermark slot overflow');
  return Buffer.from(text.padEnd(SLOT - 1, ' ') + '\n');
}

function decodeSlot(buf: Buffer): SignedMark | undefined {
  try {
    const v = JSON.parse(buf.toString('utf8')) as { height?: unknown; hash?: unknown; check?: unknown };
    if (!Number.isSafeInteger(v.height) || typeof v.hash !== 'string') return undefined;
    const mark = { height: v.height as number, hash: v.hash };
    return v.check === checksum(mark) ? mark : undefined;
  } catch {
    return undefined;
  }
}

function readSlots(fd: number, file: string): { mark: SignedMark; slot: number } | undefined {
  const buf = Buffer.alloc(2 * SLOT);
  fs.readSync(fd, buf, 0, buf.length, 0);
  const raw = [buf.subarray(0, SLOT), buf.subarray(SLOT, 2 * SLOT)];
  const slots = raw.map(decodeSlot);
  let best: { mark: SignedMark; slot: number } | undefined;
  slots.forEach((mark, slot) => {
    if (mark && (!best || mark.height > best.mark.height)) best = { mark, slot };
  });
  // A blank slot was never written (a first write may have been torn): no record yet.
  if (!best && !raw.some(isBlank)) {
    fail('watermark_corrupt', `${file} holds no valid record of the signed height`, {
      status: 500,
      hint: 'if tally.db is known good (`tally chain verify --data`), delete the file: the next start records the database tip',
    });
  }
  return best;
}

function isBlank(slot: Buffer): boolean {
  return slot.every((b) => b === 0x20 || b === 0);
}

/** A file of two blank slots, created under a temporary name and renamed, with the directory fsynced. */
function createFile(file: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, Buffer.alloc(2 * SLOT, 0x20));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dir = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

/**
 * `tally node --accept-rollback HEIGHT`: the operator has no copy of the lost blocks and
 * accepts continuing from the database tip. HEIGHT must be that tip, typed out, so a flag
 * left in a service file cannot accept a later, different rollback.
 */
export function acceptRollback(paths: { dir: string; db: string; dbKey: string; lock: string }, height: number): { from: number; to: number } {
  const release = acquireNodeLock(paths.lock);
  const store = SqliteStore.open({ dbPath: paths.db, keyPath: paths.dbKey, readonly: true });
  const watermark = SignedWatermark.open(paths.dir);
  try {
    const tip = store.tip();
    if (!tip) fail('db_corrupt', 'the database has no blocks', { status: 500 });
    if (tip.height !== height) {
      fail('bad_flag', `--accept-rollback ${height}: the database ends at height ${tip.height}; pass exactly that height`, { details: { dbHeight: tip.height } });
    }
    const from = watermark.mark?.height ?? tip.height;
    watermark.reset({ height: tip.height, hash: tip.hash });
    return { from, to: tip.height };
  } finally {
    watermark.close();
    store.close();
    release();
  }
}
