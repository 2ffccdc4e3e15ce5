// Network namespaces for tests that need separate hosts on one machine: two namespaces
// joined by one veth pair, a link a test can cut and heal. Needs root (or CAP_NET_ADMIN)
// and iproute2. Names carry the test process's pid, so a later run can tell a crashed
// run's leftovers (its pid is gone) from a namespace another live run is using.
import { execFile } from 'node:child_process';
import { after } from 'node:test';
import { RawSocket, type NodeProcess } from './helpers.js';

const PREFIX = 'tally-ns-';

function ip(args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Delete namespaces this helper made in runs whose process is gone (a crash, a kill -9). */
export async function removeStaleNamespaces(): Promise<string[]> {
  const removed: string[] = [];
  for (const line of (await ip(['netns', 'list'])).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${PREFIX}[wr]-(\\d+)$`).exec(name);
    if (!m || alive(Number(m[1]))) continue;
    await ip(['netns', 'del', name]).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}

export interface HostPair {
  /** the namespace names */
  a: string;
  b: string;
  /** each side's address on the link between them */
  addrA: string;
  addrB: string;
  /** a command prefix that runs a program inside a namespace */
  exec(ns: string): string[];
  /** take the link down (from a's side: b loses carrier too) and bring it back */
  cut(): Promise<void>;
  heal(): Promise<void>;
  /** delete both namespaces (the veth pair goes with them); never throws */
  remove(): Promise<void>;
}

/**
 * Two namespaces, each with loopback up, joined by a veth pair on 10.213.0.0/30. The
 * addresses are private to the two namespaces, so runs in parallel do not collide, and
 * neither namespace has a route anywhere else: with the link down, a is unreachable from b.
 * Throws if namespaces cannot be made (not root, no iproute2): the caller decides to skip.
 */
export async function createHostPair(): Promise<HostPair> {
  const pid = process.pid;
  const a = `${PREFIX}w-${pid}`;
  const b = `${PREFIX}r-${pid}`;
  // Interface names are at most 15 bytes; unique per run, though each lives in its own namespace.
  const ifA = `tw${pid}`.slice(0, 15);
  const ifB = `tr${pid}`.slice(0, 15);
  const addrA = '10.213.0.1';
  const addrB = '10.213.0.2';
  const remove = async () => {
    for (const ns of [a, b]) await ip(['netns', 'del', ns]).catch(() => undefined);
  };
  await ip(['netns', 'add', a]);
  try {
    await ip(['netns', 'add', b]);
    await ip(['link', 'add', ifA, 'netns', a, 'type', 'veth', 'peer', 'name', ifB, 'netns', b]);
    for (const [ns, dev, addr] of [[a, ifA, addrA], [b, ifB, addrB]] as const) {
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', ns, 'addr', 'add', `${addr}/30`, 'dev', dev]);
      await ip(['-n', ns, 'link', 'set', dev, 'up']);
    }
  } catch (err) {
    await remove();
    throw err;
  }
  return {
    a, b, addrA, addrB,
    exec: (ns) => ['ip', 'netns', 'exec', ns],
    cut: async () => { await ip(['-n', a, 'link', 'set', ifA, 'down']); },
    heal: async () => { await ip(['-n', a, 'link', 'set', ifA, 'up']); },
    remove,
  };
}

/**
 * Two hosts for a test file, or undefined (after a loud line on stderr) where namespaces
 * cannot be made; with TALLY_REQUIRE_NETNS=1 (CI) that is an error instead. The namespaces
 * are deleted when the file's tests end, even when they failed (a crashed run's are
 * removed by the next run).
 */
export async function hostPairOrSkip(testFile: string, what: string): Promise<{ hosts?: HostPair; missing?: string }> {
  let made: HostPair | string;
  try {
    await removeStaleNamespaces();
    made = await createHostPair();
  } catch (err) {
    made = (err as Error).message;
  }
  if (typeof made !== 'string') {
    const hosts = made;
    after(async () => { await hosts.remove(); });
    return { hosts };
  }
  const missing = `network namespaces cannot be made here (${made})`;
  if (process.env.TALLY_REQUIRE_NETNS === '1') throw new Error(`${testFile}: ${missing}, and TALLY_REQUIRE_NETNS=1`);
  process.stderr.write(`\n*** SKIPPED the network-namespace ${what} (${testFile}): ${missing} ***\n\n`);
  return { missing };
}

/** One socket connection to a node's JSON-RPC socket; requests one at a time. */
export class SocketClient {
  private next = 1;
  private constructor(private readonly sock: RawSocket) {}
  static async open(node: NodeProcess): Promise<SocketClient> {
    return new SocketClient(await RawSocket.connect(node.socket));
  }

  async call(method: string, params?: unknown, timeoutMs = 30_000): Promise<any> {
    const reply = await this.sock.request(this.next++, method, params, timeoutMs);
    if (reply.error) throw new Error(`${method}: ${reply.error.code}: ${reply.error.message}`);
    return reply.result;
  }

  close(): void {
    this.sock.close();
  }
}
