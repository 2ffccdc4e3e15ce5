import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { base58Decode, base58Encode, integratedAddress, parseMoneroAddress } from './monero-address.js';

// Made by monero-wallet-rpc 0.18.0.0 (make_integrated_address) on a regtest wallet; the
// integration test (test/tickets-monero.test.ts) checks more against a live wallet.
const STANDARD = '48x17EqCtMiBw6HAJ7gvN35PLyz5Qmc4hKJpGE6H4AcDJGaynnMUxXndoty3ZXMqPcFQBvBEUigDKannW84ZR4wHFmvMr7K';
const INTEGRATED = '4Jeg83ehVdEBw6HAJ7gvN35PLyz5Qmc4hKJpGE6H4AcDJGaynnMUxXndoty3ZXMqPcFQBvBEUigDKannW84ZR4wHNkCwrXAqRLGTyae44t';

test('the integrated address of a wallet vector', () => {
  assert.equal(integratedAddress(STANDARD, '0123456789abcdef'), INTEGRATED);
  const parsed = parseMoneroAddress(INTEGRATED);
  assert.deepEqual([parsed.network, parsed.kind, parsed.paymentId], ['mainnet', 'integrated', '0123456789abcdef']);
  const std = parseMoneroAddress(STANDARD);
  assert.deepEqual([std.network, std.kind], ['mainnet', 'standard']);
  assert.deepEqual(Buffer.from(std.spendKey), Buffer.from(parsed.spendKey));
});

test('Monero base58 round-trips every length, block by block', () => {
  for (let n = 0; n <= 80; n++) {
    const data = crypto.randomBytes(n);
    const text = base58Encode(data);
    assert.equal(text.length, Math.floor(n / 8) * 11 + [0, 2, 3, 5, 6, 7, 9, 10, 11][n % 8]!);
    assert.deepEqual(Buffer.from(base58Decode(text)), data);
  }
  // Leading zero bytes are kept (unlike Bitcoin's base58): a zero block is all "1"s.
  assert.equal(base58Encode(new Uint8Array(8)), '11111111111');
});

test('refuses typos, wrong kinds and bad payment ids with a code', () => {
  const typo = STANDARD.slice(0, 50) + (STANDARD[50] === 'a' ? 'b' : 'a') + STANDARD.slice(51);
  assert.throws(() => parseMoneroAddress(typo), { code: 'monero_address_invalid', message: /checksum/ });
  assert.throws(() => parseMoneroAddress(STANDARD.slice(0, 94) + '0'), { code: 'monero_address_invalid', message: /character "0"/ });
  assert.throws(() => parseMoneroAddress('4short'), { code: 'monero_address_invalid' });
  assert.throws(() => integratedAddress(INTEGRATED, '0123456789abcdef'), { code: 'monero_address_invalid', message: /standard address/ });
  assert.throws(() => integratedAddress(STANDARD, '0000000000000000'), { code: 'invalid_pid' });
  assert.throws(() => integratedAddress(STANDARD, '0123456789ABCDEF'), { code: 'invalid_pid' });
  // An overflowing block ("zzzzzzzzzzz" is above 2^64) is refused, not wrapped.
  assert.throws(() => base58Decode('zzzzzzzzzzz'), { code: 'monero_address_invalid', message: /overflows/ });
});
