// The node config file: `<data dir>/config.json` (or `tally node --config FILE`), one
// section per module, each validated by its module's `config.validate`. A missing default
// file is an empty config; a missing --config file, bad JSON, an unknown section or an
// invalid option stops the node with `config_invalid` naming the problem.
import fs from 'node:fs';
import path from 'node:path';
import { array, decode, object, optional, string } from '../core/decode.js';
import { fail, TallyError } from '../core/errors.js';
import type { TallyModule } from '../chain/app-module.js';

/** Large enough for any hand-written config; a bigger file is a mistake. */
const CONFIG_BYTES_MAX = 256 * 1024;

export function defaultConfigPath(dataDir: string): string {
  return path.join(dataDir, 'config.json');
}

/** Validated sections by module name; a module without a section is absent. */
export type NodeConfig = ReadonlyMap<string, unknown>;

/** The node's own section (not a module's): the flags --p2p and --follow, which win over it. */
export const NETWORK_SECTION = 'network';
const multiaddrs = array(string({ pattern: /^\/[!-~]{1,1000}$/, maxLength: 1000, what: 'a multiaddr like /ip4/10.0.0.5/tcp/7702/p2p/12D3Koo...' }), { minItems: 1, maxItems: 64 });
const networkSchema = object({ p2p: optional(multiaddrs), follow: optional(multiaddrs) });
export type NetworkConfig = { p2p?: string[]; follow?: string[] };

export function loadNodeConfig(file: string | undefined, dataDir: string, modules: TallyModule[]): { path: string | null; sections: NodeConfig } {
  const explicit = file !== undefined;
  const p = file ?? defaultConfigPath(dataDir);
  let text: string;
  try {
    const size = fs.statSync(p).size;
    if (size > CONFIG_BYTES_MAX) fail('config_invalid', `config file ${p} is ${size} bytes; at most ${CONFIG_BYTES_MAX}`);
    text = fs.readFileSync(p, 'utf8');
  } catch (err) {
    if (err instanceof TallyError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return { path: null, sections: new Map() };
    fail('config_invalid', `cannot read config file ${p}: ${(err as Error).message}`);
  }
  return { path: p, sections: parseNodeConfig(text, p, modules) };
}

export function parseNodeConfig(text: string, where: string, modules: TallyModule[]): NodeConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    fail('config_invalid', `config file ${where} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('config_invalid', `config file ${where} must hold a JSON object with one section per module`);
  const configurable = modules.filter((m) => m.app.config);
  const sections = new Map<string, unknown>();
  for (const [name, section] of Object.entries(raw)) {
    if (name === '$comment') continue;
    if (name === NETWORK_SECTION) {
      sections.set(name, Object.freeze(decode(networkSchema, section, 'config_invalid', `config file ${where}: network`)));
      continue;
    }
    const m = configurable.find((x) => x.name === name);
    if (!m) {
      fail('config_invalid', `config file ${where}: unknown section "${name}"`, {
        details: { known: configurable.map((x) => x.name) },
        hint: `sections: "network", ${configurable.map((x) => `"${x.name}"`).join(', ') || 'none'} (see the README)`,
      });
    }
    try {
      sections.set(name, Object.freeze(m.app.config!.validate(section)));
    } catch (err) {
      if (err instanceof TallyError) throw new TallyError(err.code, `config file ${where}: ${err.message}`, { details: err.details ?? {}, ...(err.hint ? { hint: err.hint } : {}) });
      throw err;
    }
  }
  return sections;
}
