// Anchoring: each signed batch's Merkle root goes on chain in a `notary.anchor`
// transaction signed by the node's own key, so a block (signed, timed, hash-linked) proves
// the batch's signatures existed by then. The node's anchorer submits them; the state key
// per (signer, batch) refuses a second anchor of the same batch.
import { fail } from '../../core/errors.js';
import { array, decode, int, object, string } from '../../core/decode.js';
import { accountIdFromPub } from '../../core/keys.js';
import { signTx, type Tx } from '../../chain/envelope.js';
import type { TxType } from '../../chain/module.js';
import type { ServiceContext } from '../../chain/app-module.js';
import type { NotaryBackend } from './backend.js';

/** Batch roots in one anchor transaction (keeps it well under the 4 KiB transaction limit). */
export const ANCHOR_BATCHES_MAX = 20;

export interface AnchorBody {
  batches: Array<{ batch: number; root: string; count: number; first: number }>;
}

const ROOT = /^[0-9a-f]{64}$/;

export const anchorKey = (account: string, batch: number) => `notary/anchor/${account}/${batch}`;

const positive = int({ min: 1, what: 'a positive integer' });
const anchorBody = object({
  batches: array(object({
    batch: positive,
    root: string({ pattern: ROOT, maxLength: 64, what: '64 lowercase hex digits' }),
    count: positive,
    first: positive,
  }), { minItems: 1, maxItems: ANCHOR_BATCHES_MAX }),
});

export const anchorTx: TxType<AnchorBody> = {
  type: 'notary.anchor',
  // The node's key opens its account with its first anchor; a verifier checks that the
  // anchor was signed by the node key it pins (any other key's anchors prove nothing).
  opensAccount: true,
  parse(body) {
    const { batches } = decode(anchorBody, body, 'bad_body', 'body');
    const seen = new Set<number>();
    for (const b of batches) {
      if (seen.has(b.batch)) fail('bad_body', `batch ${b.batch} appears twice`);
      seen.add(b.batch);
    }
    return { batches };
  },
  apply(ctx, body) {
    for (const b of body.batches) {
      if (ctx.state.get(anchorKey(ctx.tx.from, b.batch)) !== undefined) fail('already_anchored', `batch ${b.batch} is already anchored by this account`, { status: 409 });
    }
    for (const b of body.batches) ctx.state.set(anchorKey(ctx.tx.from, b.batch), { root: b.root, count: b.count, first: b.first, tx: ctx.id, height: ctx.height });
    return body.batches.map((b) => ({ type: 'notary.anchored', account: ctx.tx.from, batch: b.batch, root: b.root, count: b.count }));
  },
};

interface AnchorRecord {
  root: string;
  tx: string;
  height: number;
}

/**
 * Submit anchors for signed batches, a few at a time, and record the receipts. After a
 * crash between commit and bookkeeping, the chain state already holds the anchor: read it
 * back instead of anchoring twice.
 */
export async function anchorPending(ctx: ServiceContext, store: Pick<NotaryBackend, 'unanchored' | 'setAnchor'>): Promise<number> {
  const account = accountIdFromPub(ctx.signer.pub);
  let pending = await store.unanchored(ANCHOR_BATCHES_MAX);
  const fresh = [];
  for (const b of pending) {
    const onChain = ctx.node.query('notary.anchor', { account, batch: b.id }) as AnchorRecord | null;
    if (onChain && onChain.root === b.root) await store.setAnchor(b.id, onChain.tx, onChain.height);
    else fresh.push(b);
  }
  pending = fresh;
  if (pending.length === 0) return 0;
  const tx: Tx = {
    chain: ctx.node.params.chain,
    type: 'notary.anchor',
    from: account,
    nonce: ctx.nextNonce(account),
    expires: Math.floor(Date.now() / 1000) + 600,
    body: { batches: pending.map((b) => ({ batch: b.id, root: b.root!, count: b.record_count, first: b.first_record })) },
  };
  const [result] = await ctx.node.submit([signTx(tx, ctx.signer)]);
  if (!result || 'error' in result) {
    ctx.log(`notary: anchor refused: ${result && 'error' in result ? result.error.code : 'no result'}`);
    return 0;
  }
  if (result.status !== 'ok') {
    ctx.log(`notary: anchor transaction ${result.id} failed: ${result.code}`);
    return 0;
  }
  for (const b of pending) await store.setAnchor(b.id, result.id, result.height);
  return pending.length;
}
