// RFC 8785 JSON Canonicalization Scheme: the one byte string every signature covers.
import canonicalizeImpl from 'canonicalize';
import { fail } from './errors.js';

const canonicalizeFn = canonicalizeImpl as unknown as (value: unknown) => string | undefined;

export function canonicalJson(value: unknown): string {
  const text = canonicalizeFn(value);
  if (text === undefined) fail('bad_json', 'value cannot be canonicalized');
  return text;
}
