import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateP2pIdentity, P2P_KEY_FILE } from './identity.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-p2p-id-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('libp2p identity key file', () => {
  const file = path.join(dir, P2P_KEY_FILE);

  it('is created 0600 on first start and gives the same peer id on the next', async () => {
    const first = await loadOrCreateP2pIdentity(file);
    assert.equal(first.created, true);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(file, 'utf8'), /^tally-p2p-key v1 ed25519\n[0-9a-f]{64}\n$/);
    const again = await loadOrCreateP2pIdentity(file);
    assert.equal(again.created, false);
    assert.equal(again.peerId, first.peerId);
    assert.equal(first.privateKey.type, 'Ed25519');
  });

  it('is refused when others may read it', async () => {
    fs.chmodSync(file, 0o640);
    await assert.rejects(loadOrCreateP2pIdentity(file), { code: 'key_file_permissions' });
    fs.chmodSync(file, 0o600);
  });

  it('is refused when it is not a Tally p2p key', async () => {
    const other = path.join(dir, 'other');
    fs.writeFileSync(other, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    await assert.rejects(loadOrCreateP2pIdentity(other), { code: 'key_file_invalid' });
  });

  it('derives the peer id from the seed (vector: the RFC 8032 test 1 seed)', async () => {
    const vec = path.join(dir, 'vector');
    fs.writeFileSync(vec, 'tally-p2p-key v1 ed25519\n9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n', { mode: 0o600 });
    const id = await loadOrCreateP2pIdentity(vec);
    assert.equal(Buffer.from(id.privateKey.publicKey.raw).toString('hex'), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    assert.equal(id.peerId, '12D3KooWQK1wnefoLrcVHbbnf5tLzbopUd3K3bFAoJpA7YJgL5pV');
  });
});
