// The module kernel: the chain modules in dependency order, their transaction types by
// name, and the contexts that confine each module to its own state prefix and hand it the
// keepers of the modules it requires (never another module's state, never a string call).
import { assert, fail } from '../core/errors.js';
import { coreAuth } from './auth-rotate.js';
import { coreValidators } from './validators.js';
import type { AccountKeys, BlockContext, ChainModule, ChainParams, TxType } from './module.js';
import { AUTH_PREFIX, authKey, ScopedState, type AuthRecord, type StateReader, type StateView } from './state.js';

export class Kernel {
  /** Modules in dependency order: a module's `requires` come before it. */
  readonly modules: readonly ChainModule[];
  private readonly txTypes = new Map<string, { type: TxType; module: ChainModule }>();

  constructor(modules: readonly ChainModule[], readonly params: ChainParams) {
    // The core's validator set is a module every chain carries (governance requires it);
    // "auth" and "validators" are not names another module may take.
    this.modules = dependencyOrder([coreValidators, ...modules.filter((m) => m !== coreValidators)]);
    for (const m of [coreAuth, ...this.modules]) {
      assert(/^[a-z][a-z0-9]*$/.test(m.name) && (m.name !== 'auth' || m === coreAuth) && (m.name !== 'validators' || m === coreValidators), `module name "${m.name}" is not allowed`);
      for (const t of m.txTypes) {
        assert(t.type.startsWith(`${m.name}.`), `transaction type ${t.type} must be named "${m.name}.<action>"`);
        assert(!this.txTypes.has(t.type), `transaction type ${t.type} declared twice`);
        this.txTypes.set(t.type, { type: t, module: m });
      }
    }
  }

  txType(name: string): { type: TxType; module: ChainModule } | undefined {
    return this.txTypes.get(name);
  }

  /** Whether a transaction of this type may open an account (its key is then checked for strength). */
  readonly mayOpenAccount = (env: { tx: { type: string } }): boolean => this.txTypes.get(env.tx.type)?.type.opensAccount === true;

  /** The most transactions the next block may hold under the modules' limits (blockTxCountMax), given the parent's state. */
  blockTxCountMax(state: StateReader, ceiling: number): number {
    let max = ceiling;
    for (const m of this.modules) if (m.blockTxCountMax) max = Math.min(max, m.blockTxCountMax(scopedReader(state, m.name)));
    return max;
  }

  txTypeNames(): string[] {
    return [...this.txTypes.keys()];
  }

  /** The block context of `module` over `state` (the executor's layered state). */
  blockContext(module: ChainModule, state: StateView, height: number, timeMs: number): BlockContext {
    const scoped = new ScopedState(state, `${module.name}/`);
    const keepers = new Map<ChainModule, unknown>();
    const ctx: BlockContext = {
      state: scoped,
      params: this.params,
      height,
      timeMs,
      accounts: accountKeys(state),
      keeper: <K>(dep: ChainModule<K>): K => {
        assert(module.requires?.includes(dep.name), `module ${module.name} calls the keeper of ${dep.name} without requiring it`);
        assert(dep.keeper, `module ${dep.name} has no keeper`);
        let k = keepers.get(dep);
        if (k === undefined) {
          k = dep.keeper(this.blockContext(dep, state, height, timeMs), module.name);
          keepers.set(dep, k);
        }
        return k as K;
      },
    };
    return ctx;
  }
}

/** The core's auth records, read-only. */
export function accountKeys(state: StateReader): AccountKeys {
  return {
    pubOf: (id) => state.get<AuthRecord>(authKey(id))?.pub,
    nonceOf: (id) => state.get<AuthRecord>(authKey(id))?.nonce ?? 0,
  };
}

/** A reader confined to `<module>/` (queries and admission read committed state through it). */
export function scopedReader(state: StateReader, module: string): StateReader {
  const prefix = `${module}/`;
  const own = (k: string) => {
    assert(k.startsWith(prefix) && !k.startsWith(AUTH_PREFIX), `state key "${k}" is outside the prefix "${prefix}"`);
    return k;
  };
  return {
    get: (k) => state.get(own(k)),
    entries: (p, o) => state.entries(own(p), o),
  };
}

function dependencyOrder(modules: readonly ChainModule[]): ChainModule[] {
  const byName = new Map(modules.map((m) => [m.name, m]));
  assert(byName.size === modules.length, 'two modules share a name');
  const out: ChainModule[] = [];
  const visiting = new Set<string>();
  const visit = (m: ChainModule) => {
    if (out.includes(m)) return;
    if (visiting.has(m.name)) fail('module_cycle', `modules require each other in a cycle at ${m.name}`);
    visiting.add(m.name);
    for (const r of m.requires ?? []) {
      const dep = byName.get(r);
      assert(dep, `module ${m.name} requires ${r}, which this build does not carry`);
      visit(dep);
    }
    visiting.delete(m.name);
    out.push(m);
  };
  for (const m of modules) visit(m);
  return out;
}
