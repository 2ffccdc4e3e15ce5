import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockHash, signHeader } from '../chain/blocks.js';
import { canonicalJson } from './canonical.js';
import { TallyError } from './errors.js';
import {
  checkHeaderLink, checkSignedHeader, commitHash, commitOf, headerHash, lastCommitHashAfter, NO_COMMIT_HASH,
  singleValidator, validatorsHash, type BlockHeader, type SignedBlock,
} from './header.js';
import { generateSigner, verifySignature } from './keys.js';
import { ed25519VerifyPure } from './state-bundle.js';

const { signer } = generateSigner();
const other = generateSigner().signer;

function block0(): SignedBlock {
  return signHeader({
    version: 3, chain: 't', height: 0, prevHash: 'a'.repeat(64), time: 1, txRoot: 'b'.repeat(64), stateRoot: 'c'.repeat(64), txCount: 0,
    proposer: signer.pub, validatorsHash: validatorsHash(singleValidator(signer.pub)), lastCommitHash: NO_COMMIT_HASH,
  }, signer);
}

function next(prev: SignedBlock, over: Partial<BlockHeader> = {}): SignedBlock {
  return signHeader({
    ...prev.header, height: prev.header.height + 1, prevHash: prev.hash, time: prev.header.time + 1, txCount: 1,
    lastCommitHash: lastCommitHashAfter(prev), ...over,
  }, signer);
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

test('the portable hash (noble BLAKE3) is the node\'s (hash-wasm) for every version', () => {
  const b = block0();
  assert.equal(headerHash(b.header), b.hash);
  const { version: _v, validatorsHash: _vh, lastCommitHash: _lc, ...v1 } = b.header;
  assert.equal(headerHash(v1), blockHash(v1));
  assert.equal(headerHash({ ...v1, version: 2 }), blockHash({ ...v1, version: 2 }));
});

test('a good version 3 header checks out with node:crypto and with pure-JS Ed25519', () => {
  const b0 = block0();
  const b1 = next(b0);
  for (const verify of [verifySignature, ed25519VerifyPure]) {
    assert.deepEqual(checkSignedHeader(b0, signer.pub, verify), { ok: true });
    assert.deepEqual(checkSignedHeader(b1, signer.pub, verify), { ok: true });
  }
  assert.deepEqual(checkHeaderLink(b0, b1), { ok: true });
});

test('each broken header is refused with its code, and nothing throws', () => {
  const b0 = block0();
  const resign = (h: BlockHeader) => signHeader(h, signer);
  const cases: Array<[string, unknown, string]> = [
    ['not an object', 'x', 'bad_block'],
    ['unknown version', resign({ ...b0.header, version: 4 as 3 }), 'bad_version'],
    ['v3 without validatorsHash', resign({ ...b0.header, validatorsHash: undefined }), 'bad_version'],
    ['v3 with a short lastCommitHash', resign({ ...b0.header, lastCommitHash: 'ab' }), 'bad_version'],
    ['v2 with a lastCommitHash', resign({ ...b0.header, version: 2, validatorsHash: undefined }), 'bad_version'],
    ['hash of another header', { ...clone(b0), hash: 'f'.repeat(64) }, 'block_hash_mismatch'],
    ['another proposer', signHeader({ ...b0.header, proposer: other.pub }, other), 'wrong_proposer'],
    ['signed by another key', { ...b0, sig: other.sign(new Uint8Array(1)) }, 'bad_block_signature'],
    ['a validator set of another key', resign({ ...b0.header, validatorsHash: validatorsHash(singleValidator(other.pub)) }), 'validators_hash_mismatch'],
    ['a validator set with power 2', resign({ ...b0.header, validatorsHash: validatorsHash([{ key: signer.pub, power: 2 }]) }), 'validators_hash_mismatch'],
    ['block 0 with a commit', resign({ ...b0.header, lastCommitHash: 'd'.repeat(64) }), 'last_commit_mismatch'],
  ];
  for (const [what, b, code] of cases) {
    const r = checkSignedHeader(b, signer.pub, ed25519VerifyPure);
    assert.equal(r.ok ? 'ok' : r.code, code, what);
  }
});

test('links: lastCommitHash is the previous commit, versions never go down', () => {
  const b0 = block0();
  const b1 = next(b0);
  const code = (r: ReturnType<typeof checkHeaderLink>) => (r.ok ? 'ok' : r.code);
  assert.equal(code(checkHeaderLink(b0, next(b0, { lastCommitHash: NO_COMMIT_HASH }))), 'last_commit_mismatch');
  // The commit names the signature: another valid signature of the same block is another commit.
  assert.equal(code(checkHeaderLink({ ...b0, sig: other.sign(new Uint8Array(1)) }, b1)), 'last_commit_mismatch');
  assert.equal(code(checkHeaderLink(b0, next(b0, { prevHash: 'e'.repeat(64) }))), 'broken_link');
  assert.equal(code(checkHeaderLink(b0, next(b0, { height: 2 }))), 'bad_height');
  assert.equal(code(checkHeaderLink(b0, next(b0, { time: 0 }))), 'time_backwards');
  const { validatorsHash: _vh, lastCommitHash: _lc, ...v2 } = b1.header;
  assert.equal(code(checkHeaderLink(b0, signHeader({ ...v2, version: 2 }, signer))), 'bad_version');
  // v2 -> v3: the v2 block's commit is its one signature, like any other.
  const v2block = signHeader({ ...v2, version: 2 }, signer);
  assert.equal(code(checkHeaderLink(v2block, next(v2block, { version: 3, validatorsHash: b0.header.validatorsHash }))), 'ok');
});

test('the validator set and the commit have one canonical form', () => {
  const a = { key: 'A', power: 1 };
  const b = { key: 'B', power: 5 };
  assert.equal(validatorsHash([a, b]), validatorsHash([b, a]), 'order does not matter');
  assert.notEqual(validatorsHash([a]), validatorsHash([a, b]));
  for (const bad of [[], [a, a], [{ key: 'A', power: 0 }], [{ key: 'A', power: 1.5 }], [{ key: '', power: 1 }]]) {
    assert.throws(() => validatorsHash(bad), (e: TallyError) => e.code === 'bad_validators', canonicalJson(bad));
  }
  const c = { height: 1, blockHash: 'a'.repeat(64), signatures: [{ validator: 'B', sig: 'x' }, { validator: 'A', sig: 'y' }] };
  assert.equal(commitHash(c), commitHash({ ...c, signatures: [...c.signatures].reverse() }));
  const b0 = block0();
  assert.deepEqual(commitOf(b0), { height: 0, blockHash: b0.hash, signatures: [{ validator: signer.pub, sig: b0.sig }] });
  assert.equal(lastCommitHashAfter(undefined), NO_COMMIT_HASH);
});
