// Digit decomposition: values to signed digits and back, clamping at the bounds, and
// decimal prices to integer outcomes without floats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeOutcome, decimalToOutcome, decomposeValue, magnitudeMax, validDigitText } from './digits.js';

test('decompose and compose are inverse inside the range, and clamp outside it', () => {
  const shapes = [{ base: 10, signed: true, digits: 3 }, { base: 2, signed: false, digits: 10 }, { base: 16, signed: true, digits: 4 }];
  for (const s of shapes) {
    const max = magnitudeMax(s);
    for (const v of [0n, 1n, 7n, max - 1n, max, -1n, -max]) {
      if (v < 0n && !s.signed) continue;
      const { outcomes, clamped } = decomposeValue(s, v);
      assert.equal(clamped, false);
      outcomes.forEach((t, i) => assert.ok(validDigitText(s, i, t), `${t} at ${i}`));
      assert.equal(composeOutcome(s, outcomes).outcome, v);
    }
    const over = decomposeValue(s, max + 1000n);
    assert.deepEqual([over.clamped, composeOutcome(s, over.outcomes)], [true, { outcome: max, atBound: true }]);
  }
  assert.deepEqual(decomposeValue({ base: 16, signed: false, digits: 2 }, 255n).outcomes, ['15', '15'], 'base-16 digits are written in base 10');
  assert.deepEqual(decomposeValue({ base: 10, signed: true, digits: 2 }, -120n), { outcomes: ['-', '9', '9'], clamped: true });
  assert.deepEqual(decomposeValue({ base: 10, signed: false, digits: 2 }, -5n), { outcomes: ['0', '0'], clamped: true }, 'unsigned: a negative value is 0');
  assert.equal(composeOutcome({ base: 10, signed: false, digits: 2 }, ['0', '0']).atBound, true, '0 is the lower bound of an unsigned event');
  assert.equal(composeOutcome({ base: 10, signed: true, digits: 2 }, ['-', '0', '0']).outcome, 0n);
  assert.equal(composeOutcome({ base: 10, signed: true, digits: 2 }, ['+', '0', '0']).atBound, false);
  for (const bad of ['16', '-', '01', ' 1', '1.0', '']) assert.equal(validDigitText({ base: 16, signed: false, digits: 2 }, 0, bad), false, bad);
});

test('decimal prices to outcomes at a precision, rounded half away from zero', () => {
  const cases: Array<[string, number, bigint]> = [
    ['97123.456', -2, 9712346n], ['97123.454', -2, 9712345n], ['97123', -2, 9712300n], ['-1.005', -2, -101n],
    ['123456', 2, 1235n], ['149', 2, 1n], ['150', 2, 2n], ['0.5', 0, 1n], ['0', 0, 0n], ['1.25', -1, 13n],
  ];
  for (const [text, precision, want] of cases) assert.equal(decimalToOutcome(text, precision), want, `${text} @ ${precision}`);
  for (const bad of ['1e3', '0x10', '', '1.', '.5', '--1', 'NaN']) assert.throws(() => decimalToOutcome(bad, 0), RangeError, bad);
});
