// The ledger's commands: a wallet in the terminal. Every command has --help and --json;
// tables for people by default; refusals and failed transactions say what to do next.
import fs from 'node:fs';
import type { Command } from 'commander';
import { formatAmount, parseAmount, parsePositiveAmount } from '../../core/amount.js';
import { TallyError, fail } from '../../core/errors.js';
import { ACCOUNT_ID } from '../../core/keys.js';
import { flag, int, intFlag, refuse } from '../../core/decode.js';
import type { Receipt } from '../../chain/module.js';
import type { CliContext } from '../../chain/app-module.js';
import { table } from '../../core/text.js';
import { makeInvite } from './invites.js';
import type { DisputeView, HistoryItem, TransferView } from './queries.js';
import { documentDigest, messageSignatureValid, signMessage, verifyStatementBundle, type StatementBundle, type StatementView } from './statements.js';
import { MINT_ID } from './state.js';

type Opts = Record<string, unknown>;

/** What to do about a transaction the chain recorded as failed, by its code. */
const FAILURE_HINTS: Record<string, string> = {
  not_registered: 'register this key first: `tally register NAME`',
  unknown_account: 'check the name with `tally whoami NAME`',
  insufficient_funds: 'see what you can spend with `tally balance` (disputed funds are held)',
  self_transfer: 'send to another account',
  name_taken: 'choose another name',
  name_unchanged: 'the account already has that name',
  already_registered: 'this key already has an account: `tally whoami`',
  registration_closed: 'this chain only has its genesis accounts',
  invite_required: 'ask an admin for an invite code (`tally invite`), then `tally register NAME --invite CODE`',
  invite_invalid: 'ask the admin for a new invite code',
  invite_expired: 'ask the admin for a new invite code',
  invite_used: 'each invite code opens one account; ask the admin for another',
  transfer_not_found: 'give the id of a ledger.send transaction (see `tally history`)',
  not_a_party: 'only the sender or the receiver of a transfer may contest it',
  already_contested: 'second the existing dispute instead: `tally second DISPUTE`',
  contest_window_closed: 'the contest window has passed; talk to the other party or an admin',
  dispute_not_found: 'list your disputes with `tally audit`',
  dispute_closed: 'the dispute is already resolved: `tally dispute N` shows how',
  party_cannot_second: 'seconds come from members who are not party to the transfer',
  already_seconded: 'each member seconds a dispute once',
  not_admin: 'only admins named in the genesis resolve disputes',
  balance_overflow: 'the receiver cannot hold that much',
  cannot_send_to_mint: 'the mint issues coins and receives none; send to an account',
};

async function submit(cli: CliContext, type: string, body: Opts, opts: Opts): Promise<Receipt> {
  try {
    return await cli.submitTx(type, body, opts);
  } catch (err) {
    if (err instanceof TallyError && !err.hint && FAILURE_HINTS[err.code]) {
      throw new TallyError(err.code, err.message, { status: err.status, ...(err.details ? { details: err.details } : {}), hint: FAILURE_HINTS[err.code]! });
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------
// Checks before signing. A transaction the chain records as failed still uses a nonce and
// stays in the history for ever, so what the chain would certainly refuse today is found
// with queries first and refused here with the chain's own code, message and hint, before
// the passphrase is asked for. This is advice, not a rule: the state may change before a
// block applies the transaction, and the chain's check (txs.ts) is the one that counts.
// --force skips these checks and signs.

const FORCE = ['--force', 'sign and submit even if the node\'s state says the chain would refuse (it is then recorded as failed and uses a nonce)'] as const;

function refuseUnsigned(code: string, message: string, status: number): never {
  throw new TallyError(code, `${message} (checked before signing: nothing was signed; --force signs anyway)`, {
    status, hint: FAILURE_HINTS[code]!, details: { signed: false },
  });
}

interface AccountInfo { id: string; name: string | null; registered: boolean; balance: string; held: string; available: string; roles: string[] }

/** An account as the node sees it now; undefined when the chain has never seen the name, id or key. */
async function lookup(cli: CliContext, ref: string, opts: Opts): Promise<AccountInfo | undefined> {
  try {
    return (await cli.query('ledger.whoami', { account: ref }, opts)) as AccountInfo;
  } catch (err) {
    if (err instanceof TallyError && err.code === 'unknown_account') return undefined;
    throw err;
  }
}

/** The --key account, which must be registered (the chain's first check of every ledger transaction but register). */
async function signingMember(cli: CliContext, opts: Opts): Promise<AccountInfo> {
  const me = await lookup(cli, cli.currentAccountId(opts), opts);
  if (!me?.registered) refuseUnsigned('not_registered', 'the signing key has no ledger account; register first', 403);
  return me;
}

/** An open dispute, as ledger.second and ledger.resolve require. */
async function openDisputeOrRefuse(cli: CliContext, n: number, opts: Opts): Promise<DisputeView> {
  let d: DisputeView;
  try {
    d = (await cli.query('ledger.dispute', { dispute: n }, opts)) as DisputeView;
  } catch (err) {
    if (err instanceof TallyError && err.code === 'dispute_not_found') refuseUnsigned('dispute_not_found', `no dispute ${n}`, 404);
    throw err;
  }
  if (d.status !== 'open' && d.status !== 'escalated') refuseUnsigned('dispute_closed', `dispute ${n} is already ${d.status}`, 409);
  return d;
}

/** ledger.send's checks, in the chain's order: member, recipient, not oneself, available funds. */
async function checkSend(cli: CliContext, to: string, toId: string | undefined, amount: string, opts: Opts): Promise<void> {
  const me = await signingMember(cli, opts);
  const recipient = toId === undefined ? undefined : await lookup(cli, toId, opts);
  if (!recipient?.registered) refuseUnsigned('unknown_account', `no account "${to}"`, 404);
  if (recipient.id === me.id) refuseUnsigned('self_transfer', 'an account cannot send to itself', 422);
  const { decimals } = (await cli.call('node.info', {}, opts)) as { decimals: number };
  let needed: bigint;
  try {
    needed = parsePositiveAmount(amount, decimals);
  } catch {
    return; // a malformed amount is refused at admission, which uses no nonce
  }
  const available = parseAmount(me.available, decimals);
  if (available < needed) {
    const held = me.held !== '0' ? ` (${me.held} more is held by disputes)` : '';
    refuseUnsigned('insufficient_funds', `available ${me.available}${held}, needed ${formatAmount(needed, decimals)}`, 422);
  }
}

/** ledger.register's checks, in the chain's order: a key with no account, a free name. */
async function checkRegister(cli: CliContext, name: string, opts: Opts): Promise<void> {
  const me = await lookup(cli, cli.currentAccountId(opts), opts);
  if (me?.registered) refuseUnsigned('already_registered', `this key already has an account ("${me.name}")`, 409);
  await nameFreeOrRefuse(cli, name, opts);
}

/** ledger.rename's checks, in the chain's order: member, a new name, a free name. */
async function checkRename(cli: CliContext, name: string, opts: Opts): Promise<void> {
  const me = await signingMember(cli, opts);
  if (me.name === name) refuseUnsigned('name_unchanged', `the account is already named "${name}"`, 409);
  await nameFreeOrRefuse(cli, name, opts);
}

async function nameFreeOrRefuse(cli: CliContext, name: string, opts: Opts): Promise<void> {
  // A malformed name is refused at admission (no nonce); only a taken valid one matters here.
  const holder = await lookup(cli, name, opts);
  if (holder?.registered && holder.name === name) refuseUnsigned('name_taken', `the name "${name}" is taken`, 409);
}

/** A transaction id as people give it: all 64 hex digits, or a unique prefix (ledger.find_tx). */
async function fullTxId(cli: CliContext, ref: string, opts: Opts): Promise<string> {
  const id = ref.toLowerCase();
  if (/^[0-9a-f]{64}$/.test(id)) return id;
  return ((await cli.query('ledger.find_tx', { prefix: id }, opts)) as { id: string }).id;
}

/** The account id a recipient name (or key) stands for now; undefined if there is none. */
async function recipientId(cli: CliContext, ref: string, opts: Opts): Promise<string | undefined> {
  const who = await lookup(cli, ref, opts);
  return who?.registered ? who.id : undefined;
}

const committed = (r: Receipt): string => `committed in block ${r.height} (tx ${r.id})`;
const when = (ms: number | null | undefined): string => (typeof ms === 'number' ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');
const short = (id: string): string => `${id.slice(0, 8)}…`;

/** Column table: header row, then rows; every cell already a string. */
function columns(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

/** A duration flag in seconds: "3600", "90m", "12h", "7d"; at least one second. */
const durationFlag = (name: string) => flag(name, (v, at) => {
  const m = typeof v === 'string' ? /^(\d{1,9})([smhd]?)$/.exec(v) : null;
  const secs = m ? Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'] : 0;
  return secs >= 1 ? secs : refuse(at, 'must be a duration like 3600, 90m, 12h or 7d');
});

/** A dispute number as people write it ("3" or "#3"); signed as a JSON integer. */
const disputeArg = flag('dispute', (v, at) => DISPUTE_NUMBER(typeof v === 'string' ? v.replace(/^#/, '') : v, at));
const DISPUTE_NUMBER = int({ min: 1, text: true, what: 'a dispute number (1, 2, ...)' });

function partyName(d: DisputeView, id: string): string {
  return d.names[id] ?? short(id);
}

function disputeTable(d: DisputeView): string {
  const rows: Array<[string, unknown]> = [
    ['dispute', d.id],
    ['status', d.status],
    ['transfer', `${d.transfer}`],
    ['from → to', `${partyName(d, d.from)} → ${partyName(d, d.to)}`],
    ['amount', d.amount],
    ['held', d.hold],
    ['opened', `by ${partyName(d, d.openedBy)} at block ${d.opened.height} (${when(d.opened.time)})`],
    ['reason', d.reason],
    ['seconds', d.seconds.length ? d.seconds.map((s) => partyName(d, s)).join(', ') : '-'],
  ];
  if (d.resolution) {
    const r = d.resolution;
    rows.push(['resolution', `${r.action} by ${partyName(d, r.by)} at block ${r.height}: reversed ${r.reversed}, shortfall ${r.shortfall}`], ['note', r.note]);
  }
  return table(rows);
}

function disputeRows(list: DisputeView[]): string {
  if (list.length === 0) return 'no disputes';
  return columns(['#', 'status', 'from', 'to', 'amount', 'hold', 'seconds', 'reason'],
    list.map((d) => [String(d.id), d.status, partyName(d, d.from), partyName(d, d.to), d.amount, d.hold, String(d.seconds.length), d.reason]));
}

function statementLines(s: StatementView, signerName: string | null): Array<[string, unknown]> {
  return [
    ['statement', s.id],
    ['signer', `${signerName ? `${signerName} ` : ''}(${s.signer})`],
    ...(s.text !== undefined ? [['text', s.text] as [string, unknown]] : []),
    ['digest', s.digest],
    ...(s.label !== undefined ? [['label', s.label] as [string, unknown]] : []),
    ['recorded', `block ${s.height} at ${when(s.time)}, countersigned by node key ${s.nodeKey}`],
  ];
}

export function ledgerCli(program: Command, cli: CliContext): void {
  // --- accounts -------------------------------------------------------------------------
  cli.clientOptions(
    program.command('register')
      .argument('<name>', 'account name: a lowercase letter, then up to 31 of a-z 0-9 _ -')
      .option('--invite <code>', 'invite code from an admin (chains whose registration policy is "invite")')
      .option(...FORCE)
      .description('register an account for your key (signed by that key; the chain may grant a starting balance)'),
  ).action(async (name: string, opts: Opts) => {
    const body: Opts = { name };
    if (typeof opts.invite === 'string') body.invite = opts.invite;
    if (!opts.force) await checkRegister(cli, name, opts);
    const receipt = await submit(cli, 'ledger.register', body, opts);
    cli.output(opts, receipt, () => {
      const grant = receipt.events.find((e) => e.type === 'ledger.transfer');
      return `registered "${name}"${grant ? ` with a starting grant of ${String(grant.amount)}` : ''}; ${committed(receipt)}`;
    });
  });

  cli.clientOptions(
    program.command('invite')
      .option('--expires <duration>', 'how long the code stays valid: seconds, or 90m, 12h, 7d', durationFlag('--expires'), 7 * 86400)
      .description('admin: make an invite code (signed by your key, offline) that lets one newcomer register'),
  ).action(async (opts: Opts) => {
    const signer = await cli.signer(opts);
    const node = (await cli.call('node.info', {}, opts)) as { chain: string };
    const me = (await cli.query('ledger.whoami', { account: signer.id }, opts)) as { roles: string[] };
    const info = { chain: node.chain, roles: me.roles };
    if (!info.roles.includes('admin')) fail('not_admin', 'only an admin of this chain can make invite codes', { status: 403, hint: 'use an admin key with --key' });
    const expires = Math.floor(Date.now() / 1000) + (opts.expires as number);
    const { code, payload } = makeInvite(info.chain, signer.id, signer, expires);
    cli.output(opts, { code, ...payload }, () => `${code}\n\nvalid until ${when(expires * 1000)}, for one registration on chain "${info.chain}":\n  tally register NAME --invite ${code}`);
  });

  cli.clientOptions(
    program.command('whoami')
      .argument('[account]', 'account name, id or public key (default: the account of --key)')
      .description('the account behind a key or name: id, name, key, balance, nonce, roles, created'),
  ).action(async (ref: string | undefined, opts: Opts) => {
    const account = ref ?? cli.currentAccountId(opts);
    const w = (await cli.query('ledger.whoami', { account }, opts)) as {
      id: string; name: string | null; pub: string | null; registered: boolean; nonce: number; roles: string[];
      balance: string; held: string; available: string; created: { height: number; time: number | null } | null;
    };
    cli.output(opts, w, () => table([
      ['name', w.name ?? '(not registered)'],
      ['id', w.id],
      ['key', w.pub],
      ['balance', `${w.balance} (held ${w.held}, available ${w.available})`],
      ['nonce', w.nonce],
      ['roles', w.roles.join(', ') || '-'],
      ['created', w.created ? `block ${w.created.height}${w.created.time ? ` (${when(w.created.time)})` : ''}` : '-'],
    ]));
  });

  cli.clientOptions(
    program.command('rename')
      .argument('<name>', 'the new name; the account id, history, disputes and holds stay')
      .option(...FORCE)
      .description('rename your account'),
  ).action(async (name: string, opts: Opts) => {
    if (!opts.force) await checkRename(cli, name, opts);
    const receipt = await submit(cli, 'ledger.rename', { name }, opts);
    const ev = receipt.events.find((e) => e.type === 'ledger.renamed');
    cli.output(opts, receipt, () => `renamed "${String(ev?.old)}" to "${name}"; ${committed(receipt)}`);
  });

  // --- money ----------------------------------------------------------------------------
  cli.clientOptions(
    program.command('send')
      .argument('<to>', 'recipient account name or id')
      .argument('<amount>', 'decimal amount, e.g. 12.5')
      .option('--memo <text>', 'a note for the recipient (at most 256 bytes)')
      .option(...FORCE)
      .description('send coins to another account'),
  ).action(async (to: string, amount: string, opts: Opts) => {
    // Sign the account id, not the name: a name freed by a rename could be registered by
    // someone else before the transfer commits, and a signed name would pay them.
    const toId = ACCOUNT_ID.test(to) ? to : await recipientId(cli, to, opts);
    if (!opts.force) await checkSend(cli, to, toId, amount, opts);
    // Forced to a name no account has: only the name can be signed (the weaker form).
    const body: Opts = { to: toId ?? to, amount };
    if (typeof opts.memo === 'string') body.memo = opts.memo;
    const receipt = await submit(cli, 'ledger.send', body, opts);
    const who = toId === undefined || toId === to ? to : `${to} (${toId})`;
    cli.output(opts, receipt, () => `sent ${amount} to ${who}; ${committed(receipt)}\n(the receiver or you may contest it: tally contest ${receipt.id} --reason ...)`);
  });

  cli.clientOptions(
    program.command('balance')
      .argument('[account]', 'account name or id (default: the account of --key)')
      .description('show an account balance: total, held (by open disputes) and available'),
  ).action(async (ref: string | undefined, opts: Opts) => {
    const account = ref ?? cli.currentAccountId(opts);
    const r = (await cli.query('ledger.balance', { account }, opts)) as { name: string; id: string; total: string; held: string; available: string };
    cli.output(opts, r, () => `${r.name}  total ${r.total}  held ${r.held}  available ${r.available}`);
  });

  cli.clientOptions(
    program.command('history')
      .argument('[account]', 'account name or id (default: the account of --key)')
      .option('--with <account>', 'only transactions with this counterparty')
      .option('--since <time>', 'from this time on (ISO date or unix ms)')
      .option('--until <time>', 'before this time (ISO date or unix ms)')
      .option('--limit <n>', 'transactions per page (1 to 200)', intFlag('--limit', 1, 200), 20)
      .option('--cursor <c>', 'the next page: the "next" value printed by the previous page')
      .description('an account\'s transactions, newest first'),
  ).action(async (ref: string | undefined, opts: Opts) => {
    const account = ref ?? cli.currentAccountId(opts);
    const params: Opts = { account, limit: opts.limit };
    for (const k of ['with', 'since', 'until', 'cursor']) if (typeof opts[k] === 'string') params[k] = opts[k];
    const page = (await cli.query('ledger.history', params, opts)) as { account: { id: string; name: string }; items: HistoryItem[]; next: string | null };
    cli.output(opts, page, () => {
      if (page.items.length === 0) return `no transactions for ${page.account.name}`;
      const rows = page.items.map((i) => [
        when(i.time), i.type.replace(/^ledger\./, ''), i.status !== 'ok' ? `failed: ${i.code}` : i.events.some((e) => e.type === 'ledger.transfer') ? i.change : '',
        i.counterparty ? (i.counterparty.id === MINT_ID ? 'mint' : i.counterparty.name ?? short(i.counterparty.id)) : '-',
        i.id, i.memo ?? '',
      ]);
      return `${page.account.name} (${page.account.id})\n` + columns(['time', 'type', 'change', 'with', 'tx', 'memo'], rows) +
        (page.next ? `\nmore: tally history ${ref ?? ''} --cursor ${page.next}`.replace('  ', ' ') : '');
    });
  });

  // --- statements -------------------------------------------------------------------------
  cli.clientOptions(
    program.command('sign')
      .argument('[message]', 'the statement text')
      .option('--file <path>', 'sign a document by its BLAKE3 digest instead of text (the document stays with you)')
      .option('--label <text>', 'a short public label for the statement (e.g. the file name)')
      .option('--detached', 'do not record anything: print a signature of MESSAGE by your key, for `tally verify --signer`')
      .description('record a statement signed by your account; the node countersigns it in a block (a timestamped attestation)'),
  ).action(async (message: string | undefined, opts: Opts) => {
    if ((message === undefined) === (opts.file === undefined)) fail('bad_args', 'give a MESSAGE or --file PATH (one of them)', { hint: 'tally sign "I agree" or tally sign --file contract.pdf' });
    if (opts.detached) {
      if (message === undefined) fail('bad_args', '--detached signs a MESSAGE, not a file');
      const signer = await cli.signer(opts);
      const signature = signMessage(signer, message);
      cli.output(opts, { signer: signer.id, pub: signer.pub, message, signature }, () =>
        `${signature}\n\ncheck it with:\n  tally verify --signer ${signer.id} --message '${message.replace(/'/g, "'\\''")}' --signature ${signature}`);
      return;
    }
    const body: Opts = message !== undefined ? { text: message } : { digest: documentDigest(readFile(String(opts.file))) };
    if (typeof opts.label === 'string') body.label = opts.label;
    const receipt = await submit(cli, 'ledger.sign', body, opts);
    const digest = receipt.events.find((e) => e.type === 'ledger.statement')?.digest;
    cli.output(opts, { ...receipt, statement: receipt.id, digest }, () =>
      `statement ${receipt.id} recorded in block ${receipt.height}\ndigest ${String(digest)}\n\n` +
      `check it:               tally verify ${receipt.id}${opts.file ? ` --file ${String(opts.file)}` : ''}\n` +
      `save it for offline use: tally verify ${receipt.id} --out statement.json`);
  });

  cli.clientOptions(
    program.command('verify')
      .argument('[statement]', 'statement id (the tx id printed by `tally sign`, or a unique prefix of it)')
      .option('--bundle <file>', 'check a saved statement bundle instead of asking the node')
      .option('--out <file>', 'save the statement bundle for offline checks')
      .option('--offline', 'never contact a node (needs --bundle, or --pub for a signature)')
      .option('--node-key <key>', 'the node key that must have signed the block (default: $TALLY_NODE_KEY, else the node\'s own)')
      .option('--file <path>', 'also check that the statement is about this document')
      .option('--text <text>', 'also check that the statement says exactly this')
      .option('--signer <account>', 'detached signature: the account name or id that signed')
      .option('--pub <key>', 'detached signature: the signer\'s public key (offline)')
      .option('--message <text>', 'detached signature: the message')
      .option('--signature <sig>', 'detached signature: the signature (base64url)')
      .description('check a statement (online, or offline from a bundle) or any account\'s detached signature; exit 3 if it does not verify'),
  ).action(async (statementId: string | undefined, opts: Opts) => {
    if (opts.signature !== undefined || opts.message !== undefined) return verifySignatureCommand(cli, opts);
    const content = {
      ...(typeof opts.text === 'string' ? { text: opts.text } : {}),
      ...(typeof opts.file === 'string' ? { bytes: readFile(opts.file) } : {}),
    };
    let bundle: unknown;
    let signerName: string | null = null;
    let nodeKey = (opts.nodeKey as string | undefined) ?? process.env.TALLY_NODE_KEY;
    if (typeof opts.bundle === 'string') {
      bundle = readJson(opts.bundle);
    } else {
      if (opts.offline) fail('bad_args', 'an offline check needs --bundle FILE', { hint: 'save one while online: tally verify ID --out FILE' });
      if (!statementId) fail('bad_args', 'give a statement id, --bundle FILE, or --signer/--message/--signature');
      const info = (await cli.call('node.info', {}, opts)) as { nodeKey: string };
      const r = (await cli.query('ledger.verify', { statement: await fullTxId(cli, statementId, opts) }, opts)) as { bundle: StatementBundle; signerName: string | null };
      const online = { nodeKey: info.nodeKey, ...r };
      bundle = online.bundle;
      signerName = online.signerName;
      nodeKey ??= online.nodeKey;
    }
    // Checked here, whatever the node said: the node is not trusted with the verdict.
    const verdict = verifyStatementBundle(bundle, { ...(nodeKey ? { nodeKey } : {}), content });
    if (typeof opts.out === 'string') fs.writeFileSync(opts.out, JSON.stringify(bundle, null, 2) + '\n');
    cli.output(opts, { valid: verdict.ok, ...(verdict.ok ? {} : { reason: verdict.reason }), statement: verdict.statement ?? null, nodeKey: nodeKey ?? null }, () =>
      (verdict.ok ? 'VALID statement\n' : `INVALID: ${verdict.reason}\n`) +
      (verdict.statement ? table(statementLines(verdict.statement, signerName)) : '') +
      (typeof opts.out === 'string' ? `\nbundle saved to ${opts.out} (check it offline: tally verify --offline --bundle ${opts.out})` : '') +
      (nodeKey ? '' : '\n(no node key pinned: pass --node-key to be sure who countersigned)'));
    if (!verdict.ok) process.exitCode = 3;
  });

  // --- disputes ---------------------------------------------------------------------------
  cli.clientOptions(
    program.command('contest')
      .argument('<txid>', 'the transfer (ledger.send transaction id, or a unique prefix of at least 8 hex digits) you sent or received')
      .requiredOption('--reason <text>', 'why (at most 256 bytes; public)')
      .option(...FORCE)
      .description('dispute a transfer within the contest window: holds up to its amount on the receiver until an admin resolves it'),
  ).action(async (ref: string, opts: Opts) => {
    // The chain finds the transfer by its position, which its receipt gives.
    if (!/^[0-9a-fA-F]+$/.test(ref)) fail('bad_transfer_id', 'give the id of the ledger.send to contest (64 hex digits, or a unique prefix of at least 8)', { hint: 'tally history shows your transfers' });
    const transfer = await fullTxId(cli, ref, opts);
    const found = (await cli.call('tx.get', { id: transfer }, opts)) as { envelope: { tx: { type: string } }; receipt: Receipt };
    const at = { height: found.receipt.height, index: found.receipt.index };
    if (!opts.force) {
      const me = await signingMember(cli, opts);
      const moved = found.receipt.events.find((e) => e.type === 'ledger.transfer');
      if (found.envelope.tx.type !== 'ledger.send' || found.receipt.status !== 'ok' || !moved) {
        refuseUnsigned('transfer_not_found', `no committed ledger.send ${transfer} at block ${at.height}, index ${at.index} (only ledger.send transfers can be contested)`, 404);
      }
      if (me.id !== moved.from && me.id !== moved.to) refuseUnsigned('not_a_party', 'only the sender or the receiver of a transfer may contest it', 403);
      const t = (await cli.query('ledger.transfer', { transfer }, opts)) as TransferView;
      if (t.dispute !== null) refuseUnsigned('already_contested', `the transfer is already disputed (dispute ${t.dispute})`, 409);
      // By this machine's clock: the block that would apply it is at least as late.
      const ageMs = Date.now() - t.time;
      if (ageMs > t.contestWindowSecs * 1000) {
        refuseUnsigned('contest_window_closed', `transfers may be contested for ${t.contestWindowSecs} s; this one is ${Math.floor(ageMs / 1000)} s old`, 409);
      }
    }
    const receipt = await submit(cli, 'ledger.contest', { transfer, ...at, reason: opts.reason }, opts);
    const ev = receipt.events.find((e) => e.type === 'ledger.dispute_opened')!;
    cli.output(opts, { ...receipt, dispute: ev.dispute }, () =>
      `dispute ${String(ev.dispute)} opened on ${String(ev.amount)}; ${String(ev.held)} held on the receiver; ${committed(receipt)}\n` +
      `other members back it with: tally second ${String(ev.dispute)}`);
  });

  cli.clientOptions(
    program.command('second')
      .argument('<dispute>', 'dispute number', disputeArg)
      .option(...FORCE)
      .description('back an open dispute (members who are not party to it; once each)'),
  ).action(async (dispute: number, opts: Opts) => {
    if (!opts.force) {
      const me = await signingMember(cli, opts);
      const d = await openDisputeOrRefuse(cli, dispute, opts);
      if (me.id === d.from || me.id === d.to) refuseUnsigned('party_cannot_second', 'a party to the transfer cannot second its dispute', 403);
      if (d.seconds.includes(me.id)) refuseUnsigned('already_seconded', `this account already seconded dispute ${dispute}`, 409);
    }
    const receipt = await submit(cli, 'ledger.second', { dispute: dispute }, opts);
    const ev = receipt.events.find((e) => e.type === 'ledger.dispute_seconded')!;
    const escalated = receipt.events.some((e) => e.type === 'ledger.dispute_escalated');
    cli.output(opts, receipt, () => `seconded dispute ${dispute} (${String(ev.seconds)} seconds)${escalated ? '; it is now escalated to the admins' : ''}; ${committed(receipt)}`);
  });

  cli.clientOptions(
    program.command('resolve')
      .argument('<dispute>', 'dispute number', disputeArg)
      .argument('<action>', 'reverse (return what the hold covers to the sender) or dismiss (release the hold)')
      .requiredOption('--note <text>', 'the decision, recorded with it (at most 256 bytes; public)')
      .option(...FORCE)
      .description('admin: resolve a dispute; history is never edited, a reversal is a new compensating transfer'),
  ).action(async (dispute: number, action: string, opts: Opts) => {
    if (action !== 'reverse' && action !== 'dismiss') fail('bad_action', 'action must be "reverse" or "dismiss"');
    if (!opts.force) {
      const me = await signingMember(cli, opts);
      if (!me.roles.includes('admin')) refuseUnsigned('not_admin', 'only an admin of this chain may resolve disputes', 403);
      await openDisputeOrRefuse(cli, dispute, opts);
    }
    const receipt = await submit(cli, 'ledger.resolve', { dispute: dispute, action, note: opts.note }, opts);
    const ev = receipt.events.find((e) => e.type === 'ledger.dispute_resolved')!;
    cli.output(opts, receipt, () => action === 'reverse'
      ? `dispute ${dispute} reversed: ${String(ev.reversed)} returned to the sender${ev.shortfall !== '0' ? `, shortfall ${String(ev.shortfall)} (the receiver had spent it before the hold)` : ''}; ${committed(receipt)}`
      : `dispute ${dispute} dismissed: the hold is released; ${committed(receipt)}`);
  });

  cli.clientOptions(
    program.command('dispute')
      .argument('<dispute>', 'dispute number', disputeArg)
      .description('show one dispute: parties, amount, hold, seconds, status, resolution'),
  ).action(async (dispute: number, opts: Opts) => {
    const d = (await cli.query('ledger.dispute', { dispute: dispute }, opts)) as DisputeView;
    cli.output(opts, d, () => disputeTable(d));
  });

  cli.clientOptions(
    program.command('audit')
      .option('--status <s>', 'only disputes in this status: open, escalated, reversed, dismissed')
      .description('members: your disputes and a check of your own balance; admins: every dispute and a full replay of the chain (signed with --key); exit 3 on a problem'),
  ).action(async (opts: Opts) => {
    const params: Opts = {};
    if (typeof opts.status === 'string') params.status = opts.status;
    const r = (await cli.signedQuery('ledger.audit', params, opts)) as {
      account: { id: string; name: string; role: string }; disputes: DisputeView[];
      own: { ok: boolean; balance: string; fromHistory: string; held: string; heldByDisputes: string; problems: string[] };
      invariants?: string[]; chain?: { ok: boolean; height: number; blocks: number; txs: number; issues: Array<{ height: number; kind: string; message: string }> };
    };
    const problems = [...r.own.problems, ...(r.invariants ?? []), ...(r.chain?.issues.map((i) => `block ${i.height}: ${i.kind}: ${i.message}`) ?? [])];
    cli.output(opts, { ...r, ok: problems.length === 0 }, () => {
      const lines = [`audit as ${r.account.name} (${r.account.role})`, '', `disputes${opts.status ? ` (${String(opts.status)})` : ''}:`, disputeRows(r.disputes), ''];
      lines.push(`own balance: ${r.own.ok ? 'consistent' : 'INCONSISTENT'} (balance ${r.own.balance}, transfers add up to ${r.own.fromHistory}; held ${r.own.held}, disputes hold ${r.own.heldByDisputes})`);
      if (r.chain) {
        lines.push(`chain: ${r.chain.ok ? 'verified' : 'PROBLEMS'}: ${r.chain.blocks} blocks, ${r.chain.txs} transactions replayed; every link, signature and root ${r.chain.ok ? 'matches' : 'checked'}`);
        lines.push(`ledger invariants: ${r.invariants!.length === 0 ? 'hold (balances sum to zero with the mint; holds match open disputes)' : 'BROKEN'}`);
      }
      if (problems.length) lines.push('', 'problems:', ...problems.map((p) => `  - ${p}`));
      return lines.join('\n');
    });
    if (problems.length) process.exitCode = 3;
  });
}

async function verifySignatureCommand(cli: CliContext, opts: Opts): Promise<void> {
  const { message, signature } = opts;
  if (typeof message !== 'string' || typeof signature !== 'string') fail('bad_args', 'a signature check needs --message and --signature, and --signer (online) or --pub (offline)');
  let result: { valid: boolean; reason?: string; signer: { id: string | null; name: string | null; pub: string } };
  if (typeof opts.pub === 'string') {
    const valid = messageSignatureValid(opts.pub, message, signature);
    result = { valid, ...(valid ? {} : { reason: 'the signature does not verify for this key and message' }), signer: { id: null, name: null, pub: opts.pub } };
  } else {
    if (opts.offline) fail('bad_args', 'an offline signature check needs the signer\'s key: --pub KEY', { hint: 'get it once with `tally whoami NAME`' });
    if (typeof opts.signer !== 'string') fail('bad_args', 'give --signer ACCOUNT (or --pub KEY)');
    // Fetch the key and check here: the node's verdict is not needed.
    const w = (await cli.query('ledger.whoami', { account: opts.signer }, opts)) as { id: string; name: string | null; pub: string | null };
    if (!w.pub) fail('unknown_account', `the account "${opts.signer}" has no key on this chain`, { status: 404 });
    const valid = messageSignatureValid(w.pub, message, signature);
    result = { valid, ...(valid ? {} : { reason: 'the signature does not verify for this account and message' }), signer: { id: w.id, name: w.name, pub: w.pub } };
  }
  cli.output(opts, result, () => (result.valid ? 'VALID signature' : `INVALID: ${result.reason}`) +
    `\n${table([['signer', result.signer.name ?? result.signer.id ?? '-'], ['key', result.signer.pub]])}`);
  if (!result.valid) process.exitCode = 3;
}

function readFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    fail('file_unreadable', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFile(file).toString('utf8'));
  } catch (err) {
    if (err instanceof TallyError) throw err;
    fail('bundle_invalid', `${file} is not JSON: ${(err as Error).message}`);
  }
}
