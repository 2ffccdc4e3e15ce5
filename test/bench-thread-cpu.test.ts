// The benches' CPU reader: a process's CPU time counts its threads that have already
// exited (a verify's worker threads end before the process does).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { mainThreadCpu, processCpuS } from '../bench/thread-cpu.js';

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

  it("splits out the main thread: its own spin counts, a worker's does not", { skip: !onLinux && 'needs /proc' }, async () => {
    const start = mainThreadCpu(process.pid)!;
    const worker = new Worker('const end = Date.now() + 300; while (Date.now() < end) {}', { eval: true });
    await new Promise((resolve) => worker.once('exit', resolve));
    const afterWorker = mainThreadCpu(process.pid)!;
    assert.ok(afterWorker.cpuS - start.cpuS < 0.15, `the worker's 300 ms is not the main thread's: ${(afterWorker.cpuS - start.cpuS).toFixed(3)} s`);
    const end = Date.now() + 300;
    while (Date.now() < end) { /* spin on the main thread */ }
    const afterSpin = mainThreadCpu(process.pid)!;
    assert.ok(afterSpin.cpuS - afterWorker.cpuS >= 0.2, `the main thread's own spin counts: ${(afterSpin.cpuS - afterWorker.cpuS).toFixed(3)} s`);
    assert.ok(afterSpin.waitS >= start.waitS);
    assert.equal(mainThreadCpu(2 ** 22 + 1), undefined, 'no such process');
  });
});
