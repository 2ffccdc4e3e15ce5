// The signed-height watermark: what it refuses at start, what it lets through (a crash
// between commit and record), and that a torn record falls back to the previous one.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignedWatermark, type ChainTip } from './watermark.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

function dir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-wm-'));
  dirs.push(d);
  return d;
}

const hash = (h: number) => `h${h}`.padEnd(64, '0');
/** A database whose blocks 0..height have hash(h), unless `hashes` says otherwise. */
function chain(height: number, hashes: Record<number, string> = {}): ChainTip {
  const at = (h: number) => (h <= height ? { hash: hashes[h] ?? hash(h) } : undefined);
  return { tip: () => ({ height, hash: at(height)!.hash }), block: at };
}

describe('signed-height watermark', () => {
  it('records the tip on first open, mode 0600, and refuses a database behind it', () => {
    const d = dir();
    const wm = SignedWatermark.open(d);
    wm.check(chain(5));
    wm.record(6, hash(6));
    wm.record(7, hash(7));
    wm.close();
    assert.equal(fs.statSync(path.join(d, 'signed.wm')).mode & 0o777, 0o600);
    const again = SignedWatermark.open(d);
    assert.deepEqual(again.mark, { height: 7, hash: hash(7) });
    assert.throws(() => again.check(chain(6)), (err: Error & { code?: string; details?: any }) =>
      err.code === 'db_behind_signed' && err.details.dbHeight === 6 && err.details.signedHeight === 7);
    again.close();
  });

  it('lets a block committed before a crash (tip one above the record) through and records it', () => {
    const d = dir();
    const wm = SignedWatermark.open(d);
    wm.check(chain(3));
    wm.check(chain(4));
    assert.equal(wm.mark?.height, 4);
    wm.close();
  });

  it('refuses another block at the signed height', () => {
    const d = dir();
    const wm = SignedWatermark.open(d);
    wm.check(chain(3));
    assert.throws(() => wm.check(chain(3, { 3: hash(99) })), { code: 'db_signed_mismatch' });
    assert.throws(() => wm.check(chain(9, { 3: hash(99) })), { code: 'db_signed_mismatch' });
    wm.close();
  });

  it('a torn record leaves the previous one; two damaged slots are watermark_corrupt', () => {
    const d = dir();
    const wm = SignedWatermark.open(d);
    wm.check(chain(1));
    wm.record(2, hash(2));
    wm.record(3, hash(3)); // overwrites the slot that held 1
    wm.close();
    const file = path.join(d, 'signed.wm');
    const bytes = fs.readFileSync(file);
    const newest = bytes.indexOf('"height":3') < 128 ? 0 : 1;
    bytes.write('{"height":3,"ha', newest * 128); // torn: half written
    bytes.fill(0x41, newest * 128 + 15, newest * 128 + 60);
    fs.writeFileSync(file, bytes);
    const back = SignedWatermark.open(d);
    assert.deepEqual(back.mark, { height: 2, hash: hash(2) });
    back.close();
    bytes.fill(0x41, (1 - newest) * 128 + 5, (1 - newest) * 128 + 40);
    fs.writeFileSync(file, bytes);
    assert.throws(() => SignedWatermark.open(d), { code: 'watermark_corrupt' });
  });

  it('reset() accepts a lower tip', () => {
    const d = dir();
    const wm = SignedWatermark.open(d);
    wm.check(chain(8));
    wm.reset({ height: 5, hash: hash(5) });
    wm.close();
    const back = SignedWatermark.open(d);
    back.check(chain(5));
    assert.equal(back.mark?.height, 5);
    back.close();
  });
});
