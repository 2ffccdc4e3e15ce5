import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { blake3 } from '@noble/hashes/blake3.js';
import {
  ACCOUNT_ID,
  accountIdFromPub,
  generateSigner,
  publicKeyObject,
  rawPublicKey,
  signerFromPrivateKey,
  verifySignature,
} from './keys.js';
import { TallyError } from './errors.js';

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const unb64u = (s: string): Buffer => Buffer.from(s, 'base64url');
const msg = (s: string): Uint8Array => new TextEncoder().encode(s);

// RFC 8032 §7.1, TEST 1.
const RFC_SECRET = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const RFC_PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const RFC_SIGNATURE =
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';

function nodePrivateKey(seedHex: string): crypto.KeyObject {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedHex, 'hex')]);
  return crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

function isBadEncoding(e: unknown): boolean {
  return e instanceof TallyError && e.code === 'bad_encoding';
}

/** Flip a trailing (unused) bit of the last base64url character: same bytes, non-canonical text. */
function nonCanonical(text: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(text[text.length - 1]!);
  return text.slice(0, -1) + alphabet[last ^ 1]!;
}

test('RFC 8032 test 1 verifies through verifySignature', () => {
  const pub = b64u(Buffer.from(RFC_PUBLIC, 'hex'));
  const sig = b64u(Buffer.from(RFC_SIGNATURE, 'hex'));
  assert.equal(verifySignature(pub, new Uint8Array(0), sig), true);
  assert.equal(verifySignature(pub, Uint8Array.of(0), sig), false);
  // The secret derives that public key in both implementations, and signing is deterministic.
  assert.equal(Buffer.from(ed25519.getPublicKey(Buffer.from(RFC_SECRET, 'hex'))).toString('hex'), RFC_PUBLIC);
  const signer = signerFromPrivateKey(nodePrivateKey(RFC_SECRET));
  assert.equal(signer.pub, pub);
  assert.equal(signer.sign(new Uint8Array(0)), sig);
  assert.equal(Buffer.from(ed25519.sign(new Uint8Array(0), Buffer.from(RFC_SECRET, 'hex'))).toString('hex'), RFC_SIGNATURE);
});

test('a flipped bit in signature, message or key fails', () => {
  const pub = b64u(Buffer.from(RFC_PUBLIC, 'hex'));
  const sigBytes = Buffer.from(RFC_SIGNATURE, 'hex');
  for (let bit = 0; bit < 512; bit += 7) {
    const s = Buffer.from(sigBytes);
    s[bit >> 3]! ^= 1 << (bit & 7);
    assert.equal(verifySignature(pub, new Uint8Array(0), b64u(s)), false, `signature bit ${bit}`);
  }
  const { signer } = generateSigner();
  const m = msg('transfer 10 to bob');
  const sig = signer.sign(m);
  assert.equal(verifySignature(signer.pub, m, sig), true);
  for (let bit = 0; bit < m.length * 8; bit += 5) {
    const copy = Uint8Array.from(m);
    copy[bit >> 3]! ^= 1 << (bit & 7);
    assert.equal(verifySignature(signer.pub, copy, sig), false, `message bit ${bit}`);
  }
  const k = unb64u(signer.pub);
  k[0]! ^= 1;
  // A flipped key bit is either a different key or not a point at all: never a valid signature.
  assert.equal(verifySignature(b64u(k), m, sig), false);
  assert.equal(verifySignature(generateSigner().signer.pub, m, sig), false);
});

test('sign with node:crypto, verify with @noble/curves', () => {
  for (let i = 0; i < 20; i++) {
    const { signer } = generateSigner();
    const m = crypto.randomBytes(i * 13);
    const sig = signer.sign(m);
    assert.match(sig, /^[A-Za-z0-9_-]{86}$/);
    assert.match(signer.pub, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(ed25519.verify(unb64u(sig), m, unb64u(signer.pub)), true);
    assert.equal(ed25519.verify(unb64u(sig), Buffer.concat([m, Uint8Array.of(0)]), unb64u(signer.pub)), false);
  }
});

test('sign with @noble/curves, verify with verifySignature', () => {
  for (let i = 0; i < 20; i++) {
    const secret = ed25519.utils.randomSecretKey();
    const pub = b64u(ed25519.getPublicKey(secret));
    const m = crypto.randomBytes(i * 17 + 1);
    const sig = b64u(ed25519.sign(m, secret));
    assert.equal(verifySignature(pub, m, sig), true);
    const other = Uint8Array.from(m);
    other[0]! ^= 0x80;
    assert.equal(verifySignature(pub, other, sig), false);
    // Same secret in node:crypto gives the same public key and (deterministic) signature.
    const signer = signerFromPrivateKey(nodePrivateKey(Buffer.from(secret).toString('hex')));
    assert.equal(signer.pub, pub);
    assert.equal(signer.sign(m), sig);
  }
});

test('rawPublicKey and publicKeyObject agree', () => {
  const { signer, privateKey } = generateSigner();
  const pubObj = crypto.createPublicKey(privateKey);
  assert.equal(rawPublicKey(pubObj), signer.pub);
  assert.equal(rawPublicKey(publicKeyObject(signer.pub)), signer.pub);
  // Cached: the same object comes back.
  assert.equal(publicKeyObject(signer.pub), publicKeyObject(signer.pub));
});

test('malformed public keys throw bad_encoding', () => {
  const { signer } = generateSigner();
  const m = msg('x');
  const sig = signer.sign(m);
  const raw = unb64u(signer.pub);
  const bad = [
    b64u(raw.subarray(0, 31)), // 31 bytes
    b64u(Buffer.concat([raw, Uint8Array.of(0)])), // 33 bytes
    b64u(Buffer.concat([raw, raw])), // 64 bytes
    '',
    signer.pub + '=', // padding
    Buffer.from(raw).toString('base64'), // standard base64 with padding
    nonCanonical(signer.pub), // trailing bits set
    signer.pub.slice(0, 42) + '+', // not the url alphabet
    signer.pub.slice(0, 42) + '/',
    signer.pub + 'A', // 44 chars -> length % 4 === 0 but 33 bytes
    signer.pub.slice(0, 41) + ' ' + signer.pub.slice(42),
    Buffer.from(raw).toString('hex'),
  ];
  for (const pub of bad) {
    assert.throws(() => verifySignature(pub, m, sig), isBadEncoding, `pub ${JSON.stringify(pub)}`);
    assert.throws(() => publicKeyObject(pub), isBadEncoding);
    assert.throws(() => accountIdFromPub(pub), isBadEncoding);
  }
  for (const pub of [undefined, null, 42, raw] as unknown[]) {
    assert.throws(() => verifySignature(pub as string, m, sig), isBadEncoding);
  }
});

test('malformed signatures throw bad_encoding', () => {
  const { signer } = generateSigner();
  const m = msg('x');
  const sig = signer.sign(m);
  const raw = unb64u(sig);
  const bad = [
    b64u(raw.subarray(0, 63)),
    b64u(Buffer.concat([raw, Uint8Array.of(0)])),
    b64u(raw.subarray(0, 32)),
    '',
    sig + '==',
    Buffer.from(raw).toString('base64'),
    nonCanonical(sig),
    sig.slice(0, 85) + '+',
    sig.slice(0, 85) + '.',
  ];
  for (const s of bad) assert.throws(() => verifySignature(signer.pub, m, s), isBadEncoding, `sig ${JSON.stringify(s)}`);
  for (const s of [undefined, null, 1, raw] as unknown[]) {
    assert.throws(() => verifySignature(signer.pub, m, s as string), isBadEncoding);
  }
  assert.equal(verifySignature(signer.pub, m, sig), true);
});

test('accountIdFromPub is 40 lowercase hex, stable, and distinct per key', () => {
  const { signer } = generateSigner();
  const id = accountIdFromPub(signer.pub);
  assert.match(id, /^[0-9a-f]{40}$/);
  assert.ok(ACCOUNT_ID.test(id));
  assert.equal(accountIdFromPub(signer.pub), id);
  assert.notEqual(accountIdFromPub(generateSigner().signer.pub), id);

  // Pinned derivation: first 20 bytes of BLAKE3("tally/account/v1\n" || raw key).
  const rfcPub = Buffer.from(RFC_PUBLIC, 'hex');
  const expected = Buffer.from(blake3(Buffer.concat([Buffer.from('tally/account/v1\n'), rfcPub]))).subarray(0, 20).toString('hex');
  assert.equal(accountIdFromPub(b64u(rfcPub)), expected);
  assert.equal(accountIdFromPub(b64u(rfcPub)), accountIdFromPub(b64u(rfcPub)));
});

test('ACCOUNT_ID accepts only 40 lowercase hex digits', () => {
  assert.ok(ACCOUNT_ID.test('0'.repeat(40)));
  for (const s of ['0'.repeat(39), '0'.repeat(41), 'A'.repeat(40), 'g'.repeat(40), ' ' + '0'.repeat(40)]) {
    assert.equal(ACCOUNT_ID.test(s), false, s);
  }
});

test('assertStrongPublicKey refuses small-order and non-canonical keys, accepts real ones', async () => {
  const { assertStrongPublicKey, generateSigner } = await import('./keys.js');
  assert.doesNotThrow(() => assertStrongPublicKey(generateSigner().signer.pub));
  const identity = Buffer.alloc(32);
  identity[0] = 1;
  assert.throws(() => assertStrongPublicKey(identity.toString('base64url')), (e: any) => e.code === 'weak_key');
  const nonCanonical = Buffer.from('ed' + 'ff'.repeat(30) + '7f', 'hex');
  assert.throws(() => assertStrongPublicKey(nonCanonical.toString('base64url')), (e: any) => e.code === 'weak_key');
});

test('isStrongVerifiedKey gives assertStrongPublicKey\'s answer for every point on the curve', async () => {
  // The verifier threads use the short check once OpenSSL has verified a signature under
  // the key (so it is on the curve); the executor's rule is the full check. They must agree,
  // or a replica and the writer could differ on an account's opening.
  const { ed25519, ED25519_TORSION_SUBGROUP } = await import('@noble/curves/ed25519.js');
  const { assertStrongPublicKey, isStrongVerifiedKey } = await import('./keys.js');
  const full = (raw: Uint8Array) => {
    try {
      assertStrongPublicKey(Buffer.from(raw).toString('base64url'));
      return true;
    } catch (e) {
      assert.equal((e as { code?: string }).code, 'weak_key');
      return false;
    }
  };
  const withSign = (raw: Uint8Array) => { const b = Buffer.from(raw); b[31]! ^= 0x80; return b; };
  const candidates: Uint8Array[] = [];
  const torsion = ED25519_TORSION_SUBGROUP.map((h) => Buffer.from(h, 'hex'));
  for (const t of torsion) candidates.push(t, withSign(t));
  // y = p + k (non-canonical; decodes leniently as y = k), both signs
  for (let k = 0; k < 19; k++) {
    const y = Buffer.from('ed' + 'ff'.repeat(30) + '7f', 'hex');
    y[0] = 0xed + k;
    candidates.push(y, withSign(y));
  }
  for (let i = 0; i < 40; i++) {
    const p = ed25519.Point.BASE.multiply(BigInt(1 + Math.floor(Math.random() * 2 ** 48)));
    candidates.push(p.toBytes());
    // a strong point plus a small-order one: mixed order, still not small
    for (const t of torsion) candidates.push(p.add(ed25519.Point.fromBytes(t)).toBytes());
  }
  for (let i = 0; i < 400; i++) candidates.push(crypto.randomBytes(32));
  let onCurve = 0;
  let weak = 0;
  for (const raw of candidates) {
    try {
      ed25519.Point.fromBytes(raw, true); // lenient: on the curve, whatever the encoding
    } catch {
      continue;
    }
    onCurve++;
    const want = full(raw);
    if (!want) weak++;
    assert.equal(isStrongVerifiedKey(Buffer.from(raw).toString('base64url')), want, Buffer.from(raw).toString('hex'));
  }
  assert.ok(onCurve > 500 && weak >= 40, `${onCurve} points on the curve, ${weak} weak`);
});

test('the README\'s small-order y values are the code\'s, and each is refused with either sign bit', async () => {
  const { ED25519_TORSION_SUBGROUP } = await import('@noble/curves/ed25519.js');
  const { isStrongVerifiedKey } = await import('./keys.js');
  const readme = (await import('node:fs')).readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const at = readme.indexOf('*The strong-key rule without a square root:*');
  assert.ok(at > 0, 'the README states the rule');
  const hexes = [...readme.slice(at, at + 1200).matchAll(/`([0-9a-f]{64})`/g)].map((m) => m[1]!);
  assert.equal(hexes.length, 2, 'the two y values of the order-8 points');
  const le = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse().toString('hex');
  const p = 2n ** 255n - 19n;
  const ys = [le(0n), le(1n), le(p - 1n), ...hexes];
  const encodings = ys.flatMap((y) => { const b = Buffer.from(y, 'hex'); const s = Buffer.from(b); s[31]! |= 0x80; return [b.toString('hex'), s.toString('hex')]; });
  for (const t of ED25519_TORSION_SUBGROUP) assert.ok(encodings.includes(t), `${t} is among the README's`);
  for (const e of encodings) assert.equal(isStrongVerifiedKey(Buffer.from(e, 'hex').toString('base64url')), false, e);
});
