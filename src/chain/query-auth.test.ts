import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountIdFromPub, generateSigner } from '../core/keys.js';
import { signQuery, verifyQueryAuth, QUERY_AUTH_SKEW_MS } from './query-auth.js';
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
