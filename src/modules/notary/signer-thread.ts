// A signing thread. It receives a lease's private key once (the KeyObject is built once
// per lease, not per record), then batches of messages, and answers their signatures.
import { parentPort } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { privateKeyFromDer, signWith, type Algorithm } from './keys.js';

export type SignerRequest =
  | { kind: 'load'; alg: Algorithm; der: Uint8Array }
  | { kind: 'sign'; messages: Uint8Array[] }
  | { kind: 'unload' };

export type SignerReply = { ok: true; sigs?: Uint8Array[] } | { ok: false; error: string };

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
      const sigs = req.messages.map((m) => signWith(alg, key!, m));
      parentPort!.postMessage({ ok: true, sigs } satisfies SignerReply);
    }
  } catch (err) {
    parentPort!.postMessage({ ok: false, error: (err as Error).message } satisfies SignerReply);
  }
});
