// Receive: the name and account id to give a payer, and the id as a QR code (drawn here by
// qr.ts; nothing is fetched to draw it). A payer's `tally send` or this wallet's send page
// takes the id as it is.
import { api, ApiError } from '../api.js';
import { fields, h } from '../h.js';
import type { PageContext } from '../router.js';
import { encodeQr, type Qr } from '../../../src/core/qr.js';
import { keyOrNote, walletNav } from './ui.js';

export async function receivePage(ctx: PageContext): Promise<HTMLElement> {
  const got = await keyOrNote();
  const root = h('div', { class: 'wallet' }, h('h1', {}, 'Receive'), walletNav());
  if ('note' in got) return (root.append(got.note), root);
  const { key } = got;
  let name: string | null = null;
  try {
    name = (await api<{ name: string | null }>(`/v1/accounts/${key.account}`, { signal: ctx.signal })).name;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
  }
  root.append(
    fields([['name', h('strong', { id: 'receive-name' }, name ?? '(not registered yet)')], ['account id', h('code', { id: 'receive-id' }, key.account)]]),
    h('figure', {}, qrSvg(encodeQr(key.account), `QR code of the account id ${key.account}`), h('figcaption', {}, 'The account id as a QR code.')),
    h('p', { class: 'hint' }, 'Give the id rather than the name when you can: a name can change hands after a rename, the id never does.'));
  return root;
}

/** An SVG element drawing the code with a 4-module quiet zone (DOM nodes, no markup strings). */
function qrSvg(qr: Qr, label: string, pixelsPerModule = 6): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const n = qr.size + 8;
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${n} ${n}`);
  svg.setAttribute('width', String(n * pixelsPerModule));
  svg.setAttribute('height', String(n * pixelsPerModule));
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const bg = document.createElementNS(ns, 'rect');
  bg.setAttribute('width', String(n));
  bg.setAttribute('height', String(n));
  bg.setAttribute('fill', '#fff');
  let d = '';
  for (let y = 0; y < qr.size; y++) for (let x = 0; x < qr.size; x++) if (qr.dark(x, y)) d += `M${x + 4},${y + 4}h1v1h-1z`;
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(bg, path);
  return svg;
}
