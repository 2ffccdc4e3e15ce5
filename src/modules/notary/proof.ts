// A record's proof of when it was signed: its signature, the leaf that commits to it,
// the Merkle path from that leaf to its batch root, and the anchor transaction holding
// the root (whose own proof, GET /v1/txs/:id/proof, leads to a signed, timed block).
import { toB64u } from '../../core/encoding.js';
import { merkleProof, type MerkleProof } from '../../core/merkle.js';
import { recordLeafHash } from './records.js';
import type { BatchRow, NotaryStore, SignedRecordRow } from './store.js';

export interface RecordProof {
  id: number;
  batch: number;
  record: unknown;
  kid: string;
  alg: string;
  sig: string;
  signed_at: string;
  leaf: string;
  proof: MerkleProof | null;
  root: string | null;
  anchor_tx: string | null;
  anchor_height: number | null;
}

export function recordProof(store: NotaryStore, id: number): RecordProof | PendingRecord | undefined {
  const r = store.record(id);
  if (!r) return undefined;
  const b = store.batch(r.batch_id)!;
  return proofOf(id, r, b, store.signedRange(b.first_record, b.first_record + b.record_count - 1));
}

export type PendingRecord = { id: number; batch: number; record: unknown; state: 'pending' };

/** The proof from rows already read (any backend): the record, its batch, the batch's signed rows. */
export function proofOf(id: number, r: { record: string }, b: BatchRow, rows: SignedRecordRow[]): RecordProof | PendingRecord {
  const mine = rows.find((x) => x.id === id);
  if (!mine) return { id, batch: b.id, record: JSON.parse(r.record), state: 'pending' };
  const leafOf = (x: typeof mine) => recordLeafHash({ id: x.id, batch: x.batch_id, kid: x.kid, alg: x.alg, sig: toB64u(x.sig), record: x.record });
  // Once the batch is signed its leaves are all its records in id order.
  const leaves = b.root ? rows.map(leafOf) : [];
  const index = id - b.first_record;
  return {
    id, batch: b.id, record: JSON.parse(r.record), kid: mine.kid, alg: mine.alg, sig: toB64u(mine.sig),
    signed_at: new Date(mine.signed_at).toISOString(),
    leaf: Buffer.from(leafOf(mine)).toString('hex'),
    proof: b.root ? merkleProof(leaves, index) : null,
    root: b.root, anchor_tx: b.anchor_tx, anchor_height: b.anchor_height,
  };
}
