// Output for people by default, JSON for scripts with --json; errors exit non-zero with
// their code.
import type { Logger } from 'pino';
import { TallyError } from '../core/errors.js';

export interface OutputOptions {
  json?: boolean;
}

export function output(options: OutputOptions, value: unknown, human: (value: unknown) => string): void {
  if (options.json) process.stdout.write(JSON.stringify(value, jsonReplacer) + '\n');
  else process.stdout.write(human(value) + '\n');
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Two-column "label  value" lines for human output. */
export { table } from '../core/text.js';

/**
 * A failure as one fatal log record (`tally node --log-format json`: a log collector then
 * sees why the node did not start in the format of every other record), with its code,
 * hint and details; under --json the JSON error is also printed on stdout as always.
 */
export function reportErrorAsLog(err: unknown, json: boolean, logger: Logger): number {
  if (json) reportError(err, true);
  if (err instanceof TallyError) {
    logger.fatal({ code: err.code, ...(err.hint ? { hint: err.hint } : {}), ...(err.details ? { details: err.details } : {}) }, err.message);
  } else {
    logger.fatal({ code: 'internal', err }, (err as Error)?.message ?? String(err));
  }
  return 1;
}

export function reportError(err: unknown, json: boolean): number {
  if (err instanceof TallyError) {
    if (json) {
      process.stdout.write(JSON.stringify({ error: err.toJSON() }) + '\n');
    } else {
      process.stderr.write(`error: ${err.message} (${err.code})\n`);
      if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    }
    return 1;
  }
  const e = err as Error & { code?: string };
  if (json) process.stdout.write(JSON.stringify({ error: { code: 'internal', message: e?.message ?? String(err) } }) + '\n');
  else process.stderr.write(`error: ${e?.stack ?? String(err)}\n`);
  return 1;
}
