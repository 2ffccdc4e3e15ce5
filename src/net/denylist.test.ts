import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DenyList } from './denylist.js';

describe('DenyList', () => {
  it('refuses a peer until its time is up, then forgets it', () => {
    let now = 1000;
    const d = new DenyList(500, 10, () => now);
    d.add('a', 'garbage');
    assert.equal(d.check('a')?.reason, 'garbage');
    now = 1499;
    assert.ok(d.check('a'));
    now = 1500;
    assert.equal(d.check('a'), undefined);
    assert.equal(d.size, 0);
  });

  it('never holds more than its size, evicting the oldest', () => {
    let now = 0;
    const d = new DenyList(10_000, 3, () => now);
    for (const p of ['a', 'b', 'c', 'd']) { d.add(p, 'score'); now++; }
    assert.equal(d.size, 3);
    assert.equal(d.check('a'), undefined);
    d.add('b', 'oversized'); // re-adding refreshes: now c is the oldest
    d.add('e', 'garbage');
    assert.equal(d.check('c'), undefined);
    assert.equal(d.check('b')?.reason, 'oversized');
  });
});
