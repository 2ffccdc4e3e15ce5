// The ledger's community features end to end, over a real node's Unix socket: invites,
// the whole dispute story (contest, seconds, escalation, an admin reversal with a partial
// hold, a dismissal, and every refusal), rename keeping history, paginated history,
// statements that verify offline and fail when one byte changes, detached signatures,
// and the audit (member and admin) finding a tampered balance.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { accountIdFromPub, signerFromPrivateKey } from '../src/core/keys.js';
import type { Receipt } from '../src/chain/envelope.js';
import { signQuery } from '../src/chain/query-auth.js';
import { makeInvite } from '../src/modules/ledger/invites.js';
import { verifyStatementBundle, type StatementBundle } from '../src/modules/ledger/statements.js';
import {
  cleanup, cli, cliOk, makeTx, nowSecs, RawSocket, replySignatureValid, sleep, startNode, tempDir,
  type Account, type NodeProcess,
} from './helpers.js';
import { openEncrypted, storedValue } from './db.js';

const CHAIN = 'disputes-test';
const WINDOW_SECS = 4;


interface Keyed extends Account {
  pem: string;
}

function keyed(): Keyed {
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  const signer = signerFromPrivateKey(privateKey);
  return { signer, id: accountIdFromPub(signer.pub), nonce: 0, pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

interface Snapshot {
  height: number;
  nonces: Record<string, number>;
  balances: Record<string, unknown>;
  disputes: unknown[];
}

describe('ledger: disputes, statements, rename, history and audit over a real socket', { timeout: 240_000 }, () => {
  let root: string;
  let home: string;
  let dataDir: string;
  let node: NodeProcess;
  let sock: RawSocket;
  let rid = 0;
  const admin = keyed();
  const members: Record<string, Keyed> = { alice: keyed(), bob: keyed(), carol: keyed(), dave: keyed(), erin: keyed() };
  const { alice, bob, carol, dave, erin } = members as Record<'alice' | 'bob' | 'carol' | 'dave' | 'erin', Keyed>;
  const everyone = (): Array<[string, Keyed]> => [['admin', admin], ...Object.entries(members)];
  let t1: Receipt; // alice -> bob 60, contested by alice, reversed with a partial hold
  let t2: Receipt; // carol -> dave 20, contested by dave, dismissed

  async function call(method: string, params: Record<string, unknown> = {}): Promise<any> {
    const reply = await sock.request(++rid, method, params);
    assert.ok(replySignatureValid(reply, node.nodeKey), 'every reply is signed by the node key');
    return reply;
  }

  async function query(name: string, params: Record<string, unknown>): Promise<any> {
    const reply = await call('query', { name, params });
    if (reply.error) throw Object.assign(new Error(`${name}: ${reply.error.code}: ${reply.error.message}`), { code: reply.error.code });
    return reply.result;
  }

  async function submit(acct: Account, type: string, body: Record<string, unknown>): Promise<any> {
    const reply = await call('tx.submit', { tx: makeTx(acct, type, body, { chain: CHAIN }) });
    assert.equal(reply.error, undefined, JSON.stringify(reply.error));
    return reply.result;
  }

  async function ok(acct: Account, type: string, body: Record<string, unknown>): Promise<Receipt> {
    const r = await submit(acct, type, body);
    assert.equal(r.status, 'ok', `${type} ${JSON.stringify(body)}: ${JSON.stringify(r)}`);
    return r as Receipt;
  }

  async function snapshot(): Promise<Snapshot> {
    const info = (await call('node.info')).result;
    const nonces: Record<string, number> = {};
    const balances: Record<string, unknown> = {};
    for (const [name, acct] of everyone()) {
      nonces[name] = (await call('auth.get', { id: acct.id })).result.nonce;
      const w = await query('ledger.whoami', { account: acct.id }).catch(() => null);
      // (a failed first transaction gives a key a nonce, not an account)
      balances[name] = w?.registered ? { balance: w.balance, held: w.held, available: w.available, name: w.name } : null;
    }
    balances.mint = (await query('ledger.balance', { account: 'mint' })).total;
    const disputes: unknown[] = [];
    for (let n = 1; ; n++) {
      const d = await query('ledger.dispute', { dispute: n }).catch(() => null);
      if (!d) break;
      disputes.push(d);
    }
    return { height: info.height, nonces, balances, disputes };
  }

  /** A transaction the chain records as failed with `code`: the sender's nonce moves, nothing else. */
  async function fails(acct: Keyed, type: string, body: Record<string, unknown>, code: string): Promise<void> {
    const name = everyone().find(([, a]) => a === acct)![0];
    const before = await snapshot();
    const r = await submit(acct, type, body);
    assert.equal(r.status, 'failed', `${type} should fail with ${code}: ${JSON.stringify(r)}`);
    assert.equal(r.code, code);
    assert.deepEqual(r.events, []);
    const after = await snapshot();
    assert.deepEqual(after.balances, before.balances, `${code} moved money or holds`);
    assert.deepEqual(after.disputes, before.disputes, `${code} changed a dispute`);
    assert.deepEqual(after.nonces, { ...before.nonces, [name]: before.nonces[name]! + 1 }, `${code}: only the sender's nonce moves`);
  }

  /** A transaction refused at admission with `code`: nothing at all changes. */
  async function refused(acct: Keyed, type: string, body: Record<string, unknown>, code: string): Promise<void> {
    const before = await snapshot();
    const reply = await call('tx.submit', { tx: makeTx(acct, type, body, { chain: CHAIN, nonce: acct.nonce }) });
    const error = reply.result?.error ?? reply.error;
    assert.equal(error?.code, code, JSON.stringify(reply));
    assert.deepEqual(await snapshot(), before, `${code} changed something`);
  }

  /** A contest names the transfer by id and by its position (from its receipt). */
  const at = (r: Receipt) => ({ transfer: r.id, height: r.height, index: r.index });

  const balanceOf = async (acct: Account) => {
    const w = await query('ledger.whoami', { account: acct.id });
    return { total: w.balance, held: w.held, available: w.available };
  };

  before(async () => {
    root = tempDir();
    home = path.join(root, 'home');
    dataDir = path.join(root, 'data');
    const genesisFile = path.join(root, 'genesis.json');
    fs.writeFileSync(genesisFile, JSON.stringify({
      chain: CHAIN, time: Date.now(), decimals: 6,
      modules: {
        ledger: {
          registration: { policy: 'invite', grant: '100' },
          accounts: [{ name: 'admin', pub: admin.signer.pub, balance: '0' }],
          admins: ['admin'],
          disputes: { contestWindowSecs: WINDOW_SECS, secondsRequired: 2 },
        },
      },
    }));
    await cliOk(home, ['init', '--data', dataDir, '--genesis', genesisFile, '--json']);
    for (const [name, acct] of [['admin', admin], ['alice', alice], ['carol', carol]] as const) {
      const pem = path.join(root, `${name}.pem`);
      fs.writeFileSync(pem, acct.pem, { mode: 0o600 });
      await cliOk(home, ['keys', 'import', pem, '--name', name, '--json']);
    }
    node = await startNode({ dataDir, home });
    sock = await RawSocket.connect(node.socket);
  });

  after(async () => {
    sock?.close();
    await cleanup();
  });

  it('invite policy: registering needs a fresh, unexpired invite signed by an admin', async () => {
    const invite = (expires = nowSecs() + 3600, signer: Keyed = admin) => makeInvite(CHAIN, signer.id, signer.signer, expires).code;
    // A key the chain has never seen is refused at admission: nothing changes, not even a nonce.
    await refused(alice, 'ledger.register', { name: 'alice' }, 'invite_required');
    await refused(alice, 'ledger.register', { name: 'alice', invite: invite(nowSecs() - 10) }, 'invite_expired');
    // signed by a key that is not an admin's (claiming to be the admin)
    const forged = makeInvite(CHAIN, admin.id, bob.signer, nowSecs() + 3600).code;
    await refused(alice, 'ledger.register', { name: 'alice', invite: forged }, 'invite_invalid');
    await refused(alice, 'ledger.register', { name: 'alice', invite: makeInvite('other-chain', admin.id, admin.signer, nowSecs() + 3600).code }, 'invite_invalid');
    await refused(alice, 'ledger.register', { name: 'alice', invite: 'not-a-code' }, 'invite_invalid');
    const code = invite();
    const r = await ok(alice, 'ledger.register', { name: 'alice', invite: code });
    assert.deepEqual(r.events.map((e) => e.type), ['ledger.registered', 'ledger.invite_used', 'ledger.transfer']);
    await refused(bob, 'ledger.register', { name: 'bob', invite: code }, 'invite_used');
    // A key the chain knows is not refused at admission: its registration fails in a block, as before.
    await fails(alice, 'ledger.register', { name: 'alice2', invite: code }, 'already_registered');
    // `tally invite` makes a working code with the admin's keystore key
    const made = await cliOk(home, ['invite', '--key', 'admin', '--node', node.socket, '--expires', '1h', '--json']);
    await ok(bob, 'ledger.register', { name: 'bob', invite: made.code });
    const notAdmin = await cli(home, ['invite', '--key', 'alice', '--node', node.socket, '--json']);
    assert.equal(notAdmin.json.error.code, 'not_admin');
    for (const [name, acct] of [['carol', carol], ['dave', dave], ['erin', erin]] as const) await ok(acct, 'ledger.register', { name, invite: invite() });
    assert.deepEqual(await balanceOf(erin), { total: '100', held: '0', available: '100' });
  });

  it('the dispute story: contest holds what the receiver has left, two seconds escalate, an admin reverses what the hold covers', async () => {
    t1 = await ok(alice, 'ledger.send', { to: 'bob', amount: '60', memo: 'bike' });
    await ok(bob, 'ledger.send', { to: 'carol', amount: '150' }); // bob keeps 10 of the 60
    const opened = await ok(alice, 'ledger.contest', { ...at(t1), reason: 'the bike never came' });
    assert.deepEqual(opened.events, [{ type: 'ledger.dispute_opened', dispute: 1, transfer: t1.id, from: alice.id, to: bob.id, amount: '60', held: '10' }]);
    assert.deepEqual(await balanceOf(bob), { total: '10', held: '10', available: '0' });
    await fails(bob, 'ledger.send', { to: 'alice', amount: '5' }, 'insufficient_funds'); // held funds cannot leave

    const s1 = await ok(carol, 'ledger.second', { dispute: 1 });
    assert.deepEqual(s1.events, [{ type: 'ledger.dispute_seconded', dispute: 1, account: carol.id, seconds: 1 }]);
    assert.equal((await query('ledger.dispute', { dispute: 1 })).status, 'open');
    await fails(bob, 'ledger.second', { dispute: 1 }, 'party_cannot_second');
    await fails(alice, 'ledger.second', { dispute: 1 }, 'party_cannot_second');
    await fails(carol, 'ledger.second', { dispute: 1 }, 'already_seconded');
    await fails(carol, 'ledger.second', { dispute: 9 }, 'dispute_not_found');
    const s2 = await ok(dave, 'ledger.second', { dispute: 1 });
    assert.deepEqual(s2.events.map((e) => e.type), ['ledger.dispute_seconded', 'ledger.dispute_escalated']);
    assert.equal((await query('ledger.dispute', { dispute: 1 })).status, 'escalated');

    await fails(carol, 'ledger.resolve', { dispute: 1, action: 'reverse', note: 'carol is no admin' }, 'not_admin');
    await refused(admin, 'ledger.resolve', { dispute: 1, action: 'refund', note: 'x' }, 'bad_action');
    await refused(admin, 'ledger.resolve', { dispute: 1, action: 'reverse', note: 'x'.repeat(257) }, 'note_too_long');
    await refused(admin, 'ledger.resolve', { dispute: 1, action: 'reverse' }, 'note_invalid');
    await refused(admin, 'ledger.resolve', { dispute: -1, action: 'reverse', note: 'x' }, 'bad_dispute_id');

    const before = { alice: await balanceOf(alice), bob: await balanceOf(bob) };
    const resolved = await ok(admin, 'ledger.resolve', { dispute: 1, action: 'reverse', note: 'refund what is left' });
    assert.deepEqual(resolved.events, [
      { type: 'ledger.dispute_resolved', dispute: 1, action: 'reverse', from: alice.id, to: bob.id, reversed: '10', shortfall: '50' },
      { type: 'ledger.transfer', from: bob.id, to: alice.id, amount: '10', dispute: 1 },
    ]);
    assert.equal(before.alice.total, '40');
    assert.deepEqual(await balanceOf(alice), { total: '50', held: '0', available: '50' });
    assert.deepEqual(await balanceOf(bob), { total: '0', held: '0', available: '0' });
    const d1 = await query('ledger.dispute', { dispute: 1 });
    assert.equal(d1.status, 'reversed');
    assert.deepEqual(d1.resolution && { by: d1.resolution.by, reversed: d1.resolution.reversed, shortfall: d1.resolution.shortfall, note: d1.resolution.note },
      { by: admin.id, reversed: '10', shortfall: '50', note: 'refund what is left' });
    await fails(admin, 'ledger.resolve', { dispute: 1, action: 'dismiss', note: 'again' }, 'dispute_closed');
    await fails(erin, 'ledger.second', { dispute: 1 }, 'dispute_closed');
    // History is never edited: the original transfer is still there, as it was.
    const original = (await call('tx.get', { id: t1.id })).result;
    assert.deepEqual(original.receipt, t1);
  });

  it('a receiver contests, the admin dismisses: the hold is released and no money moves', async () => {
    t2 = await ok(carol, 'ledger.send', { to: 'dave', amount: '20' });
    await fails(erin, 'ledger.contest', { ...at(t2), reason: 'not mine' }, 'not_a_party');
    const opened = await ok(dave, 'ledger.contest', { ...at(t2), reason: 'I was paid twice' });
    assert.equal(opened.events[0]!.held, '20');
    assert.deepEqual(await balanceOf(dave), { total: '120', held: '20', available: '100' });
    await fails(carol, 'ledger.contest', { ...at(t2), reason: 'me too' }, 'already_contested');
    await fails(carol, 'ledger.contest', { ...at(t1), reason: 'not a party' }, 'not_a_party');
    await fails(alice, 'ledger.contest', { ...at(t1), transfer: 'ab'.repeat(32), reason: 'another id at that position' }, 'transfer_not_found');
    await fails(alice, 'ledger.contest', { ...at(t1), index: 1, reason: 'nothing at that position' }, 'transfer_not_found');
    await refused(alice, 'ledger.contest', { ...at(t1), height: 0, reason: 'r' }, 'bad_transfer_id');
    await refused(alice, 'ledger.contest', at(t1), 'reason_invalid');
    await refused(alice, 'ledger.contest', { ...at(t1), transfer: 'xyz', reason: 'r' }, 'bad_transfer_id');
    const before = { carol: await balanceOf(carol), dave: await balanceOf(dave) };
    const r = await ok(admin, 'ledger.resolve', { dispute: 2, action: 'dismiss', note: 'a real payment' });
    assert.deepEqual(r.events.map((e) => e.type), ['ledger.dispute_resolved']);
    assert.deepEqual(await balanceOf(carol), before.carol);
    assert.deepEqual(await balanceOf(dave), { total: '120', held: '0', available: '120' });
    assert.equal((await query('ledger.dispute', { dispute: 2 })).status, 'dismissed');
  });

  it('a contest after the window is refused', async () => {
    const t3 = await ok(carol, 'ledger.send', { to: 'erin', amount: '1' });
    const block = (await call('block.get', { height: t3.height })).result;
    await sleep(Math.max(0, block.header.time + WINDOW_SECS * 1000 + 300 - Date.now()));
    await fails(erin, 'ledger.contest', { ...at(t3), reason: 'too late' }, 'contest_window_closed');
  });

  it('rename keeps the id, history, disputes and holds; the old name is gone', async () => {
    await fails(bob, 'ledger.rename', { name: 'carol' }, 'name_taken');
    await fails(bob, 'ledger.rename', { name: 'bob' }, 'name_unchanged');
    await refused(bob, 'ledger.rename', { name: 'Bad Name' }, 'name_invalid');
    const r = await ok(bob, 'ledger.rename', { name: 'robert' });
    assert.deepEqual(r.events, [{ type: 'ledger.renamed', account: bob.id, old: 'bob', name: 'robert' }]);
    await assert.rejects(query('ledger.whoami', { account: 'bob' }), /unknown_account/);
    const w = await query('ledger.whoami', { account: 'robert' });
    assert.equal(w.id, bob.id);
    const history = await query('ledger.history', { account: 'robert', limit: 200 });
    const ids = history.items.map((i: { id: string }) => i.id);
    assert.ok(ids.includes(t1.id), 'the transfer received as bob is in robert\'s history');
    const t1Item = history.items.find((i: { id: string }) => i.id === t1.id);
    assert.deepEqual([t1Item.change, t1Item.counterparty.name, t1Item.memo], ['+60', 'alice', 'bike']);
    const d1 = await query('ledger.dispute', { dispute: 1 });
    assert.equal(d1.to, bob.id);
    assert.equal(d1.names[bob.id], 'robert');
    // and robert can still be paid and spend under the new name
    await ok(alice, 'ledger.send', { to: 'robert', amount: '3' });
    assert.equal((await balanceOf(bob)).total, '3');
  });

  it('history pages with a cursor, filters by counterparty and time, newest first', async () => {
    const all = await query('ledger.history', { account: 'alice', limit: 200 });
    assert.ok(all.items.length >= 8, `alice has ${all.items.length} transactions`);
    assert.equal(all.next, null);
    const seqs = all.items.map((i: { height: number; index: number }) => i.height * 4096 + i.index);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), 'newest first');
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await query('ledger.history', { account: 'alice', limit: 3, ...(cursor ? { cursor } : {}) });
      assert.ok(page.items.length <= 3);
      paged.push(...page.items.map((i: { id: string }) => i.id));
      cursor = page.next ?? undefined;
    } while (cursor);
    assert.deepEqual(paged, all.items.map((i: { id: string }) => i.id));
    const withBob = await query('ledger.history', { account: 'alice', with: 'robert' });
    assert.ok(withBob.items.length >= 3);
    assert.ok(withBob.items.every((i: { counterparty: { id: string } }) => i.counterparty.id === bob.id));
    const middle = all.items[Math.floor(all.items.length / 2)];
    const since = await query('ledger.history', { account: 'alice', since: middle.time, limit: 200 });
    assert.ok(since.items.every((i: { time: number }) => i.time >= middle.time));
    const until = await query('ledger.history', { account: 'alice', until: new Date(middle.time).toISOString(), limit: 200 });
    assert.ok(until.items.every((i: { time: number }) => i.time < middle.time));
    assert.equal(since.items.length + until.items.length, all.items.length);
    await assert.rejects(query('ledger.history', { account: 'alice', cursor: 'nope' }), /bad_cursor/);
    await assert.rejects(query('ledger.history', { account: 'alice', limit: 1000 }), /bad_query/);
    // and the CLI shows the same page as a table
    const table = await cli(home, ['history', 'alice', '--node', node.socket, '--limit', '3']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /time\s+type\s+change\s+with\s+tx\s+memo/);
    assert.match(table.stdout, /more: tally history alice --cursor \d+/);
  });

  it('a statement verifies offline from its bundle, and fails when any one byte changes', async () => {
    const text = 'I, alice, promise robert a bike by Friday.';
    const r = await ok(alice, 'ledger.sign', { text, label: 'bike promise' });
    const bundle = (await query('ledger.statement', { statement: r.id })) as StatementBundle;
    const good = verifyStatementBundle(bundle, { nodeKey: node.nodeKey, content: { text } });
    assert.ok(good.ok, JSON.stringify(good));
    assert.equal(good.statement.signer, alice.id);
    assert.equal(good.statement.height, r.height);

    const flip = (s: string, at = 0) => s.slice(0, at) + (s[at] === 'a' ? 'b' : 'a') + s.slice(at + 1);
    const mutations: Record<string, (b: any) => void> = {
      'statement text': (b) => { b.envelope.tx.body.text = text.replace('Friday', 'Fridax'); },
      'statement label': (b) => { b.envelope.tx.body.label = 'bike promisf'; },
      'signer key': (b) => { b.envelope.pub = flip(b.envelope.pub, 5); },
      'account signature': (b) => { b.envelope.sig = flip(b.envelope.sig, 10); },
      'receipt digest': (b) => { b.receipt.events[0].digest = flip(b.receipt.events[0].digest, 12); },
      'receipt height': (b) => { b.receipt.height += 1; },
      'leaf': (b) => { b.leaf = flip(b.leaf, 3); },
      'block txRoot': (b) => { b.block.header.txRoot = flip(b.block.header.txRoot, 7); },
      'block time': (b) => { b.block.header.time += 1; },
      'block hash': (b) => { b.block.hash = flip(b.block.hash, 9); },
      'block signature': (b) => { b.block.sig = flip(b.block.sig, 20); },
    };
    for (const [what, mutate] of Object.entries(mutations)) {
      const copy = structuredClone(bundle);
      mutate(copy);
      const v = verifyStatementBundle(copy, { nodeKey: node.nodeKey });
      assert.equal(v.ok, false, `a changed ${what} must not verify`);
    }
    // another node key: the countersignature is not the pinned node's
    assert.equal(verifyStatementBundle(bundle, { nodeKey: admin.signer.pub }).ok, false);
    assert.equal(verifyStatementBundle(bundle, { content: { text: text + ' ' } }).ok, false);

    // The CLI: save the bundle online, then check it with no node at all.
    const file = path.join(root, 'statement.json');
    const saved = await cliOk(home, ['verify', r.id, '--node', node.socket, '--out', file, '--json']);
    assert.equal(saved.valid, true);
    const offline = await cli(home, ['verify', '--offline', '--bundle', file, '--node-key', node.nodeKey, '--text', text, '--json', '--node', '/nonexistent.sock']);
    assert.equal(offline.code, 0, offline.stdout + offline.stderr);
    assert.equal(offline.json.valid, true);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('Friday', 'Fridaz'));
    const tampered = await cli(home, ['verify', '--offline', '--bundle', file, '--node-key', node.nodeKey, '--json']);
    assert.equal(tampered.code, 3);
    assert.equal(tampered.json.valid, false);

    // A document signed by digest: the file verifies, a one-byte change does not.
    const doc = path.join(root, 'contract.txt');
    fs.writeFileSync(doc, 'the whole contract\n');
    const signed = await cliOk(home, ['sign', '--file', doc, '--label', 'contract.txt', '--key', 'carol', '--node', node.socket, '--json']);
    const check = await cli(home, ['verify', signed.statement, '--file', doc, '--node', node.socket, '--json']);
    assert.equal(check.code, 0, check.stdout);
    fs.writeFileSync(doc, 'the whole contracT\n');
    const changed = await cli(home, ['verify', signed.statement, '--file', doc, '--node', node.socket, '--json']);
    assert.equal(changed.code, 3);
    assert.match(changed.json.reason, /does not match/);
  });

  it('detached signatures: verify online by account and offline by key; a changed message fails', async () => {
    const sig = (await cliOk(home, ['sign', 'meet at noon', '--detached', '--key', 'alice', '--json'])).signature;
    const online = await cli(home, ['verify', '--signer', 'alice', '--message', 'meet at noon', '--signature', sig, '--node', node.socket, '--json']);
    assert.equal(online.code, 0, online.stdout);
    assert.equal(online.json.valid, true);
    const offline = await cli(home, ['verify', '--offline', '--pub', alice.signer.pub, '--message', 'meet at noon', '--signature', sig, '--json']);
    // (Once seen with no JSON on stdout under CI load: say what it printed if it happens again.)
    assert.equal(offline.code, 0, `exit ${offline.code}: ${offline.stdout} ${offline.stderr}`);
    assert.equal(offline.json?.valid, true, `stdout: ${offline.stdout} stderr: ${offline.stderr}`);
    const changed = await cli(home, ['verify', '--offline', '--pub', alice.signer.pub, '--message', 'meet at noon!', '--signature', sig, '--json']);
    assert.equal(changed.code, 3);
    const byNode = await query('ledger.verify', { signer: 'carol', message: 'meet at noon', signature: sig });
    assert.equal(byNode.valid, false, 'alice\'s signature is not carol\'s');
  });

  it('audit: a member sees their own disputes and a consistent balance; an admin sees all and a verified chain', async () => {
    const member = await cliOk(home, ['audit', '--key', 'carol', '--node', node.socket, '--json']);
    assert.equal(member.account.role, 'member');
    assert.deepEqual(member.disputes.map((d: { id: number }) => d.id), [1, 2], 'carol seconded 1 and is a party to 2');
    assert.equal(member.own.ok, true, JSON.stringify(member.own));
    assert.equal(member.chain, undefined, 'members do not get the chain replay');
    const aliceAudit = await cliOk(home, ['audit', '--key', 'alice', '--node', node.socket, '--json']);
    assert.deepEqual(aliceAudit.disputes.map((d: { id: number }) => d.id), [1]);

    const adminAudit = await cliOk(home, ['audit', '--key', 'admin', '--node', node.socket, '--json']);
    assert.equal(adminAudit.account.role, 'admin');
    assert.deepEqual(adminAudit.disputes.map((d: { id: number }) => d.id), [1, 2]);
    assert.equal(adminAudit.chain.ok, true, JSON.stringify(adminAudit.chain.issues));
    assert.deepEqual(adminAudit.invariants, []);
    assert.equal(adminAudit.ok, true);
    const reversed = await cliOk(home, ['audit', '--key', 'admin', '--status', 'reversed', '--node', node.socket, '--json']);
    assert.deepEqual(reversed.disputes.map((d: { id: number }) => d.id), [1]);

    // An audit must be signed, fresh and by the account it names.
    const unsigned = await call('query', { name: 'ledger.audit', params: {} });
    assert.equal(unsigned.error.code, 'query_auth_required');
    const stale = signQuery(CHAIN, 'ledger.audit', {}, carol.signer, carol.id, Date.now() - 10 * 60_000);
    assert.equal((await call('query', { name: 'ledger.audit', params: stale })).error.code, 'query_auth_stale');
    const forged = signQuery(CHAIN, 'ledger.audit', {}, carol.signer, admin.id);
    assert.equal((await call('query', { name: 'ledger.audit', params: forged })).error.code, 'query_auth_invalid');
    const otherParams = { ...signQuery(CHAIN, 'ledger.audit', {}, carol.signer, carol.id), status: 'open' };
    assert.equal((await call('query', { name: 'ledger.audit', params: otherParams })).error.code, 'query_auth_invalid');
  });

  it('audit finds a tampered balance (member: own check; admin: invariants and replay); a lost history index is rebuilt at start', async () => {
    const historyBefore = await query('ledger.history', { account: 'alice', limit: 200 });
    sock.close();
    assert.equal(await node.stop(), 0);
    // Someone with db.key raises carol's balance by 1000 in the stored state.
    const db = openEncrypted(dataDir);
    const update = db.prepare('UPDATE state SET v = ? WHERE k = ?');
    const k = `ledger/acct/${carol.id}`;
    const acct = JSON.parse(storedValue(db, k).v);
    acct.balance = (BigInt(acct.balance) + 1_000_000_000n).toString();
    update.run(JSON.stringify(acct), k);
    // ... and the history index is lost (as in a data directory from before the index).
    const dropIndex = db.prepare('DELETE FROM ledger_history');
    const dropRecent = db.prepare('DELETE FROM ledger_history_recent');
    const dropMark = db.prepare("DELETE FROM meta WHERE k = 'index/ledger'");
    assert.ok(dropIndex.run().changes + dropRecent.run().changes > 0);
    dropMark.run();
    db.close();

    node = await startNode({ dataDir, home });
    sock = await RawSocket.connect(node.socket);
    assert.deepEqual(await query('ledger.history', { account: 'alice', limit: 200 }), historyBefore, 'the index is rebuilt from the stored blocks');
    const member = await cli(home, ['audit', '--key', 'carol', '--node', node.socket, '--json']);
    assert.equal(member.code, 3, member.stdout + member.stderr);
    assert.equal(member.json.own.ok, false);
    assert.match(member.json.own.problems.join('\n'), /balance is 1\d{3}(\.\d+)?, but the account's transfers add up to/);
    const adminAudit = await cli(home, ['audit', '--key', 'admin', '--node', node.socket, '--json']);
    assert.equal(adminAudit.code, 3);
    assert.match(adminAudit.json.invariants.join('\n'), /balances sum to 1000000000 minor units, not zero/);
    const kinds = adminAudit.json.chain.issues.map((i: { kind: string }) => i.kind);
    assert.ok(kinds.includes('state_mismatch'), kinds.join(', '));
    const human = await cli(home, ['audit', '--key', 'admin', '--node', node.socket]);
    assert.equal(human.code, 3);
    assert.match(human.stdout, /problems:/);
  });
});
