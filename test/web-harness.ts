// The browser test harness for the web page (test/web*.test.ts): headless Debian Chromium
// driven by playwright-core (never a downloaded browser), a record of every request a page
// makes, axe-core's checks, screenshots under test-artifacts/screenshots/, and a proxy
// that flips one byte of chosen answers to prove the page notices.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ROOT } from './helpers.js';

export const CHROMIUM = process.env.TALLY_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.join(ROOT, 'test-artifacts', 'screenshots');
export const WEB_DIST = path.join(ROOT, 'dist', 'web');

/** Why the browser tests cannot run here, or null when they can. Said loudly by the caller (skip, or fail under TALLY_REQUIRE_CHROMIUM=1). */
export function browserMissing(): string | null {
  if (!fs.existsSync(CHROMIUM)) return `the web page's browser tests need Chromium at ${CHROMIUM} (Debian: apt-get install -y chromium; or set TALLY_CHROMIUM)`;
  if (!fs.existsSync(path.join(WEB_DIST, 'index.html'))) return 'the web page is not built: dist/web/index.html is missing (npm run build)';
  return null;
}

export async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-default-apps', '--disable-sync'],
    timeout: 60_000,
  });
}

export interface Watched {
  page: Page;
  /** every URL the page asked for (HTTP and WebSocket) */
  requests: string[];
  /** console errors, page errors and CSP refusals */
  problems: string[];
}

/** A fresh context (its own localStorage) and page, with every request and problem recorded. */
export async function watchedPage(browser: Browser): Promise<Watched & { context: BrowserContext }> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('websocket', (ws) => requests.push(ws.url()));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.setDefaultTimeout(30_000);
  return { context, page, requests, problems };
}

/**
 * Pin the node key from the banner, then wait until the page the pin renders again is
 * shown (the router marks <main> aria-busy while it renders). A form filled before that
 * is the old page's: the render replaces it, the value is gone, and the click that follows
 * submits an empty form that the browser's validation stops, so nothing happens.
 */
export async function pinNodeKey(page: Page): Promise<void> {
  await page.locator('#pin-key').click();
  await page.locator('#pin-key').waitFor({ state: 'detached' });
  await page.locator('main#page:not([aria-busy])').waitFor();
}

/** Run a step on a page; if it fails, the error also says what the page showed then. */
export async function explained<T>(page: Page, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const shown = await page.locator('main').innerText({ timeout: 2000 }).catch((e: Error) => `(no text: ${e.message})`);
    throw new Error(`${(err as Error).message}\n--- ${page.url()} showed:\n${shown.slice(0, 2500)}`, { cause: err });
  }
}

/** Requests to anything but `origin` (http and ws alike; data: URLs are not requests to anyone). */
export function foreignRequests(requests: string[], origin: string): string[] {
  const host = new URL(origin).host;
  return requests.filter((u) => !u.startsWith('data:') && new URL(u).host !== host);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export interface AxeViolation { id: string; impact: string | null; help: string; nodes: number }

/** axe-core's WCAG 2 A/AA rules on the page as it is now; injected over CDP (the page's CSP forbids inline script). */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  const source = (createRequire(import.meta.url)('axe-core') as { source: string }).source;
  await page.evaluate(source);
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: unknown[] }> }> } }).axe;
    const r = await axe.run((globalThis as unknown as { document: unknown }).document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
  });
}

export interface TamperProxy { url: string; tampered: number; close(): Promise<void> }
const PROXY_BODY_BYTES_MAX = 16 * 1024 * 1024;

/**
 * A proxy to `target` that changes one byte of each answer `shouldTamper` picks: the first
 * hex digit of the first "stateRoot" in it (a digit for another, so the JSON stays valid and
 * only the check can tell). WebSocket upgrades pass through untouched.
 */
export async function tamperProxy(target: string, shouldTamper: (url: string) => boolean): Promise<TamperProxy> {
  const t = new URL(target);
  const state = { tampered: 0 };
  const server = http.createServer((req, res) => {
    const up = http.request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers }, (ur) => {
      const chunks: Buffer[] = [];
      let size = 0;
      ur.on('data', (c: Buffer) => {
        size += c.length;
        if (size > PROXY_BODY_BYTES_MAX) ur.destroy(new Error('answer too large for the test proxy'));
        else chunks.push(c);
      });
      ur.on('error', () => res.destroy());
      ur.on('end', () => {
        let body: Buffer = Buffer.concat(chunks);
        if (shouldTamper(req.url ?? '')) {
          const flipped = flipStateRoot(body);
          if (flipped) {
            body = flipped;
            state.tampered++;
          }
        }
        const headers = { ...ur.headers, 'content-length': String(body.length) };
        delete headers['transfer-encoding'];
        res.writeHead(ur.statusCode ?? 502, headers);
        res.end(body);
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('upgrade', (req, socket, head) => {
    const up = net.connect(Number(t.port), t.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(lines.join('\r\n') + '\r\n\r\n');
      up.write(head);
      socket.pipe(up).pipe(socket);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get tampered() { return state.tampered; },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** One byte changed: the first hex digit after the first "stateRoot":" (0 <-> 1, else -> 0). */
export function flipStateRoot(body: Buffer): Buffer | null {
  const at = body.indexOf('"stateRoot":"');
  if (at < 0) return null;
  const i = at + '"stateRoot":"'.length;
  const out = Buffer.from(body);
  out[i] = out[i] === 0x30 ? 0x31 : 0x30;
  return out;
}

/**
 * dist/web served from another origin, as a page hosted apart from its node, with a CSP
 * that lets it reach the node named by setNode (started after this, so that the node's
 * --cors-origin can name this origin).
 */
export async function otherOriginHost(): Promise<{ url: string; setNode(node: string): void; close(): Promise<void> }> {
  let csp = "default-src 'self'";
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const rel = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    const file = path.join(WEB_DIST, rel);
    if (!file.startsWith(WEB_DIST + path.sep) || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'text/html';
    res.writeHead(200, { 'content-type': type, 'content-security-policy': csp }).end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setNode(node: string) {
      csp = `default-src 'self'; connect-src 'self' ${node} ${node.replace(/^http/, 'ws')}; img-src 'self' data:; object-src 'none'; base-uri 'none'`;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
