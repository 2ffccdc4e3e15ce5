import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from './canonical.js';
import { TallyError } from './errors.js';

/** A double from its big-endian IEEE 754 bit pattern (RFC 8785 Appendix B notation). */
function double(bits: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
}

test('RFC 8785 §3.2.3 sorting example: keys ordered by UTF-16 code units', () => {
  // Built from code points so the source file itself stays ASCII.
  const input = JSON.parse(String.raw`{
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  }`) as unknown;
  const expected =
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control",' +
    '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",' +
    '"\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
  assert.equal(canonicalJson(input), expected);
});

test('surrogate-pair keys sort by code unit (U+1F600 before U+FB33), not by code point', () => {
  // By code point U+FB33 < U+1F600; by UTF-16 code unit 0xD83D < 0xFB33.
  const out = canonicalJson({ '\ufb33': 1, '\ud83d\ude00': 2, '\uffff': 3, '\ud800\udc00': 4 });
  assert.equal(out, '{"\ud800\udc00":4,"\ud83d\ude00":2,"\ufb33":1,"\uffff":3}');
});

test('keys: shorter prefix first, uppercase before lowercase, insertion order irrelevant', () => {
  assert.equal(canonicalJson({ ab: 1, a: 2, B: 3, b: 4, '': 5 }), '{"":5,"B":3,"a":2,"ab":1,"b":4}');
  assert.equal(canonicalJson({ b: 1, a: 2 }), canonicalJson({ a: 2, b: 1 }));
});

test('RFC 8785 §3.2.2 example: numbers, string escaping and literals', () => {
  const input = JSON.parse(String.raw`{
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  }`) as unknown;
  const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"` +
    '\u20ac' + String.raw`$\u000f\nA'B\"\\\\\"/"}`;
  const out = canonicalJson(input);
  assert.equal(out, expected);
  // The euro sign goes out as raw UTF-8 (e2 82 ac), U+000F as the six ASCII bytes \u000f.
  assert.ok(Buffer.from(out, 'utf8').toString('hex').includes('e282ac245c7530303066'));
});

test('string escaping: control characters, quotes, backslash; no escaping of /, non-ASCII or emoji', () => {
  assert.equal(canonicalJson('\u000f'), '"\\u000f"');
  assert.equal(canonicalJson('\u0000\u001f'), '"\\u0000\\u001f"');
  assert.equal(canonicalJson('\b\t\n\f\r'), '"\\b\\t\\n\\f\\r"');
  assert.equal(canonicalJson('"\\'), '"\\"\\\\"');
  assert.equal(canonicalJson('/'), '"/"');
  assert.equal(canonicalJson('\u007f'), '"\u007f"');
  assert.equal(canonicalJson('\u20ac'), '"\u20ac"');
  assert.equal(canonicalJson('\ud83d\ude00'), '"\ud83d\ude00"');
  assert.equal(Buffer.from(canonicalJson('\u20ac'), 'utf8').toString('hex'), '22e282ac22');
  assert.equal(Buffer.from(canonicalJson('\ud83d\ude00'), 'utf8').toString('hex'), '22f09f988022');
  // Parsed escapes come out in their canonical form.
  assert.equal(canonicalJson(JSON.parse('"\\u000F\\u0041\\/"')), '"\\u000fA/"');
});

test('nested arrays and objects are canonicalized recursively, array order kept', () => {
  const value = { z: [3, { y: 1, x: [true, null, { b: 'b', a: 'a' }] }, []], a: {}, m: { n: { p: 0, o: -1 } } };
  assert.equal(
    canonicalJson(value),
    '{"a":{},"m":{"n":{"o":-1,"p":0}},"z":[3,{"x":[true,null,{"a":"a","b":"b"}],"y":1},[]]}',
  );
  const pretty = `{
    "m" : { "n" : { "p" : 0 , "o" : -1 } },
    "z" : [ 3 , { "y" : 1 , "x" : [ true , null , { "b" : "b" , "a" : "a" } ] } , [ ] ],
    "a" : { }
  }`;
  assert.equal(canonicalJson(JSON.parse(pretty)), canonicalJson(value));
});

test('top-level scalars', () => {
  assert.equal(canonicalJson(null), 'null');
  assert.equal(canonicalJson(true), 'true');
  assert.equal(canonicalJson(false), 'false');
  assert.equal(canonicalJson(''), '""');
  assert.equal(canonicalJson([]), '[]');
  assert.equal(canonicalJson({}), '{}');
});

test('integers serialize without exponent, fraction or sign noise', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [-0, '0'],
    [1, '1'],
    [-1, '-1'],
    [10, '10'],
    [100, '100'],
    [123456789, '123456789'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    [-Number.MAX_SAFE_INTEGER, '-9007199254740991'],
    [1e20, '100000000000000000000'],
    [1e21, '1e+21'],
  ];
  for (const [n, s] of cases) assert.equal(canonicalJson(n), s, `number ${n}`);
  assert.equal(canonicalJson({ n: -0 }), '{"n":0}');
  assert.equal(canonicalJson([-0, 0]), '[0,0]');
});

test('RFC 8785 number examples', () => {
  const parsed = JSON.parse('[1e+30, 1E30, 4.50, 4.5, 0.002, 2e-3, 1E-7, 1e-7, -0, 0.000001, 1e-27]') as unknown;
  assert.equal(canonicalJson(parsed), '[1e+30,1e+30,4.5,4.5,0.002,0.002,1e-7,1e-7,0,0.000001,1e-27]');
  assert.equal(canonicalJson(1e30), '1e+30');
  assert.equal(canonicalJson(4.5), '4.5');
  assert.equal(canonicalJson(0.002), '0.002');
  assert.equal(canonicalJson(1e-7), '1e-7');
  assert.equal(canonicalJson(-0), '0');
});

test('RFC 8785 Appendix B: IEEE 754 bit patterns to text', () => {
  const table: [string, string][] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  for (const [bits, text] of table) assert.equal(canonicalJson(double(bits)), text, `0x${bits}`);
});

test('values outside the JSON data model are refused', () => {
  assert.throws(() => canonicalJson(undefined), (e: unknown) => e instanceof TallyError && e.code === 'bad_json');
  assert.throws(() => canonicalJson(() => 1), (e: unknown) => e instanceof TallyError && e.code === 'bad_json');
  assert.throws(() => canonicalJson(Number.NaN));
  assert.throws(() => canonicalJson(Number.POSITIVE_INFINITY));
  assert.throws(() => canonicalJson({ n: Number.NEGATIVE_INFINITY }));
  assert.throws(() => canonicalJson('\ud800'));
  assert.throws(() => canonicalJson({ ['\udc00']: 1 }));
});
