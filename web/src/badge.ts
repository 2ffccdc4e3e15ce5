// The verified / not verified mark every page with chain data carries. Computed by the
// page from verify.ts; the node never says whether its own answers are true.
import { h } from './h.js';
import type { Verdict } from './verify.js';

export type BadgeState = 'checking' | 'verified' | 'not-verified';

export function badge(what: string): HTMLElement & { set(v: Verdict): void } {
  const el = h('span', { class: 'badge checking', role: 'status', 'data-verified': 'checking', 'aria-live': 'polite' }, 'checking…') as HTMLElement & { set(v: Verdict): void };
  el.set = (v: Verdict) => setBadge(el, v, what);
  return el;
}

export function setBadge(el: HTMLElement, v: Verdict, what: string): void {
  const state: BadgeState = v.ok ? 'verified' : 'not-verified';
  el.className = `badge ${state}`;
  el.dataset.verified = state;
  el.textContent = v.ok ? '✔ verified' : '✘ not verified';
  el.title = v.ok ? `${what}: checked in this browser against the pinned node key` : `${what}: ${v.reason}`;
  el.setAttribute('aria-label', v.ok ? `${what} verified` : `${what} not verified: ${v.reason}`);
}

/** A badge with the reason spelled out beside it when the check fails. */
export function verdictLine(what: string, v: Verdict): HTMLElement {
  const b = badge(what);
  b.set(v);
  return h('p', { class: 'verdict' }, b, ' ', what, v.ok ? '' : h('span', { class: 'reason' }, ` — ${v.reason}`));
}
