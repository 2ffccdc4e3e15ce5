// The OpenAPI document (issue 16 item 6): fetched from a live node and linted with Redocly's
// recommended ruleset (@redocly/openapi-core, the engine of `redocly lint`); every route the
// server registers is in it with an operationId; errors, 413/415, 429, security and the
// WebSocket are described; and the response schemas that document the answers never trim
// or change them (Fastify serializes by response schema and drops unlisted fields).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import type { FastifyInstance } from 'fastify';
import { TallyNode, initDataDir } from '../src/chain/node.js';
import { defaultGenesis } from '../src/chain/genesis.js';
import { buildPublicHttp } from '../src/api/http.js';
import { buildInternalHttp } from '../src/api/internal.js';
import { errorSchema } from '../src/api/openapi.js';
import { methods as nodeMethods } from '../src/api/methods.js';
import { allModules, chainModules } from '../src/modules/index.js';
import { cleanup, getOk, httpGet, makeTx, newAccount, startNode, tempDir, type NodeProcess } from './helpers.js';

/**
 * Warnings the recommended ruleset gives that the API cannot avoid, each with its reason.
 * Nothing is turned off: every other problem, warning or error, fails the test.
 */
const acceptedWarnings = [
  // A WebSocket handshake answers 101 Switching Protocols, never a 2xx.
  { ruleId: 'operation-2xx-response', pointer: '#/paths/~1v1~1ws/get/responses' },
];

const methods = ['get', 'post', 'put', 'patch', 'delete'] as const;
type Operation = { operationId?: string; security?: unknown[]; requestBody?: unknown; responses: Record<string, { description: string; content?: Record<string, { schema: { $ref?: string } }> }>; [k: string]: unknown };

function operations(doc: any): Array<{ key: string; op: Operation }> {
  const out: Array<{ key: string; op: Operation }> = [];
  for (const [p, item] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
    for (const m of methods) if (item[m]) out.push({ key: `${m.toUpperCase()} ${p}`, op: item[m] });
  }
  return out;
}

/** "GET /v1/txs/{id}" for every route Fastify's router holds (HEAD and CORS OPTIONS aside). */
function registeredRoutes(app: FastifyInstance): string[] {
  const out: string[] = [];
  const prefixes: string[] = [];
  // printRoutes draws the radix tree: each line is one node, indented 4 per level, with
  // the part of the path it adds and its methods.
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    prefixes.length = depth;
    const full = prefixes.join('') + m[2]!;
    prefixes.push(m[2]!);
    for (const method of (m[3] ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      out.push(`${method} ${full.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
    }
  }
  return out.sort();
}

describe('OpenAPI document', () => {
  let node: NodeProcess;
  let doc: any;

  before(async () => {
    const dir = tempDir();
    // With a tickets section, the tickets routes are on and have their own rate limits.
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ tickets: { tally: { account: 'shop', minAmount: '1' } } }));
    node = await startNode({ extraArgs: ['--config', config] });
    doc = await getOk(`${node.http}/v1/openapi.json`);
  });
  after(async () => {
    await cleanup();
  }, { timeout: 30_000 });

  it('passes the Redocly recommended ruleset with no error and no unexplained warning', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: `${node.http}/v1/openapi.json`, config });
    const shown = problems.map((p) => `${p.severity} ${p.ruleId} ${p.message} at ${p.location[0]?.pointer ?? '?'}`);
    const errors = problems.filter((p) => p.severity === 'error');
    assert.equal(errors.length, 0, `lint errors:\n${shown.join('\n')}`);
    const unexplained = problems.filter((p) => !acceptedWarnings.some((w) => w.ruleId === p.ruleId && w.pointer === p.location[0]?.pointer));
    assert.deepEqual(unexplained.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}`), [], `lint warnings:\n${shown.join('\n')}`);
  });

  it('has servers, the Error component, security: [] and the statuses every route can answer', () => {
    assert.ok(Array.isArray(doc.servers) && doc.servers.length > 0 && doc.servers[0].url, 'servers');
    assert.ok(doc.components.schemas.Error, 'the Error component');
    for (const { key, op } of operations(doc)) {
      assert.deepEqual(op.security, [], `${key}: security: [] (public)`);
      const statuses = Object.keys(op.responses);
      assert.ok(statuses.includes('500'), `${key}: 500`);
      // The node's cost limit (on by default) or the tickets' own limits cover every public route.
      assert.ok(statuses.includes('429'), `${key}: 429`);
      if (op.requestBody) for (const s of ['400', '413', '415']) assert.ok(statuses.includes(s), `${key}: ${s}`);
      for (const s of statuses.filter((x) => Number(x) >= 400)) {
        const r = op.responses[s]!;
        if (key === 'GET /v1/ws' && s === '404') continue; // the upgrade-less GET: no body
        assert.equal(r.content?.['application/json']?.schema.$ref, '#/components/schemas/Error', `${key} ${s}: the Error schema`);
        assert.match(r.description, /[a-z]+_[a-z_]+|internal/, `${key} ${s}: names its codes`);
      }
    }
  });

  it('describes the real error body: every field an error has is in the Error schema', async () => {
    const properties = doc.components.schemas.Error.properties.error.properties;
    const required = doc.components.schemas.Error.properties.error.required;
    const samples = [
      await httpGet(`${node.http}/v1/txs/${'0'.repeat(64)}`), // 404 tx_not_found
      await httpGet(`${node.http}/v1/accounts/nobody`), // 404 unknown_account, with a hint
      await httpGet(`${node.http}/v1/ws?topic=nope`), // 400 unknown_topic, with details
      await httpGet(`${node.http}/v1/blocks/x`), // 400 bad_request (schema)
    ];
    const seen = new Set<string>();
    for (const r of samples) {
      assert.ok(r.status >= 400, JSON.stringify(r.body));
      assert.deepEqual(Object.keys(r.body), ['error']);
      for (const k of Object.keys(r.body.error)) {
        assert.ok(properties[k], `error field "${k}" is in the Error schema`);
        seen.add(k);
      }
      for (const k of required) assert.ok(k in r.body.error, `required "${k}"`);
    }
    assert.deepEqual([...seen].sort(), ['code', 'details', 'hint', 'message']);
  });

  it('documents the WebSocket: a GET answering 101, its topics, message and close codes', () => {
    const ws = doc.paths['/v1/ws']?.get;
    assert.ok(ws, 'GET /v1/ws');
    assert.equal(ws.operationId, 'subscribe');
    assert.ok(ws.responses['101']);
    const x = ws['x-websocket'];
    assert.deepEqual(x.topics.map((t: { name: string }) => t.name).sort(), ['blocks', 'ledger.account', 'markets.account', 'markets.book', 'markets.trades', 'oracle.attestations']);
    assert.ok(x.closeCodes['4000'] && x.closeCodes['1001']);
    assert.match(x.message, /"block"/);
  });

  it('lists every route the server registers, each with a unique operationId', async () => {
    const dir = tempDir();
    initDataDir(dir, defaultGenesis(chainModules, { chain: 'tally-dev', decimals: 6, dev: true }), allModules);
    const local = TallyNode.open({ dataDir: dir, modules: allModules, synchronous: 'NORMAL', blockDelayMsMax: 5, verifierThreads: 1 });
    const app = await buildPublicHttp(local);
    try {
      await app.ready();
      const routes = registeredRoutes(app);
      assert.ok(routes.length >= 20, `found the routes: ${routes.join(', ')}`);
      const documented = operations(doc);
      const keys = documented.map((o) => o.key).sort();
      assert.deepEqual(keys, routes, 'the live document lists exactly the registered routes');
      assert.deepEqual(operations(app.swagger()).map((o) => o.key).sort(), routes);
      const ids = documented.map((o) => o.op.operationId);
      for (const { key, op } of documented) assert.match(op.operationId ?? '', /^[a-z][A-Za-z]+$/, `${key}: operationId`);
      assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    } finally {
      await app.close();
      await local.close();
    }
  });

  it('response schemas document the answers without trimming or changing them', async () => {
    const dir = tempDir();
    initDataDir(dir, defaultGenesis(chainModules, { chain: 'tally-dev', decimals: 6, dev: true }), allModules);
    const local = TallyNode.open({ dataDir: dir, modules: allModules, synchronous: 'NORMAL', blockDelayMsMax: 5, verifierThreads: 1 });
    const app = await buildPublicHttp(local);
    try {
      const alice = newAccount();
      const name = 'alice';
      const [registered] = await local.submit([makeTx(alice, 'ledger.register', { name })]);
      assert.equal((registered as { status?: string }).status, 'ok', JSON.stringify(registered));
      const who = local.query('ledger.whoami', { account: name }) as { id: string };
      const txId = (registered as { id: string }).id;
      const same = async (url: string, direct: unknown) => {
        const res = await app.inject({ method: 'GET', url });
        assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
        // Byte for byte: a schema must neither trim nor reorder an answer.
        assert.equal(res.body, JSON.stringify(direct), url);
      };
      await same('/v1/node', local.info());
      await same('/v1/genesis', local.genesis);
      await same(`/v1/auth/${who.id}`, local.auth(who.id));
      await same(`/v1/accounts/${name}`, local.query('ledger.whoami', { account: name }));
      await same(`/v1/accounts/${name}/balance`, local.query('ledger.balance', { account: name }));
      await same(`/v1/accounts/${name}/history`, local.query('ledger.history', { account: name }));
      await same('/v1/notary/keys', []);
      await same(`/v1/txs/${txId}`, local.tx(txId));
      await same(`/v1/txs/${txId}/proof`, local.proof(txId));
      await same('/v1/blocks/1?full=1', { ...local.block(1), txs: local.blockTxViews(1) });
      await same('/v1/state/proof?key=ledger/name/alice', nodeMethods['state.proof']!(local, { key: 'ledger/name/alice' }));
      await same(`/v1/accounts/${name}/proof`, nodeMethods['account.proof']!(local, { name }));
      // The error schema keeps hint and details.
      const res = await app.inject({ method: 'GET', url: '/v1/accounts/nobody' });
      assert.equal(res.statusCode, 404);
      assert.ok(JSON.parse(res.body).error.hint);
      assert.equal(errorSchema.$id, 'Error');
    } finally {
      await app.close();
      await local.close();
    }
  });
});

/** Internal routes that take no input, so no client error (4xx) can be answered: the one recommended-ruleset warning they get. */
const noInputRoutes = ['/health', '/health/ready', '/health/live', '/metrics', '/openapi.json'];

describe('OpenAPI document of the internal listener', () => {
  let node: NodeProcess;
  let doc: any;

  before(async () => {
    const dir = tempDir();
    // With a tickets section, the tickets operator routes are on the internal listener too.
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ tickets: { tally: { account: 'shop', minAmount: '1' } } }));
    node = await startNode({ extraArgs: ['--config', config] });
    doc = await getOk(`${node.internal}/openapi.json`);
  });
  after(async () => {
    await cleanup();
  }, { timeout: 30_000 });

  it('passes the Redocly recommended ruleset with no error and no unexplained warning', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: `${node.internal}/openapi.json`, config });
    const shown = problems.map((p) => `${p.severity} ${p.ruleId} ${p.message} at ${p.location[0]?.pointer ?? '?'}`);
    assert.equal(problems.filter((p) => p.severity === 'error').length, 0, `lint errors:\n${shown.join('\n')}`);
    const explained = (p: (typeof problems)[number]) => p.ruleId === 'operation-4xx-response' &&
      noInputRoutes.some((r) => p.location[0]?.pointer === `#/paths/${r.replace(/\//g, '~1')}/get/responses`);
    assert.deepEqual(problems.filter((p) => !explained(p)).map((p) => `${p.ruleId} at ${p.location[0]?.pointer}`), [], `lint warnings:\n${shown.join('\n')}`);
    assert.match(doc.info.title, /internal/);
    assert.ok(doc.servers?.[0]?.url, 'servers');
  });

  it('lists every route the internal listener registers, each with a unique operationId; /health answers 503 with its report, not an Error', async () => {
    const keys = operations(doc).map((o) => o.key);
    for (const k of ['GET /health', 'GET /health/ready', 'GET /health/live', 'GET /metrics', 'GET /openapi.json', 'POST /v1/notary/batches',
      'GET /api/v1/tokens', 'POST /api/v1/token/{token}/spend', 'POST /api/v1/token/{token}/revoke', 'POST /api/v1/tokens/{hash}/revoke']) {
      assert.ok(keys.includes(k), `${k} is documented (${keys.join(', ')})`);
    }
    const ids = operations(doc).map((o) => o.op.operationId);
    for (const { key, op } of operations(doc)) assert.match(op.operationId ?? '', /^[a-z][A-Za-z]+$/, `${key}: operationId`);
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    assert.equal(doc.paths['/health'].get.responses['503'].content['application/json'].schema.properties.components.type, 'object');
    assert.equal(doc.paths['/v1/notary/batches'].post.responses['413'].content['application/json'].schema.$ref, '#/components/schemas/Error');

    // In process (no tickets service): the router and the document agree route for route.
    const dir = tempDir();
    initDataDir(dir, defaultGenesis(chainModules, { chain: 'tally-dev', decimals: 6, dev: true }), allModules);
    const local = TallyNode.open({ dataDir: dir, modules: allModules, synchronous: 'NORMAL', blockDelayMsMax: 5, verifierThreads: 1 });
    const app = await buildInternalHttp(local);
    try {
      await app.ready();
      const routes = registeredRoutes(app);
      assert.ok(routes.length >= 6, routes.join(', '));
      assert.deepEqual(operations(app.swagger()).map((o) => o.key).sort(), routes);
      for (const r of routes) assert.ok(keys.includes(r), `${r} is in the live document`);
    } finally {
      await app.close();
      await local.close();
    }
  });

  it('response schemas document the answers without trimming them: /health ok and failing, /health/ready, /metrics as text', async () => {
    const dir = tempDir();
    initDataDir(dir, defaultGenesis(chainModules, { chain: 'tally-dev', decimals: 6, dev: true }), allModules);
    const local = TallyNode.open({ dataDir: dir, modules: allModules, synchronous: 'NORMAL', blockDelayMsMax: 5, verifierThreads: 1 });
    const app = await buildInternalHttp(local);
    try {
      const get = async (url: string) => app.inject({ method: 'GET', url });
      local.health.warn('tickets.tally', 'the service account is not registered');
      const ok = await get('/health');
      assert.equal(ok.statusCode, 200, ok.body);
      const report = local.health.report();
      assert.deepEqual(JSON.parse(ok.body), {
        ok: true, ready: true, chain: 'tally-dev', height: local.tip.height, mempool: 0, components: report.components, warnings: report.warnings,
      });
      local.health.fail('storage', 'disk full');
      const failing = await get('/health');
      assert.equal(failing.statusCode, 503);
      const body = JSON.parse(failing.body);
      assert.deepEqual(body.failing, local.health.report().failing);
      assert.equal(body.components.storage.reason, 'disk full');
      assert.ok(body.components.storage.since);
      const ready = await get('/health/ready');
      assert.equal(ready.statusCode, 503);
      assert.deepEqual(JSON.parse(ready.body), { ready: false, failing: local.health.report().failing.filter((f) => f.core) });
      const live = JSON.parse((await get('/health/live')).body);
      assert.deepEqual(Object.keys(live).sort(), ['live', 'uptimeSecs']);
      const metrics = await get('/metrics');
      assert.equal(metrics.statusCode, 200);
      assert.match(String(metrics.headers['content-type']), /^text\/plain/);
      assert.match(metrics.body, /^# HELP /m);
    } finally {
      await app.close();
      await local.close();
    }
  });
});
