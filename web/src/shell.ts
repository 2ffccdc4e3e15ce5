// The frame around every page: the header (name, navigation, search), the pin banner and
// the outlet pages render into.
import { api, ApiError, type NodeInfo, type SignedBlock } from './api.js';
import { h, replace, short } from './h.js';
import { pinKey, pinnedKey } from './pin.js';
import { go, navLinks, render } from './router.js';

let info: NodeInfo | undefined;

/** What /v1/node said at start (refreshed by pages that need the tip). */
export function cachedInfo(): NodeInfo | undefined {
  return info;
}

export async function refreshInfo(signal?: AbortSignal): Promise<NodeInfo> {
  info = await api<NodeInfo>('/v1/node', signal ? { signal } : {});
  return info;
}

const SEARCH_BACK_BLOCKS_MAX = 32;

/** Height, transaction id, block hash (among the latest blocks), account id or name. */
export async function search(text: string): Promise<string | null> {
  const q = text.trim();
  if (/^\d{1,15}$/.test(q)) return `/block/${q}`;
  if (/^[0-9a-f]{40}$/.test(q)) return `/account/${q}`;
  if (/^[0-9a-f]{64}$/.test(q)) {
    try {
      await api(`/v1/txs/${q}`);
      return `/tx/${q}`;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
    }
    const tip = (await refreshInfo()).height;
    const heights = Array.from({ length: Math.min(SEARCH_BACK_BLOCKS_MAX, tip + 1) }, (_, i) => tip - i);
    const blocks = await Promise.all(heights.map((n) => api<SignedBlock>(`/v1/blocks/${n}`)));
    const found = blocks.find((b) => b.hash === q);
    return found ? `/block/${found.header.height}` : null;
  }
  if (/^[A-Za-z0-9._-]{1,64}$/.test(q)) return `/account/${encodeURIComponent(q)}`;
  return null;
}

function searchForm(): HTMLElement {
  const input = h('input', { id: 'search', type: 'search', name: 'q', placeholder: 'height, hash, tx id, account', autocomplete: 'off', maxlength: 100 });
  const msg = h('span', { class: 'search-msg', role: 'status' });
  const form = h('form', { class: 'search', role: 'search' },
    h('label', { for: 'search' }, 'Search'), input, h('button', { type: 'submit' }, 'Go'), msg);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    search(input.value).then((to) => {
      if (to) go(to);
      else msg.textContent = 'nothing found (blocks by hash: the latest 32 only)';
    }, (err: Error) => { msg.textContent = err.message; });
  });
  return form;
}

/** The banner asking to pin the node key, or warning that the node's key changed. */
export function pinBanner(node: NodeInfo, onChange: () => void): HTMLElement | null {
  const pinned = pinnedKey();
  if (pinned === node.nodeKey) return null;
  const pinButton = h('button', { type: 'button', id: 'pin-key' }, pinned ? 'Pin the new key' : 'Pin this key');
  pinButton.addEventListener('click', () => {
    pinKey(node.nodeKey);
    onChange();
  });
  return h('section', { class: pinned ? 'banner warn' : 'banner', role: 'region', 'aria-label': 'node key' },
    pinned
      ? h('p', {}, 'This node now reports the key ', h('code', {}, node.nodeKey), ', not the one you pinned (', short(pinned), '). Pages verify against the pinned key, so blocks signed by the new one show "not verified". Pin the new key only if its operator announced the change.')
      : h('p', {}, `This node (chain ${node.chain}) says its key is `, h('code', { id: 'node-key' }, node.nodeKey), '. Compare it with the key its operator published: every page checks what it shows against the key you pin, here in your browser.'),
    pinButton);
}

export async function startShell(root: HTMLElement): Promise<void> {
  const banner = h('div', { id: 'banner' });
  const outlet = h('main', { id: 'page', tabindex: -1 });
  const nav = h('nav', { 'aria-label': 'main' }, h('ul', {}, navLinks.map((l) => h('li', {}, h('a', { href: l.href }, l.label)))));
  replace(root,
    h('a', { class: 'skip', href: '#page' }, 'Skip to content'),
    h('header', { class: 'top' }, h('a', { class: 'brand', href: '#/' }, 'Tally'), nav, searchForm()),
    banner, outlet,
    h('footer', {}, 'Checked in this browser: block signatures, inclusion proofs and state proofs, against the node key you pinned.'));
  // The skip link must not change the route.
  root.querySelector('.skip')!.addEventListener('click', (ev) => { ev.preventDefault(); outlet.focus(); });

  const showBanner = async () => {
    try {
      const node = await refreshInfo();
      replace(banner, pinBanner(node, () => { void showBanner(); void render(outlet); }));
    } catch (err) {
      replace(banner, h('p', { class: 'error', role: 'alert' }, `The node does not answer: ${(err as Error).message}`));
    }
  };
  await showBanner();
  window.addEventListener('hashchange', () => { void render(outlet); });
  await render(outlet);
}
