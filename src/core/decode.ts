// One decoder for untrusted input: envelopes, transaction bodies, genesis, config
// sections, socket params and CLI flags. A schema is a tree of small combinators; the
// caller gives the error code (`bad_envelope`, `bad_body`, `config_invalid`, `bad_params`,
// `bad_flag`, ...), and every refusal names the path of the value it refused
// ("tx.nonce", "tickets.rateLimit.redeemPerMin", "--block-txs") in its message and in
// details.field / details.path. A field may carry its own code (`withCode`) where clients
// already switch on a finer one (`bad_nonce`, `memo_too_long`).
//
// Why not Ajv (already installed with Fastify): its errors are generic JSON-pointer
// records that would need a mapping layer back to these codes and messages, it compiles
// schemas with `new Function` at start-up, and it cannot parse the CLI's text flags.
// These combinators are ~150 lines, typed end to end, and return the decoded value.
import { fail } from './errors.js';
import { utf8 } from './encoding.js';

/** Where a value sits and which code a refusal carries. */
export interface DecodeAt {
  path: string;
  code: string;
}

export type Decoder<T> = (value: unknown, at: DecodeAt) => T;

/** Decode `value` with `decoder`; refusals carry `code` and name `path` (the root's name). */
export function decode<T>(decoder: Decoder<T>, value: unknown, code: string, path: string): T {
  return decoder(value, { path, code });
}

/** Refuse the value at `at`: "<path> <message>", with the field's name in details. */
export function refuse(at: DecodeAt, message: string, details: Record<string, unknown> = {}): never {
  const field = /([^.[\]]+)\]?$/.exec(at.path)?.[1] ?? at.path;
  fail(at.code, `${at.path} ${message}`, { details: { field, path: at.path, ...details } });
}

/** "must be X", or "is missing: it must be X" when the value is absent. */
function mustBe(value: unknown, at: DecodeAt, what: string, code?: string): never {
  refuse(code === undefined ? at : { ...at, code }, value === undefined ? `is missing: it must be ${what}` : `must be ${what}`);
}

/** Use a finer code for every refusal inside `decoder`. */
export function withCode<T>(code: string, decoder: Decoder<T>): Decoder<T> {
  return (value, at) => decoder(value, { path: at.path, code });
}

/** An absent field (undefined) decodes to undefined and is left out of the object. */
export function optional<T>(decoder: Decoder<T>): Decoder<T | undefined> {
  return (value, at) => (value === undefined ? undefined : decoder(value, at));
}

/** An absent field (undefined, or null when `nullIsAbsent`) decodes to `fallback`. */
export function withDefault<T>(decoder: Decoder<T>, fallback: T, options: { nullIsAbsent?: boolean } = {}): Decoder<T> {
  return (value, at) => (value === undefined || (options.nullIsAbsent === true && value === null) ? fallback : decoder(value, at));
}

/** Anything; the caller checks it (a nested envelope, an amount with its own codes). */
export const unknownValue: Decoder<unknown> = (value) => value;

/** Decode with `decoder`, then map the result (refinements with their own codes). */
export function map<A, B>(decoder: Decoder<A>, fn: (value: A, at: DecodeAt) => B): Decoder<B> {
  return (value, at) => fn(decoder(value, at), at);
}

export interface StringRule {
  /** the phrase after "must be"; the default describes the rule */
  what?: string;
  pattern?: RegExp;
  /** refuse "" (default true) */
  nonEmpty?: boolean;
  /** refuse text that is only white space */
  nonBlank?: boolean;
  /** in UTF-16 code units: cheap, checked first, bounds the work of the other checks */
  maxLength?: number;
  /** in UTF-8 bytes */
  maxBytes?: number;
  /** code for a string over maxBytes/maxLength (default: the field's code) */
  tooLongCode?: string;
}

export function string(rule: StringRule = {}): Decoder<string> {
  const what = rule.what ?? (rule.nonEmpty === false ? 'a string' : 'a non-empty string');
  return (value, at) => {
    if (typeof value !== 'string') mustBe(value, at, what);
    if (rule.nonEmpty !== false && value.length === 0) mustBe(value, at, what);
    if (rule.nonBlank && value.trim().length === 0) mustBe(value, at, what);
    if (rule.maxLength !== undefined && value.length > rule.maxLength) {
      refuse(rule.tooLongCode ? { ...at, code: rule.tooLongCode } : at, `must be at most ${rule.maxLength} characters`);
    }
    if (rule.maxBytes !== undefined && utf8Over(value, rule.maxBytes)) {
      refuse(rule.tooLongCode ? { ...at, code: rule.tooLongCode } : at, `must be at most ${rule.maxBytes} bytes of UTF-8`);
    }
    if (rule.pattern && !rule.pattern.test(value)) mustBe(value, at, what);
    return value;
  };
}

/** UTF-8 takes 1 to 3 bytes per UTF-16 unit: encode only when the length cannot decide. */
function utf8Over(s: string, maxBytes: number): boolean {
  if (s.length * 3 <= maxBytes) return false;
  if (s.length > maxBytes) return true;
  return utf8.encode(s).length > maxBytes;
}

export interface IntRule {
  min: number;
  max?: number;
  what?: string;
  /** also accept decimal text ("42"), as HTTP query strings and CLI flags carry numbers */
  text?: boolean;
}

const INT_TEXT = /^-?\d{1,16}$/;

export function int(rule: IntRule): Decoder<number> {
  const max = rule.max ?? Number.MAX_SAFE_INTEGER;
  const what = rule.what ?? (rule.max === undefined ? `an integer >= ${rule.min}` : `an integer from ${rule.min} to ${max}`);
  return (value, at) => {
    const n = rule.text && typeof value === 'string' && INT_TEXT.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < rule.min || n > max) {
      mustBe(value, at, typeof value === 'string' && rule.text ? `${what} (got "${value.slice(0, 32)}")` : what);
    }
    return n;
  };
}

export function bool(rule: { text?: boolean } = {}): Decoder<boolean> {
  return (value, at) => {
    if (typeof value === 'boolean') return value;
    if (rule.text && (value === 'true' || value === '1')) return true;
    if (rule.text && (value === 'false' || value === '0')) return false;
    return mustBe(value, at, 'true or false');
  };
}

/** One of a few literal strings. */
export function oneOf<const T extends string>(values: readonly T[], what?: string): Decoder<T> {
  const shown = what ?? (values.length === 1 ? `"${values[0]}"` : `${values.slice(0, -1).map((v) => `"${v}"`).join(', ')} or "${values.at(-1)}"`);
  return (value, at) => ((values as readonly unknown[]).includes(value) ? (value as T) : mustBe(value, at, shown));
}

export function array<T>(item: Decoder<T>, rule: { minItems?: number; maxItems: number; what?: string }): Decoder<T[]> {
  const min = rule.minItems ?? 0;
  const what = rule.what ?? `an array of ${min} to ${rule.maxItems} entries`;
  return (value, at) => {
    if (!Array.isArray(value) || value.length < min || value.length > rule.maxItems) mustBe(value, at, what);
    return value.map((v, i) => item(v, { path: `${at.path}[${i}]`, code: at.code }));
  };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type Shape = Record<string, Decoder<unknown>>;
type Decoded<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> };

export interface ObjectRule {
  what?: string;
  /** allow a "$comment" key (config files), dropped from the result */
  comment?: boolean;
}

/**
 * An object with exactly the keys of `shape`: an unknown key is refused by name; a field
 * whose decoder is not optional() or withDefault() is required. Fields decode in shape
 * order; a field that decodes to undefined is left out.
 */
export function object<S extends Shape>(shape: S, rule: ObjectRule = {}): Decoder<Decoded<S>> {
  const keys = Object.keys(shape);
  return (value, at) => {
    if (!isPlainObject(value)) mustBe(value, at, rule.what ?? 'an object');
    for (const k in value) {
      if (!Object.hasOwn(value, k) || Object.hasOwn(shape, k)) continue;
      if (rule.comment && k === '$comment') continue;
      const shown = k.slice(0, 64);
      fail(at.code, `${at.path}.${shown} is not a known field (known: ${keys.join(', ')})`, { details: { field: shown, path: `${at.path}.${shown}`, allowed: keys } });
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const v = shape[k]!(Object.hasOwn(value, k) ? value[k] : undefined, { path: `${at.path}.${k}`, code: at.code });
      if (v !== undefined) out[k] = v;
    }
    return out as Decoded<S>;
  };
}

/**
 * A parser for a CLI flag's text (commander's argParser): a bad value is a `bad_flag`
 * usage error naming the flag and the allowed values; the CLI exits 2.
 */
export function flag<T>(name: string, decoder: Decoder<T>): (text: string) => T {
  return (text) => decoder(text, { path: name, code: 'bad_flag' });
}

/** An integer flag: decimal digits only (no "1e3", "0x10", " 7" or ""), from min to max. */
export function intFlag(name: string, min: number, max: number): (text: string) => number {
  return flag(name, int({ min, max, text: true }));
}
