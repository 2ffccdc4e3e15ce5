// The README's consensus vectors ("Consensus"): the proposer rotation for powers 1, 2, 3,
// and the sign bytes and BLS signature of a proposal, a precommit and a nil prevote by
// the BLS section's vector key (IKM 00 01 … 1f). Signing is deterministic, so every byte
// is reproducible.
//
// Print the block for the README: npm run build && node dist/test/consensus-vectors.js
import { fileURLToPath } from 'node:url';
import { nobleBls } from '../src/core/bls.js';
import { ProposerSchedule } from '../src/chain/consensus/proposer.js';
import { signBytes, signMessage } from '../src/chain/consensus/wire.js';
import type { Message } from '../src/chain/consensus/types.js';

export const CONSENSUS_BEGIN = '<!-- consensus-vectors:begin -->';
export const CONSENSUS_END = '<!-- consensus-vectors:end -->';

export interface ConsensusVectors {
  rotation: { powers: number[]; height2Rounds0To5: number[]; round0Heights0To5: number[] };
  chainId: string;
  publicKey: string;
  messages: Array<{ message: Message; signBytes: string; signature: string }>;
}

export function buildConsensusVectors(): ConsensusVectors {
  const powers = [1, 2, 3];
  const schedule = new ProposerSchedule(powers);
  const rounds = [0, 1, 2, 3, 4, 5];
  const sk = nobleBls.keygen(Uint8Array.from({ length: 32 }, (_, i) => i));
  const chainId = 'tally-vectors';
  const block = 'ab'.repeat(32);
  const messages: Message[] = [
    { type: 'proposal', height: 7, round: 2, value: block, validRound: 1, validator: 0 },
    { type: 'precommit', height: 7, round: 2, value: block, validator: 0 },
    { type: 'prevote', height: 7, round: 3, value: null, validator: 0 },
  ];
  return {
    rotation: {
      powers,
      height2Rounds0To5: rounds.map((r) => schedule.proposer(2, r)),
      round0Heights0To5: rounds.map((h) => new ProposerSchedule(powers).proposer(h, 0)),
    },
    chainId,
    publicKey: Buffer.from(nobleBls.publicKey(sk)).toString('base64url'),
    messages: messages.map((message) => ({
      message,
      signBytes: new TextDecoder().decode(signBytes(chainId, message)),
      signature: signMessage(nobleBls, sk, chainId, message).signature,
    })),
  };
}

/** Pretty JSON with arrays of numbers on one line. */
export function formatConsensusVectors(v: ConsensusVectors): string {
  return JSON.stringify(v, null, 2).replace(/\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]/g, (_, list: string) => `[${list.split(',').map((n) => n.trim()).join(', ')}]`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`${CONSENSUS_BEGIN}\n\`\`\`json\n${formatConsensusVectors(buildConsensusVectors())}\n\`\`\`\n${CONSENSUS_END}`);
}
