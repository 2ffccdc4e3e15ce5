// The notary section of the node config file (README, "Notary: scale-out on PostgreSQL").
// Absent, or store "sqlite": the notary's tables are in the node's SQLite file. Store
// "postgres": they are in PostgreSQL, shared with `tally notary worker --store postgres`
// processes on any machine; the URL comes from a 0600 file or an environment variable.
import path from 'node:path';
import { decode, int, object, oneOf, optional, string, withDefault } from '../../core/decode.js';
import type { PgNotarySource } from './pg-open.js';

export interface NotaryConfig {
  store: 'sqlite' | 'postgres';
  /** a file (mode 0600) holding the postgres:// URL; relative paths are under the data directory */
  urlFile?: string;
  /** the environment variable holding the URL when there is no urlFile (TALLY_PG_URL) */
  urlEnv?: string;
  /** the key-encryption key file (mode 0600): the node needs it to sign in its own threads */
  kekFile?: string;
  /** /health fails notary.anchoring when a signed batch has waited this long for its anchor */
  anchorLagMaxSecs: number;
}

/** Default: 5 minutes, far above an anchor's usual wait (a few anchor polls and one block). */
export const ANCHOR_LAG_MAX_SECS_DEFAULT = 300;
const ANCHOR_LAG_MAX_SECS_MAX = 7 * 24 * 3600;

const file = string({ maxLength: 4096, what: 'a file path' });
const schema = object({
  store: withDefault(oneOf(['sqlite', 'postgres'] as const), 'sqlite' as const),
  urlFile: optional(file),
  urlEnv: optional(string({ pattern: /^[A-Z_][A-Z0-9_]{0,63}$/, what: 'an environment variable name' })),
  kekFile: optional(file),
  anchorLagMaxSecs: withDefault(int({ min: 1, max: ANCHOR_LAG_MAX_SECS_MAX, what: `seconds, 1 to ${ANCHOR_LAG_MAX_SECS_MAX}` }), ANCHOR_LAG_MAX_SECS_DEFAULT),
}, { comment: true });

export function validateNotaryConfig(raw: unknown): NotaryConfig {
  return decode(schema, raw ?? {}, 'config_invalid', 'notary') as NotaryConfig;
}

/** Where the node finds PostgreSQL and the KEK, with relative paths under its data directory. */
export function pgSourceOf(config: NotaryConfig, dataDir: string): PgNotarySource {
  const under = (p: string) => path.resolve(dataDir, p);
  return {
    ...(config.urlFile ? { urlFile: under(config.urlFile) } : {}),
    ...(config.urlEnv ? { urlEnv: config.urlEnv } : {}),
    ...(config.kekFile ? { kekFile: under(config.kekFile) } : {}),
  };
}
