import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TallyError } from '../../core/errors.js';
import { moneroPaymentUri } from './payment-uri.js';

describe('monero: payment URI', () => {
  const addr = '4Byr22j9M2878Mtyb3fEPcBNwBZf5EXqn1Yi6VzR46618SFBrYysab2Cs1474CVDbsh94AJq7vuV3Z2DRq4zLcY3LHzo1Nbv3d8J6VhvCV';
  it('carries the integrated address, the amount in XMR (normalized) and an escaped description', () => {
    assert.equal(moneroPaymentUri(addr, { amount: '1.50', description: 'Tally ticket & more' }), `monero:${addr}?tx_amount=1.5&tx_description=Tally%20ticket%20%26%20more`);
    assert.equal(moneroPaymentUri(addr), `monero:${addr}`);
    assert.equal(moneroPaymentUri(addr, { amount: '0.000000000001' }), `monero:${addr}?tx_amount=0.000000000001`);
  });
  it('refuses an amount finer than a piconero or not a decimal', () => {
    assert.throws(() => moneroPaymentUri(addr, { amount: '0.0000000000001' }), (e: TallyError) => e.code === 'amount_too_precise');
    assert.throws(() => moneroPaymentUri(addr, { amount: '1e3' }), (e: TallyError) => e instanceof TallyError);
  });
});
