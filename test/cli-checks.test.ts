// The CLI checks before it signs: what the chain would record as a failed transaction (and
// a used nonce) is refused locally, with the chain's code and hint, and nothing is signed;
// --force signs anyway. Transaction ids: history prints them whole, and `tx`, `contest` and
// `verify` take a unique prefix (ambiguous_prefix when two ids share it).
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { txId, type Tx } from '../src/chain/envelope.js';
import { cleanup, cli, cliOk, getOk, httpPost, makeTx, newAccount, nowSecs, startNode, tempDir, type Account, type NodeProcess, registerNamed } from './helpers.js';

describe('the CLI checks before it signs', { timeout: 300_000 }, () => {
  let node: NodeProcess;
  let home: string;
  const ids: Record<string, string> = {};
  let transfer = ''; // alice -> bob 10

  const nonceOf = async (name: string): Promise<number> => (await getOk(`${node.http}/v1/auth/${ids[name]}`)).nonce;
  const run = (key: string, args: string[]) => cli(home, [...args, '--key', key, '--node', node.socket, '--json']);

  /** Refused before signing with `code` and the chain's hint; the signer's nonce is unchanged. */
  async function refusedLocally(key: string, args: string[], code: string): Promise<any> {
    const before = await nonceOf(key);
    const r = await run(key, args);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.json?.error?.code, code, r.stdout);
    assert.equal(r.json.error.details?.signed, false, 'refused before signing');
    assert.ok(r.json.error.hint, 'with the hint the chain would give');
    assert.match(r.json.error.message, /nothing was signed; --force signs anyway/);
    assert.equal(await nonceOf(key), before, `${args.join(' ')}: the nonce is unchanged`);
    return r.json.error;
  }

  /** With --force it is signed: the chain records it as failed with `code` and the nonce is used. */
  async function forcedFails(key: string, args: string[], code: string): Promise<void> {
    const before = await nonceOf(key);
    const r = await run(key, [...args, '--force']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.json?.error?.code, code, r.stdout);
    assert.equal(r.json.error.details?.receipt?.status, 'failed');
    assert.equal(await nonceOf(key), before + 1, `${args.join(' ')} --force: signed, the nonce is used`);
  }

  before(async () => {
    node = await startNode();
    home = node.home; // holds the dev chain's admin key (a genesis account)
    ids.admin = (await cliOk(home, ['keys', 'show', 'admin', '--json'])).id;
    for (const name of ['alice', 'bob', 'carol']) {
      ids[name] = (await cliOk(home, ['keys', 'new', name, '--json'])).id;
      await cliOk(home, ['register', name, '--key', name, '--node', node.socket, '--json']);
    }
  }, { timeout: 120_000 });

  after(cleanup, { timeout: 60_000 });

  it('send to an unknown name or id: unknown_account, nothing signed; --force records it failed', async () => {
    await refusedLocally('alice', ['send', 'nobody', '1'], 'unknown_account');
    await refusedLocally('alice', ['send', 'ab'.repeat(20), '1'], 'unknown_account');
    await forcedFails('alice', ['send', 'nobody', '1'], 'unknown_account');
  });

  it('send to oneself: self_transfer; --force records it failed', async () => {
    await refusedLocally('alice', ['send', 'alice', '1'], 'self_transfer');
    await refusedLocally('alice', ['send', ids.alice!, '1'], 'self_transfer');
    await forcedFails('alice', ['send', 'alice', '1'], 'self_transfer');
  });

  it('send more than is available: insufficient_funds with the chain\'s message; --force records it failed', async () => {
    const e = await refusedLocally('alice', ['send', 'bob', '5000.5'], 'insufficient_funds');
    assert.match(e.message, /^available 1000, needed 5000\.5 /);
    assert.match(e.hint, /tally balance/);
    await forcedFails('alice', ['send', 'bob', '5000.5'], 'insufficient_funds');
    // What passes the checks is signed as before.
    const ok = await run('alice', ['send', 'bob', '10']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    transfer = ok.json.id;
  });

  it('a refusal for people: the code, the hint and --force on stderr, exit 1', async () => {
    const r = await cli(home, ['send', 'bob', '99999', '--key', 'alice', '--node', node.socket]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: available 990, needed 99999 \(checked before signing: nothing was signed; --force signs anyway\) \(insufficient_funds\)/);
    assert.match(r.stderr, /hint: see what you can spend with `tally balance`/);
  });

  it('history prints whole transaction ids, and contest takes a unique prefix of one', async () => {
    const h = await cli(home, ['history', '--key', 'alice', '--node', node.socket]);
    assert.equal(h.code, 0, h.stderr);
    assert.ok(h.stdout.includes(transfer), `the table shows the full id ${transfer}:\n${h.stdout}`);
    const contested = await run('alice', ['contest', transfer.slice(0, 16), '--reason', 'wrong amount']);
    assert.equal(contested.code, 0, contested.stdout + contested.stderr);
    assert.equal(contested.json.dispute, 1);
    const d = await cliOk(home, ['dispute', '1', '--node', node.socket, '--json']);
    assert.equal(d.transfer, transfer);
  });

  it('register with a key that has an account, or a taken name; rename to its own or a taken name: refused; --force records them failed', async () => {
    await refusedLocally('alice', ['register', 'alice2'], 'already_registered');
    await forcedFails('alice', ['register', 'alice2'], 'already_registered');
    ids.dave = (await cliOk(home, ['keys', 'new', 'dave', '--json'])).id;
    assert.equal(await nonceOf('dave'), 0);
    await refusedLocally('dave', ['register', 'bob'], 'name_taken');
    await forcedFails('dave', ['register', 'bob'], 'name_taken');
    await refusedLocally('carol', ['rename', 'carol'], 'name_unchanged');
    await forcedFails('carol', ['rename', 'carol'], 'name_unchanged');
    await refusedLocally('carol', ['rename', 'bob'], 'name_taken');
    await forcedFails('carol', ['rename', 'bob'], 'name_taken');
    // A free name passes the checks and is signed as before.
    const ok = await run('dave', ['register', 'dave']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  });

  it('contest a transfer that already has a dispute: already_contested; --force records it failed', async () => {
    const e = await refusedLocally('bob', ['contest', transfer, '--reason', 'me too'], 'already_contested');
    assert.match(e.message, /already disputed \(dispute 1\)/);
    assert.match(e.hint, /tally second/);
    await forcedFails('bob', ['contest', transfer, '--reason', 'me too'], 'already_contested');
    const t = await httpPost(`${node.http}/v1/query/ledger.transfer`, { transfer });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.equal(t.body.dispute, 1);
    assert.equal(t.body.contestUntil, t.body.time + 7 * 24 * 3600 * 1000);
    const notSend = await httpPost(`${node.http}/v1/query/ledger.transfer`, { transfer: t.body.transfer.replace(/^./, (c: string) => (c === '0' ? '1' : '0')) });
    assert.equal(notSend.status, 404);
    assert.equal(notSend.body.error.code, 'transfer_not_found');
  });

  it('contest by someone who is not a party: not_a_party; --force records it failed', async () => {
    await refusedLocally('carol', ['contest', transfer, '--reason', 'not mine'], 'not_a_party');
    await forcedFails('carol', ['contest', transfer, '--reason', 'not mine'], 'not_a_party');
  });

  it('a party seconding its own dispute: party_cannot_second; --force records it failed', async () => {
    await refusedLocally('bob', ['second', '1'], 'party_cannot_second');
    await refusedLocally('alice', ['second', '#1'], 'party_cannot_second');
    await forcedFails('bob', ['second', '1'], 'party_cannot_second');
    await refusedLocally('carol', ['second', '7'], 'dispute_not_found');
  });

  it('resolve by a member who is not an admin: not_admin; --force records it failed', async () => {
    await refusedLocally('carol', ['resolve', '1', 'dismiss', '--note', 'me'], 'not_admin');
    await forcedFails('carol', ['resolve', '1', 'dismiss', '--note', 'me'], 'not_admin');
    // The admin passes the checks; after that, the dispute is closed for everyone.
    const r = await run('admin', ['resolve', '1', 'dismiss', '--note', 'agreed between them']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await refusedLocally('carol', ['second', '1'], 'dispute_closed');
    await refusedLocally('admin', ['resolve', '1', 'reverse', '--note', 'again'], 'dispute_closed');
  });

  it('tally tx takes a unique prefix; a short, unknown or shared prefix is a clear error', async () => {
    const shown = await cliOk(home, ['tx', transfer.slice(0, 12), '--node', node.http, '--json']);
    assert.equal(shown.id, transfer);
    assert.equal(shown.proofCheck.ok, true);
    const upper = await cliOk(home, ['tx', transfer.toUpperCase(), '--node', node.socket, '--json']);
    assert.equal(upper.id, transfer);
    const statement = await cliOk(home, ['sign', 'prefixes are fine', '--key', 'bob', '--node', node.socket, '--json']);
    const verified = await cliOk(home, ['verify', statement.id.slice(0, 10), '--node', node.socket, '--json']);
    assert.equal(verified.valid, true);
    assert.equal(verified.statement.id, statement.id);
    const short = await cli(home, ['tx', transfer.slice(0, 7), '--node', node.socket, '--json']);
    assert.equal(short.code, 1);
    assert.equal(short.json.error.code, 'bad_tx_id');
    const unknown = transfer.startsWith('0') ? 'f'.repeat(16) : '0'.repeat(16);
    const missing = await cli(home, ['tx', unknown, '--node', node.socket, '--json']);
    assert.equal(missing.code, 1);
    assert.equal(missing.json.error.code, 'tx_not_found');

    // Two transfers whose ids share their first 8 hex digits (a birthday search over memos:
    // ids are hashes of the unsigned transaction, so only the two chosen are signed).
    const a = newAccount();
    const b = newAccount();
    await registerNamed(node.http, [[a, 'grind-a'], [b, 'grind-b']]);
    const expires = nowSecs() + 600;
    const send = (from: Account, to: Account, memo: string): Tx => ({ chain: 'tally-dev', type: 'ledger.send', from: from.id, nonce: from.nonce, expires, body: { to: to.id, amount: '0.000001', memo } });
    const fromA = new Map<string, string>();
    const fromB = new Map<string, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; i < 4_000_000 && !pair; i++) {
      const ha = txId(send(a, b, `a${i}`)).slice(0, 8);
      const hb = txId(send(b, a, `b${i}`)).slice(0, 8);
      fromA.set(ha, `a${i}`);
      fromB.set(hb, `b${i}`);
      if (fromB.has(ha)) pair = [`a${i}`, fromB.get(ha)!];
      else if (fromA.has(hb)) pair = [fromA.get(hb)!, `b${i}`];
    }
    assert.ok(pair, 'found two ids with the same 8-digit prefix');
    const ra = await httpPost(`${node.http}/v1/txs`, makeTx(a, 'ledger.send', send(a, b, pair[0]).body, { expires }));
    const rb = await httpPost(`${node.http}/v1/txs`, makeTx(b, 'ledger.send', send(b, a, pair[1]).body, { expires }));
    assert.equal(ra.body.status, 'ok', JSON.stringify(ra.body));
    assert.equal(rb.body.status, 'ok', JSON.stringify(rb.body));
    const shared = String(ra.body.id).slice(0, 8);
    assert.equal(String(rb.body.id).slice(0, 8), shared);
    const ambiguous = await cli(home, ['tx', shared, '--node', node.socket, '--json']);
    assert.equal(ambiguous.code, 1);
    assert.equal(ambiguous.json.error.code, 'ambiguous_prefix');
    assert.match(ambiguous.json.error.hint, /more digits/);
    const contest = await refusedOrError('alice', ['contest', shared, '--reason', 'which one?']);
    assert.equal(contest, 'ambiguous_prefix');
    // One more digit (or the whole id) tells them apart when they differ there.
    assert.equal((await cliOk(home, ['tx', String(ra.body.id), '--node', node.socket, '--json'])).id, ra.body.id);
  });

  /** The error code of a command that must fail without signing anything. */
  async function refusedOrError(key: string, args: string[]): Promise<string> {
    const before = await nonceOf(key);
    const r = await run(key, args);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(await nonceOf(key), before);
    return r.json.error.code;
  }
});

describe('contest checks the contest window before it signs', { timeout: 120_000 }, () => {
  const WINDOW_SECS = 2;
  let node: NodeProcess;
  let home: string;
  const ids: Record<string, string> = {};
  after(cleanup, { timeout: 60_000 });

  it('a transfer older than the window: contest_window_closed, nonce unchanged; --force records it failed', async () => {
    const root = tempDir();
    home = path.join(root, 'home');
    const dataDir = path.join(root, 'data');
    for (const name of ['alice', 'bob']) ids[name] = (await cliOk(home, ['keys', 'new', name, '--json'])).id;
    const genesisFile = path.join(root, 'genesis.json');
    fs.writeFileSync(genesisFile, JSON.stringify({
      chain: 'tally-window', time: Date.now(), decimals: 6,
      modules: { ledger: { registration: { policy: 'open', grant: '100' }, disputes: { contestWindowSecs: WINDOW_SECS, secondsRequired: 2 } } },
    }));
    await cliOk(home, ['init', '--data', dataDir, '--genesis', genesisFile, '--json']);
    node = await startNode({ dataDir, home });
    const run = (key: string, args: string[]) => cli(home, [...args, '--key', key, '--node', node.socket, '--json']);
    const nonceOf = async (name: string): Promise<number> => (await getOk(`${node.http}/v1/auth/${ids[name]}`)).nonce;
    for (const name of ['alice', 'bob']) await cliOk(home, ['register', name, '--key', name, '--node', node.socket, '--json']);
    const sent = await cliOk(home, ['send', 'bob', '1', '--key', 'alice', '--node', node.socket, '--json']);
    await new Promise((r) => setTimeout(r, (WINDOW_SECS + 1.5) * 1000));
    const before = await nonceOf('alice');
    const refused = await run('alice', ['contest', sent.id, '--reason', 'too late']);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.equal(refused.json.error.code, 'contest_window_closed');
    assert.equal(refused.json.error.details.signed, false);
    assert.match(refused.json.error.message, /contested for 2 s; this one is \d+ s old/);
    assert.match(refused.json.error.hint, /contest window has passed/);
    assert.equal(await nonceOf('alice'), before);
    const forced = await run('alice', ['contest', sent.id, '--reason', 'too late', '--force']);
    assert.equal(forced.json?.error?.code, 'contest_window_closed', forced.stdout);
    assert.equal(forced.json.error.details.receipt.status, 'failed');
    assert.equal(await nonceOf('alice'), before + 1);
  });
});
