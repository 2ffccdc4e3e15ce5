// One block: its signed header (signature, hash and proposer checked here against the
// pinned key) and its transactions, which must be exactly what the header's txRoot
// commits to.
import { api, type FullBlock } from '../api.js';
import { verdictLine } from '../badge.js';
import { fields, h, short } from '../h.js';
import { accountLink, blockLink, time, txLink } from '../format.js';
import { pinnedKey } from '../pin.js';
import type { PageContext } from '../router.js';
import { verifyFullBlock } from '../verify.js';

const KNOWN = new Set(['version', 'chain', 'height', 'prevHash', 'time', 'txRoot', 'stateRoot', 'txCount', 'proposer']);

export async function blockPage(ctx: PageContext): Promise<HTMLElement> {
  const height = ctx.params.height ?? '';
  if (!/^(0|[1-9]\d{0,14})$/.test(height)) return h('p', { role: 'alert' }, `"${height}" is not a block height.`);
  const block = await api<FullBlock>(`/v1/blocks/${height}?full=1`, { signal: ctx.signal });
  const v = verifyFullBlock(block, pinnedKey());
  const hd = block.header;
  const n = Number(height);
  return h('div', { class: 'block' },
    h('h1', {}, `Block ${height}`),
    verdictLine(`block ${height}`, v),
    h('p', { class: 'pager' }, n > 0 ? h('a', { href: `#/block/${n - 1}`, rel: 'prev' }, '← previous') : null, ' ', h('a', { href: `#/block/${n + 1}`, rel: 'next' }, 'next →')),
    fields([
      ['hash', h('code', {}, block.hash)],
      ['time', time(hd.time)],
      ['version', String(hd.version ?? 1)],
      ['chain', h('code', {}, hd.chain)],
      ['previous', n > 0 ? [blockLink(n - 1), ' ', short(hd.prevHash)] : ['genesis ', short(hd.prevHash)]],
      ['transactions', String(hd.txCount)],
      ['txRoot', h('code', {}, hd.txRoot)],
      ['stateRoot', h('code', {}, hd.stateRoot)],
      ['proposer', h('code', {}, hd.proposer)],
      // Fields of later header versions (validatorsHash, lastCommitHash, ...): shown as
      // they are; the hash and signature above cover them whatever they are.
      ...Object.entries(hd).filter(([k]) => !KNOWN.has(k)).map(([k, v]): [string, HTMLElement] => [k, h('code', { class: 'wrap' }, typeof v === 'string' ? v : JSON.stringify(v))]),
      ['signature', h('code', { class: 'wrap' }, block.sig)],
    ]),
    h('h2', {}, 'Transactions'),
    block.txs.length === 0 ? h('p', {}, 'none') : h('table', {},
      h('thead', {}, h('tr', {}, ['#', 'id', 'type', 'from', 'status'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, block.txs.map((t) => h('tr', {},
        h('td', { class: 'num' }, String(t.receipt.index)), h('td', {}, txLink(t.id)), h('td', {}, t.envelope.tx.type),
        h('td', {}, accountLink(t.envelope.tx.from)), h('td', {}, t.receipt.status + (t.receipt.code ? ` (${t.receipt.code})` : '')))))));
}
