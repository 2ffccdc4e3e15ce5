import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { canonicalJson } from './canonical.js';
import { generateSigner, verifySignature } from './keys.js';
import { smtPath, smtProveSorted, smtRootOfSorted, smtSortEntries, smtValueHash } from './smt.js';
import { ed25519VerifyPure, STATE_BUNDLE_FORMAT, verifyStateBundle, type AccountBundle, type KeyBundle } from './state-bundle.js';

const { signer } = generateSigner();
const other = generateSigner().signer;
const ALICE = 'a'.repeat(40);
const state = new Map<string, string>([
  ['auth/' + ALICE, canonicalJson({ nonce: 3, pub: signer.pub })],
  ['ledger/name/alice', canonicalJson(ALICE)],
  ['ledger/acct/' + ALICE, canonicalJson({ balance: '48650', created: 0, held: '100', name: 'alice' })],
  ['ledger/name/mint', canonicalJson('0'.repeat(40))],
  ['ledger/acct/' + '0'.repeat(40), canonicalJson({ balance: '-48650', created: 0, name: 'mint' })],
]);
const sorted = smtSortEntries([...state].map(([k, v]) => ({ path: smtPath(k), valueHash: smtValueHash(v) })));
const root = bytesToHex(smtRootOfSorted(sorted));
const prove = (k: string) => smtProveSorted(sorted, k, state.get(k) ?? null);

function signedBlock(header: Record<string, unknown>, by = signer) {
  const bytes = utf8ToBytes('tally/block/v1\n' + canonicalJson(header));
  return { hash: bytesToHex(blake3(bytes)), header, sig: by.sign(bytes) } as KeyBundle['block'];
}
const header = { chain: 't', height: 7, prevHash: '1'.repeat(64), time: 1, txRoot: '2'.repeat(64), stateRoot: root, txCount: 1, proposer: signer.pub, version: 2 };
const block = signedBlock(header);
const keyBundle = (k: string): KeyBundle => ({ format: STATE_BUNDLE_FORMAT, height: 7, block, key: k, value: state.has(k) ? JSON.parse(state.get(k)!) : null, proof: prove(k) });
const accountBundle = (): AccountBundle => ({
  format: STATE_BUNDLE_FORMAT, height: 7, block, account: { name: 'alice', id: ALICE },
  proofs: { name: prove('ledger/name/alice'), account: prove('ledger/acct/' + ALICE) },
});
const check = (b: unknown, key = signer.pub) => verifyStateBundle(b, key, verifySignature);
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

test('a key bundle proves a present key and an absent one', () => {
  const r = check(keyBundle('ledger/name/alice'));
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.proven.entries, [{ key: 'ledger/name/alice', value: state.get('ledger/name/alice') }]);
  const absent = check(keyBundle('ledger/name/zoe'));
  assert.ok(absent.ok, JSON.stringify(absent));
  assert.equal(absent.proven.entries[0]!.value, null);
});

test('an account bundle proves the balance, and an unknown name is proven absent', () => {
  const r = check(accountBundle());
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.proven.account, { name: 'alice', id: ALICE, balance: '48650', held: '100', created: 0 });
  const byId: AccountBundle = { ...accountBundle(), account: { name: null, id: ALICE }, proofs: { account: prove('ledger/acct/' + ALICE) } };
  assert.equal(check(byId).ok, true);
  const nobody: AccountBundle = { ...accountBundle(), account: { name: 'zoe', id: null }, proofs: { name: prove('ledger/name/zoe') } };
  const n = check(nobody);
  assert.ok(n.ok, JSON.stringify(n));
  assert.equal(n.proven.account, null);
});

test('every tampering is refused with a reason', () => {
  const cases: Array<[string, (b: AccountBundle) => void, RegExp]> = [
    ['balance', (b) => { b.proofs.account!.value = b.proofs.account!.value!.replace('48650', '48651'); }, /does not fold to the root/],
    ['a sibling', (b) => { const s = b.proofs.account!.siblings; s[0] = (s[0]![0] === '0' ? '1' : '0') + s[0]!.slice(1); }, /does not fold/],
    ['the stateRoot', (b) => { b.block.header.stateRoot = '3'.repeat(64); }, /block.hash is not the hash/],
    ['the signature', (b) => { b.block.sig = other.sign(utf8ToBytes('x')); }, /signature does not verify/],
    ['the height', (b) => { b.height = 6; }, /height/],
    ['the name', (b) => { b.account.name = 'mint'; }, /about "ledger\/name\/alice", not "ledger\/name\/mint"/],
    ['the id', (b) => { b.account.id = '0'.repeat(40); }, /belongs to/],
    ['a missing proof', (b) => { delete b.proofs.account; }, /account proof must be a proof object/],
    ['the format', (b) => { (b as { format: string }).format = 'x'; }, /format/],
    ['a v1 header', (b) => { delete b.block.header.version; }, /version 1/],
  ];
  for (const [what, change, reason] of cases) {
    const b = clone(accountBundle());
    change(b);
    const r = check(b);
    assert.equal(r.ok, false, what);
    if (!r.ok) assert.match(r.reason, reason, what);
  }
  assert.match((check(accountBundle(), other.pub) as { reason: string }).reason, /not made by the node key/);
  // A header signed by another key that claims our key as proposer.
  const forged = clone(accountBundle());
  forged.block = signedBlock(header, other);
  assert.match((check(forged) as { reason: string }).reason, /signature does not verify/);
  const k = clone(keyBundle('ledger/name/alice'));
  k.value = 'b'.repeat(40);
  assert.match((check(k) as { reason: string }).reason, /not the proven value/);
  for (const junk of [null, 1, 'x', [], {}, { format: STATE_BUNDLE_FORMAT, block: 1 }]) assert.equal(check(junk).ok, false);
});

test('the verifier imports nothing Node-only, so a browser runs it unchanged', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const src = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../src/core');
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of fs.readFileSync(path.join(src, file), 'utf8').matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      assert.ok(!spec.startsWith('node:') && !['crypto', 'fs', 'path', 'buffer', 'hash-wasm'].includes(spec), `${file} imports ${spec}`);
      if (spec.startsWith('./')) visit(spec.slice(2).replace(/\.js$/, '.ts'));
    }
  };
  visit('state-bundle.ts');
  assert.ok(seen.has('smt.ts') && seen.has('canonical.ts') && seen.has('header.ts'), [...seen].join(', '));
});

test('the pure-JS signature check (the browser\'s) agrees with node:crypto\'s on good and bad signatures', () => {
  const good = accountBundle();
  assert.equal(verifyStateBundle(good, signer.pub, ed25519VerifyPure).ok, true);
  const msg = utf8ToBytes('tally/block/v1\n' + canonicalJson(header));
  const sig = block.sig;
  const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
  const lastBits = sig.slice(0, -1) + (sig.endsWith('A') ? 'B' : 'A'); // a non-canonical last character
  for (const [pub, s] of [[signer.pub, sig], [signer.pub, flipped], [other.pub, sig], [signer.pub, lastBits], [signer.pub, sig + 'A'], ['x', sig], [signer.pub, '']] as const) {
    let nodeSays: boolean;
    try {
      nodeSays = verifySignature(pub, msg, s);
    } catch {
      nodeSays = false;
    }
    assert.equal(ed25519VerifyPure(pub, msg, s), nodeSays, `${pub.slice(0, 6)} ${s.slice(-4)}`);
  }
  const tampered = clone(good);
  tampered.block.sig = flipped;
  assert.equal(verifyStateBundle(tampered, signer.pub, ed25519VerifyPure).ok, false);
});
