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

  it("splits out the main thread: its own work counts, a worker's does not", { skip: !onLinux && 'needs /proc' }, async () => {
    // CPU time, not wall time: under load (CI runs two test files at once) a 300 ms spin
    // gets less than 300 ms of a core. So each thread spins until its own schedstat has
    // grown by 0.3 s (10 s at most).
    const spin = `
      const fs = require('node:fs');
      const own = () => Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e9;
      const from = own(), end = Date.now() + 10000;
      while (own() - from < 0.3 && Date.now() < end) {}
    `;
    const start = mainThreadCpu(process.pid)!;
    const worker = new Worker(spin, { eval: true });
    await new Promise((resolve) => worker.once('exit', resolve));
    const afterWorker = mainThreadCpu(process.pid)!;
    assert.ok(afterWorker.cpuS - start.cpuS < 0.15, `the worker's 0.3 s is not the main thread's: ${(afterWorker.cpuS - start.cpuS).toFixed(3)} s`);
    const end = Date.now() + 10_000;
    while (mainThreadCpu(process.pid)!.cpuS - afterWorker.cpuS < 0.3 && Date.now() < end) { /* spin on the main thread */ }
    const afterSpin = mainThreadCpu(process.pid)!;
    assert.ok(afterSpin.cpuS - afterWorker.cpuS >= 0.3, `the main thread's own spin counts: ${(afterSpin.cpuS - afterWorker.cpuS).toFixed(3)} s`);
    assert.ok(afterSpin.waitS >= start.waitS);
    assert.equal(mainThreadCpu(2 ** 22 + 1), undefined, 'no such process');
  });
});
