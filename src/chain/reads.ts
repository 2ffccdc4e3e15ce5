// Reads of committed history: transactions with their receipts, inclusion proofs and
// blocks, straight from the store. Shared by the node, queries and replay.
import { fromHex } from '../core/encoding.js';
import { leafHash, type MerkleProof } from '../core/merkle.js';
import type { SqliteStore, TxRow } from '../store/sqlite.js';
import { BlockCache } from './block-cache.js';
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

/**
 * Reads of committed blocks. Proofs and full blocks go through a bounded cache of recent
 * blocks (their Merkle levels, kept at commit; their parsed and serialized transactions),
 * so one client asking for proofs of a 4,000-transaction block cannot stall everyone.
 */
export class ChainReads {
  readonly cache = new BlockCache();

  constructor(private readonly store: SqliteStore) {}

  /** The proposer's Merkle levels of a block it just committed. */
  committed(height: number, levels: Uint8Array[]): void {
    this.cache.recordLevels(height, levels);
  }

  tx(id: string): TxView | undefined {
    const row = this.store.tx(fromHex(id, 'transaction id', 32));
    return row ? txView(row) : undefined;
  }

  proof(id: string): ProofView | undefined {
    const row = this.store.tx(fromHex(id, 'transaction id', 32));
    if (!row) return undefined;
    // O(log n) from the kept levels; the leaves are read only on a miss.
    const { leaf, proof } = this.cache.proof(row.height, row.idx,
      () => this.store.blockTxs(row.height).map((r) => leafHash(receiptLeafBytes(txView(r).receipt))));
    return { receipt: txView(row).receipt, leaf, proof, block: this.block(row.height)! };
  }

  block(height: number): SignedBlock | undefined {
    const row = this.store.block(height);
    return row ? { hash: row.hash, header: JSON.parse(row.header) as BlockHeader, sig: row.sig } : undefined;
  }

  /** Parsed once per block and shared (deep-frozen): callers must not modify them. */
  blockTxViews(height: number): readonly TxView[] {
    return this.cache.fullTxs(height, () => {
      const rows = this.store.blockTxs(height);
      return { txs: rows.map(txView), textBytes: rows.reduce((n, r) => n + r.env.length + r.events.length, 0) };
    });
  }

  /** A full block ({hash, header, sig, txs}) as JSON bytes, serialized once. */
  fullBlockJson(height: number): Buffer {
    return this.cache.fullJson(height, () => ({ ...this.block(height)!, txs: this.store.blockTxs(height).map(txView) }));
  }

  blockTxIds(height: number): string[] {
    return this.store.blockTxs(height).map((r) => r.id.toString('hex'));
  }
}
