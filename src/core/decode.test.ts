import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { array, bool, decode, int, intFlag, object, oneOf, optional, string, withCode, withDefault } from './decode.js';

const schema = object({
  name: string({ pattern: /^[a-z]+$/, maxLength: 8, what: 'a lowercase word' }),
  nonce: withCode('bad_nonce', int({ min: 0 })),
  memo: optional(withCode('memo_invalid', string({ nonEmpty: false, maxBytes: 4, tooLongCode: 'memo_too_long' }))),
  size: withDefault(int({ min: 1, max: 10 }), 5),
  kind: withDefault(oneOf(['a', 'b'] as const), 'a'),
  tags: withDefault(array(string(), { maxItems: 2 }), []),
});
const ok = { name: 'abc', nonce: 0 };

function refusal(value: unknown): { code: string; message: string; details: Record<string, unknown> } {
  try {
    decode(schema, value, 'bad_thing', 'thing');
  } catch (err) {
    return err as never;
  }
  throw new Error('accepted');
}

describe('decode', () => {
  it('returns the decoded value with defaults and without absent optionals', () => {
    assert.deepEqual(decode(schema, ok, 'bad_thing', 'thing'), { name: 'abc', nonce: 0, size: 5, kind: 'a', tags: [] });
    assert.deepEqual(decode(schema, { ...ok, memo: '', tags: ['x'] }, 'bad_thing', 'thing'), { name: 'abc', nonce: 0, memo: '', size: 5, kind: 'a', tags: ['x'] });
  });

  it('refuses with the caller\'s code and names the field', () => {
    const e = refusal({ ...ok, extra: 1 });
    assert.equal(e.code, 'bad_thing');
    assert.equal(e.details.field, 'extra');
    assert.match(e.message, /^thing\.extra is not a known field/);
    assert.equal(refusal('x').code, 'bad_thing');
    assert.equal(refusal(null).code, 'bad_thing');
    assert.equal(refusal([]).code, 'bad_thing');
    const missing = refusal({ nonce: 0 });
    assert.equal(missing.message, 'thing.name is missing: it must be a lowercase word');
    assert.equal(missing.details.field, 'name');
    assert.match(refusal({ ...ok, name: 'ABC' }).message, /^thing\.name must be a lowercase word$/);
    assert.match(refusal({ ...ok, name: 'abcdefghi' }).message, /at most 8 characters/);
    assert.equal(refusal({ ...ok, size: 11 }).message, 'thing.size must be an integer from 1 to 10');
    assert.equal(refusal({ ...ok, kind: 'c' }).message, 'thing.kind must be "a" or "b"');
    const tag = refusal({ ...ok, tags: ['ok', ''] });
    assert.equal(tag.details.path, 'thing.tags[1]');
    assert.equal(tag.details.field, '1');
    assert.match(refusal({ ...ok, tags: ['a', 'b', 'c'] }).message, /thing\.tags must be an array of 0 to 2 entries/);
  });

  it('a field can carry a finer code', () => {
    for (const nonce of [-1, 1.5, '1', null, 2 ** 53]) assert.equal(refusal({ ...ok, nonce }).code, 'bad_nonce', String(nonce));
    assert.equal(refusal({ ...ok, memo: 5 }).code, 'memo_invalid');
    assert.equal(refusal({ ...ok, memo: 'ééé' }).code, 'memo_too_long'); // 6 bytes of UTF-8
    assert.equal(decode(schema, { ...ok, memo: 'éé' }, 'x', 'x').memo, 'éé');
  });

  it('inherited and __proto__ keys are not fields', () => {
    assert.equal(refusal(JSON.parse('{"name":"abc","nonce":0,"__proto__":{"x":1}}')).details.field, '__proto__');
    assert.equal(refusal(Object.create({ name: 'abc', nonce: 0 })).details.field, 'name');
  });

  it('integer flags take decimal digits only, within range', () => {
    const f = intFlag('--block-txs', 1, 4000);
    assert.equal(f('4000'), 4000);
    assert.equal(f('1'), 1);
    for (const bad of ['abc', '0', '4001', '1e3', '0x10', ' 7', '', '1.0', 'NaN', '-1', '99999999999999999']) {
      assert.throws(() => f(bad), (e: { code: string; message: string }) => e.code === 'bad_flag' && e.message.startsWith('--block-txs must be an integer from 1 to 4000'), bad);
    }
  });

  it('booleans and integers from text only where asked', () => {
    assert.equal(decode(bool({ text: true }), '1', 'c', 'p'), true);
    assert.equal(decode(bool({ text: true }), 'false', 'c', 'p'), false);
    assert.throws(() => decode(bool(), 'true', 'c', 'p'), { code: 'c' });
    assert.equal(decode(int({ min: 0, text: true }), '12', 'c', 'p'), 12);
    assert.throws(() => decode(int({ min: 0 }), '12', 'c', 'p'), { code: 'c' });
  });
});
