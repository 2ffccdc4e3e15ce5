// The genesis file fixes what a chain is: its id, its decimals, its start time and each
// module's initial section. Its hash is the first block's prevHash.
import fs from 'node:fs';
import { canonicalJson } from '../core/canonical.js';
import { fail } from '../core/errors.js';
import { decode, int, isPlainObject, map, object, refuse, string, unknownValue, withDefault } from '../core/decode.js';
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

const genesisSchema = object({
  chain: string({ pattern: limits.chainIdPattern, maxLength: 64, what: 'lowercase letters, digits, ".", "_" or "-" (at most 64)' }),
  time: int({ min: 0, what: 'unix milliseconds' }),
  decimals: withDefault(int({ min: 0, max: limits.decimalsMax }), 6),
  // each module's section is decoded by that module's genesis.validate
  modules: withDefault(map(unknownValue, (v, at) => (isPlainObject(v) ? v : refuse(at, 'must be an object'))), {}),
}, { what: 'a JSON object' });

export function validateGenesis(raw: unknown, modules: readonly ChainModule[]): Genesis {
  const g = decode(genesisSchema, raw, 'genesis_invalid', 'genesis');
  const known = new Set(modules.map((m) => m.name));
  for (const name of Object.keys(g.modules)) {
    if (!known.has(name)) fail('genesis_invalid', `genesis.modules names an unknown module "${name.slice(0, 64)}"`, { details: { field: name.slice(0, 64), known: [...known] } });
  }
  const out: Record<string, unknown> = {};
  for (const m of modules) {
    if (m.genesis) out[m.name] = m.genesis.validate(g.modules[m.name], { decimals: g.decimals });
  }
  return { chain: g.chain, time: g.time, decimals: g.decimals, modules: out };
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
