// Runs in a worker thread: canonicalize, hash and verify a chunk of envelopes whose shape
// the main thread has already checked, and check the keys of those that may open an
// account (the executor's weak_key rule, done here so that the main thread finds the
// answer remembered; a verified signature lets it skip the field square root). Returns
// only ids and verdicts.
import { parentPort } from 'node:worker_threads';
import { signingText, TX_DOMAIN, txIdOfSigningText, type Envelope } from './envelope.js';
import { isStrongVerifiedKey, verifySignature } from '../core/keys.js';
import { utf8 } from '../core/encoding.js';
import { limits } from '../core/limits.js';

export interface VerifyRequest {
  seq: number;
  envelopes: Envelope[];
  /** positions in `envelopes` whose key may open an account: check its strength too */
  keys?: number[];
}

export interface VerifyVerdict {
  id: string;
  /** null when the signature is valid, else an error code */
  code: string | null;
  /** canonical JSON of the whole envelope (valid ones only): what the store keeps */
  canonical?: string;
  /** for a position in `keys` with a valid signature: whether the key passed the strong-key check */
  strongKey?: boolean;
}

parentPort!.on('message', (req: VerifyRequest) => {
  const verdicts: VerifyVerdict[] = req.envelopes.map(verifyOne);
  // Only a key whose signature verified: isStrongVerifiedKey relies on OpenSSL having decoded it.
  for (const i of req.keys ?? []) if (verdicts[i]!.code === null) verdicts[i]!.strongKey = isStrongVerifiedKey(req.envelopes[i]!.pub);
  parentPort!.postMessage({ seq: req.seq, verdicts });
});

function verifyOne(env: Envelope): VerifyVerdict {
  let text: string;
  try {
    text = signingText(env.tx);
  } catch {
    return { id: '', code: 'bad_envelope' };
  }
  const bytes = utf8.encode(text);
  const id = txIdOfSigningText(text);
  if (bytes.length > limits.txBytesMax) return { id, code: 'tx_too_large' };
  try {
    if (!verifySignature(env.pub, bytes, env.sig)) return { id, code: 'bad_signature' };
    // JCS of {pub, sig, tx}: keys in order, and the tx part is already canonical.
    return { id, code: null, canonical: `{"pub":${JSON.stringify(env.pub)},"sig":${JSON.stringify(env.sig)},"tx":${text.slice(TX_DOMAIN.length)}}` };
  } catch {
    return { id, code: 'bad_signature' };
  }
}
