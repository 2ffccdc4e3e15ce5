// A signing thread. It receives a lease's private key once (the KeyObject is built once
// per lease, not per record), under the slot that holds the lease (several slots may share
// a thread), then chunks of records, and answers all their signatures and Merkle leaf
// hashes in two transferred buffers. It builds the signed bytes and the leaves itself, so
// the main thread (which also runs every database write) does as little per record as it can.
import { parentPort } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { privateKeyFromDer, signWith, type Algorithm } from './keys.js';
import { toB64u } from '../../core/encoding.js';
import { LEAF_HASH_BYTES, recordLeafHashInto, signedMessage } from './records.js';

export type SignerRequest =
  | { kind: 'load'; slot: number; kid: string; alg: Algorithm; der: Uint8Array }
  // records: their canonical JSON joined by newlines (canonical JSON has none inside), one
  // string to copy between threads instead of one per record
  | { kind: 'sign'; slot: number; batch: number; ids: Float64Array; records: string }
  | { kind: 'unload'; slot: number };

/**
 * sigs: the signatures one after another, each sigBytes long (RSA and Ed25519 signatures
 * have a fixed length per key); leaves: their records' Merkle leaf hashes, 32 bytes each.
 */
export type SignerReply = { ok: true; sigs?: ArrayBuffer; sigBytes?: number; leaves?: ArrayBuffer } | { ok: false; error: string };

const keys = new Map<number, { kid: string; alg: Algorithm; key: KeyObject }>();

parentPort!.on('message', (req: SignerRequest) => {
  try {
    if (req.kind === 'load') {
      keys.set(req.slot, { kid: req.kid, alg: req.alg, key: privateKeyFromDer(Buffer.from(req.der)) });
      parentPort!.postMessage({ ok: true } satisfies SignerReply);
    } else if (req.kind === 'unload') {
      keys.delete(req.slot);
      parentPort!.postMessage({ ok: true } satisfies SignerReply);
    } else {
      const k = keys.get(req.slot);
      if (!k) throw new Error('no key loaded');
      const records = req.records.split('\n');
      if (records.length !== req.ids.length) throw new Error('invariant violated: as many records as ids');
      let out: Uint8Array | undefined;
      let sigBytes = 0;
      const leaves = new Uint8Array(new ArrayBuffer(LEAF_HASH_BYTES * req.ids.length));
      for (let i = 0; i < req.ids.length; i++) {
        const id = req.ids[i]!;
        const sig = signWith(k.alg, k.key, signedMessage(req.batch, id, records[i]!));
        recordLeafHashInto({ id, batch: req.batch, kid: k.kid, alg: k.alg, sig: toB64u(sig), record: records[i]! }, leaves, i * LEAF_HASH_BYTES);
        if (!out) {
          sigBytes = sig.length;
          out = new Uint8Array(new ArrayBuffer(sigBytes * req.ids.length));
        } else if (sig.length !== sigBytes) {
          throw new Error(`invariant violated: signatures of one key differ in length (${sig.length} != ${sigBytes})`);
        }
        out.set(sig, i * sigBytes);
      }
      const sigs = out?.buffer as ArrayBuffer | undefined;
      parentPort!.postMessage({ ok: true, sigs, sigBytes, leaves: leaves.buffer } satisfies SignerReply, sigs ? [sigs, leaves.buffer] : []);
    }
  } catch (err) {
    parentPort!.postMessage({ ok: false, error: (err as Error).message } satisfies SignerReply);
  }
});
