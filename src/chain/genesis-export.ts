// A new chain's genesis from a chain's committed state: each module's genesis `export`
// (or, for a module without one, its section unchanged). For an upgrade that changes the
// rules: stop the old chain, export, start the new one from the result.
import { fail } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { validateGenesis, type Genesis } from './genesis.js';
import { accountKeys, scopedReader, type Kernel } from './kernel.js';
import type { StateReader } from './state.js';

export function exportGenesis(state: StateReader, kernel: Kernel, genesis: Genesis, next: { chain: string; time: number }): Genesis {
  if (!limits.chainIdPattern.test(next.chain)) fail('bad_flag', 'the new chain id must be lowercase letters, digits, ".", "_" or "-" (at most 64)');
  if (next.chain === genesis.chain) fail('bad_flag', `the new chain needs its own id, not "${genesis.chain}": signatures must not replay across the two`);
  const modules: Record<string, unknown> = {};
  for (const m of kernel.modules) {
    if (!m.genesis) continue;
    const section = genesis.modules[m.name];
    modules[m.name] = m.genesis.export
      ? m.genesis.export({ state: scopedReader(state, m.name), params: kernel.params, accounts: accountKeys(state) }, section)
      : section;
  }
  // Validated as any genesis is: an export that its own modules refuse is a bug, said loudly.
  return validateGenesis({ chain: next.chain, time: next.time, decimals: genesis.decimals, modules }, kernel.modules);
}
