// The markets pages of the web explorer. In Node: the page's book keeping (web/src/explorer/
// book-sync.ts, bundled as the page bundles it) computes the node's checksum, applies
// deltas, and asks for a new snapshot on a gap, a skipped seq or a checksum that differs.
// In Chromium against a real node: the dev admin creates a perpetual on a registered
// oracle, two traders place orders over HTTP, the market page proves the market's record,
// shows the book, and a crossing order's trade and the book's change arrive live; a proxy
// that changes the proof's stateRoot makes the record "not verified"; axe-core's WCAG A/AA
// rules pass on both pages.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { bookChecksum as nodeChecksum } from '../src/modules/markets/checksum.js';
import { bookChanges } from '../src/modules/markets/feeds.js';
import { formatAmount } from '../src/core/amount.js';
import { bps, notional } from '../src/modules/markets/margin.js';
import type { Market } from '../src/modules/markets/state.js';
import { cleanup, cliOk, httpPost, makeTx, newAccount, ROOT, startNode, tempDir, type Account, type NodeProcess } from './helpers.js';
import { axeViolations, browserMissing, explained, foreignRequests, launch, pinNodeKey, screenshot, tamperProxy, watchedPage, type TamperProxy, type Watched } from './web-harness.js';

const missing = browserMissing();
if (missing && process.env.TALLY_REQUIRE_CHROMIUM === '1') throw new Error(`web-markets: ${missing}, and TALLY_REQUIRE_CHROMIUM=1`);
if (missing) console.error(`\n*** SKIPPED web-markets (browser part): ${missing}. Nothing was tested in a browser. ***\n`);

type Level = [number, number];
interface Book { bids: Level[]; asks: Level[] }
interface BookMsg { type: 'book'; market: string; height: number; prev: number | null; seq: number; changes: Array<['buy' | 'sell', number, number]>; checksum: string }
interface Sync { bids: Level[]; asks: Level[]; height: number | null; reason: string; reset(s: Book & { market: string; height: number | null; checksum: string }): boolean; apply(m: BookMsg): 'applied' | 'old' | 'resync' }
interface BookSyncModule { bookChecksum(b: Book): string; BookSync: new () => Sync }

describe('the market page\'s book keeping, as bundled for the browser', () => {
  let web: BookSyncModule;
  const b0: Book = { bids: [[99, 4], [98, 2]], asks: [[101, 5], [102, 3]] };
  const b1: Book = { bids: [[100, 1], [99, 4], [98, 2]], asks: [[102, 3]] };
  const b2: Book = { bids: [[100, 1], [99, 4]], asks: [[102, 1], [103, 7]] };
  const snap = (b: Book, height: number) => ({ market: 'm', height, ...structuredClone(b), checksum: nodeChecksum(b) });
  const msg = (from: Book, to: Book, height: number, prev: number | null, seq: number): BookMsg => ({ type: 'book', market: 'm', height, prev, seq, changes: bookChanges(from, to), checksum: nodeChecksum(to) });

  before(async () => {
    const { browserShims } = await import(pathToFileURL(path.join(ROOT, 'web', 'esbuild-shims.mjs')).href) as { browserShims: esbuild.Plugin };
    const outfile = path.join(tempDir('tally-web-'), 'book-sync.mjs');
    await esbuild.build({ entryPoints: [path.join(ROOT, 'web', 'src', 'explorer', 'book-sync.ts')], bundle: true, format: 'esm', platform: 'browser', outfile, plugins: [browserShims], logLevel: 'silent' });
    web = await import(pathToFileURL(outfile).href) as BookSyncModule;
  });

  it('computes the node\'s checksum, over the top 10 levels only', () => {
    const deep: Book = { bids: Array.from({ length: 15 }, (_, i): Level => [500 - i, i + 1]), asks: Array.from({ length: 12 }, (_, i): Level => [501 + i, 2]) };
    for (const b of [b0, b1, b2, { bids: [], asks: [] }, deep]) assert.equal(web.bookChecksum(b), nodeChecksum(b));
    assert.equal(web.bookChecksum({ bids: deep.bids.slice(0, 10), asks: deep.asks }), nodeChecksum(deep));
  });

  it('applies deltas in order and ignores what the snapshot already has', () => {
    const s = new web.BookSync();
    assert.equal(s.reset(snap(b0, 5)), true);
    assert.equal(s.apply(msg(b0, b0, 5, 3, 7)), 'old');
    assert.equal(s.apply(msg(b0, b1, 6, 5, 8)), 'applied');
    assert.deepEqual([s.bids, s.asks, s.height], [b1.bids, b1.asks, 6]);
    assert.equal(s.apply(msg(b1, b2, 8, 6, 9)), 'applied');
    assert.deepEqual([s.bids, s.asks], [b2.bids, b2.asks]);
    // The feed's first message for a market (prev null: its changes are from an empty book)
    // applies on a snapshot of an empty book; on another, the checksum asks for a snapshot.
    const t = new web.BookSync();
    t.reset(snap({ bids: [], asks: [] }, 5));
    assert.equal(t.apply(msg({ bids: [], asks: [] }, b1, 6, null, 1)), 'applied');
    assert.deepEqual([t.bids, t.asks], [b1.bids, b1.asks]);
    t.reset(snap(b0, 5));
    assert.equal(t.apply(msg({ bids: [], asks: [] }, b1, 6, null, 1)), 'resync');
  });

  it('asks for a new snapshot on a missed message, a skipped seq or a checksum that differs', () => {
    const s = new web.BookSync();
    s.reset(snap(b0, 5));
    assert.equal(s.apply(msg(b1, b2, 8, 6, 9)), 'resync', 'prev 6 is after our height 5');
    assert.match(s.reason, /missed/);
    s.reset(snap(b0, 5));
    assert.equal(s.apply(msg(b0, b1, 6, 5, 8)), 'applied');
    assert.equal(s.apply(msg(b1, b2, 8, 6, 10)), 'resync', 'seq 8 then 10');
    assert.match(s.reason, /seq/);
    s.reset(snap(b0, 5));
    assert.equal(s.apply({ ...msg(b0, b1, 6, 5, 8), checksum: nodeChecksum(b2) }), 'resync');
    assert.match(s.reason, /checksum/);
    // a delta that lost a change: the checksum tells
    s.reset(snap(b0, 5));
    const lossy = msg(b0, b1, 6, 5, 8);
    lossy.changes = lossy.changes.slice(1);
    assert.equal(s.apply(lossy), 'resync');
    assert.equal(s.reset({ ...snap(b0, 5), checksum: nodeChecksum(b1) }), false, 'a snapshot whose checksum is not its own');
  });
});

describe('web markets pages in Chromium', { skip: missing ? `SKIPPED: ${missing}` : false, timeout: 300_000 }, () => {
  let node: NodeProcess;
  let browser: Browser;
  let proxy: TamperProxy;
  let w: Watched;
  const alice = newAccount();
  const bob = newAccount();
  const MARKET = 'eth-perp';
  const order = async (who: Account, side: 'buy' | 'sell', price: number, size: number) => {
    const r = await httpPost(`${node.http}/v1/txs`, makeTx(who, 'markets.order', { market: MARKET, side, price, size }));
    assert.equal(r.body?.status, 'ok', r.text);
    return r.body as { height: number; events: Array<{ type: string }> };
  };

  before(async () => {
    node = await startNode({ extraArgs: ['--block-delay-ms', '50'] });
    const at = ['--node', node.socket, '--json'];
    const key = await cliOk(node.home, ['oracle', 'keys', 'new', 'prices', '--json']);
    await cliOk(node.home, ['oracle', 'register', '--oracle-key', 'prices', '--name', 'prices', '--key', 'admin', ...at]);
    const spec = { id: MARKET, kind: 'perpetual', oracles: [key.pubkey], series: 'eth-idx-', bandBps: 0 };
    await cliOk(node.home, ['market', 'create', JSON.stringify(spec), '--key', 'admin', ...at]);
    const reg = await httpPost(`${node.http}/v1/txs`, [makeTx(alice, 'ledger.register', { name: 'alice' }), makeTx(bob, 'ledger.register', { name: 'bob' })]);
    assert.equal(reg.status, 200, reg.text);
    await order(bob, 'sell', 101, 5);
    await order(bob, 'sell', 102, 3);
    await order(alice, 'buy', 99, 4);
    await order(alice, 'buy', 98, 2);
    proxy = await tamperProxy(node.http, (url) => url.startsWith('/v1/state/proof'));
    browser = await launch();
    w = await watchedPage(browser);
  }, { timeout: 180_000 });

  after(async () => {
    await browser?.close();
    await proxy?.close();
    await cleanup();
  }, { timeout: 60_000 });

  const pin = pinNodeKey;
  const cells = (page: Page, table: string) => page.locator(`#${table} tbody tr`).evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')));

  it('lists the market, linked from the navigation', async () => {
    const { page } = w;
    await page.goto(`${node.http}/#/`);
    await pin(page);
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Markets' }).click();
    await page.locator(`#markets tr[data-market="${MARKET}"]`).waitFor();
    const row = (await cells(page, 'markets'))[0]!;
    assert.deepEqual(row.slice(0, 3), [MARKET, 'perpetual', 'active']);
    assert.equal(row[6], 'none (perpetual)');
    assert.deepEqual(await axeViolations(page), [], 'axe-core on the markets list');
    await screenshot(page, '20-markets');
    // a market that does not exist is proven absent, not just missing from a list
    await page.goto(`${node.http}/#/market/no-such`);
    await page.locator('main', { hasText: 'No market no-such at block' }).waitFor();
    assert.equal(await page.locator('#market-record').getAttribute('data-verified'), 'verified');
    // (the browser logs the node's 404 for GET /v1/markets/no-such: the only problem allowed)
    assert.ok(w.problems.every((p) => /status of 404/.test(p)), w.problems.join('\n'));
    w.problems.length = 0;
    await page.goBack();
    await page.locator(`#markets tr[data-market="${MARKET}"]`).waitFor();
  });

  it('shows the market\'s record verified and its book; a trade and the book\'s change arrive live', async () => {
    const { page } = w;
    await page.getByRole('link', { name: MARKET }).click();
    await page.locator('#market-record[data-verified="verified"]').waitFor();
    await page.locator('#book-asks tbody tr td', { hasText: '102' }).first().waitFor();
    assert.deepEqual(await cells(page, 'book-asks'), [['101', '5'], ['102', '3']]);
    assert.deepEqual(await cells(page, 'book-bids'), [['99', '4'], ['98', '2']]);
    assert.equal(await page.locator('#trades tbody tr[data-seq]').count(), 0);
    assert.equal(await page.locator('#trade-count').textContent(), '0');
    assert.deepEqual(await axeViolations(page), [], 'axe-core on the market page');

    // alice lifts 2 of bob's 5 at 101: the fill comes over markets.trades, the level over markets.book
    const snapshots = () => w.requests.filter((u) => u.includes(`/v1/markets/${MARKET}/book`)).length;
    const snapshotsBefore = snapshots();
    const filled = await order(alice, 'buy', 101, 2);
    assert.equal(filled.events.filter((e) => e.type === 'markets.fill').length, 1);
    await page.locator('#trades tbody tr[data-seq="0"]').waitFor();
    const trade = (await cells(page, 'trades'))[0]!;
    assert.deepEqual([trade[0], trade[1], trade[3], trade[4], trade[5], trade[6]], ['0', String(filled.height), '101', '2', 'buy', 'trade']);
    // then the node's trades list fills in the time the feed does not carry
    await page.locator('#trades tbody tr[data-seq="0"] td:nth-child(3)', { hasText: 'UTC' }).waitFor();
    await page.locator('#book-asks tbody tr:first-child td:nth-child(2)', { hasText: /^3$/ }).waitFor();
    assert.deepEqual(await cells(page, 'book-asks'), [['101', '3'], ['102', '3']]);
    // the record is proven again after the trade: last price and counts
    await page.locator('#last', { hasText: /^101$/ }).waitFor();
    assert.equal(await page.locator('#trade-count').textContent(), '1');
    assert.equal(await page.locator('#position-count').textContent(), '2');
    assert.equal(await page.locator('#market-record').getAttribute('data-verified'), 'verified');
    // applied as deltas, never needing a new snapshot
    assert.equal(await page.locator('#book-status').getAttribute('data-resyncs'), '0', await page.locator('#book-status').innerText());
    assert.equal(snapshots(), snapshotsBefore, 'the book changed by the feed\'s delta, not by a new snapshot');
    assert.ok(Number(await page.locator('#book-status').getAttribute('data-height')) >= filled.height);
    assert.deepEqual(foreignRequests(w.requests, node.http), []);
    assert.deepEqual(w.problems, []);
    await screenshot(page, '21-market-live');
  });

  it('a key made in the wallet places an order that trades, rests another and cancels it', async () => {
    const t = await watchedPage(browser);
    const { page } = t;
    await page.goto(`${node.http}/#/wallet`);
    await pin(page);
    await explained(page, async () => {
      await page.locator('#create-name').fill('carol');
      await page.getByRole('button', { name: 'Create key' }).click();
      await page.locator('#key-list td', { hasText: 'carol' }).first().waitFor();
      await page.locator('#register-name').fill('carol');
      await page.getByRole('button', { name: 'Register' }).click();
      await page.locator('#account-name', { hasText: 'carol' }).waitFor();
      await page.getByRole('navigation', { name: 'wallet' }).getByRole('link', { name: 'Trade' }).click();
      await page.locator('#order-form').waitFor();
    });
    assert.equal(await page.locator('#my-orders tbody').innerText(), 'no resting orders');

    // buy 1 at 102: meets bob's ask at 101 first (3 left there), so one fill
    const previewed: string[] = [];
    const place = async (side: string, price: number, size: number) => {
      await page.locator('#order-side').selectOption(side);
      await page.locator('#order-price').fill(String(price));
      await page.locator('#order-size').fill(String(size));
      await page.getByRole('button', { name: 'Preview order' }).click();
      await explained(page, () => page.locator('#order-preview-id').waitFor());
      assert.match(await page.locator('#order-preview-order').innerText(), new RegExp(`^${side} ${size} \\S+ at ${price} \\(gtc\\)$`));
      // the amount the page shows is the chain's formula (src/modules/markets/margin.ts)
      const m = await (await fetch(`${node.http}/v1/markets/${MARKET}`)).json() as Market;
      const n = notional(m, price, size);
      const held = bps(n, m.initialMarginBps) + bps(n, Math.max(m.takerFeeBps, m.makerFeeBps));
      const decimals = (await (await fetch(`${node.http}/v1/node`)).json() as { decimals: number }).decimals;
      assert.equal((await page.locator('#order-preview-held').innerText()).split(':')[0], formatAmount(held, decimals));
      previewed.push((await page.locator('#order-preview-id').innerText()).trim());
      await page.getByRole('button', { name: 'Sign and place order' }).click();
      await explained(page, () => page.locator('#order-done').waitFor());
      const text = (await page.locator('#order-done').innerText());
      await page.locator('#order-done').evaluate((el) => el.remove());
      return text;
    };
    assert.match(await place('buy', 102, 1), /1 fill; nothing rests/);
    await page.locator('#my-positions tbody tr[data-market="eth-perp"]').waitFor();
    assert.equal((await cells(page, 'my-positions'))[0]![1], '1');
    assert.match(await place('sell', 110, 2), /0 fills; 2 resting as order \d+\.\d+\.\d+/);
    const row = page.locator('#my-orders tbody tr[data-order]');
    await row.waitFor();
    assert.deepEqual((await cells(page, 'my-orders'))[0]!.slice(2, 5), ['sell', '110', '2 of 2']);
    assert.deepEqual(await axeViolations(page), [], 'axe-core on the trade page');
    await screenshot(page, '22-wallet-trade');
    const orderId = (await row.getAttribute('data-order'))!;
    await page.getByRole('button', { name: `cancel order ${orderId}` }).click();
    await page.locator('#my-orders tbody', { hasText: 'no resting orders' }).waitFor();
    const book = await (await fetch(`${node.http}/v1/markets/${MARKET}/book`)).json() as Book;
    assert.deepEqual(book.asks, [[101, 2], [102, 3]], 'carol took one at 101; her ask at 110 is gone');
    // what was signed is what the preview showed: its id is the committed transaction's
    assert.equal(previewed.length, 2);
    for (const id of previewed) {
      const view = await (await fetch(`${node.http}/v1/txs/${id}`)).json() as { envelope: { tx: { type: string } }; receipt: { status: string } };
      assert.deepEqual([view.envelope.tx.type, view.receipt.status], ['markets.order', 'ok']);
    }
    assert.deepEqual(t.problems, []);
    await t.context.close();
  });

  it('takes a new snapshot when the feed skips a message or sends a checksum that differs', async () => {
    const t = await watchedPage(browser);
    const { page } = t;
    // Between the page and the node's markets.book socket: drop one message, or spoil one's checksum.
    let mode: 'drop' | 'checksum' | null = null;
    await page.routeWebSocket((url) => url.searchParams.get('topic') === 'markets.book', (ws) => {
      const server = ws.connectToServer();
      server.onMessage((msg) => {
        const m = JSON.parse(String(msg)) as { type: string; checksum: string };
        if (m.type === 'book' && mode === 'drop') {
          mode = null;
          return;
        }
        if (m.type === 'book' && mode === 'checksum') {
          mode = null;
          ws.send(JSON.stringify({ ...m, checksum: '0'.repeat(16) }));
          return;
        }
        ws.send(msg);
      });
    });
    await page.goto(`${node.http}/#/market/${MARKET}`);
    await pin(page);
    await page.locator('#book-asks tbody tr td', { hasText: '102' }).first().waitFor();
    assert.equal(await page.locator('#book-status').getAttribute('data-resyncs'), '0');
    const status = page.locator('#book-status');

    mode = 'drop';
    await order(bob, 'sell', 103, 1); // its message never reaches the page
    await order(bob, 'sell', 104, 1); // this one's prev is the dropped block: a gap
    await page.locator('#book-status[data-resyncs="1"]').waitFor();
    await page.locator('#book-asks tbody tr td', { hasText: '104' }).first().waitFor();
    assert.deepEqual(await cells(page, 'book-asks'), [['101', '2'], ['102', '3'], ['103', '1'], ['104', '1']]);
    assert.match(await status.innerText(), /last: missed the message for block \d+/);

    mode = 'checksum';
    await order(bob, 'sell', 105, 1);
    await page.locator('#book-status[data-resyncs="2"]').waitFor();
    await page.locator('#book-asks tbody tr td', { hasText: '105' }).first().waitFor();
    assert.deepEqual((await cells(page, 'book-asks')).map((r) => r[0]), ['101', '102', '103', '104', '105']);
    assert.match(await status.innerText(), /last: checksum mismatch at block \d+/);
    assert.deepEqual(t.problems, []);
    await t.context.close();
  });

  it('says "not verified" when the proof of the record is changed on the way', async () => {
    const t = await watchedPage(browser);
    await t.page.goto(`${proxy.url}/#/market/${MARKET}`);
    await pin(t.page);
    // (before the pin it said "no node key is pinned"; after it, the proof itself fails;
    // waits are locators: the page's CSP forbids the eval that waitForFunction's polling needs)
    await t.page.locator('main p.reason', { hasText: /^Not shown: (?!no node key is pinned)/ }).waitFor();
    assert.equal(await t.page.locator('#market-record').getAttribute('data-verified'), 'not-verified');
    assert.ok(proxy.tampered > 0);
    await t.context.close();
  });
});
