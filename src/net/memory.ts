// An in-memory network for tests: many Transports in one process, no sockets. Gossip is
// delivered to every connected subscriber (no mesh; one hop, as a full gossipsub mesh of
// a few peers behaves), requests go straight to the peer's handler with the same size
// limits and timeouts a real transport enforces, and drop() disconnects both ends and
// refuses the dropped peer's redials for a while. Delivery is asynchronous (a microtask
// later), so code that works here does not rely on a synchronous network.
import { fail, TallyError } from '../core/errors.js';
import type { DropReason, GossipHandler, PeerInfo, RequestHandler, RequestOptions, Transport } from './transport.js';

const REQUEST_TIMEOUT_MS_DEFAULT = 10_000;
/** A gossip message larger than this is never delivered (a real transport refuses it too). */
const GOSSIP_BYTES_MAX = 1024 * 1024;

export class MemoryNetwork {
  readonly nodes = new Map<string, MemoryTransport>();
  private next = 0;

  /** A new transport on this network; `name` is its peer id and its one address. */
  transport(name = `peer-${++this.next}`, options: { peersMax?: number } = {}): MemoryTransport {
    if (this.nodes.has(name)) fail('bad_args', `a peer named ${name} exists`);
    const t = new MemoryTransport(this, name, options.peersMax ?? 50);
    this.nodes.set(name, t);
    return t;
  }
}

interface Handled {
  handler: RequestHandler;
  maxRequestBytes: number;
}

export class MemoryTransport implements Transport {
  private started = false;
  private readonly links = new Map<string, PeerInfo>();
  private readonly topics = new Map<string, GossipHandler>();
  private readonly protocols = new Map<string, Handled>();
  private readonly listeners = { 'peer:connect': [] as Array<(p: string) => void>, 'peer:disconnect': [] as Array<(p: string) => void> };
  /** peers we dropped, with why: they cannot dial us again (tests read it) */
  readonly dropped = new Map<string, DropReason>();
  /** gossip messages published, for tests */
  published = 0;

  constructor(private readonly net: MemoryNetwork, readonly peerId: string, private readonly peersMax: number) {}

  async start(): Promise<void> {
    this.started = true;
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const peer of [...this.links.keys()]) this.unlink(peer);
  }

  addrs(): string[] {
    return [this.peerId];
  }

  async dial(addr: string): Promise<string> {
    const other = this.net.nodes.get(addr);
    if (!this.started) fail('not_started', 'the transport is stopped');
    if (!other || !other.started) fail('dial_failed', `no peer at ${addr}`);
    if (other.peerId === this.peerId) fail('dial_failed', 'cannot dial ourselves');
    if (this.links.has(other.peerId)) return other.peerId;
    if (other.dropped.has(this.peerId) || this.dropped.has(other.peerId)) fail('dial_failed', `${addr} refuses us (dropped)`);
    if (other.links.size >= other.peersMax || this.links.size >= this.peersMax) fail('dial_failed', 'too many peers');
    this.link(other, 'outbound');
    other.link(this, 'inbound');
    return other.peerId;
  }

  private link(other: MemoryTransport, direction: 'inbound' | 'outbound'): void {
    this.links.set(other.peerId, { id: other.peerId, addrs: [other.peerId], score: 0, direction });
    const listeners = this.listeners['peer:connect'];
    queueMicrotask(() => { for (const l of listeners) l(other.peerId); });
  }

  private unlink(peer: string): void {
    if (!this.links.delete(peer)) return;
    this.net.nodes.get(peer)?.unlink(this.peerId);
    const listeners = this.listeners['peer:disconnect'];
    queueMicrotask(() => { for (const l of listeners) l(peer); });
  }

  peers(): PeerInfo[] {
    return [...this.links.values()].map((p) => ({ ...p }));
  }

  async drop(peer: string, reason: DropReason): Promise<void> {
    this.dropped.set(peer, reason);
    const info = this.links.get(peer);
    if (info) info.score -= 100;
    this.unlink(peer);
  }

  subscribe(topic: string, handler: GossipHandler): void {
    this.topics.set(topic, handler);
  }

  unsubscribe(topic: string): void {
    this.topics.delete(topic);
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    if (data.length > GOSSIP_BYTES_MAX) fail('oversized', `gossip messages are at most ${GOSSIP_BYTES_MAX} bytes`);
    this.published++;
    for (const peer of this.links.keys()) {
      const other = this.net.nodes.get(peer);
      const handler = other?.topics.get(topic);
      if (!other || !handler) continue;
      const copy = data.slice();
      queueMicrotask(() => {
        if (!other.links.has(this.peerId)) return;
        void Promise.resolve(handler({ from: this.peerId, topic, data: copy })).then((verdict) => {
          const link = other.links.get(this.peerId);
          if (verdict === 'reject' && link) link.score -= 10;
        }, () => undefined);
      });
    }
  }

  handle(protocol: string, handler: RequestHandler, limits: { maxRequestBytes: number }): void {
    this.protocols.set(protocol, { handler, maxRequestBytes: limits.maxRequestBytes });
  }

  async request(peer: string, protocol: string, data: Uint8Array, opts: RequestOptions = {}): Promise<Uint8Array> {
    if (!this.links.has(peer)) fail('not_connected', `not connected to ${peer}`);
    const other = this.net.nodes.get(peer)!;
    const handled = other.protocols.get(protocol);
    if (!handled) fail('unsupported_protocol', `${peer} does not serve ${protocol}`);
    if (data.length > handled.maxRequestBytes) fail('oversized', `${protocol} requests are at most ${handled.maxRequestBytes} bytes`);
    const timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TallyError('net_timeout', `request ${protocol} to ${peer} timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.resolve();
      // As over libp2p, only the handler's stable code crosses the wire.
      const served = handled.handler(this.peerId, data.slice()).catch((err: unknown) => {
        throw new TallyError('net_remote_error', `${peer} answered ${protocol} with error ${err instanceof TallyError ? err.code : 'internal'}`);
      });
      const response = await Promise.race([served, timeout]);
      if (opts.maxResponseBytes !== undefined && response.length > opts.maxResponseBytes) {
        fail('net_oversized', `the response of ${peer} to ${protocol} is over ${opts.maxResponseBytes} bytes`);
      }
      return response.slice();
    } finally {
      clearTimeout(timer);
    }
  }

  on(event: 'peer:connect' | 'peer:disconnect', listener: (peer: string) => void): void {
    this.listeners[event].push(listener);
  }
}
