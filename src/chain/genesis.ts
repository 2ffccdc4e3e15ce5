// The genesis file fixes what a chain is: its id, its decimals, its start time and each
// module's initial section. Its hash is the first block's prevHash.
import fs from 'node:fs';
import { ED25519_PUB_B64U } from '../core/base64url.js';
import { canonicalJson } from '../core/canonical.js';
import { fail } from '../core/errors.js';
import { array, decode, int, isPlainObject, map, object, optional, refuse, string, unknownValue, withDefault } from '../core/decode.js';
import { nobleBls } from '../core/bls.js';
import { canonicalValidators } from '../core/header.js';
import { hashText } from '../core/hash.js';
import { toHex } from '../core/encoding.js';
import { limits } from '../core/limits.js';
import type { ChainModule } from './module.js';
import { checkValidatorEntry, type ValidatorEntry } from './consensus/validator-key.js';

export interface Genesis {
  chain: string;
  /** Unix milliseconds; the genesis block's time. */
  time: number;
  decimals: number;
  modules: Record<string, unknown>;
  /**
   * A validator chain's first validator set (Ed25519 key, BLS key with its proof of
   * possession, power), sorted by key. Absent: a single-operator chain, whose one
   * validator is the node key that made block 0. Absent fields stay absent, so the
   * genesis hash of every chain made before validators existed is unchanged.
   */
  validators?: ValidatorEntry[];
}

/** How many validators a genesis set may name (a certificate's bitmap and pairing cost grow with it). */
export const GENESIS_VALIDATORS_MAX = 1000;

const B64U = /^[A-Za-z0-9_-]+$/;
const validatorSchema = object({
  key: string({ pattern: ED25519_PUB_B64U, maxLength: 43, what: 'a base64url Ed25519 public key (43 characters)' }),
  blsKey: string({ pattern: B64U, maxLength: 64, what: 'a base64url BLS12-381 public key (48 bytes)' }),
  pop: string({ pattern: B64U, maxLength: 128, what: 'a base64url BLS proof of possession (96 bytes)' }),
  power: int({ min: 1, max: 1_000_000_000, what: 'a positive integer' }),
});

const genesisSchema = object({
  chain: string({ pattern: limits.chainIdPattern, maxLength: 64, what: 'lowercase letters, digits, ".", "_" or "-" (at most 64)' }),
  time: int({ min: 0, what: 'unix milliseconds' }),
  decimals: withDefault(int({ min: 0, max: limits.decimalsMax }), 6),
  // each module's section is decoded by that module's genesis.validate
  modules: withDefault(map(unknownValue, (v, at) => (isPlainObject(v) ? v : refuse(at, 'must be an object'))), {}),
  validators: optional(array(validatorSchema, { minItems: 1, maxItems: GENESIS_VALIDATORS_MAX, what: 'the validator set' })),
}, { what: 'a JSON object' });

/** The set in canonical order, each key once, each BLS key once and proven (no rogue-key attack). */
function checkValidators(list: ValidatorEntry[]): ValidatorEntry[] {
  const sorted = canonicalValidators(list).validators as ValidatorEntry[];
  const bls = new Set<string>();
  for (const v of sorted) {
    if (bls.has(v.blsKey)) fail('genesis_invalid', `genesis.validators: validator ${v.key} reuses another validator's blsKey`);
    bls.add(v.blsKey);
    try {
      checkValidatorEntry(nobleBls, v);
    } catch (err) {
      fail('genesis_invalid', `genesis.validators: validator ${v.key}: ${(err as Error).message}`);
    }
  }
  return sorted.map((v) => ({ key: v.key, blsKey: v.blsKey, pop: v.pop, power: v.power }));
}

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
  const validators = g.validators ? checkValidators(g.validators) : undefined;
  return { chain: g.chain, time: g.time, decimals: g.decimals, modules: out, ...(validators ? { validators } : {}) };
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
