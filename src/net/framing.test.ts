// The request-response framing: vectors for the varint prefix (the README lists the
// same ones), and every way a peer can send something that is not one frame.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { FrameRefused, decodeResponse, encodeErrorResponse, encodeFrame, encodeOkResponse, encodeVarint, readOneFrame, type Chunk } from './framing.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
async function* chunks(...parts: Array<number[] | Uint8Array>): AsyncGenerator<Chunk> {
  for (const p of parts) yield Uint8Array.from(p);
}
async function refused(source: AsyncIterable<Chunk>, max: number): Promise<string> {
  try {
    await readOneFrame(source, max);
  } catch (err) {
    assert.ok(err instanceof FrameRefused, `expected FrameRefused, got ${String(err)}`);
    return err.truncated ? `${err.fault} (truncated)` : err.fault;
  }
  assert.fail('frame was accepted');
}

describe('framing', () => {
  it('encodes the length as a minimal unsigned LEB128 varint (README vectors)', () => {
    const vectors: Array<[number, string]> = [[0, '00'], [1, '01'], [127, '7f'], [128, '8001'], [300, 'ac02'], [16384, '808001'], [2 ** 28 - 1, 'ffffff7f']];
    for (const [n, want] of vectors) assert.equal(hex(encodeVarint(n)), want, `varint(${n})`);
    assert.throws(() => encodeVarint(2 ** 28), RangeError);
    assert.equal(hex(encodeFrame(Uint8Array.from([0xaa, 0xbb]))), '02aabb');
    assert.equal(hex(encodeOkResponse(Uint8Array.from([0x42]))), '0042');
    assert.equal(hex(encodeErrorResponse('not_found')), '01' + Buffer.from('not_found').toString('hex'));
  });

  it('matches the vectors the README gives', () => {
    const readme = fs.readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const line = /Varint vectors:([^]*?)\(`src\/net\/framing\.test\.ts`\)/.exec(readme)?.[1];
    assert.ok(line, 'README has the varint vectors');
    const pairs = [...line.replace(/\s+/g, ' ').matchAll(/(\d+)(\^(\d+)−1)? → `([0-9a-f]+)`/g)];
    assert.equal(pairs.length, 6);
    for (const [, base, pow, exp, want] of pairs) {
      const n = pow ? Number(base) ** Number(exp) - 1 : Number(base);
      assert.equal(hex(encodeVarint(n)), want, `README varint(${n})`);
    }
    assert.match(line, /`encodeFrame\(aa bb\)` = `02aabb`/);
  });

  it('reads one frame split across chunks at any point', async () => {
    const payload = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    const frame = encodeFrame(payload);
    for (const cut of [1, 2, 3, 150, frame.length - 1]) {
      const got = await readOneFrame(chunks(frame.subarray(0, cut), frame.subarray(cut)), 300);
      assert.deepEqual(got, payload);
    }
    assert.deepEqual(await readOneFrame(chunks([0]), 0), new Uint8Array(0));
  });

  it('refuses a length over the limit from the prefix alone, before any payload', async () => {
    let pulled = 0;
    async function* hostile(): AsyncGenerator<Chunk> {
      pulled++;
      yield encodeVarint(100_000_000);
      pulled++;
      yield new Uint8Array(1024); // never reached
    }
    assert.equal(await refused(hostile(), 1000), 'oversized');
    assert.equal(pulled, 1);
    assert.equal(await refused(chunks([0xe9, 0x07]), 1000), 'oversized'); // 1001
    assert.deepEqual(await readOneFrame(chunks(encodeFrame(new Uint8Array(1000))), 1000), new Uint8Array(1000));
  });

  it('refuses bytes that are not exactly one frame', async () => {
    // A stream that ends early is marked truncated: a lost connection looks the same.
    assert.equal(await refused(chunks(), 10), 'garbage (truncated)'); // nothing
    assert.equal(await refused(chunks([0x85]), 10 ** 6), 'garbage (truncated)'); // ends inside the prefix
    assert.equal(await refused(chunks([0x05, 1, 2]), 10), 'garbage (truncated)'); // short payload
    assert.equal(await refused(chunks([0x02, 1, 2, 3]), 10), 'garbage'); // trailing byte
    assert.equal(await refused(chunks([0x01, 1], [0]), 10), 'garbage'); // a second frame
    assert.equal(await refused(chunks([0x81, 0x00]), 10), 'garbage'); // non-minimal prefix
    assert.equal(await refused(chunks([0x80, 0x80, 0x80, 0x80, 0x01]), 2 ** 28 - 1), 'garbage'); // prefix too long
  });

  it('decodes responses and refuses unknown status bytes and bad codes', () => {
    assert.deepEqual(decodeResponse(encodeOkResponse(Uint8Array.from([7]))), { ok: true, body: Uint8Array.from([7]) });
    assert.deepEqual(decodeResponse(encodeErrorResponse('bad_args')), { ok: false, code: 'bad_args' });
    assert.deepEqual(decodeResponse(encodeErrorResponse('Secret message: /etc/x')), { ok: false, code: 'internal' });
    for (const bad of [[], [2], [1], [1, 0x41], [1, 0xff]]) {
      assert.throws(() => decodeResponse(Uint8Array.from(bad)), (e) => e instanceof FrameRefused && e.fault === 'garbage', `status ${hex(Uint8Array.from(bad))}`);
    }
  });
});
