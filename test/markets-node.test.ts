// Markets end to end against a real node process, through the CLI and HTTP: the dev admin
// creates a future on an oracle's event; traders open positions; the price moves and a
// position is liquidated in endBlock with nobody online; at maturity the oracle attests
// and every position settles; book, trades and positions read back over HTTP.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, cliOk, getOk, sleep, startNode, type NodeProcess } from './helpers.js';

describe('markets on a running node', { timeout: 300_000 }, () => {
  let node: NodeProcess;
  const at = () => ['--node', node.socket, '--json'];
  const ids: Record<string, string> = {};

  before(async () => {
    node = await startNode();
    for (const name of ['alice', 'bob', 'carol', 'dave']) {
      await cliOk(node.home, ['keys', 'new', name, '--json']);
      ids[name] = (await cliOk(node.home, ['register', name, '--key', name, ...at()])).receipt?.events?.[0]?.account
        ?? (await cliOk(node.home, ['whoami', name, ...at()])).id;
    }
  });
  after(async () => {
    await node?.stop();
    await cleanup();
  });

  it('a future: orders, a liquidation with nobody online, settlement at maturity from the attestation', async () => {
    const h = node.home;
    const key = await cliOk(h, ['oracle', 'keys', 'new', 'prices', '--json']);
    await cliOk(h, ['oracle', 'register', '--oracle-key', 'prices', '--name', 'prices', '--key', 'admin', ...at()]);
    // maturity 90 s out: on a loaded 2-core machine the eight CLI calls before it can take a minute
    const ann = await cliOk(h, ['oracle', 'announce', '--oracle-key', 'prices', '--event', 'btc-fut-1', '--maturity', '+90', '--digits', '6', '--precision', '0', '--unit', 'USD', '--key', 'admin', ...at()]);
    const spec = { id: 'btc-fut', kind: 'future', oracles: [key.pubkey], event: 'btc-fut-1', multiplier: '1000', bandBps: 0, makerFeeBps: 2, takerFeeBps: 5 };
    await cliOk(h, ['market', 'create', JSON.stringify(spec), '--key', 'admin', ...at()]);
    assert.equal((await getOk(`${node.http}/v1/markets`)).markets[0].id, 'btc-fut');

    const order = (who: string, side: string, size: number, price: number, ...extra: string[]) => cliOk(h, ['market', 'order', 'btc-fut', side, String(size), '--price', String(price), ...extra, '--key', who, ...at()]);
    await order('bob', 'sell', 10, 50_000);
    const filled = await order('alice', 'buy', 10, 50_000);
    assert.equal(filled.events.filter((e: any) => e.type === 'markets.fill').length, 1);
    await order('dave', 'buy', 20, 45_900);
    const book = await getOk(`${node.http}/v1/markets/btc-fut/book?depth=5`);
    assert.deepEqual(book.bids, [[45_900, 20]]);
    assert.match(book.checksum, /^[0-9a-f]{16}$/);

    // carol sells one to dave at 46,000: alice (long 10 from 50,000, 50 of collateral) is under maintenance
    await order('carol', 'sell', 1, 46_000);
    await order('dave', 'buy', 1, 46_000);
    await sleep(300); // endBlock of that block ran before its commit; give the node a block more
    const alice = await getOk(`${node.http}/v1/markets/accounts/${ids.alice}/positions`);
    assert.deepEqual(alice.positions, [], 'alice was liquidated with nobody online');
    const dave = await getOk(`${node.http}/v1/markets/accounts/${ids.dave}/positions`);
    assert.equal(dave.positions[0].size, 11);
    // the liquidation's fill (made in endBlock) is in the trades index, newest first
    const trades = await getOk(`${node.http}/v1/markets/btc-fut/trades`);
    assert.deepEqual(trades.trades.map((t: any) => [t.seq, t.price, t.size, t.kind, t.taker === ids.alice]), [
      [2, 45_900, 10, 'liquidation', true], [1, 46_000, 1, 'trade', false], [0, 50_000, 10, 'trade', true],
    ]);

    const wait = ann.maturity * 1000 - Date.now() + 500;
    if (wait > 0) await sleep(wait);
    await cliOk(h, ['oracle', 'attest', 'btc-fut-1', '47000', '--oracle-key', 'prices', '--key', 'admin', ...at()]);
    let m: any;
    for (let i = 0; i < 50; i++) {
      m = await getOk(`${node.http}/v1/markets/btc-fut`);
      if (m.status === 'settled') break;
      await sleep(100);
    }
    assert.deepEqual([m.status, m.settlement, m.positions], ['settled', 47_000, 0]);
    const positions = await cliOk(h, ['market', 'positions', '--key', 'bob', ...at()]);
    assert.deepEqual(positions.positions, []);
  });
});
