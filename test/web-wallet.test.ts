// The web wallet in a real browser (headless Debian Chromium, playwright-core): a key made
// in the page registers and sends to another page's account, which sees it arrive live; a
// CLI key file is imported (decrypted in the page) and sends; a key exported by the page
// unlocks in the CLI; a ticket is made, paid and redeemed from the page. Every request and
// WebSocket frame of every page is recorded, and none may carry private key bytes (hex,
// base64, base64url; the seed or the PKCS#8 DER) or a passphrase.
process.env.TALLY_SCRYPT_N = '1024'; // the CLI key files made below; the page's own export keeps the CLI default

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { cleanup, getOk, httpPost, makeTx, newAccount, startNode, tempDir, type NodeProcess } from './helpers.js';
import { axeViolations, browserMissing, explained, foreignRequests, launch, pinNodeKey, screenshot, watchedPage, type Watched } from './web-harness.js';
import { createKey, exportKeyFile, exportPrivatePem, loadSigner } from '../src/cli/keystore.js';
import { writeSecretFile } from '../src/store/keyfile.js';

const missing = browserMissing();
if (missing) console.error(`\n*** ${missing} ***\n`);

const CLI_PASSPHRASE = 'carol-cli-passphrase-7781';
const EXPORT_PASSPHRASE = 'dave-export-passphrase-4410';

/** Everything a page sent: URLs, headers and bodies of requests, and WebSocket frames sent. */
interface Sent { page: Watched; outgoing: string[] }

async function walletPageFor(browser: Browser, node: NodeProcess, sent: Sent[]): Promise<Page> {
  const w = await watchedPage(browser);
  const outgoing: string[] = [];
  w.page.on('request', (r) => outgoing.push(`${r.method()} ${r.url()}\n${JSON.stringify(r.headers())}\n${r.postData() ?? ''}`));
  w.page.on('websocket', (ws) => ws.on('framesent', (f) => outgoing.push(`ws ${ws.url()} ${typeof f.payload === 'string' ? f.payload : f.payload.toString('base64')}`)));
  sent.push({ page: w, outgoing });
  await w.page.goto(`${node.http}/#/wallet`);
  await pinNodeKey(w.page);
  return w.page;
}

async function createAndRegister(page: Page, name: string, opts: { exportable?: boolean } = {}): Promise<string> {
  return explained(page, async () => {
    await page.locator('#create-name').fill(name);
    if (opts.exportable) await page.locator('#create-exportable').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.locator('#key-list td', { hasText: name }).first().waitFor();
    await page.locator('#register-name').fill(name);
    await page.getByRole('button', { name: 'Register' }).click();
    await page.locator('#account-name', { hasText: name }).waitFor();
    return (await page.locator('#account-id').textContent())!;
  });
}

async function sendFromPage(page: Page, node: NodeProcess, to: string, amount: string, memo?: string): Promise<string> {
  return explained(page, () => sendSteps(page, node, to, amount, memo));
}

async function sendSteps(page: Page, node: NodeProcess, to: string, amount: string, memo?: string): Promise<string> {
  await page.goto(`${node.http}/#/wallet/send`);
  await page.locator('#send-to').fill(to);
  await page.locator('#send-amount').fill(amount);
  if (memo) await page.locator('#send-memo').fill(memo);
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.locator('#preview-id').waitFor();
  const id = (await page.locator('#preview-id').textContent())!;
  await page.getByRole('button', { name: 'Sign and send' }).click();
  await page.locator('#send-done').waitFor();
  return id;
}

/** The spellings a key or secret could take in a request. */
function spellings(bytes: Buffer): string[] {
  return [bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('base64').replace(/=+$/, ''), encodeURIComponent(bytes.toString('base64'))];
}

function seedOfPem(pem: string): Buffer {
  const der = crypto.createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return der.subarray(der.length - 32);
}

describe('web wallet in Chromium', { skip: missing ?? false, timeout: 600_000 }, () => {
  let node: NodeProcess;
  let browser: Browser;
  let home: string;
  const sent: Sent[] = [];
  /** private key material and passphrases that must never be in a request */
  const secrets: Array<{ what: string; text: string }> = [];
  const shop = newAccount();
  let aliceToBob = '';

  before(async () => {
    const dir = tempDir();
    home = path.join(dir, 'home');
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, 'config.json'), JSON.stringify({ tickets: { tally: { account: 'shop', minAmount: '0.5', price: '5' } } }));
    node = await startNode({ dataDir, extraArgs: ['--block-delay-ms', '50'] });
    const reg = await httpPost(`${node.http}/v1/txs`, makeTx(shop, 'ledger.register', { name: 'shop' }));
    assert.equal(reg.body.status, 'ok', reg.text);
    browser = await launch();
  }, { timeout: 120_000 });

  after(async () => {
    await browser?.close();
    await cleanup();
  }, { timeout: 60_000 });

  it('a key made in the page registers and sends; the receiving page sees it live', async () => {
    const alice = await walletPageFor(browser, node, sent);
    const aliceId = await createAndRegister(alice, 'alice');
    assert.equal(await alice.locator('#balance').textContent(), '1000', 'the dev chain grants 1000 at registration');
    assert.equal(await alice.locator('main .badge').first().getAttribute('data-verified'), 'verified');
    // The page's IndexedDB as the browser holds it (no DOM types in the Node build: any).
    const stored = await alice.evaluate(async () => {
      const idb = (globalThis as any).indexedDB;
      const db: any = await new Promise((resolve, reject) => { const r = idb.open('tally-wallet'); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
      const all: any[] = await new Promise((resolve) => { const r = db.transaction('keys').objectStore('keys').getAll(); r.onsuccess = () => resolve(r.result); });
      return all.map((k) => ({ extractable: k.privateKey.extractable, type: k.privateKey.type, alg: k.privateKey.algorithm.name }));
    });
    assert.deepEqual(stored, [{ extractable: false, type: 'private', alg: 'Ed25519' }], 'the key is a non-extractable CryptoKey in IndexedDB');
    await screenshot(alice, '10-wallet-registered');

    const bob = await walletPageFor(browser, node, sent);
    const bobId = await createAndRegister(bob, 'bob');
    assert.notEqual(aliceId, bobId);

    await alice.goto(`${node.http}/#/wallet/send`);
    await alice.locator('#send-to').fill('bob');
    await alice.locator('#send-amount').fill('12.5');
    await alice.locator('#send-memo').fill('lunch');
    await alice.getByRole('button', { name: 'Preview' }).click();
    await alice.locator('#preview-id').waitFor();
    assert.equal(await alice.locator('#preview-to').textContent(), bobId, 'the recipient is resolved to its id');
    assert.equal(await alice.locator('#preview-nonce').textContent(), '1', 'registration used nonce 0');
    assert.match((await alice.locator('#preview-fee').textContent())!, /none/);
    await screenshot(alice, '11-send-preview');
    const previewId = (await alice.locator('#preview-id').textContent())!;
    aliceToBob = previewId;
    await alice.getByRole('button', { name: 'Sign and send' }).click();
    await alice.locator('#send-done').waitFor();

    // Bob's page did nothing: the account stream brings the new balance in.
    await bob.locator('#balance', { hasText: '1012.5' }).waitFor({ timeout: 60_000 });
    await bob.locator('#history').getByRole('link', { name: `transaction ${previewId}` }).waitFor();
    await screenshot(bob, '12-wallet-received-live');
    const view = await getOk(`${node.http}/v1/txs/${previewId}`);
    assert.equal(view.envelope.tx.body.to, bobId);
    assert.equal(view.receipt.status, 'ok');

    await bob.goto(`${node.http}/#/wallet/receive`);
    assert.equal(await bob.locator('#receive-id').textContent(), bobId);
    assert.equal(await bob.locator('#receive-name').textContent(), 'bob');
    assert.equal(await bob.locator('figure svg[role="img"]').count(), 1);
    await screenshot(bob, '13-receive');
  });

  it('imports a CLI key file (decrypted in the page) and sends with it', async () => {
    await createKey(home, 'carol', CLI_PASSPHRASE);
    const fileText = exportKeyFile(home, 'carol');
    secrets.push({ what: 'the CLI passphrase', text: CLI_PASSPHRASE });
    for (const s of spellings(seedOfPem(await exportPrivatePem(home, 'carol', CLI_PASSPHRASE)))) secrets.push({ what: 'carol\'s private key', text: s });
    const carolCli = await loadSigner(home, 'carol', CLI_PASSPHRASE);

    const carol = await walletPageFor(browser, node, sent);
    await explained(carol, async () => {
      await carol.locator('#import-text').fill(fileText);
      await carol.locator('#import-pass').fill(CLI_PASSPHRASE);
      await carol.getByRole('button', { name: 'Import' }).click();
      await carol.locator('#key-list td', { hasText: 'carol' }).first().waitFor();
      await carol.locator('#register-name').fill('carol');
      await carol.getByRole('button', { name: 'Register' }).click();
      await carol.locator('#account-name', { hasText: 'carol' }).waitFor();
    });
    assert.equal(await carol.locator('#account-id').textContent(), carolCli.id, 'the page signs for the CLI key\'s account');
    const id = await sendFromPage(carol, node, 'alice', '3', 'from the cli key');
    const view = await getOk(`${node.http}/v1/txs/${id}`);
    assert.equal(view.envelope.pub, carolCli.pub);
    assert.equal(view.receipt.status, 'ok');
    await screenshot(carol, '14-imported-key-sent');
  });

  it('contests a transfer from one page and seconds the dispute from another', async () => {
    const alice = sent[0]!.page.page;
    const carol = sent[2]!.page.page;
    await alice.goto(`${node.http}/#/wallet/disputes`);
    await alice.locator('#contest-transfer').fill(aliceToBob);
    await alice.locator('#contest-reason').fill('never arrived');
    await alice.getByRole('button', { name: 'Contest' }).click();
    await alice.locator('#dispute-opened').waitFor();
    const n = Number((await alice.locator('#dispute-opened').textContent())!.replace('dispute ', ''));
    assert.ok(n >= 1);
    await carol.goto(`${node.http}/#/wallet/disputes`);
    await carol.locator('#second-dispute').fill(String(n));
    await carol.getByRole('button', { name: 'Second' }).click();
    await carol.locator('#second-status', { hasText: `Seconded dispute ${n}` }).waitFor();
    const d = await getOk(`${node.http}/v1/disputes/${n}`);
    assert.equal(d.transfer, aliceToBob);
    const carolId = (await getOk(`${node.http}/v1/accounts/carol`)).id;
    assert.ok(Array.isArray(d.seconds) && d.seconds.includes(carolId), JSON.stringify(d));
    await screenshot(carol, '17-dispute-seconded');
  });

  it('exports an exportable key to a CLI key file that the CLI unlocks', async () => {
    const dave = await walletPageFor(browser, node, sent);
    const daveId = await createAndRegister(dave, 'dave', { exportable: true });
    await dave.locator('#export-pass').fill(EXPORT_PASSPHRASE);
    await dave.locator('#export-again').fill(EXPORT_PASSPHRASE);
    const t0 = Date.now();
    await dave.getByRole('button', { name: 'Export' }).click();
    await dave.locator('#export-out').waitFor({ timeout: 120_000 });
    console.log(`# web wallet: export to a key file (scrypt N=2^17 in the page, @noble/hashes): ${Date.now() - t0} ms (Chromium headless, this machine)`);
    const text = await dave.locator('#export-out').inputValue();
    const file = JSON.parse(text) as { kdf: { N: number }; id: string };
    assert.equal(file.kdf.N, 131072, 'exported with the CLI default scrypt cost');
    assert.equal(file.id, daveId);
    fs.mkdirSync(path.join(home, 'keys'), { recursive: true, mode: 0o700 });
    writeSecretFile(path.join(home, 'keys', 'dave.json'), text);
    const cli = await loadSigner(home, 'dave', EXPORT_PASSPHRASE);
    assert.equal(cli.id, daveId);
    secrets.push({ what: 'the export passphrase', text: EXPORT_PASSPHRASE });
    for (const s of spellings(seedOfPem(await exportPrivatePem(home, 'dave', EXPORT_PASSPHRASE)))) secrets.push({ what: 'dave\'s private key', text: s });
  });

  it('a ticket made, paid and redeemed from the page', async () => {
    const { page } = sent[0]!.page; // alice
    await page.goto(`${node.http}/#/wallet/tickets`);
    await page.getByRole('button', { name: 'Make a payment id (PID)' }).click();
    await page.locator('#new-pid-value').waitFor();
    const pid = (await page.locator('#new-pid-value').textContent())!;
    const ticket = page.locator(`article[aria-label="ticket ${pid}"]`);
    await ticket.getByRole('button', { name: 'Pay' }).click();
    await ticket.getByRole('link', { name: /^transaction / }).waitFor();
    // The node's watcher credits the payment when it sees the block: redeem until it has.
    let token = '';
    for (let attempt = 0; attempt < 60 && !token; attempt++) {
      await page.locator(`article[aria-label="ticket ${pid}"]`).getByRole('button', { name: 'Redeem' }).click();
      await page.locator(`#token-${pid}, #ticket-status-${pid} .error`).first().waitFor();
      if (await page.locator(`#token-${pid}`).count()) token = (await page.locator(`#token-${pid}`).textContent())!;
      else await new Promise((r) => setTimeout(r, 500));
    }
    assert.match(token, /^[0-9a-f]{64}$/, 'the page shows the token');
    const info = await getOk(`${node.http}/api/v1/token/${token}`);
    assert.equal(info.status, 'active');
    assert.equal(info.balance, '5');
    await screenshot(page, '15-ticket-redeemed');
  });

  it('statements: signed and recorded from the page, verified in the page', async () => {
    const { page } = sent[0]!.page;
    await page.goto(`${node.http}/#/wallet/statements`);
    await page.locator('#sign-text').fill('I agree to the terms');
    await page.getByRole('button', { name: 'Sign and record' }).click();
    await page.locator('#statement-id').waitFor();
    const id = (await page.locator('#statement-id').textContent())!;
    await page.locator('#verify-id').fill(id);
    await page.locator('#verify-statement').getByRole('button', { name: 'Verify' }).click();
    await page.locator('#verify-status .badge[data-verified="verified"]').waitFor();
    const verdict = await getOk(`${node.http}/v1/statements/${id}`);
    assert.equal(verdict.valid ?? verdict.verified?.valid ?? true, true);
    await screenshot(page, '16-statement');
  });

  it('no request of any page carried a private key or a passphrase, and none went elsewhere', async () => {
    assert.ok(secrets.length >= 10, 'the secrets to look for were collected');
    let requests = 0;
    for (const s of sent) {
      requests += s.outgoing.length;
      for (const out of s.outgoing) for (const secret of secrets) assert.ok(!out.includes(secret.text), `a request carried ${secret.what}: ${out.slice(0, 200)}`);
      assert.deepEqual(foreignRequests(s.page.requests, node.http), []);
      assert.deepEqual(s.page.problems.filter((p) => !/Failed to load resource/.test(p)), []);
    }
    assert.ok(requests > 50, `requests were recorded (${requests})`);
    console.log(`# web wallet: ${requests} requests and frames checked for key material, none found`);
  });

  it('wallet pages pass axe-core\'s WCAG A/AA rules', async () => {
    const { page } = sent[0]!.page;
    for (const route of ['/wallet', '/wallet/send', '/wallet/receive', '/wallet/statements', '/wallet/disputes', '/wallet/tickets']) {
      await page.goto(`${node.http}/#${route}`);
      await page.locator('main h1').waitFor();
      await page.locator('main[aria-busy]').waitFor({ state: 'detached' });
      assert.deepEqual(await axeViolations(page), [], route);
    }
  });
});
