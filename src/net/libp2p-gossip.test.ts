import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { gossipMessageId } from './libp2p-gossip.js';

describe('gossip message id', () => {
  it('is the first 20 bytes of SHA-256(topic, 0x00, data) (the README vector)', () => {
    const id = Buffer.from(gossipMessageId('/tally/tally-dev-3fa2b1c0/blocks/1', new TextEncoder().encode('abc'))).toString('hex');
    assert.equal(id, 'e13aa165abc5d48d4cf362b04826a752051d9e49');
    const readme = fs.readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    assert.ok(readme.includes(`\`/tally/tally-dev-3fa2b1c0/blocks/1\` and data \`abc\` give \`${id}\``), 'README gives this vector');
  });
});
