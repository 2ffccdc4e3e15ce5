// Display helpers: amounts, times, links. Amounts in state are minor units (README,
// "Encodings"); they are shown in whole units with the chain's decimals, never as floats.
import { h, short } from './h.js';

export function minorToUnits(minor: string, decimals: number): string {
  const neg = minor.startsWith('-');
  const digits = (neg ? minor.slice(1) : minor).padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const frac = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return (neg ? '-' : '') + whole + (frac ? '.' + frac : '');
}

export function time(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export const blockLink = (height: number): HTMLElement => h('a', { href: `#/block/${height}` }, String(height));
export const txLink = (id: string): HTMLElement => h('a', { href: `#/tx/${id}`, 'aria-label': `transaction ${id}` }, short(id, 8));
export const accountLink = (nameOrId: string): HTMLElement => h('a', { href: `#/account/${encodeURIComponent(nameOrId)}` }, /^[0-9a-f]{40}$/.test(nameOrId) ? short(nameOrId, 8) : nameOrId);

export function json(value: unknown): HTMLElement {
  // Focusable: a long one scrolls, and a keyboard user must be able to scroll it.
  return h('pre', { class: 'json', tabindex: 0 }, JSON.stringify(value, null, 2));
}
