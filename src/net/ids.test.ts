import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { networkName, protocolId } from './ids.js';

describe('protocol ids', () => {
  it('name the chain and its genesis (README vectors)', () => {
    const net = networkName('tally-dev', '3fa2b1c0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f');
    assert.equal(net, 'tally-dev-3fa2b1c0');
    assert.equal(protocolId(net, 'blocks'), '/tally/tally-dev-3fa2b1c0/blocks/1');
    assert.equal(protocolId(net, 'sync-blocks', 2), '/tally/tally-dev-3fa2b1c0/sync-blocks/2');
  });

  it('refuse names that could escape their place', () => {
    assert.throws(() => networkName('Tally/x', 'a'.repeat(64)), { code: 'bad_args' });
    assert.throws(() => networkName('tally', 'A'.repeat(64)), { code: 'bad_args' });
    assert.throws(() => protocolId('n', 'a/b'), { code: 'bad_args' });
    assert.throws(() => protocolId('n', 'blocks', 0), { code: 'bad_args' });
  });
});
