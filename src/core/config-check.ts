// Checks for module config sections (the node config file, src/cli/config.ts): each names
// the option's path in its `config_invalid` error, so an operator knows which line to fix.
import { fail } from './errors.js';

/** Helpers for module validators: each names the option path in its error. */
export const check = {
  object(v: unknown, at: string, allowed: string[]): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('config_invalid', `${at} must be an object`);
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k) && k !== '$comment') fail('config_invalid', `${at}.${k} is not an option`, { details: { allowed } });
    }
    return v as Record<string, unknown>;
  },
  int(v: unknown, at: string, def: number, min: number, max: number): number {
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail('config_invalid', `${at} must be an integer from ${min} to ${max}`);
    return v;
  },
  string(v: unknown, at: string, pattern: RegExp, what: string): string {
    if (typeof v !== 'string' || !pattern.test(v)) fail('config_invalid', `${at} must be ${what}`);
    return v;
  },
  bool(v: unknown, at: string, def: boolean): boolean {
    if (v === undefined) return def;
    if (typeof v !== 'boolean') fail('config_invalid', `${at} must be true or false`);
    return v;
  },
};
