// Home: the chain, its tip and throughput, the latest blocks and transactions (each block
// verified here: signature, hash, and its receipts against the txRoot), kept live over
// the block stream.
import { api, subscribe, type BlockMessage, type FullBlock } from '../api.js';
import { badge, setBadge } from '../badge.js';
import { fields, h, replace, short } from '../h.js';
import { accountLink, blockLink, time, txLink } from '../format.js';
import { pinnedKey } from '../pin.js';
import type { PageContext } from '../router.js';
import { refreshInfo } from '../shell.js';
import { merkleRoot } from '../../../src/core/merkle.js';
import { receiptLeaf, verifyBlock, verifyFullBlock, type Verdict } from '../verify.js';

export const LATEST_BLOCKS = 10;
const LATEST_TXS = 15;

interface Row { height: number; hash: string; time: number; txCount: number; verdict: Verdict; txs: Array<{ id: string; type?: string; from?: string; status: string }> }

/** A streamed block: header checked, and its receipts (all of them, topic "blocks") fold to its txRoot. */
function verifyMessage(m: BlockMessage, key: string | null): Verdict {
  const head = verifyBlock(m, key);
  if (!head.ok) return head;
  if (m.receipts.length !== m.header.txCount) return { ok: false, reason: 'the message does not carry txCount receipts' };
  return merkleRoot(m.receipts.map(receiptLeaf)) === m.header.txRoot ? head : { ok: false, reason: 'the receipts do not lead to the header\'s txRoot' };
}

export async function homePage(ctx: PageContext): Promise<HTMLElement> {
  const node = await refreshInfo(ctx.signal);
  const key = pinnedKey();
  const low = Math.max(0, node.height - LATEST_BLOCKS + 1);
  const heights = Array.from({ length: node.height - low + 1 }, (_, i) => node.height - i);
  const blocks = await Promise.all(heights.map((n) => api<FullBlock>(`/v1/blocks/${n}?full=1`, { signal: ctx.signal })));
  const rows: Row[] = blocks.map((b) => rowOf(b, key));

  const pageBadge = badge('the latest blocks');
  const tipEl = h('span', {});
  const rateEl = h('span', {});
  const blocksBody = h('tbody', {});
  const txsBody = h('tbody', {});
  const draw = () => {
    const tip = rows[0];
    replace(tipEl, tip ? [blockLink(tip.height), ' ', short(tip.hash)] : '—');
    rateEl.textContent = txPerSecond(rows);
    replace(blocksBody, rows.map((r) => h('tr', {},
      h('td', {}, blockLink(r.height)), h('td', {}, short(r.hash)), h('td', {}, time(r.time)), h('td', { class: 'num' }, String(r.txCount)),
      h('td', {}, rowBadge(r)))));
    const txs = rows.flatMap((r) => r.txs.map((t) => ({ ...t, height: r.height }))).slice(0, LATEST_TXS);
    replace(txsBody, txs.length === 0 ? h('tr', {}, h('td', { colspan: 5 }, 'no transactions in the latest blocks')) : txs.map((t) => h('tr', {},
      h('td', {}, txLink(t.id)), h('td', {}, t.type ?? '—'), h('td', {}, t.from ? accountLink(t.from) : '—'), h('td', {}, t.status), h('td', {}, blockLink(t.height)))));
    const failed = rows.find((r) => !r.verdict.ok);
    setBadge(pageBadge, failed ? failed.verdict : { ok: true }, 'the latest blocks');
  };
  draw();

  let fetching = false;
  // When the stream opens, fetch the blocks committed since the page loaded (the stream
  // sends only what comes after it opens).
  const fillGap = async () => {
    const tip = (await refreshInfo(ctx.signal)).height;
    const newest = rows[0]?.height ?? -1;
    const missing = Array.from({ length: Math.min(LATEST_BLOCKS, tip - newest) }, (_, i) => tip - i);
    const got = await Promise.all(missing.map((n) => api<FullBlock>(`/v1/blocks/${n}?full=1`, { signal: ctx.signal })));
    for (const b of got.reverse()) {
      if (rows.some((r) => r.height === b.header.height)) continue;
      rows.unshift(rowOf(b, key));
    }
    rows.sort((a, b) => b.height - a.height);
    rows.length = Math.min(rows.length, LATEST_BLOCKS);
    draw();
  };
  subscribe((m) => {
    if (m.type !== 'block' || rows.some((r) => r.height === m.header.height)) return;
    rows.unshift({
      height: m.header.height, hash: m.hash, time: m.header.time, txCount: m.header.txCount, verdict: verifyMessage(m, key),
      txs: m.receipts.map((r) => ({ id: r.id, status: r.status })),
    });
    rows.length = Math.min(rows.length, LATEST_BLOCKS);
    draw();
    // The stream carries receipts, not transactions: fetch the full block for their types
    // and senders, one at a time (a burst of blocks keeps the receipts-only rows).
    if (fetching) return;
    fetching = true;
    api<FullBlock>(`/v1/blocks/${m.header.height}?full=1`, { signal: ctx.signal }).then((b) => {
      const i = rows.findIndex((r) => r.height === b.header.height);
      if (i < 0) return;
      rows[i] = rowOf(b, key);
      draw();
    }, (err: Error) => console.warn(`block ${m.header.height}: ${err.message}`)).finally(() => { fetching = false; });
  }, ctx.signal, '', () => { fillGap().catch((err: Error) => console.warn(`catching up: ${err.message}`)); });

  return h('div', { class: 'home' },
    h('h1', {}, 'Explorer ', pageBadge),
    fields([['chain', h('code', {}, node.chain)], ['tip', tipEl], ['transactions per second', rateEl], ['mempool', String(node.mempool)]]),
    h('h2', {}, 'Latest blocks'),
    h('table', { class: 'blocks' }, h('caption', { class: 'sr' }, 'latest blocks, newest first'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'height'), h('th', { scope: 'col' }, 'hash'), h('th', { scope: 'col' }, 'time'), h('th', { scope: 'col' }, 'txs'), h('th', { scope: 'col' }, 'check'))),
      blocksBody),
    h('h2', {}, 'Latest transactions'),
    h('table', { class: 'txs' }, h('caption', { class: 'sr' }, 'latest transactions, newest block first'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'id'), h('th', { scope: 'col' }, 'type'), h('th', { scope: 'col' }, 'from'), h('th', { scope: 'col' }, 'status'), h('th', { scope: 'col' }, 'block'))),
      txsBody));
}

function rowOf(b: FullBlock, key: string | null): Row {
  return {
    height: b.header.height, hash: b.hash, time: b.header.time, txCount: b.header.txCount, verdict: verifyFullBlock(b, key),
    txs: b.txs.map((t) => ({ id: t.id, type: t.envelope.tx.type, from: t.envelope.tx.from, status: t.receipt.status })),
  };
}

function rowBadge(r: Row): HTMLElement {
  const b = badge(`block ${r.height}`);
  b.set(r.verdict);
  return b;
}

/** Transactions per second over the shown blocks (block times are the signed header times). */
function txPerSecond(rows: Row[]): string {
  if (rows.length < 2) return '—';
  const spanMs = rows[0]!.time - rows[rows.length - 1]!.time;
  const txs = rows.slice(0, -1).reduce((n, r) => n + r.txCount, 0);
  return spanMs > 0 ? (txs / (spanMs / 1000)).toFixed(2) : '—';
}
