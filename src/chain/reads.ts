// Reads of committed history: transactions with their receipts, inclusion proofs and
// blocks, straight from the store. Shared by the node, queries and replay.
import { fromHex } from '../core/encoding.js';
import { leafHash, merkleProof, type MerkleProof } from '../core/merkle.js';
import type { SqliteStore, TxRow } from '../store/sqlite.js';
import type { BlockHeader, SignedBlock } from './blocks.js';
import { receiptLeafBytes, type Envelope, type Receipt, type TxEvent } from './envelope.js';

export interface TxView {
  id: string;
  envelope: Envelope;
  receipt: Receipt;
}

export interface ProofView {
  receipt: Receipt;
  leaf: string;
  proof: MerkleProof;
  block: SignedBlock;
}

export function txView(row: TxRow): TxView {
  const receipt: Receipt = {
    id: row.id.toString('hex'),
    height: row.height,
    index: row.idx,
    status: row.status as Receipt['status'],
    events: JSON.parse(row.events) as TxEvent[],
  };
  if (row.code !== null) receipt.code = row.code;
  return { id: receipt.id, envelope: JSON.parse(row.env) as Envelope, receipt };
}

export class ChainReads {
  constructor(private readonly store: SqliteStore) {}

  tx(id: string): TxView | undefined {
    const row = this.store.tx(fromHex(id, 'transaction id', 32));
    return row ? txView(row) : undefined;
  }

  proof(id: string): ProofView | undefined {
    const row = this.store.tx(fromHex(id, 'transaction id', 32));
    if (!row) return undefined;
    const receipts = this.store.blockTxs(row.height).map((r) => txView(r).receipt);
    const leaves = receipts.map((r) => leafHash(receiptLeafBytes(r)));
    const block = this.block(row.height)!;
    return {
      receipt: receipts[row.idx]!,
      leaf: Buffer.from(leaves[row.idx]!).toString('hex'),
      proof: merkleProof(leaves, row.idx),
      block,
    };
  }

  block(height: number): SignedBlock | undefined {
    const row = this.store.block(height);
    return row ? { hash: row.hash, header: JSON.parse(row.header) as BlockHeader, sig: row.sig } : undefined;
  }

  blockTxViews(height: number): TxView[] {
    return this.store.blockTxs(height).map(txView);
  }

  blockTxIds(height: number): string[] {
    return this.store.blockTxs(height).map((r) => r.id.toString('hex'));
  }
}
