// The network seen by the rest of the node: gossip topics, request-response protocols
// and peers. Two implementations sit behind it: libp2p (real sockets, `libp2p.ts`) and
// an in-memory network for tests (`memory.ts`). Everything above this file (sync,
// replica, forwarding) is written against this interface only, so it never imports
// libp2p and a test can run ten nodes in one process with no sockets.

/** What a gossip handler decides about a message; 'reject' scores the sender down. */
export type Verdict = 'accept' | 'ignore' | 'reject';

export interface GossipMessage {
  /** peer id of the peer that relayed the message to us */
  from: string;
  topic: string;
  data: Uint8Array;
}

export interface RequestOptions {
  /** give up after this long (default 10 s) */
  timeoutMs?: number;
  /** refuse a response larger than this (default: the protocol's limit) */
  maxResponseBytes?: number;
  signal?: AbortSignal;
}

export interface PeerInfo {
  id: string;
  /** multiaddrs (libp2p) or names (memory) we know for the peer */
  addrs: string[];
  /** local score: starts at 0, goes down on rejected messages and failed requests */
  score: number;
  direction: 'inbound' | 'outbound';
}

export type RequestHandler = (from: string, request: Uint8Array) => Promise<Uint8Array>;
export type GossipHandler = (msg: GossipMessage) => Verdict | Promise<Verdict>;

/** Why we dropped a peer: a stable label for metrics and logs. */
export type DropReason =
  | 'bad_block'
  | 'bad_signature'
  | 'bad_state_root'
  | 'oversized'
  | 'garbage'
  | 'timeout'
  | 'wrong_chain'
  | 'too_many_peers'
  | 'score';

export interface Transport {
  /** this node's peer id (libp2p: from its own identity key file, never the block key) */
  readonly peerId: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** addresses others can dial */
  addrs(): string[];
  dial(addr: string): Promise<string>;
  peers(): PeerInfo[];
  /** disconnect and score down; the peer may be refused for a while */
  drop(peer: string, reason: DropReason): Promise<void>;

  subscribe(topic: string, handler: GossipHandler): void;
  unsubscribe(topic: string): void;
  publish(topic: string, data: Uint8Array): Promise<void>;

  /** serve a request-response protocol: one request frame in, one response frame out */
  handle(protocol: string, handler: RequestHandler, limits: { maxRequestBytes: number }): void;
  request(peer: string, protocol: string, data: Uint8Array, opts?: RequestOptions): Promise<Uint8Array>;

  on(event: 'peer:connect' | 'peer:disconnect', listener: (peer: string) => void): void;
}
