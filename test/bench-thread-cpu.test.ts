// The benches' CPU reader: a process's CPU time counts its threads that have already
// exited (a verify's worker threads end before the process does).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { processCpuS } from '../bench/thread-cpu.js';

const onLinux = process.platform === 'linux';

describe('bench CPU reader', () => {
  it('keeps the CPU time of a thread that has exited', { skip: !onLinux && 'needs /proc' }, async () => {
    const before = processCpuS(process.pid);
    // a thread that spins for 300 ms of CPU, then ends
    const worker = new Worker('const end = Date.now() + 300; while (Date.now() < end) {}', { eval: true });
    await new Promise((resolve) => worker.once('exit', resolve));
    const after = processCpuS(process.pid);
    assert.ok(after - before >= 0.2, `the exited thread's CPU is counted: ${before.toFixed(3)} s -> ${after.toFixed(3)} s`);
  });
});
