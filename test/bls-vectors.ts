// The README's BLS vectors ("BLS signatures (validators)"): one key from a fixed seed (IKM
// 00 01 … 1f), its public key, a signature over a short UTF-8 message and the key's proof
// of possession; then a commit certificate by 7 of 9 validators (validator i's IKM is 32
// bytes of value i; validator 8 has power 3, the others 1) to show the bitmap and the
// power rule. BLS signing is deterministic, so every byte is reproducible, and either
// implementation (noble or blst) builds the same block.
//
// Print the block for the README: npm run build && node dist/test/bls-vectors.js
import { fileURLToPath } from 'node:url';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { BLS_POP_DST, BLS_SIG_DST, nobleBls, type BlsScheme } from '../src/core/bls.js';
import { buildCertificate, type BlsValidator, type CommitCertificate } from '../src/chain/consensus/certificate.js';

export const BLS_BEGIN = '<!-- bls-vectors:begin -->';
export const BLS_END = '<!-- bls-vectors:end -->';

export interface BlsVectors {
  dst: { signature: string; pop: string };
  key: { ikm: string; secretKey: string; publicKey: string; pop: string };
  message: string;
  signature: string;
  certificate: { message: string; validators: BlsValidator[]; signed: number[]; certificate: CommitCertificate };
}

const VALIDATOR_COUNT = 9;
const SIGNED = [0, 1, 2, 3, 4, 5, 8];

export function buildBlsVectors(scheme: BlsScheme): BlsVectors {
  const ikm = Uint8Array.from({ length: 32 }, (_, i) => i);
  const sk = scheme.keygen(ikm);
  const message = 'tally BLS test vector';
  const certMessage = 'tally BLS certificate vector';
  const keys = Array.from({ length: VALIDATOR_COUNT }, (_, i) => scheme.keygen(new Uint8Array(32).fill(i)));
  const validators = keys.map((k, i) => ({ blsKey: Buffer.from(scheme.publicKey(k)).toString('base64url'), power: i === 8 ? 3 : 1 }));
  const votes = SIGNED.map((i) => ({ validator: i, signature: scheme.sign(keys[i]!, utf8ToBytes(certMessage)) }));
  return {
    dst: { signature: BLS_SIG_DST, pop: BLS_POP_DST },
    key: { ikm: bytesToHex(ikm), secretKey: bytesToHex(sk), publicKey: bytesToHex(scheme.publicKey(sk)), pop: bytesToHex(scheme.popProve(sk)) },
    message,
    signature: bytesToHex(scheme.sign(sk, utf8ToBytes(message))),
    certificate: { message: certMessage, validators, signed: SIGNED, certificate: buildCertificate(scheme, validators, votes) },
  };
}

/** Pretty JSON with one validator per line and the signer list on one line. */
export function formatBlsVectors(v: BlsVectors): string {
  return JSON.stringify(v, null, 2)
    .replace(/\{\n\s+"blsKey": ("[^"]+"),\n\s+"power": (\d+)\n\s+\}/g, '{ "blsKey": $1, "power": $2 }')
    .replace(/"signed": \[([^\]]+)\]/, (_, list: string) => `"signed": [${list.split(',').map((n) => n.trim()).join(', ')}]`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`${BLS_BEGIN}\n\`\`\`json\n${formatBlsVectors(buildBlsVectors(nobleBls))}\n\`\`\`\n${BLS_END}`);
}
