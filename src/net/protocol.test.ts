// The protocol's decoder: the README's example of each message decodes to itself, and
// every malformed message is refused with a stable code naming what was wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TallyError } from '../core/errors.js';
import { decodeMessage, encodeMessage, netLimits, protocolIds, type MessageOf } from './protocol.js';

const te = new TextEncoder();
const H = (c: string) => c.repeat(64);
const header = {
  version: 3 as const, chain: 'tally-dev', height: 7, prevHash: H('a'), time: 1767225600000, txRoot: H('b'), stateRoot: H('c'), txCount: 1,
  proposer: 'd0aSkaNNiz9HuHm_i0m8n9opLGsZKejtAfbJ1LT-ffU', validatorsHash: H('d'), lastCommitHash: H('0'),
};
const block = { hash: H('e'), header, sig: 'S'.repeat(86) };
const env = { tx: { chain: 'tally-dev', type: 'ledger.register', from: '0'.repeat(40), nonce: 0, expires: 1767229200, body: { name: 'alice' } }, pub: 'P'.repeat(43), sig: 'S'.repeat(86) };

/** The README's examples, one per message kind. */
const examples: { [K in Parameters<typeof decodeMessage>[0]]: MessageOf<K> } = {
  status: { chain: 'tally-dev', genesisHash: H('1'), height: 7, hash: H('e') },
  blocksRequest: { from: 1, count: 64 },
  blocksResponse: { blocks: [{ block, txs: [env] }] },
  header: block,
  submitRequest: { txs: [env] },
  submitResponse: { results: [{ id: H('f'), height: 8, index: 0, status: 'ok', events: [] }, { error: { code: 'nonce_gap', message: 'expected nonce 1' }, status: 409 }] },
  genesisRequest: {},
  genesisResponse: { genesis: { chain: 'tally-dev' } as never, block },
};

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TallyError, String(err));
    return err.code;
  }
  return 'accepted';
}

test('every example decodes to itself', () => {
  for (const [kind, value] of Object.entries(examples)) {
    assert.deepEqual(decodeMessage(kind as keyof typeof examples, encodeMessage(value)), value, kind);
  }
});

test('protocol ids carry the chain id and genesis hash, except genesis', () => {
  assert.deepEqual(protocolIds('tally-dev', '3fa2b1c0' + '0'.repeat(56)), {
    headersTopic: '/tally/tally-dev-3fa2b1c0/headers/1',
    status: '/tally/tally-dev-3fa2b1c0/status/1',
    blocks: '/tally/tally-dev-3fa2b1c0/blocks/1',
    submit: '/tally/tally-dev-3fa2b1c0/submit/1',
    genesis: '/tally/genesis/1',
  });
});

test('malformed messages are refused with bad_message, oversized ones with oversized', () => {
  const bad = (kind: keyof typeof examples, value: unknown) => code(() => decodeMessage(kind, encodeMessage(value)));
  assert.equal(code(() => decodeMessage('status', te.encode('{"chain":'))), 'bad_message');
  assert.equal(code(() => decodeMessage('status', new Uint8Array([0xff, 0xfe]))), 'bad_message');
  assert.equal(bad('status', { ...examples.status, extra: 1 }), 'bad_message');
  assert.equal(bad('status', { ...examples.status, height: -1 }), 'bad_message');
  assert.equal(bad('status', { ...examples.status, hash: 'E'.repeat(64) }), 'bad_message');
  assert.equal(bad('blocksRequest', { from: 1, count: netLimits.blocksPerRequestMax + 1 }), 'bad_message');
  assert.equal(bad('blocksRequest', { from: 1, count: 0 }), 'bad_message');
  assert.equal(bad('header', { ...block, header: { ...header, version: 4 } }), 'bad_message');
  assert.equal(bad('header', { ...block, header: { ...header, validatorsHash: 'D'.repeat(64) } }), 'bad_message');
  // A version 2 header (a chain from before header v3) still travels.
  const { validatorsHash: _v, lastCommitHash: _l, ...v2 } = header;
  assert.equal(bad('header', { ...block, header: { ...v2, version: 2 } }), 'accepted');
  assert.equal(bad('header', { ...block, header: { ...header, txCount: 4001 } }), 'bad_message');
  assert.equal(bad('blocksResponse', { blocks: [{ block, txs: ['not an envelope'] }] }), 'bad_message');
  assert.equal(bad('submitRequest', { txs: [] }), 'bad_message');
  assert.equal(bad('submitResponse', { results: [{ status: 'ok' }] }), 'bad_message');
  assert.equal(code(() => decodeMessage('header', new Uint8Array(netLimits.smallMessageBytesMax + 1))), 'oversized');
  // The refusal names the field.
  assert.throws(() => decodeMessage('status', encodeMessage({ ...examples.status, height: 'x' })), /status\.height/);
});
