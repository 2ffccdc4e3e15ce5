// Money is integers: bigint minor units inside, decimal strings in JSON ("12.5").
// A chain fixes its number of decimals at genesis.
import { fail } from './errors.js';
import { limits } from './limits.js';

const DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

/** Parse a JSON amount into minor units; every refusal has its own code. */
export function parseAmount(value: unknown, decimals: number, what = 'amount'): bigint {
  if (typeof value === 'number') {
    fail('amount_not_string', `${what} must be a decimal string such as "12.5", not a JSON number`, {
      hint: 'quote the amount: JSON numbers lose precision',
    });
  }
  if (typeof value !== 'string') fail('amount_invalid', `${what} must be a decimal string`);
  if (value.startsWith('-')) fail('amount_negative', `${what} must not be negative`);
  if (value.length > 40) fail('amount_overflow', `${what} is too long`);
  const m = DECIMAL.exec(value);
  if (!m) {
    fail('amount_invalid', `${what} "${value}" is not a plain decimal (digits, one optional point, no exponent, no sign, no leading zeros)`);
  }
  const whole = m[1]!;
  const frac = m[2] ?? '';
  if (frac.length > decimals) {
    fail('amount_too_precise', `${what} has ${frac.length} decimals; this chain allows at most ${decimals}`);
  }
  const minor = BigInt(whole + frac.padEnd(decimals, '0'));
  if (minor > limits.amountMinorMax) fail('amount_overflow', `${what} exceeds the largest amount (2^63-1 minor units)`);
  return minor;
}

export function parsePositiveAmount(value: unknown, decimals: number, what = 'amount'): bigint {
  const minor = parseAmount(value, decimals, what);
  if (minor === 0n) fail('amount_zero', `${what} must be greater than zero`);
  return minor;
}

/** Minor units to the shortest decimal string ("12.5", "-3", "0.000001"). */
export function formatAmount(minor: bigint, decimals: number): string {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const frac = decimals > 0 ? digits.slice(digits.length - decimals).replace(/0+$/, '') : '';
  return (negative ? '-' : '') + whole + (frac ? '.' + frac : '');
}
