// A tiny chain module for the chain layer's own tests (the chain layer may not import the
// real modules). Accounts open with `<name>.open`; `<name>.put` writes a nested value under
// a key, `<name>.del` deletes it. `order` chooses the key order in which it builds its
// objects, so two builds of the same logic can be run side by side (determinism tests).
import { fail } from '../../core/errors.js';
import type { ChainModule, TxContext, TxType } from '../module.js';

export interface DemoOptions {
  name?: string;
  /** the key order of the objects it writes and emits: same data, different insertion order */
  order?: 'ab' | 'ba';
}

/** The value `put` writes for these inputs (in canonical key order, as it is stored). */
export interface DemoValue {
  a: { c: Array<number | { y: number; z: number }>; d: number };
  b: string;
}

const KEY = /^[a-z0-9]{1,16}$/;
/** A value the module's invariant forbids (apply lets it through: a module bug to catch). */
export const DEMO_FORBIDDEN = 'forbidden';
/** A value apply refuses after writing, to show a failed transaction's writes are dropped. */
export const DEMO_REFUSED = 'refuse';

function fields(body: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(body)) if (!allowed.includes(k)) fail('bad_body', `unknown field "${k}"`);
}

function key(body: Record<string, unknown>): string {
  if (typeof body.key !== 'string' || !KEY.test(body.key)) fail('bad_key', 'key must be 1-16 lowercase letters or digits');
  return body.key;
}

export function demoModule(options: DemoOptions = {}): ChainModule {
  const name = options.name ?? 'demo';
  const ab = (options.order ?? 'ab') === 'ab';
  const acct = (id: string) => `${name}/acct/${id}`;
  const kv = (k: string) => `${name}/kv/${k}`;
  const member = (ctx: TxContext) => {
    if (ctx.state.get(acct(ctx.tx.from)) === undefined) fail('not_open', 'open an account first', { status: 403 });
  };
  const build = (value: string, height: number) => ab
    ? { b: value, a: { d: height, c: [1, { z: 1, y: 2 }] } }
    : { a: { c: [1, { y: 2, z: 1 }], d: height }, b: value };

  const open: TxType<Record<string, never>> = {
    type: `${name}.open`,
    opensAccount: true,
    parse(body) {
      fields(body, []);
      return {};
    },
    apply(ctx) {
      if (ctx.state.get(acct(ctx.tx.from)) !== undefined) fail('already_open', 'the account is open', { status: 409 });
      ctx.state.set(acct(ctx.tx.from), ab ? { time: ctx.timeMs, height: ctx.height } : { height: ctx.height, time: ctx.timeMs });
      return [{ type: `${name}.opened`, account: ctx.tx.from }];
    },
  };
  const put: TxType<{ key: string; value: string }> = {
    type: `${name}.put`,
    parse(body) {
      fields(body, ['key', 'value']);
      if (typeof body.value !== 'string' || body.value.length === 0 || body.value.length > 64) fail('bad_value', 'value must be a string of 1-64 characters');
      return { key: key(body), value: body.value };
    },
    apply(ctx, { key: k, value }) {
      member(ctx);
      ctx.state.set(kv(k), build(value, ctx.height));
      if (value === DEMO_REFUSED) fail('refused', 'this value is refused (after a write, which must be dropped)', { status: 422 });
      const detail = ab ? { value, key: k } : { key: k, value };
      return [ab ? { type: `${name}.put`, detail, nested: build(value, ctx.height) } : { nested: build(value, ctx.height), detail, type: `${name}.put` }];
    },
  };
  const del: TxType<{ key: string }> = {
    type: `${name}.del`,
    parse(body) {
      fields(body, ['key']);
      return { key: key(body) };
    },
    apply(ctx, { key: k }) {
      member(ctx);
      if (ctx.state.get(kv(k)) === undefined) fail('no_key', `no key ${k}`, { status: 404 });
      ctx.state.delete(kv(k));
      return [{ type: `${name}.deleted`, key: k }];
    },
  };
  return {
    name,
    txTypes: [open, put, del] as TxType[],
    queries: [],
    invariants(entries) {
      const out: string[] = [];
      for (const [k, v] of entries) {
        if (k.startsWith(`${name}/kv/`) && (JSON.parse(v) as DemoValue).b === DEMO_FORBIDDEN) out.push(`${k} holds the forbidden value`);
      }
      return out;
    },
  };
}
