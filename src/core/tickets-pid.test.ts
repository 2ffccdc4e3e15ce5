import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { PID_PATTERN, newPid, tallyMemoTag } from './tickets-pid.js';

describe('ticket PIDs (shared with the browser wallet)', () => {
  it('the memo tag is the first 8 bytes of SHA-256(tag ‖ PID bytes), as node:crypto computes it', () => {
    for (let i = 0; i < 20; i++) {
      const pid = newPid();
      assert.match(pid, PID_PATTERN);
      const want = crypto.createHash('sha256').update('tally/tickets/memo/v1\n').update(Buffer.from(pid, 'hex')).digest().subarray(0, 8).toString('hex');
      assert.equal(tallyMemoTag(pid), want);
    }
    assert.notEqual(newPid(), newPid());
  });
});
