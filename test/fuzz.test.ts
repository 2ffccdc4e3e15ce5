// Seeded fuzzing of one real node: about 1,500 hostile inputs over public HTTP and the
// Unix socket (mutated signed transactions, random JSON of every type, random bytes, wrong
// content types, random path parameters, oversized and split socket lines). Invariants: no
// 5xx, every error is {error: {code, message}}, every socket reply is signed and never
// `internal`, the node stays up, and afterwards the chain holds exactly the transactions
// this file signed, balances and nonces agree with their receipts, and `tally chain verify`
// passes on the stopped data directory.
//
// Deterministic: every input comes from mulberry32(SEED). To reproduce a failure, run the
// file again (the seed is in the test name); FUZZ_SEED=<n> explores another seed. The
// failure message names the input number, its kind and the exact input.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { parseAmount } from '../src/core/amount.js';
import { txId, type Envelope, type Receipt } from '../src/chain/envelope.js';
import {
  cleanup, cli, getOk, httpPost, makeTx, newAccount, RawSocket, replySignatureValid, startNode, tempDir, withTimeout,
  type Account, type NodeProcess, type SocketReply,
} from './helpers.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : 0x7a11_f022;
const SEED_HEX = `0x${SEED.toString(16).padStart(8, '0')}`;
const INPUTS = 1500;
const LINE_MAX = 64 * 1024; // the node's socket line limit (limits.socketLineBytesMax)
const CODE = /^[a-z_]+$/;
const DECIMALS = 6;

// ---------------------------------------------------------------------------------------
// Known product bugs. Inputs in these classes are still generated; the fuzz either does not
// send them (they would kill the node) or accepts exactly the known wrong answer, and counts
// them. The `todo` tests at the end of this file reproduce each one and pass once fixed;
// then delete the matching allowance here.

/**
 * BUG 1 (socket): a reply that contains a lone surrogate, a non-finite number or very deep
 * nesting cannot be canonicalized for signing; signReply throws inside handleLine's catch,
 * the rejection is unhandled and the node process exits (src/api/socket.ts handleLine/send
 * -> signReply -> canonicalJson). The id is echoed in every reply, and method names, query
 * names, amounts and unknown field names are echoed in error messages, so any request
 * object carrying such a value anywhere is treated as in this class and not sent.
 */
function inSignerCrashClass(line: string): boolean {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return false; // malformed: answered with a fixed bad_json reply
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return hostileForCanonicalJson(v, 0);
}

function hostileForCanonicalJson(v: unknown, depth: number): boolean {
  if (depth > 500) return true;
  if (typeof v === 'number') return !Number.isFinite(v);
  if (typeof v === 'string') return hasLoneSurrogate(v);
  if (Array.isArray(v)) return v.some((x) => hostileForCanonicalJson(x, depth + 1));
  if (v && typeof v === 'object') {
    return Object.entries(v).some(([k, x]) => hasLoneSurrogate(k) || hostileForCanonicalJson(x, depth + 1));
  }
  return false;
}

function hasLoneSurrogate(s: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/**
 * BUG 2 (HTTP): a path the router cannot decode (FST_ERR_BAD_URL, e.g. %ZZ or %ED%A0%80) or
 * a path parameter over 200 characters (FST_ERR_MAX_PARAM_LENGTH, 414) is answered with
 * Fastify's default body {"error":"Bad Request","code":"FST_ERR_...",...}, not the API's
 * {"error": {"code", "message"}} (src/api/http.ts buildPublicHttp: no frameworkErrors).
 */
function knownHttpDeviation(status: number, body: any): string | undefined {
  if (status === 400 && body?.code === 'FST_ERR_BAD_URL' && typeof body.error === 'string') return 'FST_ERR_BAD_URL';
  if (status === 414 && body?.code === 'FST_ERR_MAX_PARAM_LENGTH' && typeof body.error === 'string') return 'FST_ERR_MAX_PARAM_LENGTH';
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Deterministic randomness

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** pick by weight: [[weight, value], ...] */
  weighted<T>(items: ReadonlyArray<readonly [number, T]>): T {
    const total = items.reduce((s, [w]) => s + w, 0);
    let r = this.next() * total;
    for (const [w, v] of items) {
      r -= w;
      if (r < 0) return v;
    }
    return items[items.length - 1]![1];
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

// ---------------------------------------------------------------------------------------
// Random JSON, generated as text so it can hold what JSON.stringify cannot write
// (-0, 1e400, integers past 2^53, duplicate keys)

const STRING_CHARS = [
  'a', 'b', 'z', 'A', 'Z', '0', '1', '9', ' ', '-', '_', '.', '/', '%', '"', '\\', '\n', '\t', '\u0000', '\u001f',
  'é', '☃', '😀', '\u2028', '\ufeff', '\ud800', '\udfff', '\uffff', '{', '}', '[', ']', ':', ',',
];
const KEYS = [
  'tx', 'pub', 'sig', 'chain', 'type', 'from', 'nonce', 'expires', 'body', 'to', 'amount', 'memo', 'id', 'method',
  'params', 'txs', 'name', 'account', 'height', 'full', '__proto__', 'constructor', 'prototype', 'toString', '', 'é', '\ud800',
];
const ATOMS = [
  'null', 'true', 'false', '0', '-0', '1', '-1', '1e308', '-1e308', '1e400', '-1e400', '5e-324', '9007199254740993',
  '123456789012345678901234567890123456789', '-99999999999999999999999', '0.1', '1.5', '-5', '1E2', '2e-7', '0.0',
  '"NaN"', '"Infinity"', '"-Infinity"', '"-0"', '"1e3"', '""', '{}', '[]', '"\\ud800"', '"\\udfff\\ud800"', '"a\\u0000b"',
  '"\\u00e9\\u2603"', '"bob"', '"alice"', '"mint"', '"tally-dev"', '"ledger.send"', '"ledger.register"', '"1"', '"0.000001"',
];

function randString(rng: Rng, maxLen: number): string {
  const n = rng.chance(0.8) ? rng.int(Math.min(maxLen, 24) + 1) : rng.int(maxLen + 1);
  let s = '';
  const fill = rng.chance(0.3) ? rng.pick(STRING_CHARS) : undefined; // long runs of one char are cheap to make
  for (let i = 0; i < n; i++) s += fill ?? rng.pick(STRING_CHARS);
  return s;
}

function deepText(rng: Rng, levels: number): string {
  if (rng.chance(0.5)) return '['.repeat(levels) + rng.pick(ATOMS) + ']'.repeat(levels);
  return '{"a":'.repeat(levels) + rng.pick(ATOMS) + '}'.repeat(levels);
}

function randJson(rng: Rng, depth = 0): string {
  const kind = rng.weighted<string>([
    [10, 'atom'], [3, 'int'], [2, 'float'], [4, 'string'], [1, 'long'], [1, 'deep'], [3, 'array'], [3, 'object'],
  ]);
  switch (kind) {
    case 'atom': return rng.pick(ATOMS);
    case 'int': return String(rng.range(-1000, 1_000_000));
    case 'float': return String((rng.float() - 0.5) * 10 ** rng.range(-10, 30));
    case 'string': return JSON.stringify(randString(rng, 64));
    case 'long': return JSON.stringify(randString(rng, 10 * 1024));
    case 'deep': return deepText(rng, rng.range(40, 50));
    case 'array': {
      if (depth > 3) return '[]';
      const items = Array.from({ length: rng.int(5) }, () => randJson(rng, depth + 1));
      return `[${items.join(',')}]`;
    }
    default: {
      if (depth > 3) return '{}';
      const fields = Array.from({ length: rng.int(5) }, () => `${JSON.stringify(rng.chance(0.8) ? rng.pick(KEYS) : randString(rng, 12))}:${randJson(rng, depth + 1)}`);
      return `{${fields.join(',')}}`;
    }
  }
}

/** A random JSON value whose type is not the one the field wants. */
function wrongTypeFor(rng: Rng, field: string): string {
  const byType: Record<string, string[]> = {
    object: ['null', '"x"', '0', '[]', '[{}]', 'true', '"{}"', '1e308'],
    string: ['null', '0', '-0', '1e308', '{}', '[]', 'true', '["x"]', '{"a":"b"}', '9007199254740993'],
    number: ['null', '"1"', '"0"', '{}', '[]', 'true', '"1e3"', '[1]', '"NaN"'],
  };
  const t = ['tx', 'body'].includes(field) ? 'object' : ['nonce', 'expires'].includes(field) ? 'number' : 'string';
  return rng.pick(byType[t]!);
}

// ---------------------------------------------------------------------------------------
// Transaction mutations

const MARK = '@@fuzz-mark@@';
const MUTATION_CHARS = ['{', '}', '[', ']', '"', ':', ',', '\\', '0', '1', '9', '-', '.', 'e', 'E', 'a', 'z', ' ', '\n', '\t', '\r', '\u0000', 'é', '😀', 'null', 'true', '\\u', '\\ud800'];
/** Object paths of an envelope a mutation may aim at. */
const FIELD_PATHS = [
  ['tx'], ['pub'], ['sig'], ['tx', 'chain'], ['tx', 'type'], ['tx', 'from'], ['tx', 'nonce'], ['tx', 'expires'], ['tx', 'body'],
  ['tx', 'body', 'to'], ['tx', 'body', 'amount'], ['tx', 'body', 'memo'], ['tx', 'body', 'name'],
];

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function parentOf(obj: any, path: string[]): any {
  let o = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof o !== 'object' || o === null) return undefined;
    o = o[k];
  }
  return typeof o === 'object' && o !== null ? o : undefined;
}

/** Put raw JSON text at `path` (creating the leaf if missing). */
function withRawAt(env: unknown, path: string[], raw: string): string {
  const copy = clone(env) as any;
  const parent = parentOf(copy, path);
  if (!parent) return JSON.stringify(copy);
  parent[path[path.length - 1]!] = MARK;
  return JSON.stringify(copy).replace(JSON.stringify(MARK), () => raw);
}

function charMutations(rng: Rng, text: string): string {
  let s = text;
  const ops = rng.range(1, 4);
  for (let i = 0; i < ops; i++) {
    const pos = rng.int(s.length + 1);
    const op = rng.pick(['flip', 'insert', 'delete', 'delete-run', 'duplicate'] as const);
    if (op === 'flip') s = s.slice(0, pos) + rng.pick(MUTATION_CHARS) + s.slice(pos + 1);
    else if (op === 'insert') s = s.slice(0, pos) + rng.pick(MUTATION_CHARS) + s.slice(pos);
    else if (op === 'delete') s = s.slice(0, pos) + s.slice(pos + 1);
    else if (op === 'delete-run') s = s.slice(0, pos) + s.slice(pos + rng.range(2, 40));
    else s = s.slice(0, pos) + s.slice(pos, pos + rng.range(1, 30)) + s.slice(pos);
  }
  return s;
}

// ---------------------------------------------------------------------------------------
// Checking answers

interface Stats {
  codes: Map<string, number>;
  receiptCodes: Map<string, number>;
  statuses: Map<number, number>;
  kinds: Map<string, number>;
  knownHttpDeviations: Map<string, number>;
  skippedSignerCrash: number;
}

function bump<K>(m: Map<K, number>, k: K, by = 1): void {
  m.set(k, (m.get(k) ?? 0) + by);
}

function isReceipt(v: any): v is Receipt {
  return typeof v === 'object' && v !== null && typeof v.id === 'string' && /^[0-9a-f]{64}$/.test(v.id) && (v.status === 'ok' || v.status === 'failed');
}

function checkErrorObject(err: any, where: string, stats: Stats): string {
  assert.ok(typeof err === 'object' && err !== null && !Array.isArray(err), `${where}: error is not an object: ${JSON.stringify(err)}`);
  assert.equal(typeof err.code, 'string', `${where}: error.code is not a string: ${JSON.stringify(err)}`);
  assert.match(err.code, CODE, `${where}: error.code is not a lowercase code`);
  assert.notEqual(err.code, 'internal', `${where}: internal error`);
  assert.equal(typeof err.message, 'string', `${where}: error.message is not a string: ${JSON.stringify(err)}`);
  bump(stats.codes, err.code as string);
  return err.code as string;
}

/** One submit result: a receipt, or {error, status} (socket) / {error} (HTTP batch element). */
function checkSubmitResult(r: any, where: string, stats: Stats, receipts: Receipt[]): void {
  if (isReceipt(r)) {
    receipts.push(r);
    if (r.status === 'failed') {
      assert.match(r.code ?? '', CODE, `${where}: failed receipt without a code`);
      bump(stats.receiptCodes, r.code!);
    }
    return;
  }
  assert.ok(r && typeof r === 'object' && 'error' in r, `${where}: neither a receipt nor an error: ${JSON.stringify(r)}`);
  checkErrorObject(r.error, where, stats);
  if ('status' in r) assert.ok(Number.isInteger(r.status) && r.status >= 400 && r.status < 500, `${where}: refusal status ${r.status}`);
}

// ---------------------------------------------------------------------------------------
// A socket client that keeps raw reply lines

class LineSocket {
  private buffer = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;
  closed = false;

  private constructor(private readonly conn: net.Socket) {
    conn.setEncoding('utf8');
    conn.on('data', (c: string) => {
      this.buffer += c;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
      }
      this.waiter?.();
    });
    conn.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    conn.on('error', () => undefined);
  }

  static connect(socketPath: string): Promise<LineSocket> {
    return withTimeout(new Promise((resolve, reject) => {
      const conn = net.createConnection(socketPath);
      conn.once('connect', () => resolve(new LineSocket(conn)));
      conn.once('error', reject);
    }), 5000, `connect to ${socketPath}`);
  }

  write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.conn.write(data, (err) => (err ? reject(err) : resolve())));
  }

  async nextLine(deadline: number): Promise<string> {
    while (this.lines.length === 0) {
      if (this.closed) throw new Error('the node closed the socket');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no reply line before the deadline');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.lines.shift()!;
  }

  destroy(): void {
    this.conn.destroy();
  }
}

// ---------------------------------------------------------------------------------------

describe(`fuzz: hostile input over HTTP and the socket (seed ${SEED_HEX})`, { timeout: 180_000 }, () => {
  let node: NodeProcess;
  let alice: Account;
  let bob: Account;
  const mallory = newAccount(); // never registered; signs as alice (wrong_key) or as itself (account_not_found)
  let setupHeight = 0;
  let setup: { alice: bigint; bob: bigint; mint: bigint; aliceNonce: number; bobNonce: number };
  /** every transaction id this file signed, with what it was for */
  const signed = new Map<string, { role: 'valid' | 'mutation-base' | 'forged'; env: Envelope }>();
  /** receipts seen in answers, by id */
  const receipts = new Map<string, Receipt>();
  const stats: Stats = {
    codes: new Map(), receiptCodes: new Map(), statuses: new Map(), kinds: new Map(), knownHttpDeviations: new Map(), skippedSignerCrash: 0,
  };
  let fuzzMs = 0;

  const signedAmount = (s: string): bigint => (s.startsWith('-') ? -parseAmount(s.slice(1), DECIMALS) : parseAmount(s, DECIMALS));

  async function accountState() {
    const a = await getOk(`${node.http}/v1/accounts/alice`);
    const b = await getOk(`${node.http}/v1/accounts/bob`);
    const m = await getOk(`${node.http}/v1/accounts/mint`);
    const aAuth = await getOk(`${node.http}/v1/auth/${alice.id}`);
    const bAuth = await getOk(`${node.http}/v1/auth/${bob.id}`);
    return {
      alice: signedAmount(a.balance), bob: signedAmount(b.balance), mint: signedAmount(m.balance),
      aliceNonce: aAuth.nonce as number, bobNonce: bAuth.nonce as number,
    };
  }

  before(async () => {
    node = await startNode({ extraArgs: ['--rate-limit', 'off'] });
    alice = newAccount();
    bob = newAccount();
    for (const [acct, name] of [[alice, 'alice'], [bob, 'bob']] as const) {
      const r = await httpPost(`${node.http}/v1/txs`, makeTx(acct, 'ledger.register', { name }));
      assert.equal(r.body.status, 'ok', JSON.stringify(r.body));
    }
    setupHeight = (await getOk(`${node.http}/v1/node`)).height;
    setup = await accountState();
    assert.deepEqual(setup, { alice: 1000_000000n, bob: 1000_000000n, mint: -2000_000000n, aliceNonce: 1, bobNonce: 1 });
  }, { timeout: 60_000 });

  after(async () => {
    if (node && node.proc.exitCode === null) await node.stop();
    await cleanup();
  }, { timeout: 60_000 });

  it(`${INPUTS} seeded inputs (seed ${SEED_HEX}): no 5xx, every error well-formed, every socket reply signed, the node stays up`, { timeout: 120_000 }, async (t: TestContext) => {
    const rng = new Rng(SEED);
    let aliceNonce = setup.aliceNonce;
    const knownIds: string[] = [];
    let sock = await LineSocket.connect(node.socket);
    let pingSeq = 0;
    let socketInputsOnConn = 0;

    // --- transactions this file signs
    const sign = (env: Envelope, role: 'valid' | 'mutation-base' | 'forged'): Envelope => {
      signed.set(txId(env.tx), { role, env });
      return env;
    };
    const amount = (): string => rng.pick(['0.000001', '0.5', '1', '2.25', String(rng.range(1, 3)), `0.${String(rng.range(1, 999999)).padStart(6, '0')}`]);
    /** A fresh, valid alice->bob send with her next nonce (or a valid one that fails on apply). */
    const validSend = (): Envelope => {
      const body = rng.weighted<Record<string, unknown>>([
        [8, { to: rng.pick(['bob', bob.id]), amount: amount() }],
        [1, { to: 'bob', amount: amount(), memo: randString(rng, 40).replace(/[\ud800-\udfff]/g, '') }],
        [1, { to: rng.pick(['nobody', 'alice', 'mint']), amount: '1' }], // unknown_account / self_transfer / to the mint
        [1, { to: 'bob', amount: '5000' }], // insufficient_funds
      ]);
      return sign(makeTx(alice, 'ledger.send', body, { nonce: aliceNonce }), 'valid');
    };
    const mutationBase = (): Envelope => rng.chance(0.85)
      ? sign(makeTx(alice, 'ledger.send', { to: 'bob', amount: amount(), ...(rng.chance(0.2) ? { memo: 'm' } : {}) }, { nonce: aliceNonce }), 'mutation-base')
      : sign(makeTx(alice, 'ledger.register', { name: 'alice2' }, { nonce: aliceNonce }), 'mutation-base');

    /** JSON text of one hostile envelope. */
    const hostileEnvelope = (): string => {
      const base = mutationBase();
      const kind = rng.weighted<string>([
        [6, 'chars'], [6, 'replace'], [3, 'wrong-type'], [2, 'drop'], [3, 'add'], [2, 'combo'], [1, 'forged'], [1, 'stranger'], [1, 'random'],
      ]);
      bump(stats.kinds, `envelope:${kind}`);
      switch (kind) {
        case 'chars': return charMutations(rng, JSON.stringify(base));
        case 'replace': return withRawAt(base, rng.pick(FIELD_PATHS), randJson(rng));
        case 'wrong-type': {
          const path = rng.pick([['tx'], ['tx', 'body'], ['pub'], ['sig'], ['tx', 'nonce'], ['tx', 'expires'], ['tx', 'chain'], ['tx', 'from']]);
          return withRawAt(base, path, wrongTypeFor(rng, path[path.length - 1]!));
        }
        case 'drop': {
          const copy = clone(base) as any;
          const path = rng.pick(FIELD_PATHS);
          const parent = parentOf(copy, path);
          if (parent) delete parent[path[path.length - 1]!];
          return JSON.stringify(copy);
        }
        case 'add': {
          const where = rng.pick([[], ['tx'], ['tx', 'body']]);
          const key = rng.chance(0.8) ? rng.pick(KEYS) : randString(rng, 10);
          return withRawAt(base, [...where, key], randJson(rng));
        }
        case 'combo': return charMutations(rng, withRawAt(base, rng.pick(FIELD_PATHS), randJson(rng)));
        case 'forged': {
          // well-formed and correctly signed, but by a key that is not alice's: wrong_key
          return JSON.stringify(sign(makeTx({ ...mallory, id: alice.id }, 'ledger.send', { to: 'bob', amount: '1' }, { nonce: aliceNonce }), 'forged'));
        }
        case 'stranger': {
          // signed by an unregistered key: account_not_found (a send) or a refused registration
          const env = rng.chance(0.7)
            ? makeTx(mallory, 'ledger.send', { to: 'bob', amount: '1' }, { nonce: 0 })
            : makeTx(mallory, 'ledger.register', { name: rng.pick(['mint', 'Bad Name', '', 'x'.repeat(40), '1abc']) }, { nonce: 0 });
          return JSON.stringify(sign(env, 'forged'));
        }
        default: return randJson(rng);
      }
    };

    // --- HTTP
    const CONTENT_TYPES = [
      'text/plain', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'application/json; charset=utf-16le',
      'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'APPLICATION/JSON',
      'application/jsonx', 'text/json', 'application/problem+json', 'application/json, text/plain', '', 'none',
    ];

    interface HttpInput { method: string; path: string; contentType?: string; body?: Buffer; unknownRoute?: boolean; describe: string }

    const checkHttp = async (input: HttpInput, where: string): Promise<any> => {
      const headers: Record<string, string> = {};
      if (input.contentType !== undefined && input.contentType !== 'none') headers['content-type'] = input.contentType;
      const res = await fetch(node.http + input.path, {
        method: input.method, headers, body: input.body, signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      bump(stats.statuses, res.status);
      let body: any;
      try {
        body = JSON.parse(text);
      } catch {
        assert.fail(`${where}: HTTP ${res.status} with a non-JSON body: ${text.slice(0, 500)}`);
      }
      assert.ok(res.status < 500, `${where}: HTTP ${res.status} ${text.slice(0, 500)}`);
      assert.ok((res.status >= 200 && res.status < 300) || (res.status >= 400 && res.status < 500), `${where}: HTTP ${res.status}`);
      if (res.status >= 400) {
        const deviation = knownHttpDeviation(res.status, body);
        if (deviation) {
          bump(stats.knownHttpDeviations, deviation);
          return undefined;
        }
        const code = checkErrorObject(body?.error, `${where}: HTTP ${res.status} ${text.slice(0, 300)}`, stats);
        if (input.unknownRoute) assert.equal(res.status, 404, `${where}: unknown route answered ${res.status} ${text.slice(0, 300)}`);
        if (res.status === 404 && input.unknownRoute) assert.equal(code, 'not_found', `${where}: 404 from an unknown route with code ${code}`);
      }
      return res.status < 300 ? body : undefined;
    };

    const postTxs = async (text: string | Buffer, where: string, contentType = 'application/json'): Promise<void> => {
      const body = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
      const ok = await checkHttp({ method: 'POST', path: '/v1/txs', contentType, body, describe: 'POST /v1/txs' }, where);
      if (ok === undefined) return;
      const found: Receipt[] = [];
      if (Array.isArray(ok)) ok.forEach((r, i) => checkSubmitResult(r, `${where} [${i}]`, stats, found));
      else {
        assert.ok(isReceipt(ok), `${where}: a 2xx answer to one envelope is not a receipt: ${JSON.stringify(ok).slice(0, 300)}`);
        checkSubmitResult(ok, where, stats, found);
      }
      await noteReceipts(found, where);
    };

    // --- receipts: remember them, and follow alice's nonce from what was actually committed
    const noteReceipts = async (found: Receipt[], where: string): Promise<void> => {
      for (const r of found) {
        const seen = receipts.get(r.id);
        if (seen) {
          assert.deepEqual(r, seen, `${where}: two different receipts for ${r.id}`);
          continue;
        }
        receipts.set(r.id, r);
        knownIds.push(r.id);
        const stored = await getOk(`${node.http}/v1/txs/${r.id}`);
        assert.deepEqual(stored.receipt, r, `${where}: the stored receipt differs`);
        const env = stored.envelope as Envelope;
        if (env.tx.from === alice.id) aliceNonce = Math.max(aliceNonce, env.tx.nonce + 1);
      }
    };

    const segment = (): string => rng.weighted<() => string>([
      [3, () => Buffer.from(rng.bytes(rng.int(41))).toString('hex').slice(0, rng.int(81))],
      [2, () => Buffer.from(rng.bytes(32)).toString('hex')],
      [1, () => Buffer.from(rng.bytes(20)).toString('hex')],
      [1, () => Buffer.from(rng.bytes(32)).toString('hex').toUpperCase()],
      [2, () => (knownIds.length ? rng.pick(knownIds) : '0'.repeat(64))],
      [3, () => rng.pick(['-1', '1e20', 'abc', '0', '1', '2', '00', '01', '1.5', '0x1', '9007199254740993', '99999999999999999999', '%20', '+1', 'NaN', 'Infinity', 'null', 'true', '[]', '{}'])],
      [2, () => rng.pick(['%00', '%ZZ', '%', '%ED%A0%80', '%E2%98%83', '%F0%9F%98%80', '%2F', '..', '.', '%2e%2e', '%C0%AF', '%FF'])],
      [2, () => rng.pick(['alice', 'bob', 'mint', 'nobody', 'Alice', alice.id, bob.id, '0'.repeat(40), 'alice%00', 'bob%20'])],
      [2, () => encodeURIComponent(randString(rng, 30).replace(/[\ud800-\udfff]/g, 'x'))],
      [1, () => 'a'.repeat(rng.pick([63, 64, 65, 199, 200, 201, 300, 1000]))],
      [1, () => encodeURIComponent('é'.repeat(rng.range(30, 120)))],
    ])();

    const randomGet = (): HttpInput => {
      const s = segment();
      const route = rng.weighted<string>([
        [3, 'tx'], [2, 'proof'], [3, 'block'], [3, 'account'], [1, 'balance'], [2, 'auth'], [1, 'static'], [1, 'unknown'],
      ]);
      bump(stats.kinds, `get:${route}`);
      switch (route) {
        case 'tx': return { method: 'GET', path: `/v1/txs/${s}`, describe: 'GET tx' };
        case 'proof': return { method: 'GET', path: `/v1/txs/${s}/proof`, describe: 'GET proof' };
        case 'block': {
          const h = rng.chance(0.4) ? String(rng.int(setupHeight + 60)) : s;
          const q = rng.chance(0.3) ? `?full=${rng.pick(['1', '0', 'true', 'false', '2', '', 'yes', '%00'])}` : '';
          return { method: 'GET', path: `/v1/blocks/${h}${q}`, describe: 'GET block' };
        }
        case 'account': return { method: 'GET', path: `/v1/accounts/${s}`, describe: 'GET account' };
        case 'balance': return { method: 'GET', path: `/v1/accounts/${s}/balance`, describe: 'GET balance' };
        case 'auth': return { method: 'GET', path: `/v1/auth/${s}`, describe: 'GET auth' };
        case 'static': return { method: 'GET', path: rng.pick(['/v1/node', '/v1/genesis', '/v1/node?x=1', '/v1/genesis?%00']), describe: 'GET static' };
        default: {
          const clean = Buffer.from(rng.bytes(rng.range(1, 8))).toString('hex');
          const [method, path] = rng.pick([
            ['GET', `/v1/zz${clean}`], ['GET', `/v2/txs/${clean}`], ['GET', `/${clean}`], ['GET', `/v1/txs/${clean}/proof/x`],
            ['PUT', '/v1/txs'], ['DELETE', `/v1/txs/${'0'.repeat(64)}`], ['PATCH', '/v1/node'], ['POST', '/v1/node'], ['GET', '/v1/query/ledger.account'],
          ] as const);
          return { method, path, unknownRoute: true, describe: 'unknown route', ...(method === 'GET' ? {} : { contentType: 'application/json', body: Buffer.from('{}') }) };
        }
      }
    };

    const randomQuery = (): HttpInput => {
      const name = rng.weighted<() => string>([
        [4, () => rng.pick(['ledger.account', 'ledger.balance'])],
        [2, () => segment()],
        [1, () => rng.pick(['ledger.mint', 'node.info', '__proto__', 'constructor', 'ledger.', '.account', 'LEDGER.ACCOUNT'])],
      ])();
      const body = rng.weighted<() => string>([
        [4, () => `{${JSON.stringify(rng.pick(['account', 'name', 'id']))}:${rng.chance(0.5) ? rng.pick(['"alice"', '"bob"', '"mint"', `"${alice.id}"`, '"nobody"', '""']) : randJson(rng)}}`],
        [2, () => randJson(rng)],
        [1, () => '{}'],
        [1, () => charMutations(rng, `{"account":"alice"}`)],
      ])();
      bump(stats.kinds, 'post:query');
      const raw = rng.chance(0.05);
      return {
        method: 'POST', path: `/v1/query/${name}`, contentType: rng.chance(0.9) ? 'application/json' : rng.pick(CONTENT_TYPES),
        body: raw ? rng.bytes(rng.int(200)) : Buffer.from(body, 'utf8'), describe: 'POST query',
      };
    };

    // --- the socket
    const METHODS = ['node.info', 'tx.submit', 'tx.get', 'tx.proof', 'block.get', 'auth.get', 'chain.genesis', 'query'];

    const randomParams = (method: string): string => {
      if (rng.chance(0.15)) return randJson(rng); // any JSON at all, objects or not
      switch (method) {
        case 'tx.submit': {
          if (rng.chance(0.08)) return `{"txs":[${Array.from({ length: 1001 }, () => '{}').join(',')}]}`; // batch_too_large
          if (rng.chance(0.35)) {
            const items = Array.from({ length: rng.range(0, 6) }, () => (rng.chance(0.12) ? JSON.stringify(validSend()) : hostileEnvelope()));
            return `{"txs":[${items.join(',')}]}`;
          }
          const one = rng.chance(0.06) ? JSON.stringify(validSend()) : hostileEnvelope();
          return rng.chance(0.9) ? `{"tx":${one}}` : `{"tx":${one},"txs":${randJson(rng)}}`;
        }
        case 'tx.get': case 'tx.proof': case 'auth.get':
          return `{"id":${rng.chance(0.6) ? JSON.stringify(segment()) : randJson(rng)}}`;
        case 'block.get':
          return `{"height":${rng.chance(0.6) ? rng.pick(['0', '1', '-1', '1e20', '"abc"', '"1"', '" "', '"0x1"', '1.5', '-0', '9007199254740993', String(rng.int(setupHeight + 60))]) : randJson(rng)}${rng.chance(0.3) ? `,"full":${randJson(rng)}` : ''}}`;
        case 'query':
          return `{"name":${rng.chance(0.6) ? rng.pick(['"ledger.account"', '"ledger.balance"', '"nope"', '""', '1', 'null']) : randJson(rng)},"params":${rng.chance(0.6) ? `{"account":${randJson(rng)}}` : randJson(rng)}}`;
        default:
          return randJson(rng);
      }
    };

    /** One request line; random-bytes lines are latin1 strings (one char per byte). */
    const socketLine = (): { line: string; encoding: BufferEncoding } => {
      const line = socketLineText();
      return { line, encoding: bytesLines.has(line) ? 'latin1' : 'utf8' };
    };
    const bytesLines = new Set<string>();
    const socketLineText = (): string => {
      const kind = rng.weighted<string>([
        [10, 'method'], [2, 'unknown-method'], [2, 'malformed'], [2, 'non-object'], [1, 'no-method'], [1, 'random-bytes'],
      ]);
      bump(stats.kinds, `socket:${kind}`);
      const id = rng.chance(0.7) ? String(rng.int(1_000_000)) : randJson(rng);
      switch (kind) {
        case 'method': {
          const method = rng.pick(METHODS);
          const parts = [`"id":${id}`, `"method":"${method}"`];
          if (method !== 'node.info' && method !== 'chain.genesis' ? rng.chance(0.95) : rng.chance(0.3)) parts.push(`"params":${randomParams(method)}`);
          if (rng.chance(0.1)) parts.push(`${JSON.stringify(rng.pick(KEYS))}:${randJson(rng)}`);
          return `{${parts.join(',')}}`;
        }
        case 'unknown-method': {
          const m = rng.chance(0.5) ? JSON.stringify(rng.pick(['nope', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'NODE.INFO', 'node.info ', 'tx.submit\u0000', '', 'tx'])) : randJson(rng);
          return `{"id":${id},"method":${m},"params":${randJson(rng)}}`;
        }
        case 'malformed': return charMutations(rng, `{"id":${id},"method":"${rng.pick(METHODS)}","params":${randomParams(rng.pick(METHODS))}}`);
        case 'non-object': return rng.pick(['[1,2,3]', '"a string"', 'null', '42', 'true', '[]', '[{"id":1,"method":"node.info"}]', randJson(rng)]);
        case 'no-method': return `{"id":${id}${rng.chance(0.5) ? `,"params":${randJson(rng)}` : ''}}`;
        default: {
          const line = rng.bytes(rng.range(1, 300)).toString('latin1'); // bytes, sent as they are
          bytesLines.add(line);
          return line;
        }
      }
    };

    /** Simulate the node's line framing: how many replies the bytes should get, and which are line_too_long. */
    const expectedReplies = (data: Buffer): Array<'reply' | 'too_long'> => {
      const out: Array<'reply' | 'too_long'> = [];
      let start = 0;
      for (;;) {
        const nl = data.indexOf(0x0a, start);
        if (nl < 0) break;
        const piece = data.subarray(start, nl);
        start = nl + 1;
        if (piece.length > LINE_MAX) out.push('too_long');
        else if (piece.toString('utf8').trim().length > 0) out.push('reply');
      }
      assert.equal(start, data.length, 'fuzz bug: socket input must end with a newline');
      return out;
    };

    const sendSocket = async (data: Buffer, where: string, writes: Buffer[] = [data]): Promise<void> => {
      const expected = expectedReplies(data);
      for (let w = 0; w < writes.length; w++) {
        await sock.write(writes[w]!);
        if (w < writes.length - 1) await new Promise((r) => setTimeout(r, 1)); // separate chunks
      }
      const pingId = { ping: ++pingSeq };
      await sock.write(Buffer.from(JSON.stringify({ id: pingId, method: 'node.info' }) + '\n'));
      const got: any[] = [];
      let pinged = false;
      const deadline = Date.now() + 15_000;
      while (!pinged || got.length < expected.length) {
        let line: string;
        try {
          line = await sock.nextLine(deadline);
        } catch (err) {
          assert.fail(`${where}: ${(err as Error).message} (expected ${expected.length} replies, got ${got.length}; node exit code ${node.proc.exitCode})\n${node.stderr().slice(-2000)}`);
        }
        let reply: SocketReply;
        try {
          reply = JSON.parse(line) as SocketReply;
        } catch {
          assert.fail(`${where}: a socket reply is not JSON: ${line.slice(0, 500)}`);
        }
        assert.ok(replySignatureValid(reply, node.nodeKey), `${where}: reply signature does not verify: ${line.slice(0, 500)}`);
        assert.ok(('result' in reply) !== ('error' in reply), `${where}: a reply needs exactly one of result and error: ${line.slice(0, 500)}`);
        if (JSON.stringify(reply.id) === JSON.stringify(pingId)) {
          assert.equal((reply.result as any)?.chain, 'tally-dev', `${where}: ping: ${line.slice(0, 300)}`);
          pinged = true;
          continue;
        }
        got.push(reply);
      }
      assert.equal(got.length, expected.length, `${where}: expected ${expected.length} replies, got ${got.length}: ${JSON.stringify(got).slice(0, 800)}`);
      const tooLong = expected.filter((e) => e === 'too_long').length;
      const found: Receipt[] = [];
      for (const reply of got) {
        if (reply.error) {
          checkErrorObject(reply.error, `${where}: socket`, stats);
          continue;
        }
        const r = reply.result as any;
        if (Array.isArray(r)) r.forEach((x, i) => checkSubmitResult(x, `${where} [${i}]`, stats, found));
        else if (isReceipt(r) || (r && typeof r === 'object' && 'error' in r && 'status' in r)) checkSubmitResult(r, `${where}: socket result`, stats, found);
      }
      assert.equal(got.filter((r) => r.error?.code === 'line_too_long').length, tooLong, `${where}: line_too_long replies`);
      await noteReceipts(found, where);
    };

    const socketInput = async (where: string, note: (what: string) => void): Promise<void> => {
      if (socketInputsOnConn++ > 150) {
        sock.destroy();
        sock = await LineSocket.connect(node.socket);
        socketInputsOnConn = 0;
      }
      const shape = rng.weighted<string>([[20, 'line'], [3, 'split'], [1, 'too-long'], [1, 'blank'], [1, 'two-lines'], [1, 'abandoned']]);
      bump(stats.kinds, `socket-shape:${shape}`);
      // Never send what is known to kill the node (bug 1): draw again, and count it.
      const draw = (): { line: string; encoding: BufferEncoding } => {
        for (;;) {
          const d = socketLine();
          if (!inSignerCrashClass(d.line)) return d;
          stats.skippedSignerCrash++;
        }
      };
      let { line, encoding } = shape === 'blank' ? { line: rng.pick(['', ' ', '\t', '\r', '   \t ']), encoding: 'utf8' as BufferEncoding } : draw();
      if (shape === 'too-long') {
        // a request padded past 64 KiB: refused whole (a valid send inside must not run)
        const pad = 'p'.repeat(LINE_MAX + rng.int(200 * 1024));
        line = rng.chance(0.5)
          ? JSON.stringify({ id: 1, method: 'tx.submit', params: { tx: validSend(), pad } })
          : `{"id":2,"method":"node.info","params":${JSON.stringify(pad)}`;
      }
      let data = Buffer.from(line + '\n', encoding);
      if (shape === 'two-lines') {
        const second = draw();
        data = Buffer.concat([data, Buffer.from(second.line + '\n', second.encoding)]);
        line = `${line}\n${second.line}`;
      }
      if (shape === 'abandoned') {
        // a partial line on another connection that then goes away; the node must not mind
        const other = await LineSocket.connect(node.socket);
        const cut = rng.int(data.length);
        note(`abandoned after ${cut} of ${data.length} bytes: ${JSON.stringify(line)}`);
        await other.write(data.subarray(0, cut));
        other.destroy();
        await sendSocket(Buffer.alloc(0), where); // only the ping
      }
      let writes = [data];
      if (shape === 'split' || (shape === 'too-long' && rng.chance(0.5))) {
        // no newline until the last piece; cuts may fall inside a UTF-8 sequence
        const cuts = Array.from({ length: rng.range(1, 4) }, () => rng.int(data.length)).sort((a, b) => a - b);
        writes = [];
        let prev = 0;
        for (const c of [...cuts, data.length]) {
          if (c > prev) writes.push(data.subarray(prev, c));
          prev = Math.max(prev, c);
        }
      }
      note(`${shape} (${data.length} bytes in writes of ${writes.map((w) => w.length).join('+')}): ${encoding === 'latin1' ? `hex ${data.toString('hex')}` : JSON.stringify(line)}`);
      await sendSocket(data, where, writes);
    };

    // --- the run
    const t0 = Date.now();
    for (let i = 0; i < INPUTS; i++) {
      const transport = rng.weighted<string>([[40, 'post-txs'], [18, 'get'], [6, 'query'], [36, 'socket']]);
      const where = `seed ${SEED_HEX} input #${i} (${transport})`;
      let what = '';
      try {
        if (transport === 'post-txs') {
          const form = rng.weighted<string>([[70, 'one'], [14, 'batch'], [4, 'valid'], [5, 'bytes'], [5, 'content-type'], [1, 'too-many']]);
          bump(stats.kinds, `post:${form}`);
          if (form === 'one') {
            what = hostileEnvelope();
            await postTxs(what, where);
          } else if (form === 'batch') {
            const items = Array.from({ length: rng.range(1, 12) }, () => (rng.chance(0.15) ? JSON.stringify(validSend()) : rng.chance(0.1) ? rng.pick(ATOMS) : hostileEnvelope()));
            what = `[${items.join(',')}]`;
            await postTxs(what, where);
          } else if (form === 'valid') {
            what = JSON.stringify(validSend());
            await postTxs(what, where);
          } else if (form === 'bytes') {
            const bytes = rng.bytes(rng.int(2000));
            what = `bytes ${bytes.toString('hex').slice(0, 400)}`;
            await postTxs(bytes, where, rng.pick(['application/json', 'application/octet-stream', 'text/plain', 'none']));
          } else if (form === 'content-type') {
            const ct = rng.pick(CONTENT_TYPES);
            const text = rng.chance(0.5) ? JSON.stringify(validSend()) : hostileEnvelope();
            what = `content-type ${JSON.stringify(ct)}: ${text}`;
            await postTxs(text, where, ct);
          } else {
            what = '1,001 empty objects';
            await postTxs(`[${Array.from({ length: 1001 }, () => '{}').join(',')}]`, where);
          }
        } else if (transport === 'get' || transport === 'query') {
          const input = transport === 'get' ? randomGet() : randomQuery();
          what = `${input.method} ${input.path}${input.body ? ` content-type ${input.contentType}: ${input.body.toString('utf8').slice(0, 300)}` : ''}`;
          await checkHttp(input, where);
        } else {
          await socketInput(where, (w) => { what = w; });
        }
        assert.equal(node.proc.exitCode, null, `${where}: the node exited`);
        if (i % 50 === 49) {
          const info = await getOk(`${node.http}/v1/node`);
          assert.equal(info.chain, 'tally-dev');
        }
      } catch (err) {
        const input = what.length > 3000 ? `${what.slice(0, 3000)}... (${what.length} chars)` : what;
        (err as Error).message = `${(err as Error).message}\n  input: ${input}\n  node stderr (tail): ${node.stderr().slice(-1500)}`;
        throw err;
      }
    }
    sock.destroy();
    fuzzMs = Date.now() - t0;

    assert.equal(node.proc.exitCode, null, 'the node is alive after the run');
    assert.equal((await getOk(`${node.http}/v1/node`)).chain, 'tally-dev');

    const sorted = (m: Map<string | number, number>) => [...m.entries()].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(' ');
    t.diagnostic(`seed ${SEED_HEX}: ${INPUTS} inputs in ${fuzzMs} ms`);
    t.diagnostic(`error codes seen (${stats.codes.size}): ${sorted(stats.codes)}`);
    t.diagnostic(`failed-receipt codes: ${sorted(stats.receiptCodes) || '(none)'}`);
    t.diagnostic(`HTTP statuses: ${sorted(stats.statuses)}`);
    t.diagnostic(`input kinds: ${sorted(stats.kinds)}`);
    t.diagnostic(`known bug 2 (framework error body shape) hits: ${sorted(stats.knownHttpDeviations) || '(none)'}`);
    t.diagnostic(`known bug 1 (signer crash class) socket lines not sent: ${stats.skippedSignerCrash}`);
  });

  it('afterwards the chain holds exactly the transactions this file signed, and balances and nonces follow from their receipts', async (t: TestContext) => {
    assert.equal(node.proc.exitCode, null);
    // Every transaction committed since set-up is one we have a receipt for, and vice versa.
    const info = await getOk(`${node.http}/v1/node`);
    assert.equal(info.mempool, 0);
    const committed = new Set<string>();
    for (let h = setupHeight + 1; h <= info.height; h++) {
      const block = await getOk(`${node.http}/v1/blocks/${h}`);
      for (const id of block.txs as string[]) committed.add(id);
    }
    assert.deepEqual([...committed].sort(), [...receipts.keys()].sort(), 'committed transactions = receipts seen in answers');

    // Apply the receipts to the set-up state.
    const names: Record<string, string> = { alice: alice.id, bob: bob.id, mint: '0'.repeat(40) };
    const balance: Record<string, bigint> = { [alice.id]: setup.alice, [bob.id]: setup.bob, [names.mint!]: setup.mint };
    const nonce: Record<string, number> = { [alice.id]: setup.aliceNonce, [bob.id]: setup.bobNonce };
    const byRole = new Map<string, number>();
    let okSends = 0;
    let moved = 0n;
    const inChainOrder = [...receipts.values()].sort((a, b) => a.height - b.height || a.index - b.index);
    for (const receipt of inChainOrder) {
      const id = receipt.id;
      const mine = signed.get(id);
      assert.ok(mine, `committed transaction ${id} was not signed by this file`);
      bump(byRole, `${mine.role}:${receipt.status}`);
      const tx = mine.env.tx;
      assert.equal(tx.from, alice.id, `only alice signs valid transactions here (${id})`);
      assert.equal(tx.nonce, nonce[tx.from], `nonces are used in order (${id})`);
      nonce[tx.from]!++;
      if (receipt.status !== 'ok') continue;
      assert.equal(tx.type, 'ledger.send', `an ok ${tx.type} was not expected (${id})`);
      const to = typeof tx.body.to === 'string' ? (names[tx.body.to] ?? tx.body.to) : '';
      assert.ok(to in balance && to !== tx.from, `an ok send to ${String(tx.body.to)} was not expected (${id})`);
      const amount = parseAmount(tx.body.amount, DECIMALS);
      balance[tx.from] = balance[tx.from]! - amount;
      balance[to] = balance[to]! + amount;
      okSends++;
      moved += amount;
    }
    const now = await accountState();
    assert.deepEqual(now, {
      alice: balance[alice.id], bob: balance[bob.id], mint: balance[names.mint!], aliceNonce: nonce[alice.id], bobNonce: nonce[bob.id],
    });
    assert.ok(okSends > 0, 'some valid sends went through (the fuzz exercised the happy path too)');
    assert.equal(byRole.get('forged:ok') ?? 0, 0);
    assert.equal(byRole.get('forged:failed') ?? 0, 0);
    const mutated = (byRole.get('mutation-base:ok') ?? 0) + (byRole.get('mutation-base:failed') ?? 0);
    t.diagnostic(`committed: ${receipts.size} transactions (${[...byRole.entries()].map(([k, v]) => `${k}=${v}`).sort().join(' ')}); ${okSends} ok sends moved ${moved} minor units alice->bob`);
    t.diagnostic(`accepted mutations: ${mutated} (each one a whitespace-or-order-equivalent of a correctly signed transaction: the same tx id)`);
  });

  it('the stopped data directory passes `tally chain verify`', { timeout: 90_000 }, async () => {
    assert.equal(await node.stop(), 0, node.stderr());
    const r = await cli(tempDir(), ['chain', 'verify', '--data', node.dataDir, '--json'], 60_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.json?.ok, true, r.stdout);
  });
});

// ---------------------------------------------------------------------------------------
// The known bugs above, each reproduced on its own node. `todo`: they report without
// failing the run, and start passing when the bug is fixed.

describe('known bugs found by the fuzz', { timeout: 60_000 }, () => {
  after(async () => cleanup(), { timeout: 30_000 });

  it('bug 1: a socket request whose reply cannot be canonicalized must get an error reply, not kill the node', {
    todo: 'src/api/socket.ts: signReply throws (canonicalJson) inside handleLine; the unhandled rejection exits the node',
  }, async () => {
    const node = await startNode({ extraArgs: ['--rate-limit', 'off'] });
    try {
      const lines = [
        '{"id":"\\ud800","method":"node.info"}', // lone surrogate in the echoed id
        '{"id":1e400,"method":"node.info"}', // id parses to Infinity
        '{"id":1,"method":"\\udfff"}', // echoed in the unknown_method message
        '{"id":1,"method":"query","params":{"name":"\\ud800"}}', // echoed in the unknown_query message
        `{"id":${'['.repeat(20000)}${']'.repeat(20000)},"method":"node.info"}`, // deep id: stack overflow while signing
      ];
      for (const line of lines) {
        const sock = await RawSocket.connect(node.socket);
        try {
          await sock.write(line + '\n');
          const reply = await sock.next(5000);
          assert.ok(replySignatureValid(reply, node.nodeKey), line.slice(0, 80));
        } finally {
          sock.close();
        }
        assert.equal(node.proc.exitCode, null, `the node exited after ${line.slice(0, 80)}`);
      }
    } finally {
      if (node.proc.exitCode === null) await node.stop();
    }
  });

  it('bug 2: undecodable paths and over-long path parameters answer {error: {code, message}}', {
    todo: 'src/api/http.ts: FST_ERR_BAD_URL / FST_ERR_MAX_PARAM_LENGTH use Fastify\'s default error body',
  }, async () => {
    const node = await startNode({ extraArgs: ['--rate-limit', 'off'] });
    try {
      for (const path of ['/v1/accounts/%ZZ', '/v1/accounts/%ED%A0%80', `/v1/accounts/${'a'.repeat(201)}`]) {
        const res = await fetch(node.http + path);
        const body = JSON.parse(await res.text());
        assert.ok(res.status >= 400 && res.status < 500);
        assert.match(body?.error?.code ?? '', CODE, `${path} -> ${res.status} ${JSON.stringify(body)}`);
        assert.equal(typeof body.error.message, 'string');
      }
    } finally {
      await node.stop();
    }
  });
});
