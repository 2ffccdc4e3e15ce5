// A CPU quota per benchmarked process, so that nodes sharing one machine can each be given
// what one small machine of their own would have: a cgroup per process with a CFS quota
// (cgroup v1 `cpu.cfs_quota_us`, or v2 `cpu.max` where the cpu controller is enabled).
// Needs root. Used by bench/validators.ts --cpu-per-node and bench/replica.ts --cpu-limit.
import fs from 'node:fs';
import path from 'node:path';

const PERIOD_US = 100_000;

/** The directory under which this machine's cpu cgroups are made, and their flavour. */
function cpuHierarchy(): { dir: string; v2: boolean } {
  if (fs.existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')) return { dir: '/sys/fs/cgroup/cpu', v2: false };
  try {
    if (fs.readFileSync('/sys/fs/cgroup/cgroup.subtree_control', 'utf8').split(/\s+/).includes('cpu')) return { dir: '/sys/fs/cgroup', v2: true };
  } catch { /* not v2 at the root */ }
  throw new Error('a CPU quota needs a cpu cgroup (v1 /sys/fs/cgroup/cpu, or v2 with the cpu controller enabled) and root');
}

export interface CpuLimit {
  /** Move a process (all its threads, and what it starts later) under the quota. */
  add(pid: number): void;
  /** Remove the cgroup; call after its processes have exited. */
  remove(): void;
}

/** A cgroup allowing `cores` (e.g. 0.5) of CPU time, named after `name` and this process. */
export function cpuLimit(name: string, cores: number): CpuLimit {
  const { dir, v2 } = cpuHierarchy();
  const group = path.join(dir, `tally-bench-${process.pid}-${name}`);
  fs.mkdirSync(group);
  const quota = Math.round(cores * PERIOD_US);
  if (v2) fs.writeFileSync(path.join(group, 'cpu.max'), `${quota} ${PERIOD_US}`);
  else {
    fs.writeFileSync(path.join(group, 'cpu.cfs_period_us'), String(PERIOD_US));
    fs.writeFileSync(path.join(group, 'cpu.cfs_quota_us'), String(quota));
  }
  return {
    add: (pid) => fs.writeFileSync(path.join(group, 'cgroup.procs'), String(pid)),
    remove: () => { try { fs.rmdirSync(group); } catch { /* still has a process: left for the operator */ } },
  };
}
