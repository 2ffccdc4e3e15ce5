// Test-only: a stand-in for the core's `validators` module, so that the kernel can resolve
// governance's `requires` (the ledger and the module given as deps.validators) in the test
// chain. The kernel keeps the name "validators" for the core's own (src/chain/kernel.ts),
// so the stand-in is "fakevalidators". It keeps the set under "fakevalidators/v/<key>",
// starts from its genesis section {validators: [...]} and
// implements ValidatorSetKeeper with the refusals the core promises (checked before any
// write). It checks no proof of possession: governance checks it at propose time.
import type { ChainModule } from '../../chain/module.js';
import { fail } from '../../core/errors.js';
import type { ValidatorEntry, ValidatorSetKeeper } from './validator-set.js';

/** Where the fake keeps each validator: FAKE_VALIDATORS_PREFIX + key. */
export const FAKE_VALIDATORS_PREFIX = 'fakevalidators/v/';
const PREFIX = FAKE_VALIDATORS_PREFIX;

export const fakeValidatorsChain: ChainModule<ValidatorSetKeeper> = {
  name: 'fakevalidators',
  txTypes: [],
  queries: [],
  genesis: {
    validate: (section) => ({ validators: [...((section as { validators?: ValidatorEntry[] } | undefined)?.validators ?? [])] }),
    init(ctx, section) {
      for (const v of (section as { validators: ValidatorEntry[] }).validators) ctx.state.set(PREFIX + v.key, v);
    },
    defaults: () => ({ validators: [] }),
  },
  keeper(ctx) {
    const state = ctx.state;
    const get = (key: string) => state.get<ValidatorEntry>(PREFIX + key);
    const list = () => state.entries<ValidatorEntry>(PREFIX, { limit: 10_000 }).map(([, v]) => v);
    return {
      list,
      add(v) {
        if (get(v.key)) fail('validator_exists', `validator ${v.key} is already in the set`, { status: 409 });
        state.set(PREFIX + v.key, { key: v.key, blsKey: v.blsKey, pop: v.pop, power: v.power });
      },
      setPower(key, power) {
        const v = get(key);
        if (!v) fail('validator_unknown', `no validator ${key}`, { status: 404 });
        if (power === 0) {
          if (list().length === 1) fail('last_validator', 'the set cannot be left empty', { status: 409 });
          state.delete(PREFIX + key);
        } else {
          state.set(PREFIX + key, { ...v, power });
        }
      },
      unjail(key) {
        const v = get(key);
        if (!v) fail('validator_unknown', `no validator ${key}`, { status: 404 });
        const { jailed: _jailed, ...rest } = v;
        state.set(PREFIX + key, rest);
      },
    };
  },
};
