// Digit decomposition (dlcspecs Oracle.md): an outcome is signed digit by digit, most
// significant first, each digit as its base-10 string ("0" .. "15" in base 16), after a
// "+" / "-" sign digit when the event is signed. Values beyond the digits' range are
// attested at the bound ("max or more", "min or less"); an unsigned event attests a
// negative value as 0.

export interface DigitShape {
  base: number;
  signed: boolean;
  digits: number;
}

export const BASE_MIN = 2;
export const BASE_MAX = 16;
export const DIGITS_MAX = 24;
/** Outcomes stay within a signed 64-bit integer: base^digits - 1 may not exceed this. */
export const OUTCOME_ABS_MAX = (1n << 63n) - 1n;

/** The largest magnitude the digits can carry: base^digits - 1. */
export function magnitudeMax(shape: DigitShape): bigint {
  return BigInt(shape.base) ** BigInt(shape.digits) - 1n;
}

/** How many nonces (and signatures) an event has: one per digit, one more for the sign. */
export function nonceCount(shape: DigitShape): number {
  return shape.digits + (shape.signed ? 1 : 0);
}

const DIGIT_TEXT = /^(?:0|[1-9][0-9]?)$/;

/** Whether `text` is a valid outcome string at position `i` (sign first when signed). */
export function validDigitText(shape: DigitShape, i: number, text: string): boolean {
  if (shape.signed && i === 0) return text === '+' || text === '-';
  return DIGIT_TEXT.test(text) && Number(text) < shape.base;
}

/**
 * The integer the outcome strings stand for (sign applied; "-" with all digits 0 is 0),
 * and whether it is a bound of the range: ±(base^digits - 1), or 0 for an unsigned event
 * (which stands for "0 or less").
 */
export function composeOutcome(shape: DigitShape, outcomes: readonly string[]): { outcome: bigint; atBound: boolean } {
  const start = shape.signed ? 1 : 0;
  let magnitude = 0n;
  const base = BigInt(shape.base);
  for (let i = start; i < outcomes.length; i++) magnitude = magnitude * base + BigInt(outcomes[i]!);
  const outcome = shape.signed && outcomes[0] === '-' ? -magnitude : magnitude;
  const atBound = magnitude === magnitudeMax(shape) || (!shape.signed && magnitude === 0n);
  return { outcome, atBound };
}

/** The outcome strings an oracle signs for `value`, clamped to the range; `clamped` says it was beyond. */
export function decomposeValue(shape: DigitShape, value: bigint): { outcomes: string[]; clamped: boolean } {
  const max = magnitudeMax(shape);
  let negative = value < 0n;
  let magnitude = negative ? -value : value;
  let clamped = false;
  if (negative && !shape.signed) {
    negative = false;
    magnitude = 0n;
    clamped = true;
  }
  if (magnitude > max) {
    magnitude = max;
    clamped = true;
  }
  const digits: string[] = [];
  const base = BigInt(shape.base);
  for (let i = 0; i < shape.digits; i++) {
    digits.unshift((magnitude % base).toString());
    magnitude /= base;
  }
  return { outcomes: shape.signed ? [negative ? '-' : '+', ...digits] : digits, clamped };
}

const DECIMAL = /^(-?)(\d{1,40})(?:\.(\d{1,40}))?$/;

/**
 * The integer outcome for a decimal value at a precision (value = outcome × 10^precision),
 * rounded half away from zero: "97123.456" at precision -2 is 9712346. Exact, no floats.
 */
export function decimalToOutcome(text: string, precision: number): bigint {
  const m = DECIMAL.exec(text.trim());
  if (!m) throw new RangeError(`"${text.slice(0, 48)}" is not a decimal number`);
  const frac = m[3] ?? '';
  const n = BigInt(m[2]! + frac);
  const shift = frac.length + precision; // value = n / 10^frac; outcome = n / 10^(frac + precision)
  let magnitude: bigint;
  if (shift <= 0) magnitude = n * 10n ** BigInt(-shift);
  else {
    const d = 10n ** BigInt(shift);
    magnitude = n / d + ((n % d) * 2n >= d ? 1n : 0n);
  }
  return m[1] === '-' ? -magnitude : magnitude;
}
