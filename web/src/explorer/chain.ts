// The chain's parameters and the node key: the genesis document is verified here (it
// hashes to block 0's prevHash, and block 0 is signed by the pinned key).
import { api, nodeOrigin, type SignedBlock } from '../api.js';
import { verdictLine } from '../badge.js';
import { fields, h } from '../h.js';
import { json } from '../format.js';
import { pinnedKey, unpinKey } from '../pin.js';
import type { PageContext } from '../router.js';
import { refreshInfo } from '../shell.js';
import { verifyGenesis } from '../verify.js';

export async function chainPage(ctx: PageContext): Promise<HTMLElement> {
  const [node, genesis, block0] = await Promise.all([
    refreshInfo(ctx.signal),
    api('/v1/genesis', { signal: ctx.signal }),
    api<SignedBlock>('/v1/blocks/0', { signal: ctx.signal }),
  ]);
  const pinned = pinnedKey();
  const v = verifyGenesis(genesis, block0, pinned);
  const unpin = h('button', { type: 'button' }, 'Forget the pinned key');
  unpin.addEventListener('click', () => { unpinKey(); location.reload(); });
  return h('div', { class: 'chain' },
    h('h1', {}, 'Chain parameters'),
    verdictLine('the genesis document', v),
    fields([
      ['chain', h('code', {}, node.chain)],
      ['decimals', String(node.decimals)],
      ['genesis hash', h('code', {}, block0.header.prevHash)],
      ['height', String(node.height)],
      ['modules', node.modules.join(', ')],
      ['transaction types', node.txTypes.join(', ')],
      ['queries', node.queries.join(', ')],
      ['node', h('code', {}, nodeOrigin())],
    ]),
    h('h2', {}, 'Node key'),
    fields([
      ['reported by the node', h('code', { id: 'reported-key' }, node.nodeKey)],
      ['pinned in this browser', pinned ? h('code', { id: 'pinned-key' }, pinned) : 'none'],
    ]),
    pinned ? unpin : null,
    h('h2', {}, 'Genesis'), json(genesis));
}
