// A verification thread for `tally notary verify`: public keys once, then groups of
// records; answers the ids whose signature does not verify, with the reason.
import crypto, { type KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { fromB64u } from '../../core/encoding.js';
import { verifyWith, type Algorithm } from './keys.js';
import { signedMessage, type LeafFields } from './records.js';

/** A record with its signature: the same fields its Merkle leaf commits to. */
export type VerifyItem = LeafFields;

export type VerifyRequest = { kind: 'keys'; keys: Array<{ kid: string; alg: Algorithm; pem: string }> } | { kind: 'verify'; items: VerifyItem[] };

const keys = new Map<string, { alg: Algorithm; key: KeyObject }>();

parentPort!.on('message', (req: VerifyRequest) => {
  if (req.kind === 'keys') {
    for (const k of req.keys) keys.set(k.kid, { alg: k.alg, key: crypto.createPublicKey(k.pem) });
    parentPort!.postMessage([]);
    return;
  }
  const bad: Array<{ id: number; reason: string }> = [];
  for (const it of req.items) bad.push(...check(it));
  parentPort!.postMessage(bad);
});

function check(it: VerifyItem): Array<{ id: number; reason: string }> {
  const k = keys.get(it.kid);
  if (!k) return [{ id: it.id, reason: `unknown key ${it.kid}` }];
  if (k.alg !== it.alg) return [{ id: it.id, reason: `key ${it.kid} is ${k.alg}, record says ${it.alg}` }];
  let sig: Buffer;
  try {
    sig = fromB64u(it.sig, 'signature');
  } catch {
    return [{ id: it.id, reason: 'signature is not base64url' }];
  }
  return verifyWith(k.alg, k.key, signedMessage(it.batch, it.id, it.record), sig) ? [] : [{ id: it.id, reason: 'signature does not verify' }];
}
