import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAmount, parseAmount, parsePositiveAmount } from './amount.js';
import { TallyError } from './errors.js';

const MAX = (1n << 63n) - 1n; // 9223372036854775807

function refuses(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TallyError, `expected a TallyError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.status, 400);
    return true;
  });
}

test('amount_not_string for JSON numbers', () => {
  for (const n of [0, 1, 12.5, -1, 1e5, Number.NaN]) refuses(() => parseAmount(n, 2), 'amount_not_string');
  refuses(() => parsePositiveAmount(5, 2), 'amount_not_string');
  const err = (() => {
    try {
      parseAmount(1, 2);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof TallyError && err.hint !== undefined);
});

test('amount_invalid for non-strings that are not numbers', () => {
  for (const v of [null, undefined, true, 1n, {}, ['1']]) refuses(() => parseAmount(v, 2), 'amount_invalid');
});

test('amount_negative', () => {
  for (const v of ['-1', '-0', '-0.5', '-9223372036854775808']) refuses(() => parseAmount(v, 2), 'amount_negative');
});

test('amount_invalid for anything but a plain decimal', () => {
  const bad = [
    '', '1e5', '1E5', '01', '00', '00.5', '1.', '.5', '.', ' 1', '1 ', '+1', '0x10', '0b1', '1,5', '1..2', '1.2.3',
    'abc', 'NaN', 'Infinity', '\u0661', '1\n', '\t1', '1_000',
  ];
  for (const v of bad) refuses(() => parseAmount(v, 2), 'amount_invalid');
});

test('amount_too_precise', () => {
  refuses(() => parseAmount('1.234', 2), 'amount_too_precise');
  refuses(() => parseAmount('0.1', 0), 'amount_too_precise');
  refuses(() => parseAmount('1.0', 0), 'amount_too_precise');
  refuses(() => parseAmount('0.0000000000000000001', 18), 'amount_too_precise');
  assert.equal(parseAmount('0.000000000000000001', 18), 1n);
  assert.equal(parseAmount('1.50', 2), 150n);
});

test('accepts exactly 2^63-1 minor units and refuses 2^63 (amount_overflow)', () => {
  assert.equal(parseAmount('9223372036854775807', 0), MAX);
  refuses(() => parseAmount('9223372036854775808', 0), 'amount_overflow');
  assert.equal(parseAmount('92233720368547758.07', 2), MAX);
  refuses(() => parseAmount('92233720368547758.08', 2), 'amount_overflow');
  refuses(() => parseAmount('92233720368547758.070', 3), 'amount_overflow');
  refuses(() => parseAmount('92233720368547758.07', 3), 'amount_overflow');
  assert.equal(parseAmount('9.223372036854775807', 18), MAX);
  refuses(() => parseAmount('9.223372036854775808', 18), 'amount_overflow');
  refuses(() => parseAmount('10', 18), 'amount_overflow');
  assert.equal(parsePositiveAmount('9223372036854775807', 0), MAX);
});

test('amount_overflow for very long strings', () => {
  refuses(() => parseAmount('1' + '0'.repeat(19), 0), 'amount_overflow');
  refuses(() => parseAmount('9'.repeat(41), 0), 'amount_overflow');
  refuses(() => parseAmount('9'.repeat(10_000), 2), 'amount_overflow');
  refuses(() => parseAmount('1' + '0'.repeat(1_000_000), 0), 'amount_overflow');
  refuses(() => parseAmount('1.' + '0'.repeat(100), 2), 'amount_overflow');
});

test('amount_zero from parsePositiveAmount only', () => {
  for (const [v, d] of [['0', 0], ['0', 2], ['0.0', 2], ['0.00', 2], ['0.000000000000000000', 18]] as const) {
    assert.equal(parseAmount(v, d), 0n);
    refuses(() => parsePositiveAmount(v, d), 'amount_zero');
  }
  assert.equal(parsePositiveAmount('0.01', 2), 1n);
  refuses(() => parsePositiveAmount('-1', 2), 'amount_negative');
  refuses(() => parsePositiveAmount('1e5', 2), 'amount_invalid');
});

test('the field name appears in messages', () => {
  assert.throws(() => parseAmount('x', 2, 'fee'), (e: unknown) => e instanceof TallyError && e.message.startsWith('fee '));
});

test('parse examples', () => {
  assert.equal(parseAmount('0', 0), 0n);
  assert.equal(parseAmount('12', 0), 12n);
  assert.equal(parseAmount('12', 2), 1200n);
  assert.equal(parseAmount('12.5', 2), 1250n);
  assert.equal(parseAmount('12.05', 2), 1205n);
  assert.equal(parseAmount('0.5', 6), 500000n);
  assert.equal(parseAmount('0.000001', 6), 1n);
  assert.equal(parseAmount('1', 18), 1_000_000_000_000_000_000n);
});

test('format examples', () => {
  assert.equal(formatAmount(0n, 0), '0');
  assert.equal(formatAmount(0n, 2), '0');
  assert.equal(formatAmount(0n, 18), '0');
  assert.equal(formatAmount(1250n, 2), '12.5');
  assert.equal(formatAmount(1200n, 2), '12');
  assert.equal(formatAmount(1205n, 2), '12.05');
  assert.equal(formatAmount(5n, 2), '0.05');
  assert.equal(formatAmount(1n, 6), '0.000001');
  assert.equal(formatAmount(1n, 18), '0.000000000000000001');
  assert.equal(formatAmount(10n, 0), '10');
  assert.equal(formatAmount(MAX, 0), '9223372036854775807');
  assert.equal(formatAmount(MAX, 2), '92233720368547758.07');
  assert.equal(formatAmount(MAX, 18), '9.223372036854775807');
});

test('negative format (the mint account goes below zero)', () => {
  assert.equal(formatAmount(-1n, 0), '-1');
  assert.equal(formatAmount(-3n, 0), '-3');
  assert.equal(formatAmount(-5n, 2), '-0.05');
  assert.equal(formatAmount(-1250n, 2), '-12.5');
  assert.equal(formatAmount(-1200n, 2), '-12');
  assert.equal(formatAmount(-1n, 18), '-0.000000000000000001');
  assert.equal(formatAmount(-MAX, 2), '-92233720368547758.07');
  assert.equal(formatAmount(-MAX * 3n, 0), '-27670116110564327421');
  assert.equal(formatAmount(-0n, 2), '0');
});

test('round trip: format(parse(x)) === x for canonical decimal strings', () => {
  const byDecimals: Record<number, string[]> = {
    0: ['0', '1', '9', '10', '100', '12345', '4294967296', '9007199254740993', '9223372036854775807'],
    2: ['0', '0.01', '0.1', '0.99', '1', '1.5', '12.5', '12.05', '100', '100.01', '92233720368547758.07'],
    6: ['0', '0.000001', '0.00001', '0.5', '1.000001', '123.456789', '9223372036854.775807'],
    8: ['0.00000001', '21000000', '20999999.9769'],
    18: ['0', '0.000000000000000001', '0.1', '1', '1.000000000000000001', '9.223372036854775807', '0.123456789012345678'],
  };
  for (const [d, values] of Object.entries(byDecimals)) {
    for (const x of values) assert.equal(formatAmount(parseAmount(x, Number(d)), Number(d)), x, `${x} @ ${d}`);
  }
  // Non-canonical but accepted spellings normalize (trailing fraction zeros).
  assert.equal(formatAmount(parseAmount('1.50', 2), 2), '1.5');
  assert.equal(formatAmount(parseAmount('2.000000000000000000', 18), 18), '2');
});

test('round trip: parse(format(m)) === m for many minor-unit values, 0..18 decimals', () => {
  let seed = 0x2545f4914f6cdd1dn;
  const next = (): bigint => {
    // xorshift64, deterministic
    seed ^= (seed << 13n) & 0xffffffffffffffffn;
    seed ^= seed >> 7n;
    seed ^= (seed << 17n) & 0xffffffffffffffffn;
    return seed;
  };
  const fixed = [0n, 1n, 9n, 10n, 99n, 100n, 101n, 10n ** 18n, 10n ** 18n + 1n, MAX - 1n, MAX];
  for (let d = 0; d <= 18; d++) {
    const values = [...fixed];
    for (let k = 0; k < 200; k++) values.push(next() % (MAX + 1n) >> BigInt(k % 64));
    for (const m of values) {
      const text = formatAmount(m, d);
      assert.equal(parseAmount(text, d), m, `${m} @ ${d} -> ${text}`);
      assert.equal(formatAmount(parseAmount(text, d), d), text);
      assert.equal(formatAmount(-m, d), m === 0n ? '0' : '-' + text);
    }
  }
});
