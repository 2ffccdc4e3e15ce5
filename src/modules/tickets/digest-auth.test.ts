// Digest authentication (RFC 7616) of the wallet RPC client: the RFC's MD5 example, then
// HttpMoneroRpc against a local HTTP server that demands digest auth the way
// monero-wallet-rpc --rpc-login does (its verifier is written here, apart from the client).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TallyError } from '../../core/errors.js';
import { validateTicketsConfig, moneroRpcLogin } from './config.js';
import { digestAuthorization, parseDigestChallenge, parseLogin } from './digest-auth.js';
import { HttpMoneroRpc } from './monero-rpc.js';

const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');

describe('digest auth', () => {
  it('matches the MD5 example of RFC 7616 section 3.9.1', () => {
    const c = parseDigestChallenge('Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"');
    assert.ok(c);
    const h = digestAuthorization({ user: 'Mufasa', pass: 'Circle of Life' }, c, 'GET', '/dir/index.html', 1, 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ');
    assert.match(h, /response="8ca523f5e9506fed4657c9700eebdbec"/);
    assert.match(h, /nc=00000001/);
    assert.match(h, /opaque="FQhe\/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"/);
  });

  it('picks a Digest MD5 challenge among several joined headers, and refuses what it cannot answer', () => {
    const joined = 'Basic realm="x", Digest realm="a, b", nonce="n1", algorithm=SHA-256, qop="auth", Digest qop="auth",algorithm=MD5-sess,realm="monero-rpc",nonce="n2",stale=false';
    assert.deepEqual(parseDigestChallenge(joined), { realm: 'monero-rpc', nonce: 'n2', algorithm: 'MD5-sess', qop: 'auth' });
    assert.equal(parseDigestChallenge('Digest realm="r", nonce="n", qop="auth-int"'), undefined);
    assert.equal(parseDigestChallenge('Basic realm="r"'), undefined);
    assert.equal(parseDigestChallenge(null), undefined);
  });

  it('reads user:pass with colons in the password', () => {
    assert.deepEqual(parseLogin('rpc:p:a:ss\n'), { user: 'rpc', pass: 'p:a:ss' });
    assert.equal(parseLogin(':nouser'), undefined);
    assert.equal(parseLogin('nocolon'), undefined);
  });
});

/** A JSON-RPC server that demands digest auth, verified independently of the client code. */
class DigestServer {
  server = http.createServer((req, res) => this.handle(req, res));
  nonce = crypto.randomBytes(8).toString('hex');
  challenges = 0;
  seenNc = new Set<string>();
  authorized = 0;
  url = '';

  constructor(private readonly user: string, private readonly pass: string, private readonly algorithm: 'MD5' | 'MD5-sess') {}

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/json_rpc`;
  }

  private challenge(res: http.ServerResponse, stale = false): void {
    this.challenges++;
    // Like epee: one header per algorithm it accepts.
    res.setHeader('www-authenticate', [
      `Digest qop="auth",algorithm=${this.algorithm},realm="monero-rpc",nonce="${this.nonce}",stale=${stale}`,
      'Basic realm="not-this-one"',
    ]);
    res.writeHead(401).end();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let body = '';
    req.on('data', (c: Buffer) => { body += c; }).on('end', () => {
      const auth = req.headers.authorization;
      if (!auth?.startsWith('Digest ')) return this.challenge(res);
      const f = Object.fromEntries([...auth.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)].map((m) => [m[1], m[2] ?? m[3]]));
      if (f.nonce !== this.nonce) return this.challenge(res, true);
      let ha1 = md5(`${this.user}:monero-rpc:${this.pass}`);
      if (this.algorithm === 'MD5-sess') ha1 = md5(`${ha1}:${f.nonce}:${f.cnonce}`);
      const expected = md5(`${ha1}:${f.nonce}:${f.nc}:${f.cnonce}:auth:${md5(`POST:${req.url}`)}`);
      const replay = this.seenNc.has(`${f.nonce}/${f.nc}/${f.cnonce}`);
      this.seenNc.add(`${f.nonce}/${f.nc}/${f.cnonce}`);
      if (f.username !== this.user || f.uri !== req.url || f.qop !== 'auth' || f.response !== expected || replay) return this.challenge(res);
      this.authorized++;
      const { id, method } = JSON.parse(body) as { id: number; method: string };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { method, height: 1234 } }));
    });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

describe('HttpMoneroRpc with --rpc-login (digest)', () => {
  const servers: DigestServer[] = [];
  let md5Server: DigestServer;
  let sessServer: DigestServer;

  before(async () => {
    md5Server = new DigestServer('rpcuser', 'pa:ss "word"', 'MD5');
    sessServer = new DigestServer('rpcuser', 'secret', 'MD5-sess');
    servers.push(md5Server, sessServer);
    for (const s of servers) await s.start();
  });
  after(async () => {
    for (const s of servers) await s.stop();
  });

  it('logs in, then answers the cached challenge: one 401 for many calls, nc counting up', async () => {
    const rpc = new HttpMoneroRpc(md5Server.url, 5000, { user: 'rpcuser', pass: 'pa:ss "word"' });
    for (let i = 0; i < 5; i++) assert.deepEqual(await rpc.call('get_height'), { method: 'get_height', height: 1234 });
    assert.equal(md5Server.authorized, 5);
    assert.equal(md5Server.challenges, 1, 'the challenge is asked for once');
    const sess = new HttpMoneroRpc(sessServer.url, 5000, { user: 'rpcuser', pass: 'secret' });
    assert.equal((await sess.call<{ height: number }>('get_height')).height, 1234);
  });

  it('follows a new nonce (stale) without failing the call', async () => {
    const rpc = new HttpMoneroRpc(md5Server.url, 5000, { user: 'rpcuser', pass: 'pa:ss "word"' });
    await rpc.call('get_height');
    md5Server.nonce = crypto.randomBytes(8).toString('hex');
    assert.equal((await rpc.call<{ height: number }>('get_height')).height, 1234);
  });

  it('refuses with monero_rpc_auth: no login, a wrong password; the password is in no message', async () => {
    const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e instanceof TallyError ? `${e.code}: ${e.message} ${e.hint ?? ''}` : String(e)));
    const none = await codeOf(new HttpMoneroRpc(md5Server.url, 5000).call('get_height'));
    assert.match(none, /^monero_rpc_auth:/);
    const wrong = await codeOf(new HttpMoneroRpc(md5Server.url, 5000, { user: 'rpcuser', pass: 'guess-me' }).call('get_height'));
    assert.match(wrong, /^monero_rpc_auth:/);
    assert.ok(!wrong.includes('guess-me'));
  });

  it('takes the login from $TALLY_MONERO_RPC_LOGIN or a 0600 file, never from the URL', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-digest-'));
    try {
      const file = path.join(dir, 'login');
      fs.writeFileSync(file, 'rpcuser:secret\n', { mode: 0o600 });
      const address = '48x17EqCtMiBw6HAJ7gvN35PLyz5Qmc4hKJpGE6H4AcDJGaynnMUxXndoty3ZXMqPcFQBvBEUigDKannW84ZR4wHFmvMr7K';
      const cfg = validateTicketsConfig({ monero: { address, walletRpcLoginFile: file } }).monero!;
      assert.deepEqual(moneroRpcLogin(cfg, {}), { user: 'rpcuser', pass: 'secret' });
      assert.deepEqual(moneroRpcLogin(cfg, { TALLY_MONERO_RPC_LOGIN: 'env:pw' }), { user: 'env', pass: 'pw' });
      assert.equal(moneroRpcLogin(validateTicketsConfig({ monero: { address } }).monero!, {}), undefined);
      fs.chmodSync(file, 0o644);
      assert.throws(() => moneroRpcLogin(cfg, {}), (e: TallyError) => e.code === 'key_file_permissions');
      fs.writeFileSync(file, 'no-colon\n', { mode: 0o600 });
      fs.chmodSync(file, 0o600);
      assert.throws(() => moneroRpcLogin(cfg, {}), (e: TallyError) => e.code === 'config_invalid' && !e.message.includes('no-colon'));
      assert.throws(() => validateTicketsConfig({ monero: { address, walletRpcUrl: 'http://u:p@127.0.0.1:18083/json_rpc' } }), (e: TallyError) => e.code === 'config_invalid');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
