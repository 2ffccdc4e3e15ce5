// The wallet's main page: the keys in this browser (create, import a CLI key file, export
// to one, choose, forget) and the chosen key's account: register, balance proven against a
// block the pinned key signed, history, updated live from the node's account stream.
import { keyFileText, openKeyFile, parseKeyFile, sealKeyFile } from '../../../src/core/keystore-format.js';
import { accountIdPure } from '../../../src/core/tx-signing.js';
import { exportPkcs8, generateWebKey, importPkcs8 } from '../../../src/core/webcrypto-keys.js';
import { api, ApiError, subscribe } from '../api.js';
import { verdictLine } from '../badge.js';
import { blockLink, minorToUnits, time, txLink, accountLink } from '../format.js';
import { fields, h, replace, short } from '../h.js';
import { pinnedKey } from '../pin.js';
import type { PageContext } from '../router.js';
import { cachedInfo, refreshInfo } from '../shell.js';
import { verifyAccountBundle } from '../verify.js';
import { addKey, currentKey, deleteKey, listKeys, setCurrent, type StoredKey } from './keys.js';
import { send } from './submit.js';
import { download, field, input, onSubmit, status, walletNav } from './ui.js';

const HISTORY_LIMIT = 20;
/** scrypt N for files exported here: the CLI's default (2^17), so the file is as strong as the CLI's own. */
const EXPORT_SCRYPT_N = 131072;

export async function walletPage(ctx: PageContext): Promise<HTMLElement> {
  const keysPart = h('section', { 'aria-labelledby': 'keys-h' });
  const accountPart = h('section', { 'aria-labelledby': 'account-h', id: 'account' });
  // Render the route again: the router aborts this page's fetches and stream first.
  const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
  replace(keysPart, await keysView(rerender));
  const key = await currentKey();
  if (key) await accountView(key, accountPart, ctx.signal);
  return h('div', { class: 'wallet' }, h('h1', {}, 'Wallet'), walletNav(), keysPart, accountPart);
}

async function keysView(rerender: () => void): Promise<HTMLElement[]> {
  const keys = await listKeys();
  const current = await currentKey();
  const list = keys.length === 0
    ? h('p', {}, 'No keys in this browser yet.')
    : h('table', { id: 'key-list' },
      h('thead', {}, h('tr', {}, ['name', 'account', 'kept as', 'from', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, keys.map((k) => {
        const use = h('button', { type: 'button', 'aria-label': `use key ${k.name}` }, k.name === current?.name ? 'in use' : 'use');
        use.disabled = k.name === current?.name;
        use.addEventListener('click', () => { setCurrent(k.name); rerender(); });
        const forget = h('button', { type: 'button', 'aria-label': `forget key ${k.name}` }, 'forget');
        forget.addEventListener('click', () => {
          if (!confirm(`Forget key ${k.name}? Without an exported copy, its account can no longer be used from anywhere.`)) return;
          void deleteKey(k.name).then(rerender);
        });
        return h('tr', {}, h('td', {}, k.name), h('td', {}, short(k.account, 8)),
          h('td', {}, k.privateKey.extractable ? 'exportable' : 'non-extractable'), h('td', {}, k.origin), h('td', {}, use, ' ', forget));
      })));
  return [h('h2', { id: 'keys-h' }, 'Keys in this browser'), list, createForm(rerender), importForm(rerender), current ? exportForm(current) : h('span')];
}

function createForm(rerender: () => void): HTMLElement {
  const name = input({ required: true, maxlength: 32, pattern: '[a-z0-9][a-z0-9_\\-]{0,31}' });
  const exportable = h('input', { type: 'checkbox' });
  const out = status('create-status');
  const form = h('form', { id: 'create-key', 'aria-labelledby': 'create-h' },
    h('h3', { id: 'create-h' }, 'Create a key'),
    field('create-name', 'Name (in this browser)', name, 'lowercase letters, digits, _ and -'),
    field('create-exportable', 'Allow export to a key file', exportable, 'unticked: the browser never gives the key out, not even to this page'),
    h('button', { type: 'submit' }, 'Create key'), out);
  return onSubmit(form, out, async () => {
    const key = await generateWebKey(exportable.checked);
    await addKey({ name: name.value, account: accountIdPure(key.pub), pub: key.pub, privateKey: key.privateKey, created: new Date().toISOString(), origin: 'created' });
    setCurrent(name.value);
    rerender();
    return `Created key ${name.value}.`;
  });
}

function importForm(rerender: () => void): HTMLElement {
  const file = h('input', { type: 'file', accept: '.json,application/json' });
  const text = h('textarea', { rows: 3, cols: 60, spellcheck: 'false' });
  const pass = input({ type: 'password', autocomplete: 'current-password' });
  const name = input({ maxlength: 32 });
  const exportable = h('input', { type: 'checkbox' });
  const out = status('import-status');
  const form = h('form', { id: 'import-key', 'aria-labelledby': 'import-h' },
    h('h3', { id: 'import-h' }, 'Import a CLI key file'),
    h('p', { class: 'hint' }, 'A file from ~/.tally/keys/ or `tally keys export`. It is decrypted here, in this browser; the file and the passphrase are never sent anywhere.'),
    field('import-file', 'Key file', file), field('import-text', 'or paste it', text),
    field('import-pass', 'Its passphrase', pass),
    field('import-name', 'Name here (default: the file\'s)', name),
    field('import-exportable', 'Keep it exportable', exportable),
    h('button', { type: 'submit' }, 'Import'), out);
  return onSubmit(form, out, async () => {
    const chosen = file.files?.[0];
    const body = chosen ? await chosen.text() : text.value;
    const parsed = parseKeyFile(body.trim(), chosen?.name ?? 'pasted');
    const der = await openKeyFile(parsed, pass.value, chosen?.name ?? 'pasted');
    let key;
    try {
      key = await importPkcs8(der, exportable.checked);
    } finally {
      der.fill(0);
    }
    pass.value = '';
    text.value = '';
    const label = name.value || parsed.name;
    await addKey({ name: label, account: parsed.account ?? parsed.id, pub: key.pub, privateKey: key.privateKey, created: parsed.created, origin: 'imported' });
    setCurrent(label);
    rerender();
    return `Imported key ${label}.`;
  });
}

function exportForm(key: StoredKey): HTMLElement {
  const pass = input({ type: 'password', autocomplete: 'new-password' });
  const again = input({ type: 'password', autocomplete: 'new-password' });
  const out = status('export-status');
  const form = h('form', { id: 'export-key', 'aria-labelledby': 'export-h' },
    h('h3', { id: 'export-h' }, `Export key ${key.name} to a CLI key file`),
    key.privateKey.extractable
      ? h('p', { class: 'hint' }, 'Encrypted here (scrypt, AES-256-GCM) in the CLI keystore format: put it in ~/.tally/keys/ or `tally keys import` it.')
      : h('p', { class: 'hint' }, 'This key is non-extractable: the browser signs with it but will not give it out.'),
    field('export-pass', 'New passphrase', pass), field('export-again', 'Repeat it', again),
    h('button', { type: 'submit', disabled: !key.privateKey.extractable }, 'Export'), out);
  return onSubmit(form, out, async () => {
    if (pass.value !== again.value) throw new Error('the two passphrases differ');
    const der = await exportPkcs8(key.privateKey);
    let file;
    try {
      const own = accountIdPure(key.pub);
      file = await sealKeyFile({ name: key.name, pkcs8: der, passphrase: pass.value, created: key.created, scryptN: EXPORT_SCRYPT_N, ...(key.account !== own ? { account: key.account } : {}) });
    } finally {
      der.fill(0);
    }
    pass.value = '';
    again.value = '';
    const text = keyFileText(file);
    download(`${key.name}.json`, text);
    return h('div', {}, h('p', {}, `Saved ${key.name}.json (encrypted).`), h('label', { for: 'export-out' }, 'The file'), h('textarea', { id: 'export-out', rows: 8, cols: 70, readonly: true }, text));
  });
}

interface HistoryItem { id: string; height: number; time: number; type: string; status: string; code?: string; change?: string; counterparty?: { id: string; name: string | null } | null; memo?: string }

async function accountView(key: StoredKey, part: HTMLElement, signal: AbortSignal): Promise<void> {
  const decimals = (cachedInfo() ?? await refreshInfo(signal)).decimals;
  const load = async (): Promise<boolean> => {
    const bundle = await api(`/v1/accounts/${key.account}/proof`, { signal });
    const v = verifyAccountBundle(bundle, pinnedKey());
    const head = h('h2', { id: 'account-h' }, `Account of key ${key.name}`);
    const ids = fields([['account id', h('code', { id: 'account-id' }, key.account)], ['public key', h('code', {}, key.pub)]]);
    if (!v.ok) {
      replace(part, head, ids, verdictLine('the account\'s state proof', v), h('p', { class: 'hint' }, 'Pin the node key (above) to check balances here.'));
      return false;
    }
    const acct = v.proven.account;
    if (!acct) {
      replace(part, head, ids, verdictLine(`no account at block ${v.proven.height}`, { ok: true }), registerForm(key, () => { void load(); }));
      return false;
    }
    replace(part, head, verdictLine(`the account at block ${v.proven.height}`, { ok: true }), fields([
      ['name', h('strong', { id: 'account-name' }, acct.name)],
      ['account id', h('code', { id: 'account-id' }, acct.id)],
      ['balance', h('strong', { id: 'balance' }, minorToUnits(acct.balance, decimals))],
      ['held (disputes)', minorToUnits(acct.held, decimals)],
      ['available', h('span', { id: 'available' }, minorToUnits((BigInt(acct.balance) - BigInt(acct.held)).toString(), decimals))],
      ['proven at', [blockLink(v.proven.height), ' stateRoot ', short(v.proven.stateRoot)]],
    ]), await historyView(key, signal));
    return true;
  };
  await load();
  // Live: the node streams the receipts touching this account; reload on each.
  let busy = false;
  subscribe(() => {
    if (busy) return;
    busy = true;
    // Leaving the page aborts its fetches: that is no error. Anything else: the next receipt retries.
    load().catch((err: Error) => { if (!signal.aborted) console.warn(`account: ${err.message}`); }).finally(() => { busy = false; });
  }, signal, `?topic=ledger.account&account=${key.account}`);
}

async function historyView(key: StoredKey, signal: AbortSignal): Promise<HTMLElement> {
  let items: HistoryItem[] = [];
  try {
    items = (await api<{ items: HistoryItem[] }>(`/v1/accounts/${key.account}/history?limit=${HISTORY_LIMIT}`, { signal })).items;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
  }
  return h('div', {}, h('h3', {}, 'History (as listed by the node; open a transaction to verify it)'),
    items.length === 0 ? h('p', {}, 'No transactions yet.') : h('table', { id: 'history' },
      h('thead', {}, h('tr', {}, ['time', 'transaction', 'type', 'change', 'counterparty', 'memo', 'status'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, items.map((i) => h('tr', {},
        h('td', {}, time(i.time)), h('td', {}, txLink(i.id)), h('td', {}, i.type), h('td', { class: 'num' }, i.change ?? ''),
        h('td', {}, i.counterparty ? accountLink(i.counterparty.name ?? i.counterparty.id) : '—'), h('td', {}, i.memo ?? ''), h('td', {}, i.status + (i.code ? ` (${i.code})` : '')))))),
    h('p', {}, h('a', { href: `#/account/${key.account}` }, 'Full history in the explorer')));
}

function registerForm(key: StoredKey, reload: () => void): HTMLElement {
  const name = input({ required: true, maxlength: 32, pattern: '[a-z][a-z0-9_\\-]{0,31}' });
  const invite = input({ maxlength: 512 });
  const out = status('register-status');
  const form = h('form', { id: 'register', 'aria-labelledby': 'register-h' },
    h('h3', { id: 'register-h' }, 'Register this key'),
    field('register-name', 'Account name', name, 'a-z, digits, _ and -; unique on the chain'),
    field('register-invite', 'Invite code (invite-only chains)', invite),
    h('button', { type: 'submit' }, 'Register'), out);
  return onSubmit(form, out, async () => {
    const body: Record<string, unknown> = { name: name.value };
    if (invite.value.trim()) body.invite = invite.value.trim();
    const receipt = await send(key, 'ledger.register', body);
    reload();
    return h('span', {}, `Registered as ${name.value} in block `, blockLink(receipt.height), ': ', txLink(receipt.id));
  });
}
