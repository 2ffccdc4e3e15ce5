// Proofs and full blocks served from the block cache (issue 10 item 6) answer exactly what
// they answered when rebuilt per request: a proof kept at commit, one rebuilt after a
// restart (cache empty) and the full block over HTTP and the socket, asked twice (with the
// http.ts hook, HTTP serves blockGetJson's kept text).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { receiptLeafBytes, type Receipt } from '../src/chain/envelope.js';
import { leafHash, rootFromProof } from '../src/core/merkle.js';
import { cleanup, getOk, httpPost, makeTx, newAccount, RawSocket, startNode, type NodeProcess } from './helpers.js';

describe('block reads from the cache', { timeout: 120_000 }, () => {
  let node: NodeProcess;
  const alice = newAccount();
  const bob = newAccount();
  let receipts: Receipt[] = [];

  before(async () => {
    node = await startNode({ extraArgs: ['--block-delay-ms', '300'] });
    const reg = await httpPost(`${node.http}/v1/txs`, [makeTx(alice, 'ledger.register', { name: 'alice' }), makeTx(bob, 'ledger.register', { name: 'bob' })]);
    assert.equal(reg.status, 200);
    const sent = await httpPost(`${node.http}/v1/txs`, Array.from({ length: 37 }, () => makeTx(alice, 'ledger.send', { to: bob.id, amount: '0.01' })));
    receipts = sent.body as Receipt[];
    assert.ok(receipts.every((r) => r.status === 'ok'));
  }, { timeout: 60_000 });

  after(async () => {
    await cleanup();
  }, { timeout: 60_000 });

  const proofs = async () => Promise.all(receipts.map((r) => getOk(`${node.http}/v1/txs/${r.id}/proof`)));

  it('every proof verifies against its signed header, before and after a restart (levels rebuilt)', async () => {
    const kept = await proofs();
    for (const [i, p] of kept.entries()) {
      assert.deepEqual(p.receipt, receipts[i]);
      assert.equal(p.leaf, Buffer.from(leafHash(receiptLeafBytes(p.receipt))).toString('hex'));
      assert.equal(rootFromProof(leafHash(receiptLeafBytes(p.receipt)), p.proof), p.block.header.txRoot);
      assert.equal(p.proof.count, p.block.header.txCount);
    }
    assert.equal(await node.stop(), 0);
    node = await startNode({ dataDir: node.dataDir, home: node.home });
    assert.deepEqual(await proofs(), kept, 'the same proofs from levels rebuilt from the stored receipts');
    assert.deepEqual(await proofs(), kept, 'and again from the cache');
  });

  it('a full block is the same over HTTP and the socket, first and second time', async () => {
    const height = receipts[0]!.height;
    const sock = await RawSocket.connect(node.socket);
    try {
      const viaSocket = (await sock.request(1, 'block.get', { height, full: true })).result;
      assert.equal(viaSocket.txs.length, viaSocket.header.txCount);
      assert.deepEqual(viaSocket.txs.map((t: { receipt: Receipt }) => t.receipt).filter((r: Receipt) => r.id === receipts[0]!.id), [receipts[0]]);
      for (let k = 0; k < 2; k++) {
        assert.deepEqual(await getOk(`${node.http}/v1/blocks/${height}?full=1`), viaSocket);
        assert.deepEqual((await sock.request(2 + k, 'block.get', { height, full: '1' })).result, viaSocket);
      }
    } finally {
      sock.close();
    }
  });
});
