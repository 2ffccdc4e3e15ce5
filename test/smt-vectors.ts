// The README's state tree vectors ("State tree"): six state entries like the spec chain's
// genesis (alice's and the mint's records, a dispute counter), the root over them, and three proofs chosen
// to show each way a proof ends: at the key's own leaf, at EMPTY, at another key's leaf.
// The absent keys are the first names (in the order below) whose proofs end each way.
//
// Print the block for the README: npm run build && node dist/test/smt-vectors.js
import { fileURLToPath } from 'node:url';
import { bytesToHex } from '@noble/hashes/utils.js';
import {
  SMT_EMPTY_HEX, SMT_EMPTY_TAG, SMT_LEAF_TAG, SMT_NODE_TAG, smtLeaf, smtPath, smtProveSorted, smtRootOfSorted, smtSortEntries, smtValueHash, type StateProof,
} from '../src/core/smt.js';

export const SMT_BEGIN = '<!-- smt-vectors:begin -->';
export const SMT_END = '<!-- smt-vectors:end -->';

const ALICE = '373565bc9a059a2f03f58d907cfa199703e6205f';
const MINT = '0000000000000000000000000000000000000000';
export const SMT_VECTOR_STATE: Array<[string, string]> = [
  [`auth/${ALICE}`, '{"nonce":0,"pub":"iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w"}'],
  [`ledger/acct/${MINT}`, '{"balance":"-50000","created":0,"name":"mint"}'],
  [`ledger/acct/${ALICE}`, '{"balance":"50000","created":0,"name":"alice"}'],
  ['ledger/name/alice', `"${ALICE}"`],
  ['ledger/name/mint', `"${MINT}"`],
  ['ledger/disputes', '0'],
];
const CANDIDATES = ['bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'niaj', 'olivia', 'peggy', 'rupert', 'sybil', 'trent', 'victor', 'walter'];

export interface SmtVectors {
  tags: { leaf: string; node: string; empty: string };
  empty: string;
  entries: Array<{ key: string; value: string; path: string; valueHash: string; leaf: string }>;
  root: string;
  proofs: Array<{ about: string; proof: StateProof }>;
}

export function buildSmtVectors(): SmtVectors {
  const entries = SMT_VECTOR_STATE.map(([key, value]) => {
    const path = smtPath(key);
    const valueHash = smtValueHash(value);
    return { key, value, path: bytesToHex(path), valueHash: bytesToHex(valueHash), leaf: bytesToHex(smtLeaf(path, valueHash)) };
  });
  const sorted = smtSortEntries(SMT_VECTOR_STATE.map(([k, v]) => ({ path: smtPath(k), valueHash: smtValueHash(v) })));
  const absent = CANDIDATES.map((n) => smtProveSorted(sorted, `ledger/name/${n}`, null));
  const atEmpty = absent.find((p) => p.leaf === undefined);
  const atLeaf = absent.find((p) => p.leaf !== undefined);
  if (!atEmpty || !atLeaf) throw new Error('no candidate name ends at EMPTY and at a leaf: add candidates');
  return {
    tags: { leaf: SMT_LEAF_TAG, node: SMT_NODE_TAG, empty: SMT_EMPTY_TAG },
    empty: SMT_EMPTY_HEX,
    entries,
    root: bytesToHex(smtRootOfSorted(sorted)),
    proofs: [
      { about: 'membership: the key\'s own leaf', proof: smtProveSorted(sorted, 'ledger/name/alice', `"${ALICE}"`) },
      { about: 'non-membership ending at EMPTY', proof: atEmpty },
      { about: 'non-membership ending at another key\'s leaf', proof: atLeaf },
    ],
  };
}

export function formatSmtVectors(v: SmtVectors): string {
  return JSON.stringify(v, null, 2);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`${SMT_BEGIN}\n\`\`\`json\n${formatSmtVectors(buildSmtVectors())}\n\`\`\`\n${SMT_END}`);
}
