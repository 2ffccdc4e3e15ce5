// One transaction: the envelope (its id and its sender's signature checked here), its
// receipt, and the receipt's inclusion proof folded up to a header the pinned key signed.
import { api, type TxView } from '../api.js';
import { verdictLine } from '../badge.js';
import { fields, h } from '../h.js';
import { accountLink, blockLink, json, time } from '../format.js';
import { pinnedKey } from '../pin.js';
import type { PageContext } from '../router.js';
import { verifyInclusion, type ProofView } from '../verify.js';

export async function txPage(ctx: PageContext): Promise<HTMLElement> {
  const id = ctx.params.id ?? '';
  if (!/^[0-9a-f]{64}$/.test(id)) return h('p', { role: 'alert' }, 'A transaction id is 64 lowercase hex digits.');
  const [view, proof] = await Promise.all([
    api<TxView>(`/v1/txs/${id}`, { signal: ctx.signal }),
    api<ProofView>(`/v1/txs/${id}/proof`, { signal: ctx.signal }),
  ]);
  const v = verifyInclusion(view, proof, pinnedKey());
  const tx = view.envelope.tx;
  return h('div', { class: 'tx' },
    h('h1', {}, 'Transaction'),
    verdictLine('this transaction and its inclusion', v),
    fields([
      ['id', h('code', {}, view.id)],
      ['type', tx.type],
      ['from', accountLink(tx.from)],
      ['nonce', String(tx.nonce)],
      ['expires', time(tx.expires * 1000)],
      ['block', [blockLink(view.receipt.height), `, position ${view.receipt.index}`]],
      ['status', view.receipt.status + (view.receipt.code ? ` (${view.receipt.code})` : '')],
    ]),
    h('h2', {}, 'Body'), json(tx.body),
    h('h2', {}, 'Receipt'), json(view.receipt),
    h('h2', {}, 'Inclusion proof'),
    fields([
      ['leaf', h('code', {}, proof.leaf)],
      ['position', `${proof.proof.index} of ${proof.proof.count}`],
      ['siblings', proof.proof.siblings.length === 0 ? 'none' : h('ol', {}, proof.proof.siblings.map((s) => h('li', {}, h('code', {}, s))))],
      ['txRoot', h('code', {}, proof.block.header.txRoot)],
    ]),
    h('h2', {}, 'Envelope'), json(view.envelope));
}
