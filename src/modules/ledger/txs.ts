// The ledger's transaction types. parse() runs at admission (a refusal changes nothing);
// apply() runs in the sequencer (a failure is recorded and uses the nonce).
import { formatAmount, parsePositiveAmount } from '../../core/amount.js';
import { fail } from '../../core/errors.js';
import { ACCOUNT_ID } from '../../core/keys.js';
import { limits } from '../../core/limits.js';
import { utf8 } from '../../core/encoding.js';
import type { TxType } from '../../chain/module.js';
import type { LedgerGenesis } from './genesis.js';
import { createAccount, getAccount, MINT_ID, NAME_PATTERN, nameKey, resolveAccount, transfer, validName } from './state.js';

function onlyFields(body: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) fail('bad_body', `unknown field "${k}" in the transaction body`, { details: { field: k } });
  }
}

export const register: TxType<{ name: string }> = {
  type: 'ledger.register',
  opensAccount: true,
  parse(body) {
    onlyFields(body, ['name']);
    return { name: validName(body.name) };
  },
  apply(ctx, { name }) {
    const g = ctx.params.moduleGenesis('ledger') as LedgerGenesis;
    if (g.registration.policy !== 'open') fail('registration_closed', 'this chain does not accept new registrations', { status: 403 });
    if (getAccount(ctx.state, ctx.tx.from)) fail('already_registered', 'this key already has an account', { status: 409 });
    if (ctx.state.get(nameKey(name)) !== undefined) fail('name_taken', `the name "${name}" is taken`, { status: 409 });
    createAccount(ctx.state, ctx.tx.from, name, ctx.height);
    const grant = parsePositiveAmountOrZero(g.registration.grant, ctx.params.decimals);
    const events: Array<{ type: string; [k: string]: unknown }> = [{ type: 'ledger.registered', account: ctx.tx.from, name }];
    if (grant > 0n) {
      transfer(ctx.state, MINT_ID, ctx.tx.from, grant);
      events.push({ type: 'ledger.transfer', from: MINT_ID, to: ctx.tx.from, amount: formatAmount(grant, ctx.params.decimals) });
    }
    return events;
  },
};

function parsePositiveAmountOrZero(text: string, decimals: number): bigint {
  return text === '0' ? 0n : parsePositiveAmount(text, decimals);
}

export interface SendBody {
  to: string;
  amount: bigint;
  memo?: string;
}

export const send: TxType<SendBody> = {
  type: 'ledger.send',
  parse(body, params) {
    onlyFields(body, ['to', 'amount', 'memo']);
    const to = body.to;
    if (typeof to !== 'string' || (!ACCOUNT_ID.test(to) && !NAME_PATTERN.test(to))) {
      fail('bad_recipient', 'to must be an account name or a 40-hex account id');
    }
    const amount = parsePositiveAmount(body.amount, params.decimals);
    const out: SendBody = { to, amount };
    if (body.memo !== undefined) {
      if (typeof body.memo !== 'string') fail('memo_invalid', 'memo must be a string');
      if (utf8.encode(body.memo).length > limits.memoBytesMax) fail('memo_too_long', `memo must be at most ${limits.memoBytesMax} bytes of UTF-8`);
      out.memo = body.memo;
    }
    return out;
  },
  apply(ctx, { to, amount, memo }) {
    const from = ctx.tx.from;
    const sender = getAccount(ctx.state, from);
    if (!sender) fail('not_registered', 'the sending key has no account; register first', { status: 403 });
    const toId = resolveAccount(ctx.state, to);
    if (!toId) fail('unknown_account', `no account "${to}"`, { status: 404 });
    if (toId === from) fail('self_transfer', 'an account cannot send to itself', { status: 422 });
    if (BigInt(sender.balance) < amount) {
      fail('insufficient_funds', `available ${formatAmount(BigInt(sender.balance), ctx.params.decimals)}, needed ${formatAmount(amount, ctx.params.decimals)}`, { status: 422 });
    }
    transfer(ctx.state, from, toId, amount);
    const event: { type: string; [k: string]: unknown } = { type: 'ledger.transfer', from, to: toId, amount: formatAmount(amount, ctx.params.decimals) };
    if (memo !== undefined) event.memo = memo;
    return [event];
  },
};
