import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountIdFromPub, generateSigner } from '../core/keys.js';
import { QueryAuthReplays, signQuery, verifyQueryAuth, QUERY_AUTH_SKEW_MS } from './query-auth.js';
import { errorCode as code } from '../core/testing.js';

const { signer } = generateSigner();
const id = accountIdFromPub(signer.pub);
const pubOf = (account: string) => (account === id ? signer.pub : undefined);

test('a signed query verifies for its account, chain, name and params only', () => {
  const params = signQuery('c1', 'ledger.audit', { status: 'open' }, signer, id);
  assert.equal(verifyQueryAuth('c1', 'ledger.audit', params, pubOf), id);
  assert.equal(code(() => verifyQueryAuth('c2', 'ledger.audit', params, pubOf)), 'query_auth_invalid');
  assert.equal(code(() => verifyQueryAuth('c1', 'ledger.other', params, pubOf)), 'query_auth_invalid');
  assert.equal(code(() => verifyQueryAuth('c1', 'ledger.audit', { ...params, status: 'reversed' }, pubOf)), 'query_auth_invalid');
  assert.equal(code(() => verifyQueryAuth('c1', 'ledger.audit', { status: 'open' }, pubOf)), 'query_auth_required');
  assert.equal(code(() => verifyQueryAuth('c1', 'ledger.audit', { auth: 'x' }, pubOf)), 'query_auth_invalid');
  const other = generateSigner().signer;
  const claimed = signQuery('c1', 'ledger.audit', {}, other, id);
  assert.equal(code(() => verifyQueryAuth('c1', 'ledger.audit', claimed, pubOf)), 'query_auth_invalid');
  const stranger = signQuery('c1', 'ledger.audit', {}, other, accountIdFromPub(other.pub));
  assert.equal(code(() => verifyQueryAuth('c1', 'ledger.audit', stranger, pubOf)), 'unknown_account');
});

test('a signed query is fresh only within the allowed clock skew', () => {
  const now = Date.now();
  const old = signQuery('c1', 'q', {}, signer, id, now - QUERY_AUTH_SKEW_MS - 1);
  assert.equal(code(() => verifyQueryAuth('c1', 'q', old, pubOf, now)), 'query_auth_stale');
  const future = signQuery('c1', 'q', {}, signer, id, now + QUERY_AUTH_SKEW_MS + 1);
  assert.equal(code(() => verifyQueryAuth('c1', 'q', future, pubOf, now)), 'query_auth_stale');
  const edge = signQuery('c1', 'q', {}, signer, id, now - QUERY_AUTH_SKEW_MS);
  assert.equal(verifyQueryAuth('c1', 'q', edge, pubOf, now), id);
});

test('with replays, a signed query is accepted once; a refused one is not remembered', () => {
  const replays = new QueryAuthReplays();
  const now = Date.now();
  const params = signQuery('c1', 'ledger.audit', {}, signer, id, now);
  assert.equal(verifyQueryAuth('c1', 'ledger.audit', params, pubOf, now, replays), id);
  assert.equal(code(() => verifyQueryAuth('c1', 'ledger.audit', params, pubOf, now + 1000, replays)), 'query_auth_replayed');
  // A forged or stale one is refused before it is remembered.
  const other = generateSigner().signer;
  assert.equal(code(() => verifyQueryAuth('c1', 'ledger.audit', signQuery('c1', 'ledger.audit', {}, other, id, now), pubOf, now, replays)), 'query_auth_invalid');
  assert.equal(replays.size, 1);
  // Once stale, it is refused as stale (and the memory of it may go).
  assert.equal(code(() => verifyQueryAuth('c1', 'ledger.audit', params, pubOf, now + QUERY_AUTH_SKEW_MS + 1, replays)), 'query_auth_stale');
});

test('replays are bounded per account and in all, and stale signatures are forgotten', () => {
  const replays = new QueryAuthReplays(5, 3);
  const t0 = 1_000_000;
  for (let i = 0; i < 3; i++) replays.claim('a', `sig-a-${i}`, t0, t0);
  assert.equal(code(() => replays.claim('a', 'sig-a-3', t0, t0)), 'query_auth_busy');
  replays.claim('b', 'sig-b-0', t0, t0);
  replays.claim('c', 'sig-c-0', t0 + 10, t0);
  assert.equal(code(() => replays.claim('d', 'sig-d-0', t0, t0)), 'query_auth_busy', 'full: refuse rather than forget a fresh one');
  assert.equal(replays.size, 5);
  // Past the window of the first four, they are forgotten and room returns.
  const later = t0 + QUERY_AUTH_SKEW_MS + 1;
  replays.claim('a', 'sig-a-3', later, later);
  assert.equal(replays.size, 2, 'only c\'s (still fresh) and the new one remain');
  assert.equal(code(() => replays.claim('c', 'sig-c-0', t0 + 10, later)), 'query_auth_replayed');
});
