// A validator's blocks between two real nodes (encrypted SQLite, the verifier pool, the one
// executor): one builds a proposal, the other checks it. A proposal that arrives again
// while its first check still runs (a resend, another round) must not be answered before
// the check has an outcome: the machine would hear of it with valid() still false and
// prevote nil.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadNodeSigner, TallyNode } from './node.js';
import { initDataDir } from './datadir.js';
import { blstBls } from './consensus/bls-native.js';
import { validatorEntry } from './consensus/validator-key.js';
import { writeSecretFile } from '../store/keyfile.js';
import { accountIdFromPub, signerFromPrivateKey } from '../core/keys.js';
import { signTx } from './envelope.js';
import { allModules } from '../modules/index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-validator-chain-'));
const nodes: TallyNode[] = [];
after(async () => {
  for (const n of nodes) await n.close();
  fs.rmSync(root, { recursive: true, force: true });
});

test('a proposal seen twice during its check is answered once the check has an outcome', async () => {
  const dirs = ['a', 'b'].map((d) => path.join(root, d));
  const entries = dirs.map((dir, i) => {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeSecretFile(path.join(dir, 'node.key'), crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    return validatorEntry(blstBls, loadNodeSigner(path.join(dir, 'node.key')).pub, blstBls.keygen(new Uint8Array(32).fill(70 + i)), 1);
  });
  const genesis = { chain: 'vc-test', time: Date.now() - 60_000, validators: entries, modules: { ledger: { registration: { policy: 'open', grant: '0' }, accounts: [], admins: [] } } };
  for (const dir of dirs) initDataDir(dir, genesis, allModules);
  const [a, b] = dirs.map((dir) => TallyNode.open({ dataDir: dir, modules: allModules, synchronous: 'NORMAL' })) as [TallyNode, TallyNode];
  nodes.push(a, b);
  // Registrations in the block, so that checking it waits for the verifier threads.
  const regs = Array.from({ length: 50 }, () => {
    const signer = signerFromPrivateKey(crypto.generateKeyPairSync('ed25519').privateKey);
    const id = accountIdFromPub(signer.pub);
    return signTx({ chain: 'vc-test', type: 'ledger.register', from: id, nonce: 0, expires: Math.floor(Date.now() / 1000) + 600, body: { name: `u${id.slice(0, 12)}` } }, signer);
  });
  void a.submit(regs).catch(() => undefined);
  for (let i = 0; a.mempool.size < regs.length; i++) {
    assert.ok(i < 500, 'the registrations are admitted');
    await new Promise((r) => setTimeout(r, 10));
  }
  const hash = a.validatorChain!.build(1);
  assert.equal(a.validatorChain!.proposalOf(hash)!.txs.length, 50);
  const proposal = a.validatorChain!.proposalOf(hash)!;
  const proposer = b.validatorChain!.indexOf(a.signer.pub);
  const first = b.validatorChain!.check(proposer, structuredClone(proposal));
  const again = b.validatorChain!.check(proposer, structuredClone(proposal));
  assert.equal(await again, hash);
  assert.equal(b.validatorChain!.valid(1, hash), true, 'answered only once valid() can say yes');
  assert.equal(await first, hash);
});
