// The genesis file fixes what a chain is: its id, its decimals, its start time and each
// module's initial section. Its hash is the first block's prevHash.
import fs from 'node:fs';
import { canonicalJson } from '../core/canonical.js';
import { fail } from '../core/errors.js';
import { hashText } from '../core/hash.js';
import { toHex } from '../core/encoding.js';
import { limits } from '../core/limits.js';
import type { ChainModule } from './module.js';

export interface Genesis {
  chain: string;
  /** Unix milliseconds; the genesis block's time. */
  time: number;
  decimals: number;
  modules: Record<string, unknown>;
}

export function validateGenesis(raw: unknown, modules: readonly ChainModule[]): Genesis {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('genesis_invalid', 'genesis must be a JSON object');
  const g = raw as Record<string, unknown>;
  for (const k of Object.keys(g)) {
    if (!['chain', 'time', 'decimals', 'modules'].includes(k)) fail('genesis_invalid', `genesis has an unknown field "${k}"`);
  }
  if (typeof g.chain !== 'string' || !limits.chainIdPattern.test(g.chain)) {
    fail('genesis_invalid', 'genesis.chain must be lowercase letters, digits, ".", "_" or "-" (at most 64)');
  }
  if (typeof g.time !== 'number' || !Number.isSafeInteger(g.time) || g.time < 0) fail('genesis_invalid', 'genesis.time must be unix milliseconds');
  const decimals = g.decimals ?? 6;
  if (typeof decimals !== 'number' || !Number.isInteger(decimals) || decimals < 0 || decimals > limits.decimalsMax) {
    fail('genesis_invalid', `genesis.decimals must be an integer from 0 to ${limits.decimalsMax}`);
  }
  const sections = (g.modules ?? {}) as Record<string, unknown>;
  if (typeof sections !== 'object' || Array.isArray(sections)) fail('genesis_invalid', 'genesis.modules must be an object');
  const known = new Set(modules.map((m) => m.name));
  for (const name of Object.keys(sections)) {
    if (!known.has(name)) fail('genesis_invalid', `genesis.modules names an unknown module "${name}"`);
  }
  const out: Record<string, unknown> = {};
  for (const m of modules) {
    if (m.genesis) out[m.name] = m.genesis.validate(sections[m.name], { decimals });
  }
  return { chain: g.chain, time: g.time, decimals, modules: out };
}

export function genesisHash(genesis: Genesis): string {
  return toHex(hashText('tally/genesis/v1\n' + canonicalJson(genesis)));
}

export function readGenesisFile(path: string, modules: readonly ChainModule[]): Genesis {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch {
    fail('genesis_missing', `no genesis file at ${path}`, { status: 500, hint: 'run `tally init` to create one' });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    fail('genesis_invalid', `genesis file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return validateGenesis(raw, modules);
}

export function defaultGenesis(modules: readonly ChainModule[], options: { chain: string; decimals: number; dev: boolean }): Genesis {
  const sections: Record<string, unknown> = {};
  for (const m of modules) if (m.genesis) sections[m.name] = m.genesis.defaults({ dev: options.dev, decimals: options.decimals });
  return { chain: options.chain, time: Date.now(), decimals: options.decimals, modules: sections };
}
