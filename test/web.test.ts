// The web explorer in a real browser (headless Debian Chromium, playwright-core): the page
// the node serves at / pins the node key, shows blocks, transactions, accounts and the
// chain verified in the browser, updates live, says "not verified" when a proxy changes
// one byte of an answer, asks nothing of any origin but the node's, and passes axe-core's
// WCAG A/AA rules. Prints the bundle size and the time from load to a verified block.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { cleanup, getOk, httpGet, httpPost, makeTx, newAccount, startNode, type NodeProcess } from './helpers.js';
import { axeViolations, browserMissing, foreignRequests, launch, otherOriginHost, pinNodeKey, screenshot, tamperProxy, watchedPage, WEB_DIST, type TamperProxy, type Watched } from './web-harness.js';

// CI sets TALLY_REQUIRE_CHROMIUM=1 (.ci/run installs Debian's chromium): there a missing
// browser fails instead of skipping.
const missing = browserMissing();
if (missing && process.env.TALLY_REQUIRE_CHROMIUM === '1') throw new Error(`web: ${missing}, and TALLY_REQUIRE_CHROMIUM=1`);
if (missing) console.error(`\n*** SKIPPED web: ${missing}. Nothing was tested in a browser. ***\n`);

/** The main verdict of the page shown (the first badge in <main>). */
const mainBadge = (page: Page) => page.locator('main .badge').first();

const pinAndWait = pinNodeKey;

describe('web explorer in Chromium', { skip: missing ? `SKIPPED: ${missing}` : false, timeout: 300_000 }, () => {
  let node: NodeProcess;
  let browser: Browser;
  let proxy: TamperProxy;
  let elsewhere: Awaited<ReturnType<typeof otherOriginHost>>;
  const alice = newAccount();
  const bob = newAccount();
  let sendId = '';
  let sendHeight = 0;
  const pages: Watched[] = [];

  before(async () => {
    // The page hosted on another origin, which the node allows (CORS).
    elsewhere = await otherOriginHost();
    node = await startNode({ extraArgs: ['--block-delay-ms', '50', '--cors-origin', elsewhere.url] });
    elsewhere.setNode(node.http);
    const reg = await httpPost(`${node.http}/v1/txs`, [makeTx(alice, 'ledger.register', { name: 'alice' }), makeTx(bob, 'ledger.register', { name: 'bob' })]);
    assert.equal(reg.status, 200, reg.text);
    const sent = await httpPost(`${node.http}/v1/txs`, makeTx(alice, 'ledger.send', { to: 'bob', amount: '1.25', memo: 'lunch' }));
    assert.equal(sent.status, 200, sent.text);
    assert.equal(sent.body.status, 'ok', sent.text);
    sendId = sent.body.id;
    sendHeight = sent.body.height;
    proxy = await tamperProxy(node.http, (url) => url.startsWith('/v1/blocks/') || url.includes('/proof'));
    browser = await launch();
  }, { timeout: 120_000 });

  after(async () => {
    await browser?.close();
    await proxy?.close();
    await elsewhere?.close();
    await cleanup();
  }, { timeout: 60_000 });

  it('serves the page with a strict CSP and hashed, immutable assets', async () => {
    const res = await fetch(`${node.http}/`);
    const html = await res.text();
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert.equal(assets.length, 2, html);
    for (const a of assets) {
      const r = await fetch(node.http + a);
      assert.equal(r.status, 200, a);
      assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      await r.arrayBuffer();
    }
    assert.equal((await httpGet(`${node.http}/assets/nope.js`)).status, 404);
    const sizes = JSON.parse(fs.readFileSync(path.join(WEB_DIST, 'sizes.json'), 'utf8')) as { jsGzipBytes: number; cssGzipBytes: number; packages: string[] };
    console.log(`# web bundle: ${(sizes.jsGzipBytes / 1024).toFixed(1)} KiB of JavaScript gzipped (budget 100 KiB), ${(sizes.cssGzipBytes / 1024).toFixed(1)} KiB of CSS; runtime packages: ${sizes.packages.join(', ')}`);
    assert.ok(sizes.jsGzipBytes < 100 * 1024);
    assert.ok(sizes.packages.length <= 3, `at most three runtime packages: ${sizes.packages.join(', ')}`);
  });

  it('asks to pin the node key, then shows a block verified; prints the time to a verified block', async () => {
    const w = await watchedPage(browser);
    pages.push(w);
    const { page } = w;
    await page.goto(`${node.http}/#/block/${sendHeight}`);
    await page.locator('#node-key').waitFor();
    assert.equal(await page.locator('#node-key').textContent(), node.nodeKey);
    assert.equal(await mainBadge(page).getAttribute('data-verified'), 'not-verified', 'nothing verifies before a key is pinned');
    await screenshot(page, '01-pin-key');
    await pinAndWait(page);
    await page.locator('main .badge[data-verified="verified"]').first().waitFor();
    // Timed on a second load, with the key pinned: what a returning user waits for.
    const t0 = Date.now();
    await page.goto(`${node.http}/#/block/${sendHeight - 1}`);
    await page.reload();
    await page.locator('main h1', { hasText: `Block ${sendHeight - 1}` }).waitFor();
    await page.locator('main .badge[data-verified="verified"]').first().waitFor();
    console.log(`# web: page load to a verified block view: ${Date.now() - t0} ms (Chromium headless, this machine)`);
    await page.goto(`${node.http}/#/block/${sendHeight}`);
    await page.locator('main h1', { hasText: `Block ${sendHeight}` }).waitFor();
    assert.equal(await mainBadge(page).getAttribute('data-verified'), 'verified');
    assert.ok(await page.getByRole('link', { name: `transaction ${sendId}` }).count() === 1, 'the block lists its transaction');
    await screenshot(page, '02-block-verified');
  });

  it('shows a transaction with its inclusion proof verified', async () => {
    const { page } = pages[0]!;
    await page.goto(`${node.http}/#/tx/${sendId}`);
    await page.locator('main h1', { hasText: 'Transaction' }).waitFor();
    await page.locator('main .badge[data-verified]:not([data-verified="checking"])').first().waitFor();
    assert.equal(await mainBadge(page).getAttribute('data-verified'), 'verified', await page.locator('main').innerText());
    await screenshot(page, '03-tx-verified');
  });

  it('shows an account with its balance proven against a signed stateRoot', async () => {
    const { page } = pages[0]!;
    const balance = await getOk(`${node.http}/v1/accounts/bob/balance`);
    await page.goto(`${node.http}/#/account/bob`);
    await page.locator('#balance').waitFor();
    assert.equal(await mainBadge(page).getAttribute('data-verified'), 'verified');
    assert.equal(await page.locator('#balance').textContent(), balance.total);
    await screenshot(page, '04-account-verified');
  });

  it('shows the chain parameters with the genesis verified', async () => {
    const { page } = pages[0]!;
    await page.goto(`${node.http}/#/chain`);
    await page.locator('#reported-key').waitFor();
    assert.equal(await mainBadge(page).getAttribute('data-verified'), 'verified');
    assert.equal(await page.locator('#pinned-key').textContent(), node.nodeKey);
    await screenshot(page, '05-chain');
  });

  it('home: the latest blocks verified, and a new block appears live', async () => {
    const { page } = pages[0]!;
    await page.goto(`${node.http}/#/`);
    await page.locator('table.blocks tbody tr').first().waitFor();
    assert.equal(await mainBadge(page).getAttribute('data-verified'), 'verified');
    const sent = await httpPost(`${node.http}/v1/txs`, makeTx(bob, 'ledger.send', { to: 'alice', amount: '0.5' }));
    assert.equal(sent.status, 200, sent.text);
    const row = page.locator('table.blocks tbody tr', { has: page.getByRole('link', { name: String(sent.body.height), exact: true }) });
    await row.waitFor();
    assert.equal(await row.locator('.badge').getAttribute('data-verified'), 'verified');
    const txRow = page.locator('table.txs tbody tr', { has: page.getByRole('link', { name: `transaction ${sent.body.id}` }) });
    await txRow.getByText('ledger.send').waitFor(); // the full block was fetched for the streamed one
    await screenshot(page, '06-home-live');
  });

  it('an account page updates live, with the new balance proven', async () => {
    const { page } = pages[0]!;
    await page.goto(`${node.http}/#/account/alice`);
    await page.locator('#balance').waitFor();
    const before = await page.locator('#balance').textContent();
    const sent = await httpPost(`${node.http}/v1/txs`, makeTx(bob, 'ledger.send', { to: 'alice', amount: '2' }));
    assert.equal(sent.status, 200, sent.text);
    const after = (await getOk(`${node.http}/v1/accounts/alice/balance`)).total as string;
    assert.notEqual(after, before);
    await page.locator('#balance', { hasText: after }).waitFor();
    assert.equal(await mainBadge(page).getAttribute('data-verified'), 'verified');
    await page.getByRole('link', { name: `transaction ${sent.body.id}` }).waitFor();
  });

  it('search finds a height, a transaction and an account', async () => {
    const { page } = pages[0]!;
    for (const [q, heading] of [[String(sendHeight), `Block ${sendHeight}`], [sendId, 'Transaction'], ['alice', 'Account alice'], [alice.id, `Account ${alice.id}`]] as const) {
      await page.getByLabel('Search').fill(q);
      await page.getByLabel('Search').press('Enter');
      await page.locator('main h1', { hasText: heading }).waitFor();
    }
  });

  it('passes axe-core\'s WCAG 2 A/AA checks on the main pages', async () => {
    const { page } = pages[0]!;
    for (const route of ['/', `/block/${sendHeight}`, `/tx/${sendId}`, '/account/alice', '/chain']) {
      await page.goto(`${node.http}/#${route}`);
      await page.locator('main h1').waitFor();
      await page.locator('main .badge[data-verified]:not([data-verified="checking"])').first().waitFor();
      const violations = await axeViolations(page);
      assert.deepEqual(violations, [], `axe on #${route}: ${JSON.stringify(violations)}`);
    }
  });

  it('a proxy that changes one byte of a block or a proof: the page says "not verified"', async () => {
    const w = await watchedPage(browser);
    pages.push(w);
    const { page } = w;
    await page.goto(`${proxy.url}/#/block/${sendHeight}`);
    await pinAndWait(page);
    await page.locator('main h1', { hasText: `Block ${sendHeight}` }).waitFor();
    assert.equal(await mainBadge(page).getAttribute('data-verified'), 'not-verified');
    assert.match(await page.locator('main .verdict').innerText(), /hash is not the hash of its header/);
    await screenshot(page, '07-block-tampered');
    await page.goto(`${proxy.url}/#/account/bob`);
    await page.locator('main .badge[data-verified]:not([data-verified="checking"])').first().waitFor();
    assert.equal(await mainBadge(page).getAttribute('data-verified'), 'not-verified');
    await page.goto(`${proxy.url}/#/tx/${sendId}`);
    await page.locator('main .badge[data-verified]:not([data-verified="checking"])').first().waitFor();
    assert.equal(await mainBadge(page).getAttribute('data-verified'), 'not-verified');
    await screenshot(page, '08-tx-tampered');
    assert.ok(proxy.tampered >= 3, `the proxy changed ${proxy.tampered} answers`);
  });

  it('a page hosted on another origin, pointed at the node with ?node=, verifies through CORS', async () => {
    const w = await watchedPage(browser);
    pages.push(w);
    const { page } = w;
    await page.goto(`${elsewhere.url}/?node=${encodeURIComponent(node.http)}#/block/${sendHeight}`);
    await pinAndWait(page);
    await page.locator('main h1', { hasText: `Block ${sendHeight}` }).waitFor();
    assert.equal(await mainBadge(page).getAttribute('data-verified'), 'verified');
    await page.goto(`${elsewhere.url}/#/account/bob`);
    await page.locator('#balance').waitFor();
    assert.equal(await mainBadge(page).getAttribute('data-verified'), 'verified');
    const asked = new Set(w.requests.map((u) => new URL(u).host));
    assert.deepEqual([...asked].sort(), [new URL(elsewhere.url).host, new URL(node.http).host].sort(), 'the page and its node, nothing else');
  });

  it('no page asked anything of an origin but its node, and the CSP refused nothing', () => {
    const [direct, proxied] = pages;
    assert.deepEqual(foreignRequests(direct!.requests, node.http), []);
    assert.deepEqual(foreignRequests(proxied!.requests, proxy.url), []);
    assert.ok(direct!.requests.some((u) => u.startsWith('ws://')), 'the page used the block stream');
    for (const w of pages) assert.deepEqual(w.problems, []);
  });
});
