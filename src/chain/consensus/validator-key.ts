// A validator's keys: the Ed25519 node key it already has (node.key: its identity in the
// validator set) and a BLS key of its own for consensus votes (validator.key). The BLS file
// is `tally-validator-key v1 bls12-381\n` then the 32-byte secret key as 64 lowercase hex
// digits and `\n`, mode 0600 from the first byte and refused if wider. A validator's
// entry in a genesis validator list is {key, blsKey, pop, power}: pop is the BLS key's
// proof of possession, checked before the key may join a set (no rogue-key attack).
import crypto from 'node:crypto';
import fs from 'node:fs';
import { fromB64u, toB64u } from '../../core/encoding.js';
import { fail } from '../../core/errors.js';
import type { BlsScheme } from '../../core/bls.js';
import { checkSecretFileMode, writeSecretFile } from '../../store/keyfile.js';

export const VALIDATOR_KEY_FILE = 'validator.key';
const HEADER = 'tally-validator-key v1 bls12-381';
const WHAT = 'validator BLS key file';

export interface ValidatorEntry {
  /** base64url Ed25519 public key (the node key) */
  key: string;
  /** base64url 48-byte BLS public key */
  blsKey: string;
  /** base64url 96-byte proof of possession of blsKey */
  pop: string;
  power: number;
}

/** Makes a new BLS key file; refuses to replace one (a validator's key is its vote). */
export function createValidatorKey(path: string, scheme: BlsScheme): void {
  if (fs.existsSync(path)) fail('already_exists', `${path} already exists: a validator keeps its BLS key`, { status: 409, hint: 'move it away first if you really mean to replace this validator\'s key' });
  const secretKey = scheme.keygen(crypto.randomBytes(32));
  writeSecretFile(path, `${HEADER}\n${Buffer.from(secretKey).toString('hex')}\n`);
}

export function loadValidatorKey(path: string, scheme: BlsScheme): { secretKey: Uint8Array; publicKey: Uint8Array } {
  if (!fs.existsSync(path)) fail('key_file_missing', `no ${WHAT} at ${path}`, { status: 500, hint: 'make one with `tally validator keys new`' });
  checkSecretFileMode(path, WHAT);
  const lines = fs.readFileSync(path, 'utf8').split('\n');
  if (lines[0] !== HEADER || !/^[0-9a-f]{64}$/.test(lines[1] ?? '') || lines.slice(2).join('') !== '') {
    fail('key_file_invalid', `${WHAT} ${path} must be the line "${HEADER}" then 64 lowercase hex digits`, { status: 500 });
  }
  const secretKey = Uint8Array.from(Buffer.from(lines[1]!, 'hex'));
  return { secretKey, publicKey: scheme.publicKey(secretKey) };
}

export function validatorEntry(scheme: BlsScheme, nodePub: string, secretKey: Uint8Array, power: number): ValidatorEntry {
  if (!Number.isSafeInteger(power) || power < 1) fail('bad_validators', 'a validator\'s power is a positive safe integer');
  return { key: nodePub, blsKey: toB64u(scheme.publicKey(secretKey)), pop: toB64u(scheme.popProve(secretKey)), power };
}

/** An entry from outside (a genesis file, a governance proposal): a valid key with a valid proof. */
export function checkValidatorEntry(scheme: BlsScheme, entry: ValidatorEntry): void {
  const blsKey = (() => {
    try {
      return fromB64u(entry.blsKey, 'blsKey', 48);
    } catch (err) {
      return fail('bad_bls_public_key', (err as Error).message);
    }
  })();
  scheme.checkPublicKey(blsKey);
  const pop = (() => {
    try {
      return fromB64u(entry.pop, 'pop', 96);
    } catch (err) {
      return fail('bad_bls_signature', (err as Error).message);
    }
  })();
  if (!scheme.popVerify(blsKey, pop)) fail('bad_validators', `validator ${entry.key}: pop is not a proof of possession of its blsKey`);
}
