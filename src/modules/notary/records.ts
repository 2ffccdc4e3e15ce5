// Records: what a client submits (one JSON value each), the bytes a key signs for it, and
// the Merkle leaf that ties its signature into its batch's anchored root.
import { canonicalJson } from '../../core/canonical.js';
import { fail } from '../../core/errors.js';
import { utf8 } from '../../core/encoding.js';
import { hash } from '../../core/hash.js';
import { leafHash } from '../../core/merkle.js';
import { BLAKE3_SCRATCH, BLAKE3_SMALL_MAX, blake3ScratchInto } from '../../core/blake3-small.js';
import { notaryLimits } from './limits.js';

export const RECORD_DOMAIN = 'tally/notary/record/v1\n';
export const LEAF_DOMAIN = 'tally/notary/leaf/v1\n';

/** Canonical JSON of one record, or a clear refusal. `where` names it for the error. */
export function canonicalRecord(value: unknown, where: string): string {
  if (value === null || value === undefined) fail('record_invalid', `${where}: a record must be a JSON value other than null`);
  let text: string;
  try {
    text = canonicalJson(value);
  } catch {
    fail('record_invalid', `${where}: the record cannot be canonicalized (non-finite number?)`);
  }
  if (Buffer.byteLength(text) > notaryLimits.recordBytesMax) {
    fail('record_too_large', `${where}: a record may be at most ${notaryLimits.recordBytesMax} bytes of canonical JSON`);
  }
  return text;
}

/** Parse JSON lines (one record per non-empty line); any bad line refuses the whole input. */
export function parseJsonLines(text: string): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      fail('record_invalid', `line ${i + 1}: not valid JSON`, { details: { line: i + 1 } });
    }
    out.push(canonicalRecord(value, `line ${i + 1}`));
    if (out.length > notaryLimits.submitRecordsMax) fail('too_many_records', `at most ${notaryLimits.submitRecordsMax} records per submit`);
  }
  if (out.length === 0) fail('no_records', 'no records given');
  return out;
}

export const BATCH_CONTENT_DOMAIN = 'tally/notary/batch-content/v1\n';

/**
 * What identifies a batch's content: BLAKE3 of the domain tag and its records' canonical
 * JSON, one per line (canonical JSON has no raw newline, so the joining is unambiguous).
 */
export function batchContentHash(records: string[]): Buffer {
  return Buffer.from(hash(BATCH_CONTENT_DOMAIN, records.join('\n')));
}

/** The bytes a notary key signs: the domain tag, then JCS of {batch, id, record}. */
export function signedMessage(batch: number, id: number, recordJson: string): Buffer {
  return Buffer.from(`${RECORD_DOMAIN}{"batch":${batch},"id":${id},"record":${recordJson}}`);
}

export interface LeafFields {
  id: number;
  batch: number;
  kid: string;
  alg: string;
  /** base64url signature */
  sig: string;
  /** canonical JSON of the record */
  record: string;
}

/** Leaf bytes: domain tag + JCS({alg, batch, id, kid, record, sig}); keys in JCS order. */
export function leafBytes(f: LeafFields): Uint8Array {
  return utf8.encode(leafText(f));
}

function leafText(f: LeafFields): string {
  return `${LEAF_DOMAIN}{"alg":${JSON.stringify(f.alg)},"batch":${f.batch},"id":${f.id},"kid":${JSON.stringify(f.kid)},"record":${f.record},"sig":${JSON.stringify(f.sig)}}`;
}

/** A leaf hash: BLAKE3-256. */
export const LEAF_HASH_BYTES = 32;

export function recordLeafHash(f: LeafFields): Uint8Array {
  return leafHash(leafBytes(f));
}

const SCRATCH_AFTER_PREFIX = BLAKE3_SCRATCH.subarray(1);

/**
 * recordLeafHash written into out at `at`, for the signing threads' hot loop: a leaf of at
 * most 1,023 bytes (most records) is encoded straight into blake3-small's scratch buffer
 * behind the Merkle leaf prefix 0x00 and hashed there, with no allocation and no call into
 * the WebAssembly hasher; a longer one takes recordLeafHash. Same bytes (a test compares).
 */
export function recordLeafHashInto(f: LeafFields, out: Uint8Array, at: number): void {
  const text = leafText(f);
  const { read, written } = utf8.encodeInto(text, SCRATCH_AFTER_PREFIX);
  if (read === text.length && written + 1 <= BLAKE3_SMALL_MAX) {
    BLAKE3_SCRATCH[0] = 0; // leafHash's prefix (merkle.ts)
    blake3ScratchInto(written + 1, out, at);
    return;
  }
  out.set(recordLeafHash(f), at);
}
