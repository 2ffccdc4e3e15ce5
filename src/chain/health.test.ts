import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeHealth } from './health.js';

test('a failing module service makes the node not ok but still ready', () => {
  const h = new NodeHealth();
  let failing = false;
  h.probe('tickets.monero', () => (failing ? { ok: false, reason: 'monero-wallet-rpc at http://u:secret@127.0.0.1:18083 (refresh): fetch failed', since: '2026-01-01T00:00:00.000Z' } : { ok: true }));
  let r = h.report();
  assert.equal(r.ok, true);
  assert.equal(r.ready, true);
  assert.deepEqual(Object.keys(r.components).sort(), ['node', 'storage', 'tickets.monero', 'watermark']);
  failing = true;
  r = h.report();
  assert.equal(r.ok, false);
  assert.equal(r.ready, true, 'a wallet being down does not stop transactions');
  assert.deepEqual(r.failing, [{ component: 'tickets.monero', reason: 'monero-wallet-rpc at http://[redacted]@127.0.0.1:18083 (refresh): fetch failed', since: '2026-01-01T00:00:00.000Z', core: false }]);
  failing = false;
  assert.equal(h.report().ok, true, 'recovers with the probe');
});

test('a failing core component makes the node neither ok nor ready, until it recovers', () => {
  const h = new NodeHealth();
  h.fail('storage', 'disk I/O error');
  h.fail('storage', 'a second failure keeps the first reason and time');
  const r = h.report();
  assert.equal(r.ok, false);
  assert.equal(r.ready, false);
  assert.equal(r.components.storage!.reason, 'disk I/O error');
  assert.equal(r.failing[0]!.core, true);
  h.ok('storage');
  assert.deepEqual([h.report().ok, h.report().ready], [true, true]);
});

test('a probe that throws reports its component failing instead of breaking /health', () => {
  const h = new NodeHealth();
  h.probe('notary', () => { throw new Error('no such table'); });
  const r = h.report();
  assert.equal(r.components.notary!.ok, false);
  assert.match(r.components.notary!.reason!, /no such table/);
  assert.equal(r.ready, true);
});
