// The OpenAPI document of the public listener (@fastify/swagger, from the route schemas).
// Routes declare their own answers (2xx and the errors only they give); the statuses every
// route of a kind can answer (a schema refusal, a body too large, the rate limit, an
// internal error) are added here, in the document only, from what the route takes. Every
// error has one shape, the `Error` component: errorHandler in http.ts answers nothing else.
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import swagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { limits } from '../core/limits.js';

/** The shared schema of every error answer (`errorBody` in core/errors.ts). */
export const errorSchema = {
  $id: 'Error',
  type: 'object',
  description: 'every error the node answers: a stable snake_case code to switch on, a message for people, sometimes a hint (how to fix it) and details',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'stable machine code, e.g. tx_not_found (README, "Error codes")' },
        message: { type: 'string' },
        hint: { type: 'string', description: 'what to do about it' },
        details: { type: 'object', additionalProperties: true, description: 'facts a client can act on, e.g. {expected} for nonce_gap' },
      },
    },
  },
} as const;

/** A route's response entry for an error status: what it means and which codes it carries. */
export type ErrorResponse = { description: string };

export interface OpenApiOptions {
  /** the public cost limit is on (it charges every route that has no rate limit of its own) */
  rateLimited: boolean;
  /** whose document: the public listener's (default) or the internal one's (/openapi.json there) */
  listener?: 'public' | 'internal';
}

/** The internal listener's document: health, metrics and the modules' operator routes. */
const internalDocument = {
  info: {
    title: 'Tally node internal API',
    version: '1',
    description: 'The internal listener (loopback by default; never expose it): /health, /health/ready, /health/live, Prometheus /metrics, and the modules\' operator routes (notary batch intake, tickets token spend, revoke and list). No authentication: whoever reaches it is the operator. Every error is {"error": {"code", "message", "hint"?, "details"?}} (the Error schema).',
    license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
  },
  servers: [{ url: '/', description: 'this node\'s internal listener (the origin this document was fetched from)' }],
  tags: [
    { name: 'health', description: 'health, readiness, liveness and metrics' },
    { name: 'notary', description: 'operator: submit record batches to sign' },
    { name: 'tickets', description: 'operator: the service\'s side of tokens (spend, revoke, list)' },
  ],
};

const body400 = 'bad_request: the path, query or body does not match the schema; bad_json: the body is not JSON; bad_url: bad percent-encoding';
const query400 = 'bad_request: the path or query does not match the schema; bad_url: bad percent-encoding';

/** Registers the Error schema and the OpenAPI generator on `app` (before any route). */
export async function registerOpenApi(app: FastifyInstance, o: OpenApiOptions): Promise<void> {
  app.addSchema(errorSchema);
  const options: FastifyDynamicSwaggerOptions = {
    openapi: o.listener === 'internal' ? internalDocument as FastifyDynamicSwaggerOptions['openapi'] : {
      info: {
        title: 'Tally node API',
        version: '1',
        description: 'Signed transactions, blocks, Merkle proofs and module queries. Every error is {"error": {"code", "message", "hint"?, "details"?}} (the Error schema) with the status that fits; clients switch on the code. The WebSocket /v1/ws is described as a GET answering 101, with its topics, messages and close codes in `x-websocket`.',
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
      },
      // The node does not know the address clients reach it by (a reverse proxy may front
      // it): paths are absolute and the server is the origin this document was read from.
      servers: [{ url: '/', description: 'this node (the origin this document was fetched from)' }],
      tags: [
        { name: 'chain', description: 'transactions, blocks, proofs and the node' },
        { name: 'ledger', description: 'accounts, history, disputes and statements' },
        { name: 'notary', description: 'signed record batches and their proofs' },
        { name: 'tickets', description: 'paid anonymous access: payments, redeem, tokens' },
        { name: 'oracle', description: 'BIP340 oracles: announced events and their attestations' },
        { name: 'web', description: 'the web wallet and explorer the node serves at /' },
      ],
      'x-tally-signed-query': 'Some queries (ledger.audit) must be signed by an account: params.auth = {account, at, sig}, sig being the account\'s Ed25519 signature over "tally/query/v1\\n" + JCS({chain, name, account, at, params without auth}), fresh within 120 s and usable once (README, "Audit"). The signature travels in the JSON body, which no OpenAPI security scheme can express, so operations declare security: [] and POST /v1/query/{name} describes it.',
    } as FastifyDynamicSwaggerOptions['openapi'],
    // Keep the shared schemas' own names (#/components/schemas/Error), not def-0.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url, route }) => ({ schema: documented(schema as Record<string, unknown> | undefined, route, o) as FastifySchema, url }),
  };
  await app.register(swagger, options);
}

/** Error statuses as route response entries, e.g. errors({404: 'tx_not_found: ...'}). */
export function errors(statuses: Record<number, string>): Record<string, ErrorResponse> {
  const out: Record<string, ErrorResponse> = {};
  for (const [status, description] of Object.entries(statuses)) out[status] = { description };
  return out;
}

/** The schema as the document shows it: public, with every status the route can answer. */
function documented(schema: Record<string, unknown> | undefined, route: RouteOptions, o: OpenApiOptions): Record<string, unknown> {
  const s: Record<string, unknown> = { ...(schema ?? {}) };
  // @fastify/websocket hides its routes; ours is documented (a GET that upgrades: 101).
  if ((route as { websocket?: boolean }).websocket) s.hide = false;
  if (s.hide) return s;
  const own = (s.response ?? {}) as Record<string, { description?: string }>;
  const responses: Record<string, unknown> = {};
  const add = (status: number, description: string) => {
    const mine = own[status]?.description;
    responses[status] = { $ref: 'Error#', description: mine ? `${mine}; ${description}` : description };
  };
  for (const [status, r] of Object.entries(own)) {
    // An error status is always the Error shape, whatever the route's schema spells (one
    // that answers no body at all says type: 'null'), except an object schema of its own:
    // a body that is not an error (/health's report answers 503 while something fails).
    const type = (r as { type?: unknown }).type;
    responses[status] = Number(status) >= 400 && type !== 'null' && type !== 'object' ? { $ref: 'Error#', description: r.description ?? 'an error' } : r;
  }
  const hasBody = s.body !== undefined;
  if (hasBody || s.params !== undefined || s.querystring !== undefined) add(400, hasBody ? body400 : query400);
  if (hasBody) {
    add(413, `body_too_large: the body is over ${limits.httpBodyBytesMax} bytes`);
    add(415, 'bad_content_type: the body is not sent as application/json');
  }
  if (s.params !== undefined) add(414, 'url_too_long: a path parameter is too long');
  const config = route.config as { rateLimit?: unknown } | undefined;
  const ownLimit = config?.rateLimit !== undefined;
  if (ownLimit ? config.rateLimit !== false : o.rateLimited) {
    add(429, ownLimit
      ? 'rate_limited: this address made more requests a minute than the operator allows for this route (see the retry-after header)'
      : 'rate_limited: this address used its rate-limit units for the minute (see the retry-after header and README, "Operating a node")');
  }
  add(500, 'internal: a bug in the node (the node logs it)');
  return { ...s, security: s.security ?? [], response: responses };
}

// ---------------------------------------------------------------------------------------
// Shapes the core routes answer. Every object keeps fields it does not list
// (additionalProperties), so a response schema documents and never trims an answer.

/** An object schema that serializes every field, listed or not. */
export function openObject(description: string, properties: Record<string, unknown> = {}, required: string[] = []) {
  return { type: 'object', description, properties, additionalProperties: true, ...(required.length ? { required } : {}) };
}

const hex64 = { type: 'string', description: '64 lowercase hex' };
const b64u = { type: 'string', description: 'base64url' };
/** Any JSON value (serialized as is): a module query's answer, the genesis document. */
export const anyJson = (description: string) => ({ description });

export const headerSchema = openObject('a signed block header (README, "Genesis and blocks" and "Block headers")', {
  version: { type: 'integer', enum: [2, 3], description: 'absent: version 1' },
  chain: { type: 'string' }, height: { type: 'integer' }, prevHash: hex64, time: { type: 'integer', description: 'unix ms' },
  txRoot: hex64, stateRoot: hex64, txCount: { type: 'integer' }, proposer: b64u,
  validatorsHash: { ...hex64, description: 'version 3: hash of the validator set' },
  lastCommitHash: { ...hex64, description: 'version 3: hash of the previous block\'s commit (64 zeros at height 0)' },
});

export const receiptSchema = openObject('what executing a transaction did: status ok, or failed with a code (the nonce is used either way)', {
  id: hex64, height: { type: 'integer' }, index: { type: 'integer' },
  status: { type: 'string', enum: ['ok', 'failed'] }, code: { type: 'string', description: 'why it failed' },
  events: { type: 'array', items: openObject('an event, {type, ...} (README, "Events")') },
}, ['id', 'status']);

export const envelopeSchema = openObject('a signed transaction {tx, pub, sig} (README, "Transactions")', {
  tx: openObject('{chain, type, from, nonce, expires, body}'), pub: b64u, sig: b64u,
});

export const txViewSchema = openObject('a committed transaction', { id: hex64, envelope: envelopeSchema, receipt: receiptSchema });

export const signedBlockSchema = openObject('a block: hash, header and the node\'s signature over it', { hash: hex64, header: headerSchema, sig: b64u });

export const blockSchema = openObject('a block with its transactions', {
  hash: hex64, header: headerSchema, sig: b64u,
  commit: openObject('a validator chain (without ?full): the block\'s commit certificate {height, round, blockHash, signers, signature} (README, "Running validators")', {
    height: { type: 'integer' }, round: { type: 'integer' }, blockHash: hex64, signers: { type: 'string' }, signature: b64u,
  }),
  txs: { type: 'array', description: 'transaction ids; with ?full=1 the transactions with their receipts', items: { oneOf: [hex64, txViewSchema] } },
});

export const proofSchema = openObject('a Merkle inclusion proof of a receipt in its block\'s txRoot, with the signed header (README, "Merkle trees and proofs")', {
  receipt: receiptSchema, leaf: hex64,
  proof: openObject('{index, count, siblings}', { index: { type: 'integer' }, count: { type: 'integer' }, siblings: { type: 'array', items: hex64 } }),
  block: signedBlockSchema,
});

export const nodeInfoSchema = openObject('what a client needs to know about this node', {
  chain: { type: 'string' }, decimals: { type: 'integer' }, genesisHash: hex64, nodeKey: b64u, height: { type: 'integer' }, tipHash: hex64,
  mempool: { type: 'integer' }, modules: { type: 'array', items: { type: 'string' } }, txTypes: { type: 'array', items: { type: 'string' } },
  queries: { type: 'array', items: { type: 'string' } },
});

export const authSchema = openObject('an account id\'s key and the next nonce to sign with', {
  id: { type: 'string' }, pub: { type: ['string', 'null'] }, nonce: { type: 'integer', description: 'next nonce, counting pending transactions' },
  pending: { type: 'integer' },
});

export const submitAnswerSchema = {
  description: 'one envelope: its receipt once committed. An array: an array in the same order of receipts, or {error, status} for each refused one',
  oneOf: [receiptSchema, { type: 'array', items: { oneOf: [receiptSchema, openObject('a refused transaction of a batch', { error: openObject('{code, message, hint?, details?} as in Error'), status: { type: 'integer', description: 'the HTTP status it would have had alone' } }, ['error', 'status'])] } }],
};

export const stateProofSchema = openObject('a state tree proof (README, "State tree"): fold it to the header\'s stateRoot', {
  key: { type: 'string' },
  value: { type: ['string', 'null'], description: 'the value\'s canonical JSON text; null: the key is absent' },
  siblings: { type: 'array', maxItems: 256, items: hex64, description: 'top-down: siblings[i] is beside the key\'s path at depth i + 1' },
  leaf: openObject('absent keys only: the other key\'s leaf where the path ends', { path: hex64, valueHash: hex64 }),
}, ['key', 'value', 'siblings']);

const bundleFields = {
  format: { type: 'string', enum: ['tally-state-proof/v1'] },
  height: { type: 'integer' },
  block: signedBlockSchema,
};

export const stateBundleSchema = openObject('a state proof bundle: a key\'s value (or absence) at a height, with the signed header whose stateRoot the proof folds to; save it and check it offline with `tally state verify`', {
  ...bundleFields, key: { type: 'string' }, value: { description: 'the proven value, parsed (null: absent)' }, proof: stateProofSchema,
}, ['format', 'height', 'block', 'key', 'proof']);

export const accountBundleSchema = openObject('an account proof bundle: the name\'s record (its account id) and the account\'s record (name, balance, held, created; minor units) at a height, both proven against the signed header\'s stateRoot', {
  ...bundleFields,
  account: openObject('what the proofs are about: {name, id}; id null when the name has no account', { name: { type: ['string', 'null'] }, id: { type: ['string', 'null'] } }),
  proofs: openObject('{name?, account?}: proofs of ledger/name/<name> and ledger/acct/<id>', { name: stateProofSchema, account: stateProofSchema }),
}, ['format', 'height', 'block', 'account', 'proofs']);
