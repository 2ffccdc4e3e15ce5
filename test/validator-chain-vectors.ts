// The README's validator-chain vectors ("Running validators"): a two-validator set in its
// canonical order and its validatorsHash, the precommit bytes both sign for block 1, the
// commit certificate of both (signers bitmap and aggregate signature) and its hash, which
// block 2's lastCommitHash holds. BLS signatures are deterministic, so every byte is
// reproducible.
//
// Print the block for the README: npm run build && node dist/test/validator-chain-vectors.js
import { fileURLToPath } from 'node:url';
import { canonicalJson } from '../src/core/canonical.js';
import { certifiedCommitHash, COMMIT_DOMAIN, validatorsHash, VALIDATORS_DOMAIN, type CertifiedCommit } from '../src/core/header.js';
import { nobleBls } from '../src/core/bls.js';
import { buildCertificate } from '../src/chain/consensus/certificate.js';
import { validatorEntry, type ValidatorEntry } from '../src/chain/consensus/validator-key.js';
import { CONSENSUS_DOMAIN, signBytes } from '../src/chain/consensus/wire.js';
import { signerFromSeed } from './spec-chain.js';

export const VALIDATOR_CHAIN_BEGIN = '<!-- validator-chain-vectors:begin -->';
export const VALIDATOR_CHAIN_END = '<!-- validator-chain-vectors:end -->';

export interface ValidatorChainVectors {
  tags: { validators: string; commit: string; consensus: string };
  chain: string;
  /** per validator: Ed25519 seed (hex) and BLS key material (IKM hex), in the set's order */
  keys: Array<{ ed25519Seed: string; blsIkm: string }>;
  set: { validators: ValidatorEntry[]; jcs: string; hash: string };
  precommit: { message: { type: 'precommit'; height: number; round: number; value: string }; signBytes: string };
  commit: { commit: CertifiedCommit; jcs: string; hash: string };
}

export function buildValidatorChainVectors(): ValidatorChainVectors {
  const chain = 'validator-vectors';
  const raw = ['05', '06'].map((b, i) => {
    const ed = signerFromSeed(b.repeat(32));
    const ikm = new Uint8Array(32).fill(0x50 + i);
    const sk = nobleBls.keygen(ikm);
    return { ed25519Seed: b.repeat(32), blsIkm: Buffer.from(ikm).toString('hex'), sk, entry: validatorEntry(nobleBls, ed.pub, sk, i + 1) };
  }).sort((a, b) => (a.entry.key < b.entry.key ? -1 : 1));
  const validators = raw.map((r) => r.entry);
  const blockHash = '77'.repeat(32);
  const message = { type: 'precommit' as const, height: 1, round: 0, value: blockHash };
  const bytes = signBytes(chain, { ...message, validator: 0 });
  const cert = buildCertificate(nobleBls, validators, raw.map((r, i) => ({ validator: i, signature: nobleBls.sign(r.sk, bytes) })));
  const commit: CertifiedCommit = { height: 1, round: 0, blockHash, signers: cert.signers, signature: cert.signature };
  return {
    tags: { validators: VALIDATORS_DOMAIN, commit: COMMIT_DOMAIN, consensus: CONSENSUS_DOMAIN },
    chain,
    keys: raw.map((r) => ({ ed25519Seed: r.ed25519Seed, blsIkm: r.blsIkm })),
    set: { validators, jcs: canonicalJson({ validators }), hash: validatorsHash(validators) },
    precommit: { message, signBytes: Buffer.from(bytes).toString('utf8') },
    commit: { commit, jcs: canonicalJson(commit), hash: certifiedCommitHash(commit) },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`${VALIDATOR_CHAIN_BEGIN}\n\`\`\`json\n${JSON.stringify(buildValidatorChainVectors(), null, 2)}\n\`\`\`\n${VALIDATOR_CHAIN_END}`);
}
