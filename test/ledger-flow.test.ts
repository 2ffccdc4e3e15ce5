// The happy path end to end, against a real node process: keys, register, send and
// balance through the CLI over the Unix socket and over HTTP; Merkle proofs and block
// signatures checked independently; the WebSocket block stream; signed socket replies;
// and `tally chain verify` online and, after the node stopped, offline in a second process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import WebSocket from 'ws';
import { leafHash, rootFromProof } from '../src/core/merkle.js';
import { blockHash, verifyHeaderSignature, type BlockHeader } from '../src/chain/blocks.js';
import { receiptLeafBytes, type Receipt } from '../src/chain/envelope.js';
import { connectClient, SocketClient } from '../src/api/client.js';
import {
  cleanup, cli, cliOk, getOk, httpPost, makeTx, newAccount, RawSocket, replySignatureValid, startNode, tempDir, withTimeout,
  type NodeProcess,
} from './helpers.js';

interface ProofResponse {
  receipt: Receipt;
  leaf: string;
  proof: { index: number; count: number; siblings: string[] };
  block: { hash: string; header: BlockHeader; sig: string };
}

/** Check a proof the way an outside client would: only merkle.js, envelope.js and blocks.js. */
function checkProof(p: ProofResponse, txId: string, nodeKey: string): void {
  assert.equal(p.receipt.id, txId);
  const leaf = leafHash(receiptLeafBytes(p.receipt));
  assert.equal(Buffer.from(leaf).toString('hex'), p.leaf, 'the leaf is the hash of the receipt');
  assert.equal(p.proof.index, p.receipt.index);
  assert.equal(p.proof.count, p.block.header.txCount, 'proof.count equals header.txCount');
  assert.equal(rootFromProof(leaf, p.proof), p.block.header.txRoot, 'the proof recomputes the header txRoot');
  assert.equal(p.block.header.height, p.receipt.height);
  assert.equal(blockHash(p.block.header), p.block.hash, 'block hash is the hash of its header');
  assert.equal(p.block.header.proposer, nodeKey);
  assert.ok(verifyHeaderSignature(p.block.header, p.block.sig), 'the block signature verifies');
  // A receipt that claims something else does not lead to the signed root.
  const forged = { ...p.receipt, status: p.receipt.status === 'ok' ? 'failed' : 'ok' } as Receipt;
  assert.notEqual(rootFromProof(leafHash(receiptLeafBytes(forged)), p.proof), p.block.header.txRoot);
  // And a header with another root does not carry the node's signature.
  assert.equal(verifyHeaderSignature({ ...p.block.header, txRoot: '00'.repeat(32) }, p.block.sig), false);
}

describe('ledger flow through a real node', { timeout: 180_000 }, () => {
  let node: NodeProcess;
  let home: string;
  const ids: Record<string, string> = {};

  before(async () => {
    home = path.join(tempDir('tally-home-'), 'home');
    node = await startNode();
    assert.equal(node.listening.created, true);
    assert.equal(node.listening.chain, 'tally-dev');
    assert.equal(node.listening.height, 0);
    for (const name of ['alice', 'bob', 'carol', 'dave']) {
      const key = await cliOk(home, ['keys', 'new', name, '--json']);
      assert.equal(key.name, name);
      ids[name] = key.id;
    }
  }, { timeout: 60_000 });

  after(async () => {
    await cleanup();
  }, { timeout: 60_000 });

  it('registers over the socket and over HTTP, each with the grant of 1000', async () => {
    const ra = await cliOk(home, ['register', 'alice', '--key', 'alice', '--node', node.socket, '--json']);
    assert.equal(ra.status, 'ok');
    assert.deepEqual(ra.events[0], { type: 'ledger.registered', account: ids.alice, name: 'alice' });
    assert.deepEqual(ra.events[1], { type: 'ledger.transfer', from: '0'.repeat(40), to: ids.alice, amount: '1000' });
    const rb = await cliOk(home, ['register', 'bob', '--key', 'bob', '--node', node.socket, '--json']);
    assert.equal(rb.status, 'ok');
    const rc = await cliOk(home, ['register', 'carol', '--key', 'carol', '--node', node.http, '--json']);
    assert.equal(rc.status, 'ok');
    assert.ok(rc.height > rb.height && rb.height > ra.height, 'one block per sequential registration');
    for (const name of ['alice', 'bob', 'carol']) {
      for (const target of [node.socket, node.http]) {
        const bal = await cliOk(home, ['balance', name, '--key', 'alice', '--node', target, '--json']);
        assert.deepEqual(bal, { id: ids[name], name, total: '1000', held: '0', available: '1000' });
      }
    }
    // A second registration of a taken name is refused before signing; forced, it is recorded as failed.
    const again = await cli(home, ['register', 'alice', '--key', 'bob', '--node', node.socket, '--json']);
    assert.equal(again.code, 1);
    assert.equal(again.json.error.code, 'already_registered');
    const taken = await cli(home, ['register', 'alice', '--key', 'dave', '--node', node.http, '--json', '--force']);
    assert.equal(taken.code, 1);
    assert.equal(taken.json.error.code, 'name_taken');
    assert.equal(taken.json.error.details.receipt.status, 'failed');
  });

  let sendId = '';
  it('sends over the socket and over HTTP; balances are exact', async () => {
    const s1 = await cliOk(home, ['send', 'bob', '12.5', '--memo', 'lunch', '--key', 'alice', '--node', node.socket, '--json']);
    assert.equal(s1.status, 'ok');
    assert.deepEqual(s1.events, [{ type: 'ledger.transfer', from: ids.alice, to: ids.bob, amount: '12.5', memo: 'lunch' }]);
    sendId = s1.id;
    const s2 = await cliOk(home, ['send', 'carol', '0.000001', '--key', 'bob', '--node', node.http, '--json']);
    assert.equal(s2.status, 'ok');
    // By account id rather than name.
    const s3 = await cliOk(home, ['send', ids.alice!, '100', '--key', 'carol', '--node', node.http, '--json']);
    assert.equal(s3.events[0].to, ids.alice);

    const expected: Record<string, string> = { alice: '1087.5', bob: '1012.499999', carol: '900.000001' };
    for (const [name, total] of Object.entries(expected)) {
      const viaSocket = await cliOk(home, ['balance', '--key', name, '--node', node.socket, '--json']);
      const viaHttp = await cliOk(home, ['balance', name, '--key', 'alice', '--node', node.http, '--json']);
      assert.deepEqual(viaSocket, { id: ids[name], name, total, held: '0', available: total });
      assert.deepEqual(viaHttp, viaSocket);
      const acct = await getOk(`${node.http}/v1/accounts/${name}`);
      assert.equal(acct.balance, total);
      assert.equal(acct.id, ids[name]);
    }
    const mint = await getOk(`${node.http}/v1/accounts/mint`);
    assert.equal(mint.balance, '-3000');

    // A committed but failed transfer (--force: the CLI would refuse it before signing):
    // exit 1, JSON error, nonce used, balances untouched.
    const nonceBefore = (await getOk(`${node.http}/v1/auth/${ids.alice}`)).nonce;
    const broke = await cli(home, ['send', 'bob', '5000', '--force', '--key', 'alice', '--node', node.socket, '--json']);
    assert.equal(broke.code, 1);
    assert.equal(broke.json.error.code, 'insufficient_funds');
    assert.equal(broke.json.error.details.receipt.status, 'failed');
    assert.equal((await getOk(`${node.http}/v1/auth/${ids.alice}`)).nonce, nonceBefore + 1);
    assert.equal((await getOk(`${node.http}/v1/accounts/alice`)).balance, '1087.5');
    assert.equal((await getOk(`${node.http}/v1/accounts/bob`)).balance, '1012.499999');
  });

  it('serves a Merkle proof that recomputes the signed txRoot', async () => {
    const tx = await getOk(`${node.http}/v1/txs/${sendId}`);
    assert.equal(tx.id, sendId);
    assert.equal(tx.receipt.status, 'ok');
    assert.equal(tx.envelope.tx.body.memo, 'lunch');
    const p = (await getOk(`${node.http}/v1/txs/${sendId}/proof`)) as ProofResponse;
    checkProof(p, sendId, node.nodeKey);
    assert.deepEqual(p.receipt, tx.receipt);
    const block = await getOk(`${node.http}/v1/blocks/${p.receipt.height}`);
    assert.deepEqual(block.header, p.block.header);
    assert.equal(block.hash, p.block.hash);
    assert.ok(block.txs.includes(sendId));
  });

  it('proves every receipt of a block with many transactions', async () => {
    // One batch is admitted at once, so it lands in one block; 7 leaves make an odd tree.
    const senders = [newAccount(), newAccount(), newAccount(), newAccount(), newAccount(), newAccount(), newAccount()];
    const regs = await httpPost(`${node.http}/v1/txs`, senders.map((a, i) => makeTx(a, 'ledger.register', { name: `batch${i}` })));
    assert.equal(regs.status, 200);
    assert.ok(regs.body.every((r: Receipt) => r.status === 'ok'), JSON.stringify(regs.body));
    const res = await httpPost(`${node.http}/v1/txs`, senders.map((a, i) => makeTx(a, 'ledger.send', { to: 'alice', amount: `0.${i + 1}` })));
    assert.equal(res.status, 200);
    const receipts = res.body as Receipt[];
    assert.equal(receipts.length, 7);
    const height = receipts[0]!.height;
    assert.ok(receipts.every((r) => r.status === 'ok' && r.height === height), JSON.stringify(receipts));
    for (const r of receipts) {
      const p = (await getOk(`${node.http}/v1/txs/${r.id}/proof`)) as ProofResponse;
      assert.equal(p.proof.count, 7);
      assert.deepEqual(p.receipt, r);
      checkProof(p, r.id, node.nodeKey);
    }
    // The same proof over the socket (signed reply) matches HTTP.
    const client = connectClient(node.socket);
    try {
      const viaSocket = await withTimeout(client.call('tx.proof', { id: receipts[3]!.id }), 10_000, 'tx.proof over the socket');
      assert.deepEqual(viaSocket, await getOk(`${node.http}/v1/txs/${receipts[3]!.id}/proof`));
    } finally {
      client.close();
    }
  });

  it('streams the block of a new transfer over the WebSocket', async () => {
    const wsUrl = node.http.replace(/^http/, 'ws') + '/v1/ws';
    const all = new WebSocket(wsUrl);
    const onlyCarol = new WebSocket(`${wsUrl}?account=${ids.carol}`);
    const messages: any[] = [];
    const carolMessages: any[] = [];
    all.on('message', (m) => messages.push(JSON.parse(m.toString())));
    onlyCarol.on('message', (m) => carolMessages.push(JSON.parse(m.toString())));
    try {
      await withTimeout(Promise.all([all, onlyCarol].map((ws) => new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      }))), 10_000, 'WebSocket open');
      const bobOnly = await cliOk(home, ['send', 'alice', '1', '--key', 'bob', '--node', node.http, '--json']);
      const toCarol = await cliOk(home, ['send', 'carol', '2', '--key', 'alice', '--node', node.socket, '--json']);
      const deadline = Date.now() + 10_000;
      while (!messages.some((m) => m.receipts.some((r: Receipt) => r.id === toCarol.id)) || carolMessages.length === 0) {
        assert.ok(Date.now() < deadline, 'no WebSocket message for the transfer within 10 s');
        await new Promise((r) => setTimeout(r, 20));
      }
      const msg = messages.find((m) => m.receipts.some((r: Receipt) => r.id === toCarol.id));
      assert.equal(msg.type, 'block');
      assert.equal(msg.header.height, toCarol.height);
      assert.equal(blockHash(msg.header), msg.hash);
      assert.ok(verifyHeaderSignature(msg.header, msg.sig));
      assert.deepEqual(msg.receipts.find((r: Receipt) => r.id === toCarol.id), toCarol);
      assert.ok(messages.some((m) => m.receipts.some((r: Receipt) => r.id === bobOnly.id)));
      // The filtered stream saw carol's transfer and not bob -> alice.
      assert.ok(carolMessages.some((m) => m.receipts.some((r: Receipt) => r.id === toCarol.id)));
      assert.ok(!carolMessages.some((m) => m.receipts.some((r: Receipt) => r.id === bobOnly.id)));
      const block = await getOk(`${node.http}/v1/blocks/${toCarol.height}`);
      assert.equal(block.hash, msg.hash);
    } finally {
      all.terminate();
      onlyCarol.terminate();
    }
  });

  it('signs every socket reply with the node key', async () => {
    const sock = await RawSocket.connect(node.socket);
    try {
      const info = await sock.request(1, 'node.info');
      assert.equal(info.id, 1);
      assert.equal(info.node, node.nodeKey);
      assert.ok(replySignatureValid(info, node.nodeKey));
      assert.equal(info.result.chain, 'tally-dev');
      const bal = await sock.request('b', 'query', { name: 'ledger.balance', params: { account: 'alice' } });
      assert.ok(replySignatureValid(bal, node.nodeKey));
      assert.equal(bal.result.name, 'alice');
      const err = await sock.request(3, 'tx.get', { id: '00'.repeat(32) });
      assert.equal(err.error?.code, 'tx_not_found');
      assert.ok(replySignatureValid(err, node.nodeKey), 'error replies are signed too');
      const unknown = await sock.request(4, 'no.such.method');
      assert.equal(unknown.error?.code, 'unknown_method');
      assert.ok(replySignatureValid(unknown, node.nodeKey));
      // A reply altered in transit no longer verifies.
      assert.equal(replySignatureValid({ ...bal, result: { ...bal.result, total: '999999' } }, node.nodeKey), false);
      assert.equal(replySignatureValid(info, newAccount().signer.pub), false);
    } finally {
      sock.close();
    }
    // The library client checks the signatures and pins the node key it saw first.
    const client = connectClient(node.socket) as SocketClient;
    try {
      const info = (await withTimeout(client.call('node.info'), 10_000, 'node.info')) as { nodeKey: string };
      assert.equal(client.nodeKey, node.nodeKey);
      assert.equal(info.nodeKey, node.nodeKey);
    } finally {
      client.close();
    }
    // A client that expects another node key refuses the replies.
    const wrong = connectClient(node.socket, { nodeKey: newAccount().signer.pub });
    try {
      await assert.rejects(withTimeout(wrong.call('node.info'), 10_000, 'node.info'), (e: any) => e.code === 'bad_reply_signature');
    } finally {
      wrong.close();
    }
  });

  let finalHeight = 0;
  let finalTxs = 0;
  it('verifies online over the socket and over HTTP', async () => {
    const info = await getOk(`${node.http}/v1/node`);
    finalHeight = info.height;
    for (const target of [node.socket, node.http]) {
      const r = await cli(home, ['chain', 'verify', '--node', target, '--json'], 60_000);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.json.ok, true);
      assert.equal(r.json.chain, 'tally-dev');
      assert.equal(r.json.height, finalHeight);
      assert.equal(r.json.blocks, finalHeight + 1);
      assert.equal(r.json.firstDivergence, null);
      assert.deepEqual(r.json.issues, []);
      finalTxs = r.json.txs;
    }
    assert.ok(finalTxs >= 20, `${finalTxs} transactions`);
  });

  it('stops cleanly, even with an idle socket client connected; a second process verifies the directory it wrote', async () => {
    // Regression: the socket server used to wait for every client to hang up, so SIGTERM never finished.
    const idle = await RawSocket.connect(node.socket);
    assert.equal((await idle.request(1, 'node.info')).result.height, finalHeight);
    try {
      assert.equal(await node.stop(), 0, node.stderr());
    } finally {
      idle.close();
    }
    const r = await cli(home, ['chain', 'verify', '--data', node.dataDir, '--json'], 60_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.json.ok, true);
    assert.equal(r.json.height, finalHeight);
    assert.equal(r.json.txs, finalTxs);
    assert.ok(r.json.stateKeys > 0);
    assert.deepEqual(r.json.issues, []);
    // Human output says OK too.
    const human = await cli(home, ['chain', 'verify', '--data', node.dataDir], 60_000);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /OK: /);
  });
});
