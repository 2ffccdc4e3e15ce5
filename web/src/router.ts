// A hash router: "#/block/12" runs the page registered for "/block/:height". Each page
// gets an AbortSignal that fires when the user navigates away, so its fetches and its
// WebSocket stop with it.
import { h, replace, type Child } from './h.js';

export interface PageContext {
  params: Record<string, string>;
  /** aborted when this page is left */
  signal: AbortSignal;
}

export type Page = (ctx: PageContext) => Child | Promise<Child>;

interface Route { parts: string[]; page: Page }
const routes: Route[] = [];
export interface NavLink { href: string; label: string }
export const navLinks: NavLink[] = [];

/** Register a page at a pattern ("/account/:name"); `nav` puts a link in the header. */
export function route(pattern: string, page: Page, nav?: string): void {
  routes.push({ parts: pattern.split('/').filter(Boolean), page });
  if (nav) navLinks.push({ href: '#' + pattern, label: nav });
}

function match(path: string): { page: Page; params: Record<string, string> } | undefined {
  const parts = path.split('/').filter(Boolean);
  for (const r of routes) {
    if (r.parts.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (const [i, p] of r.parts.entries()) {
      const got = parts[i]!;
      if (p.startsWith(':')) {
        try {
          params[p.slice(1)] = decodeURIComponent(got);
        } catch {
          ok = false;
        }
      } else if (p !== got) ok = false;
      if (!ok) break;
    }
    if (ok) return { page: r.page, params };
  }
  return undefined;
}

export function go(path: string): void {
  location.hash = '#' + path;
}

let current: AbortController | undefined;

/** Render the page for the current hash into `outlet`. */
export async function render(outlet: HTMLElement): Promise<void> {
  current?.abort();
  const ctrl = new AbortController();
  current = ctrl;
  const path = location.hash.replace(/^#/, '') || '/';
  const found = match(path);
  outlet.setAttribute('aria-busy', 'true');
  try {
    const content = found ? await found.page({ params: found.params, signal: ctrl.signal }) : h('p', {}, `No page at ${path}.`);
    if (ctrl.signal.aborted) return;
    replace(outlet, content);
  } catch (err) {
    if (ctrl.signal.aborted) return;
    replace(outlet, h('p', { class: 'error', role: 'alert' }, `Could not show this page: ${(err as Error).message}`));
  } finally {
    if (current === ctrl) outlet.removeAttribute('aria-busy');
  }
  const heading = outlet.querySelector('h1');
  if (heading) document.title = `${heading.textContent ?? ''} · Tally`;
}
