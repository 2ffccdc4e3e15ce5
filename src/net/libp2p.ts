// The Transport on js-libp2p 3: TCP, Noise, Yamux, Gossipsub, Identify, Ping. Gossip
// validation is the handler's Verdict (gossipsub scores a 'reject' down and stops
// relaying it); request-response is one protocol per name with one frame each way
// (framing.ts). Every peer, stream, frame and request is bounded (NetLimits), and a peer
// we drop is refused both ways for a while (DenyList). Polyfill first: see polyfill.ts.
import './polyfill.js';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { identify } from '@libp2p/identify';
import { ping } from '@libp2p/ping';
import { gossipsub, TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { fail } from '../core/errors.js';
import type { DropReason, GossipHandler, PeerInfo, RequestHandler, RequestOptions, Transport, Verdict } from './transport.js';
import { DenyList } from './denylist.js';
import { noNetMetrics, type NetMetricsHooks } from './metrics.js';
import { serveRequest, sendRequest, type RequestContext } from './libp2p-requests.js';
import { gossipOptions, scoreTopic } from './libp2p-gossip.js';
import { DEFAULT_NET_LIMITS, SCORE_REJECTED_GOSSIP, type NetLimits } from './limits.js';

export interface Libp2pTransportOptions {
  /** from loadOrCreateP2pIdentity (identity.ts): never the block-signing key */
  privateKey: PrivateKey;
  /** multiaddrs to listen on, e.g. /ip4/127.0.0.1/tcp/0 */
  listen: string[];
  limits?: Partial<NetLimits>;
  metrics?: NetMetricsHooks;
}

type Services = { identify: ReturnType<ReturnType<typeof identify>>; ping: ReturnType<ReturnType<typeof ping>>; pubsub: GossipSub };

export class Libp2pTransport implements Transport {
  readonly peerId: string;
  readonly limits: Readonly<NetLimits>;
  private readonly metrics: NetMetricsHooks;
  private readonly denied: DenyList;
  private readonly scores = new Map<string, number>();
  private readonly gossipHandlers = new Map<string, GossipHandler>();
  private readonly protocols = new Map<string, { handler: RequestHandler; maxRequestBytes: number }>();
  private readonly listeners = { 'peer:connect': [] as Array<(p: string) => void>, 'peer:disconnect': [] as Array<(p: string) => void> };
  private readonly inFlight = { in: new Map<string, number>(), out: new Map<string, number>() };
  private libp2p: Libp2p<Services> | undefined;
  private requestContext: RequestContext | undefined;

  constructor(private readonly opts: Libp2pTransportOptions) {
    this.limits = Object.freeze({ ...DEFAULT_NET_LIMITS, ...opts.limits });
    this.metrics = opts.metrics ?? noNetMetrics;
    this.denied = new DenyList(this.limits.denyDurationMs, this.limits.denyListSizeMax);
    this.peerId = peerIdFromPrivateKey(opts.privateKey).toString();
  }

  /** The libp2p node, for tests that speak the protocol by hand. */
  get node(): Libp2p<Services> {
    if (!this.libp2p) fail('net_not_started', 'the libp2p transport is not started');
    return this.libp2p;
  }

  async start(): Promise<void> {
    if (this.libp2p) return;
    const refuse = (peer: PeerId): boolean => {
      const d = this.denied.check(peer.toString());
      if (d) this.metrics.peerDenied(d.reason);
      return d !== undefined;
    };
    const node = await createLibp2p({
      privateKey: this.opts.privateKey,
      addresses: { listen: this.opts.listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: { maxConnections: this.limits.peersMax, dialTimeout: this.limits.dialTimeoutMs },
      connectionMonitor: { pingTimeout: { minTimeout: this.limits.pingTimeoutMinMs } },
      connectionGater: { denyDialPeer: refuse, denyInboundEncryptedConnection: refuse, denyOutboundEncryptedConnection: refuse },
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub(gossipOptions(this.limits)),
      },
    });
    this.libp2p = node;
    node.addEventListener('peer:connect', (e) => { for (const l of this.listeners['peer:connect']) l(e.detail.toString()); });
    node.addEventListener('peer:disconnect', (e) => {
      const peer = e.detail.toString();
      this.scores.delete(peer);
      for (const l of this.listeners['peer:disconnect']) l(peer);
    });
    for (const [topic, handler] of this.gossipHandlers) this.subscribe(topic, handler);
    for (const [protocol, p] of this.protocols) await this.register(protocol, p.handler, p.maxRequestBytes);
  }

  async stop(): Promise<void> {
    const node = this.libp2p;
    this.libp2p = undefined;
    this.requestContext = undefined;
    await node?.stop();
  }

  addrs(): string[] {
    return this.libp2p ? this.libp2p.getMultiaddrs().map((a) => a.toString()) : [];
  }

  async dial(addr: string): Promise<string> {
    let ma;
    try {
      ma = multiaddr(addr);
    } catch {
      fail('net_bad_address', `not a multiaddr: ${addr.slice(0, 200)}`);
    }
    const target = ma.getComponents().find((c) => c.name === 'p2p')?.value;
    const d = target === undefined ? undefined : this.denied.check(target);
    if (d) fail('net_peer_denied', `peer ${target} was dropped (${d.reason}) and is refused for now`, { status: 503 });
    try {
      const conn = await this.node.dial(ma, { signal: AbortSignal.timeout(this.limits.dialTimeoutMs) });
      return conn.remotePeer.toString();
    } catch (err) {
      fail('net_dial_failed', `could not dial ${addr}: ${(err as Error).message}`, { status: 503, cause: err });
    }
  }

  peers(): PeerInfo[] {
    const byPeer = new Map<string, PeerInfo>();
    for (const c of this.libp2p?.getConnections() ?? []) {
      const id = c.remotePeer.toString();
      const p = byPeer.get(id);
      if (p) p.addrs.push(c.remoteAddr.toString());
      else byPeer.set(id, { id, addrs: [c.remoteAddr.toString()], score: this.scores.get(id) ?? 0, direction: c.direction });
    }
    return [...byPeer.values()];
  }

  async drop(peer: string, reason: DropReason): Promise<void> {
    // Count a peer once per drop, not once per message still in flight when it went.
    if (!this.denied.check(peer)) this.metrics.peerDropped(reason);
    this.denied.add(peer, reason);
    this.scores.delete(peer);
    if (this.libp2p) await this.libp2p.hangUp(peerIdFromString(peer)).catch(() => {});
  }

  /** Why a peer is refused right now, if it is. */
  deniedReason(peer: string): DropReason | undefined {
    return this.denied.check(peer)?.reason;
  }

  /** Gossipsub's own score of a peer (the mesh uses it; PeerInfo.score is ours). */
  gossipScore(peer: string): number {
    return (this.node.services.pubsub as unknown as { getScore(p: string): number }).getScore(peer);
  }

  /** Peers we know are subscribed to a topic (a test waits on this before publishing). */
  topicPeers(topic: string): string[] {
    return this.node.services.pubsub.getSubscribers(topic).map((p) => p.toString());
  }

  /** Peers in our gossipsub mesh for a topic: they get what we relay. */
  meshPeers(topic: string): string[] {
    return (this.node.services.pubsub as unknown as { getMeshPeers(t: string): string[] }).getMeshPeers(topic);
  }

  subscribe(topic: string, handler: GossipHandler): void {
    this.gossipHandlers.set(topic, handler);
    if (!this.libp2p) return;
    const pubsub = this.libp2p.services.pubsub;
    scoreTopic(pubsub, topic);
    pubsub.topicValidators.set(topic, async (peer, msg) => {
      const verdict = await this.validate(peer.toString(), topic, msg.data);
      return verdict === 'accept' ? TopicValidatorResult.Accept : verdict === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore;
    });
    pubsub.subscribe(topic);
  }

  private async validate(from: string, topic: string, data: Uint8Array): Promise<Verdict> {
    const handler = this.gossipHandlers.get(topic);
    let verdict: Verdict;
    if (data.length > this.limits.gossipBytesMax) verdict = 'reject';
    else if (!handler) verdict = 'ignore';
    else {
      // A handler that throws is our bug, not the sender's fault: ignore, do not punish.
      try { verdict = await handler({ from, topic, data }); } catch { verdict = 'ignore'; }
    }
    this.metrics.gossipIn(topic, verdict);
    if (verdict === 'reject') this.scoreDown(from, SCORE_REJECTED_GOSSIP);
    return verdict;
  }

  unsubscribe(topic: string): void {
    this.gossipHandlers.delete(topic);
    if (!this.libp2p) return;
    this.libp2p.services.pubsub.topicValidators.delete(topic);
    this.libp2p.services.pubsub.unsubscribe(topic);
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    if (data.length > this.limits.gossipBytesMax) fail('net_message_too_large', `gossip message of ${data.length} bytes is over the limit of ${this.limits.gossipBytesMax}`);
    await this.node.services.pubsub.publish(topic, data);
    this.metrics.gossipOut(topic);
  }

  handle(protocol: string, handler: RequestHandler, limits: { maxRequestBytes: number }): void {
    this.protocols.set(protocol, { handler, maxRequestBytes: limits.maxRequestBytes });
    // Registering fails only if the node stops meanwhile, and then there is nothing to serve.
    if (this.libp2p) this.register(protocol, handler, limits.maxRequestBytes).catch(() => {});
  }

  private async register(protocol: string, handler: RequestHandler, maxRequestBytes: number): Promise<void> {
    await this.node.handle(protocol, (stream, conn) => serveRequest(this.context(), protocol, handler, maxRequestBytes, stream, conn.remotePeer.toString()), {
      maxInboundStreams: this.limits.inboundStreamsPerProtocolMax,
      maxOutboundStreams: this.limits.requestsInFlightPerPeerMax,
      force: true,
    });
  }

  async request(peer: string, protocol: string, data: Uint8Array, opts: RequestOptions = {}): Promise<Uint8Array> {
    const d = this.denied.check(peer);
    if (d) fail('net_peer_denied', `peer ${peer} was dropped (${d.reason}) and is refused for now`, { status: 503 });
    return sendRequest(this.context(), peer, protocol, data, opts);
  }

  on(event: 'peer:connect' | 'peer:disconnect', listener: (peer: string) => void): void {
    this.listeners[event].push(listener);
  }

  private scoreDown(peer: string, by: number): void {
    // Scores live while the peer is connected (the map is as bounded as the connections);
    // a peer that left has nothing to lose here, and the deny list remembers the bad ones.
    if (!this.peers().some((p) => p.id === peer)) return;
    const score = (this.scores.get(peer) ?? 0) + by;
    this.scores.set(peer, score);
    if (score <= this.limits.scoreDropAt) void this.drop(peer, 'score');
  }

  private context(): RequestContext {
    this.requestContext ??= {
      node: this.node,
      limits: this.limits,
      metrics: this.metrics,
      inFlight: this.inFlight,
      drop: (peer, reason) => this.drop(peer, reason),
      scoreDown: (peer, by) => this.scoreDown(peer, by),
    };
    return this.requestContext;
  }
}
