// CPU time per thread of this process, from /proc/self/task/*/schedstat (Linux; empty
// elsewhere): time on a core, and time runnable but waiting for one (other processes had
// it). The notary bench reads it before and after its run to show where the time went: a
// signing thread's wall time is signing + waiting for a core + idle (waiting for work).
// processCpuS gives a whole process's CPU time (another process too), from /proc/<pid>/stat.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface ThreadCpu {
  tid: number;
  name: string;
  /** seconds on a core */
  cpuS: number;
  /** seconds runnable but waiting for a core */
  waitS: number;
}

/** One thread's "<ns on a core> <ns waiting on a run queue> <timeslices>" (Documentation/scheduler/sched-stats), in seconds; throws if it is gone. */
function schedstat(pid: number | 'self', tid: number | string): { cpuS: number; waitS: number } {
  const [run, wait] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
  return { cpuS: run! / 1e9, waitS: wait! / 1e9 };
}

/** Every thread of a process (this one by default). */
export function threadCpu(pid: number | 'self' = 'self'): Map<number, ThreadCpu> {
  const out = new Map<number, ThreadCpu>();
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    try {
      const { cpuS, waitS } = schedstat(pid, t);
      const name = fs.readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim();
      out.set(Number(t), { tid: Number(t), name, cpuS, waitS });
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out;
}

/** Clock ticks per second of /proc's times (USER_HZ: 100 on Linux, asked once). */
let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * CPU seconds (user + system) a process has used so far, its exited threads included:
 * /proc/<pid>/stat, not the sum of the live threads' schedstat (a thread's time leaves
 * task/ when it ends). 0 where there is no /proc or the process is gone.
 */
export function processCpuS(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after "(comm) ": state is field 3, utime and stime are fields 14 and 15
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return 0;
  }
}

/** CPU seconds each thread spent between two snapshots, busiest first; main is the process's own id. */
export function threadCpuDelta(before: Map<number, ThreadCpu>, after: Map<number, ThreadCpu>): Array<ThreadCpu & { main: boolean }> {
  return [...after.values()]
    .map((t) => ({
      ...t,
      cpuS: Math.round((t.cpuS - (before.get(t.tid)?.cpuS ?? 0)) * 100) / 100,
      waitS: Math.round((t.waitS - (before.get(t.tid)?.waitS ?? 0)) * 100) / 100,
      main: t.tid === process.pid,
    }))
    .filter((t) => t.cpuS > 0)
    .sort((a, b) => b.cpuS - a.cpuS);
}

/**
 * A process's main thread so far (its thread id is the process id): seconds on a core and
 * seconds runnable but waiting for one. Undefined where there is no /proc or it is gone.
 */
export function mainThreadCpu(pid: number): { cpuS: number; waitS: number } | undefined {
  try {
    return schedstat(pid, pid);
  } catch {
    return undefined;
  }
}
