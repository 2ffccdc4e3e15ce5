// A signing thread. It receives a lease's private key once (the KeyObject is built once
// per lease, not per record), then chunks of records, and answers all their signatures in
// one transferred buffer. It builds the signed bytes itself, so the main thread (which
// also runs every database write) does as little per record as it can.
import { parentPort } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { privateKeyFromDer, signWith, type Algorithm } from './keys.js';
import { signedMessage } from './records.js';

export type SignerRequest =
  | { kind: 'load'; alg: Algorithm; der: Uint8Array }
  | { kind: 'sign'; batch: number; ids: number[]; records: string[] }
  | { kind: 'unload' };

/** sigs: the signatures one after another, each sigBytes long (RSA and Ed25519 signatures have a fixed length per key). */
export type SignerReply = { ok: true; sigs?: ArrayBuffer; sigBytes?: number } | { ok: false; error: string };

let key: KeyObject | undefined;
let alg: Algorithm = 'ed25519';

parentPort!.on('message', (req: SignerRequest) => {
  try {
    if (req.kind === 'load') {
      key = privateKeyFromDer(Buffer.from(req.der));
      alg = req.alg;
      parentPort!.postMessage({ ok: true } satisfies SignerReply);
    } else if (req.kind === 'unload') {
      key = undefined;
      parentPort!.postMessage({ ok: true } satisfies SignerReply);
    } else {
      if (!key) throw new Error('no key loaded');
      let out: Uint8Array | undefined;
      let sigBytes = 0;
      for (let i = 0; i < req.ids.length; i++) {
        const sig = signWith(alg, key, signedMessage(req.batch, req.ids[i]!, req.records[i]!));
        if (!out) {
          sigBytes = sig.length;
          out = new Uint8Array(new ArrayBuffer(sigBytes * req.ids.length));
        } else if (sig.length !== sigBytes) {
          throw new Error(`invariant violated: signatures of one key differ in length (${sig.length} != ${sigBytes})`);
        }
        out.set(sig, i * sigBytes);
      }
      const sigs = out?.buffer as ArrayBuffer | undefined;
      parentPort!.postMessage({ ok: true, sigs, sigBytes } satisfies SignerReply, sigs ? [sigs] : []);
    }
  } catch (err) {
    parentPort!.postMessage({ ok: false, error: (err as Error).message } satisfies SignerReply);
  }
});
