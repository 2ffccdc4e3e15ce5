// Replica mode: follow a chain someone else writes. The replica dials the peers it was
// given, learns the best head from their status and from gossiped signed headers, fetches
// the blocks it lacks in batches and hands each to the node's Follower (the one executor,
// every root and signature checked) before it is stored or served. A peer that sends an
// invalid block or junk is dropped with a reason; the replica goes on with the others.
// Two validly signed blocks at one height are equivocation: the evidence is stored and
// the replica stops following (see evidence.ts). Submitted transactions go to the writer
// (forward.ts). Everything held is bounded: the headers seen ahead of the tip, the
// requests in flight, the submitters waiting.
import { TallyError } from '../core/errors.js';
import type { SignedBlock } from '../chain/blocks.js';
import { checkHeader, type Prepared } from '../chain/follower.js';
import type { NetworkStatus, NetworkView, TallyNode } from '../chain/node.js';
import { isEquivocation, readEvidence, storeEvidence, type Evidence } from './evidence.js';
import { Forwarder } from './forward.js';
import { decodeMessage, encodeMessage, netLimits, protocolIds, type BlocksResponse } from './protocol.js';
import { serveChain, type ServeStats } from './serve.js';
import type { DropReason, GossipMessage, Transport, Verdict } from './transport.js';

export type NetLog = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface ReplicaOptions {
  /** addresses of the peers to follow (the writer, other replicas) */
  follow: string[];
  log?: NetLog;
  statusIntervalMs?: number;
  requestTimeoutMs?: number;
  /** how long a forwarded transaction's submitter waits for its block to arrive here */
  receiptWaitMs?: number;
}

/** Signed headers kept from gossip above the tip (for equivocation and the best head). */
const SEEN_HEADERS_MAX = 1024;
/** Import times kept for blocks verified per second. */
const RATE_WINDOW_MS = 10_000;
const RATE_SAMPLES_MAX = 10_000;

/** A `blocks` answer with its blocks prepared (signatures already in the pool), or why there is none. */
type Fetched = { resp: BlocksResponse; readies: Prepared[] } | { err: unknown };

interface Prefetch {
  peer: string;
  from: number;
  result: Promise<Fetched>;
}

interface PeerHead {
  height: number;
  hash: string;
}

export class Replica implements NetworkView {
  private readonly ids: ReturnType<typeof protocolIds>;
  private readonly heads = new Map<string, PeerHead>();
  private readonly seen = new Map<number, SignedBlock>();
  private readonly rejected: Record<string, number> = {};
  private readonly imports: number[] = [];
  private readonly serveStats: ServeStats;
  private readonly forwarder: Forwarder;
  private readonly log: NetLog;
  private best = 0;
  /** when each raise of the best head was learned, oldest first (heights increase): the lag's clock */
  private announced: Array<{ height: number; atMs: number }> = [];
  private gossipIn = 0;
  private loop: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private dialing: Promise<void> | undefined;
  private stopped = false;
  evidence: (Evidence & { file: string }) | undefined;

  constructor(private readonly node: TallyNode, private readonly transport: Transport, private readonly options: ReplicaOptions) {
    if (!node.follower) throw new TallyError('not_replica', 'this data directory is a writer\'s; a replica starts from `tally init --follow` or `tally init --from-snapshot --replica`');
    this.ids = protocolIds(node.params.chain, node.params.genesisHash);
    this.log = options.log ?? (() => {});
    this.best = node.tip.height;
    this.serveStats = serveChain(node, transport);
    this.forwarder = new Forwarder(node, transport, () => this.peerOrder(), options.receiptWaitMs ?? 30_000, options.requestTimeoutMs ?? 20_000);
  }

  async start(): Promise<void> {
    const found = readEvidence(this.node.paths.dir);
    if (found) {
      this.evidence = { ...found, file: 'equivocation.json' };
      this.node.health.fail('network', `equivocation at height ${found.height} (evidence in equivocation.json): not following`);
      this.log('error', `EQUIVOCATION evidence at height ${found.height} is in the data directory: this replica does not follow until an operator moves equivocation.json away`);
    }
    this.transport.on('peer:connect', (p) => void this.askStatus(p));
    this.transport.on('peer:disconnect', (p) => { this.heads.delete(p); });
    this.transport.subscribe(this.ids.headersTopic, (m) => this.onHeader(m));
    this.node.forward = (raws) => {
      // A halted replica would wait for blocks it will never take: refuse at once.
      if (this.halted) return Promise.reject(new TallyError('replica_halted', 'this replica holds equivocation evidence and follows no more; submit elsewhere', { status: 503 }));
      return this.forwarder.submit(raws);
    };
    this.node.network = this;
    this.node.on('block', () => this.forwarder.blockArrived());
    this.timer = setInterval(() => void this.tick(), this.options.statusIntervalMs ?? 2000);
    this.timer.unref();
    await this.redial();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.forwarder.close();
    await this.loop;
  }

  private get halted(): boolean {
    return this.evidence !== undefined;
  }

  /**
   * One round of dials at a time: a dial to a host that is cut off can take the whole dial
   * timeout (10 s), longer than a tick, and starting another round each tick would only
   * pile up dials and warnings. Ticks go on asking the connected peers' status meanwhile.
   */
  private redial(): Promise<void> {
    this.dialing ??= this.dialAll().finally(() => { this.dialing = undefined; });
    return this.dialing;
  }

  private async dialAll(): Promise<void> {
    const connected = new Set(this.transport.peers().flatMap((p) => [p.id, ...p.addrs]));
    for (const addr of this.options.follow) {
      if (connected.has(addr)) continue;
      try {
        await this.transport.dial(addr);
      } catch (err) {
        this.log('warn', `cannot reach ${addr}: ${(err as Error).message}`);
      }
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.transport.peers().length < this.options.follow.length) void this.redial();
    for (const p of this.transport.peers()) void this.askStatus(p.id);
  }

  private async askStatus(peer: string): Promise<void> {
    if (this.stopped) return;
    let status;
    try {
      const bytes = await this.transport.request(peer, this.ids.status, encodeMessage({}), { timeoutMs: 5000, maxResponseBytes: netLimits.smallMessageBytesMax });
      status = decodeMessage('status', bytes);
    } catch (err) {
      const reason = faultOf(err);
      if (reason && reason !== 'timeout') await this.punish(peer, reason, (err as Error).message);
      return;
    }
    if (this.stopped) return;
    if (status.chain !== this.node.params.chain || status.genesisHash !== this.node.params.genesisHash) {
      await this.punish(peer, 'wrong_chain', `it follows ${status.chain} (genesis ${status.genesisHash.slice(0, 12)})`);
      return;
    }
    this.heads.set(peer, { height: status.height, hash: status.hash });
    const ours = status.height <= this.node.tip.height ? this.node.block(status.height) : undefined;
    // A different hash at a height we have: fetch the peer's block and see if the chain key signed it.
    if (ours && ours.hash !== status.hash && !this.halted) await this.checkFork(peer, status.height, ours);
    this.raiseBest(status.height);
  }

  private async checkFork(peer: string, height: number, ours: SignedBlock): Promise<void> {
    try {
      const resp = await this.fetch(peer, height, 1);
      const theirs = resp.blocks[0]?.block;
      if (theirs && !this.stopped && theirs.header.height === height) this.compare(ours, theirs);
    } catch {
      // a peer that cannot show its block proves nothing
    }
  }

  private onHeader(msg: GossipMessage): Verdict {
    if (this.halted || this.stopped) return 'ignore';
    this.gossipIn++;
    let block: SignedBlock;
    try {
      block = decodeMessage('header', msg.data);
      checkHeader(block, this.node.params.chain, this.node.chainKey);
    } catch (err) {
      const code = (err as TallyError).code;
      void this.punish(msg.from, code === 'oversized' ? 'oversized' : code === 'bad_signature' ? 'bad_signature' : code === 'bad_message' ? 'garbage' : 'bad_block', (err as Error).message);
      return 'reject';
    }
    const h = block.header.height;
    if (h <= this.node.tip.height) {
      const ours = this.node.block(h);
      if (ours) this.compare(ours, block);
      return 'ignore';
    }
    const prior = this.seen.get(h);
    if (prior) {
      this.compare(prior, block);
      return 'ignore';
    }
    if (this.seen.size < SEEN_HEADERS_MAX) this.seen.set(h, block);
    const head = this.heads.get(msg.from);
    if (!head || head.height < h) this.heads.set(msg.from, { height: h, hash: block.hash });
    this.raiseBest(h);
    return 'accept';
  }

  /** Two signed blocks for one height: if they differ and both verify, that is equivocation. */
  private compare(a: SignedBlock, b: SignedBlock): void {
    if (this.halted || !isEquivocation(a, b, this.node.params.chain, this.node.chainKey)) return;
    const e: Evidence = { kind: 'equivocation', chain: this.node.params.chain, chainKey: this.node.chainKey, height: a.header.height, detectedAt: new Date().toISOString(), blocks: [a, b] };
    const file = storeEvidence(this.node.paths.dir, e);
    this.evidence = { ...e, file };
    this.transport.unsubscribe(this.ids.headersTopic);
    const reason = `equivocation at height ${e.height}: the chain key signed ${a.hash} and ${b.hash}`;
    this.node.health.fail('network', `${reason}; evidence in ${file}; not following`);
    this.log('error', `EQUIVOCATION: ${reason}. Evidence stored in ${file}. This replica stops following.`, { height: e.height, hashes: [a.hash, b.hash], file });
  }

  private raiseBest(height: number): void {
    if (height > this.best) {
      this.best = height;
      if (this.announced.length >= SEEN_HEADERS_MAX) this.announced.shift();
      this.announced.push({ height, atMs: Date.now() });
    }
    if (this.best > this.node.tip.height) this.wake();
  }

  /** How long the block after our tip has been known to exist (0 when caught up). */
  private lagMs(now: number): number {
    const tip = this.node.tip.height;
    while (this.announced.length > 0 && this.announced[0]!.height <= tip) this.announced.shift();
    return this.announced.length > 0 ? now - this.announced[0]!.atMs : 0;
  }

  private wake(): void {
    if (this.halted || this.stopped) return;
    if (this.loop) {
      this.again = true;
      return;
    }
    this.loop = (async () => {
      do {
        this.again = false;
        await this.catchUp();
      } while (this.again && !this.halted && !this.stopped);
    })().catch((err: unknown) => {
      // Not a peer's fault: the store or a bug. The replica stops following, loudly.
      this.node.health.fail('network', `stopped following: ${(err as Error).message}`);
      this.log('error', `replica stopped following: ${(err as Error).message}`);
    }).finally(() => { this.loop = undefined; });
  }

  /** The peer with the highest head above our tip (best score first on a tie). */
  private peerOrder(): string[] {
    const scores = new Map(this.transport.peers().map((p) => [p.id, p.score]));
    return [...this.heads.entries()].filter(([id]) => scores.has(id))
      .sort((a, b) => b[1].height - a[1].height || (scores.get(b[0]) ?? 0) - (scores.get(a[0]) ?? 0)).map(([id]) => id);
  }

  /**
   * Fetch and import until no peer announces a head above our tip. While one batch is
   * imported the next is already being fetched from the same peer: at most two requests
   * in flight, and a prefetch that no longer starts at tip + 1 is dropped unread.
   */
  private async catchUp(): Promise<void> {
    let ahead: Prefetch | undefined;
    while (!this.halted && !this.stopped) {
      const tip = this.node.tip.height;
      let peer: string | undefined;
      let got: Fetched;
      if (ahead && ahead.from === tip + 1 && this.heads.has(ahead.peer)) {
        peer = ahead.peer;
        got = await ahead.result;
      } else {
        peer = this.peerOrder().find((id) => this.heads.get(id)!.height > tip);
        if (!peer) break;
        got = await this.settled(peer, tip + 1);
      }
      ahead = undefined;
      if (this.stopped) break;
      if ('err' in got) {
        const reason = faultOf(got.err);
        if (reason) await this.punish(peer, reason, (got.err as Error).message);
        else this.heads.delete(peer); // it could not answer now (its error, a lost connection): ask its status again later
        continue;
      }
      const blocks = got.resp.blocks;
      if (blocks.length === 0) {
        this.heads.set(peer, { height: tip, hash: this.node.tip.hash });
        continue;
      }
      const next = tip + 1 + blocks.length;
      if (this.heads.get(peer)!.height >= next) ahead = { peer, from: next, result: this.settled(peer, next) };
      if (this.stopped || !(await this.importAll(peer, got.readies))) break;
    }
  }

  /**
   * A fetch of the blocks from `from` that never rejects (a prefetch may be dropped unread).
   * Its blocks are prepared on arrival: the pool checks a prefetched batch's signatures
   * while the batch before it still executes.
   */
  private settled(peer: string, from: number): Promise<Fetched> {
    const count = Math.min(netLimits.blocksPerRequestMax, Math.max(1, (this.heads.get(peer)?.height ?? from) - from + 1));
    const follower = this.node.follower!;
    return this.fetch(peer, from, count).then(
      (resp) => ({ resp, readies: resp.blocks.map((b) => follower.prepare(b.block, b.txs)) }),
      (err: unknown) => ({ err }),
    );
  }

  /** Import a fetched batch; false when it stopped (a refusal: the peer is dropped; an equivocation). */
  private async importAll(peer: string, readies: Prepared[]): Promise<boolean> {
    for (const { block } of readies) this.checkSeen(block);
    if (this.halted) return false;
    const { committed, refusal } = await this.node.follower!.importAll(readies);
    const now = Date.now();
    for (const { block } of committed) {
      // A header gossiped while the block was imported was not compared before it.
      this.checkSeen(block);
      this.imports.push(now);
      if (this.imports.length > RATE_SAMPLES_MAX) this.imports.shift();
    }
    const top = committed.at(-1)?.block.header.height;
    if (top !== undefined) for (const k of this.seen.keys()) if (k <= top) this.seen.delete(k);
    if (refusal) {
      const reason: DropReason = refusal.code === 'bad_signature' ? 'bad_signature' : refusal.code === 'bad_state_root' ? 'bad_state_root' : 'bad_block';
      await this.punish(peer, reason, refusal.message);
      return false;
    }
    return !this.halted;
  }

  /** A gossiped header at this block's height that differs from it: equivocation evidence if both verify. */
  private checkSeen(block: SignedBlock): void {
    const seen = this.seen.get(block.header.height);
    if (seen && seen.hash !== block.hash) this.compare(seen, block);
  }

  private async fetch(peer: string, from: number, count: number): Promise<BlocksResponse> {
    const bytes = await this.transport.request(peer, this.ids.blocks, encodeMessage({ from, count }), {
      timeoutMs: this.options.requestTimeoutMs ?? 20_000, maxResponseBytes: netLimits.blocksResponseBytesMax,
    });
    const resp = decodeMessage('blocksResponse', bytes);
    if (resp.blocks.length > count) throw new TallyError('bad_message', `asked for ${count} blocks, got ${resp.blocks.length}`);
    return resp;
  }

  private async punish(peer: string, reason: DropReason, why: string): Promise<void> {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
    this.heads.delete(peer);
    this.log('warn', `dropped peer ${peer} (${reason}): ${why}`, { peer, reason });
    await this.transport.drop(peer, reason).catch(() => undefined);
  }

  status(): NetworkStatus {
    const tip = this.node.tip.height;
    const now = Date.now();
    const recent = this.imports.filter((t) => t > now - RATE_WINDOW_MS).length;
    const state: NetworkStatus['state'] = this.halted ? 'halted' : this.transport.peers().length === 0 ? 'connecting' : this.best > tip ? 'syncing' : 'following';
    return {
      role: 'replica',
      state,
      peers: this.transport.peers().map((p) => ({ id: p.id, addrs: p.addrs, height: this.heads.get(p.id)?.height ?? null, score: p.score, direction: p.direction })),
      height: tip,
      bestHeight: Math.max(this.best, tip),
      lagBlocks: Math.max(0, this.best - tip),
      lagMs: this.lagMs(now),
      blocksVerified: this.node.follower!.counts.blocks,
      txsVerified: this.node.follower!.counts.txs,
      blocksVerifiedPerSec: recent / (RATE_WINDOW_MS / 1000),
      gossipIn: this.gossipIn,
      gossipOut: this.serveStats.gossipOut,
      rejectedPeers: { ...this.rejected },
      equivocation: this.evidence ? { height: this.evidence.height, hashes: this.evidence.blocks.map((b) => b.hash), file: this.evidence.file } : null,
    };
  }
}

/**
 * A request's failure that is the peer's fault, as a drop reason (undefined: nobody's fault
 * we can tell). A timeout is not: a writer busy committing large blocks answers late, and
 * dropping it would deny the only writer for minutes; the transport scores it down instead.
 */
function faultOf(err: unknown): DropReason | undefined {
  if (!(err instanceof TallyError)) return undefined;
  switch (err.code) {
    case 'oversized': case 'net_oversized': return 'oversized';
    case 'bad_message': case 'net_garbage': return 'garbage';
    default: return undefined;
  }
}
