// Small pieces the wallet's forms share: labelled fields (every control has a label), a
// live status line, and a form handler that shows errors instead of throwing them.
import { h, replace, type Child } from '../h.js';
import { describeError } from './submit.js';
import { currentKey, type StoredKey } from './keys.js';

export function field(id: string, label: string, control: HTMLElement, hint?: string): HTMLElement {
  control.id = id;
  if (!control.getAttribute('name')) control.setAttribute('name', id);
  return h('p', { class: 'field' }, h('label', { for: id }, label), ' ', control, hint ? h('span', { class: 'hint', id: `${id}-hint` }, ' ', hint) : null);
}

export function input(attrs: Record<string, string | number | boolean> = {}): HTMLInputElement {
  return h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', ...attrs });
}

export function status(id: string): HTMLElement {
  return h('div', { id, class: 'status', role: 'status', 'aria-live': 'polite' });
}

/** Run `fn` on submit; its result (or the error) goes into `out`. The button is disabled meanwhile. */
export function onSubmit(form: HTMLFormElement, out: HTMLElement, fn: () => Promise<Child>): HTMLFormElement {
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const buttons = [...form.querySelectorAll('button')];
    for (const b of buttons) b.disabled = true;
    replace(out, h('span', { class: 'hint' }, 'working…'));
    fn().then(
      (result) => replace(out, result),
      (err: unknown) => replace(out, h('span', { class: 'error', role: 'alert' }, describeError(err))),
    ).finally(() => { for (const b of buttons) b.disabled = false; });
  });
  return form;
}

/** The current key, or a note pointing to the keys page. */
export async function keyOrNote(): Promise<{ key: StoredKey } | { note: HTMLElement }> {
  const key = await currentKey();
  if (key) return { key };
  return { note: h('p', { role: 'alert' }, 'No key chosen. ', h('a', { href: '#/wallet' }, 'Create or import a key'), ' first.') };
}

export function walletNav(): HTMLElement {
  const links: Array<[string, string]> = [
    ['#/wallet', 'Keys and account'], ['#/wallet/send', 'Send'], ['#/wallet/receive', 'Receive'],
    ['#/wallet/statements', 'Statements'], ['#/wallet/disputes', 'Disputes'], ['#/wallet/tickets', 'Tickets'], ['#/wallet/trade', 'Trade'],
  ];
  return h('nav', { 'aria-label': 'wallet', class: 'subnav' }, h('ul', {}, links.map(([href, label]) => h('li', {}, h('a', { href }, label)))));
}

/** Save text as a file (a Blob URL; nothing is uploaded). */
export function download(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = h('a', { href: url, download: filename });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
