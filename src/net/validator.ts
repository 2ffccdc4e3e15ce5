// A validator on the network: the consensus driver (chain/consensus/driver.ts) over gossip.
// Signed proposals travel with their block (header, last commit, envelopes) on the
// consensus topic, votes alone; a proposal reaches the machine only after the block was
// checked and executed, so valid() answers at once. Transactions a validator admits are
// relayed to the others on the transactions topic, so whoever proposes next has them. A
// validator that sees the others ahead fetches the final blocks with their certificates
// (the blocks protocol every node serves) and then votes again.
import { fail, TallyError } from '../core/errors.js';
import { utf8 } from '../core/encoding.js';
import { validatorsHash, type CertifiedCommit } from '../core/header.js';
import { accountIdFromPub } from '../core/keys.js';
import { signTx, type Tx } from '../chain/envelope.js';
import type { ConsensusStatus, NetworkStatus, TallyNode } from '../chain/node.js';
import { blstBls } from '../chain/consensus/bls-native.js';
import { ValidatorDriver, type Timers } from '../chain/consensus/driver.js';
import { SignJournal } from '../chain/consensus/journal.js';
import { ConsensusSigner } from '../chain/consensus/signer.js';
import type { TimeoutsMs } from '../chain/consensus/types.js';
import { checkSigned, decodeMessage as decodeConsensus, type Evidence, type Signed } from '../chain/consensus/wire.js';
import type { ProposalBlock, ValidatorChain } from '../chain/validator-chain.js';
import { verifyCommit } from '../chain/validator-chain.js';
import { protocolId, networkName } from './ids.js';
import { decodeMessage, encodeMessage, netLimits, protocolIds } from './protocol.js';
import { serveChain, type ServeStats } from './serve.js';
import type { GossipMessage, Transport, Verdict } from './transport.js';
import type { NetLog } from './replica.js';

export interface ValidatorNetworkOptions {
  /** peers to dial (the other validators), multiaddrs with /p2p/<id> */
  peers: string[];
  /** this validator's BLS secret key (validator.key); absent: a node that only follows the chain */
  blsSecretKey?: Uint8Array;
  log: NetLog;
  timeouts?: TimeoutsMs;
  /** wait after a commit before the next height (CometBFT's timeout_commit); longer when the mempool is empty */
  commitWaitMs?: number;
  idleCommitWaitMs?: number;
}

/** Proposals for the height after next, kept until the next block commits (per proposer). */
const FUTURE_PER_VALIDATOR_MAX = 2;
const CATCH_UP_BATCH = 16;
/**
 * Gossip delivers once, to whoever is connected then: a validator that starts, restarts or
 * reconnects late misses what was sent before. While the machine stays in one step this
 * long, this validator sends its own messages of the height again (the retransmission
 * CometBFT's gossip does), so a step waiting for votes is not waiting for ever.
 */
const RESEND_MS = 1000;
/** own messages kept for resending: the newest, of the current height */
const RESEND_KEEP = 12;
const REDIAL_MS = 2000;
const decoder = new TextDecoder('utf-8', { fatal: true });
/** TALLY_CONSENSUS_TRACE=1: a log line per proposal checked and per commit, with times (for finding where a height's time goes) */
const TRACE = process.env.TALLY_CONSENSUS_TRACE === '1';
const textOf = (bytes: Uint8Array) => decoder.decode(bytes);

interface ConsensusEnvelope {
  signed: Signed;
  block?: ProposalBlock;
  /** a resend's count: gossip ids are content hashes, so a resend must differ from the first send */
  resend?: number;
}

export class ValidatorNetwork {
  private readonly chain: ValidatorChain;
  /** this validator's machine; absent while its key is not in the set in force (it follows) */
  private driver: ValidatorDriver | undefined;
  /** the hash of the set the driver was made for */
  private driverSet = '';
  private readonly signer: ConsensusSigner | undefined;
  private readonly timersApi: Timers;
  private readonly topics: { consensus: string; txs: string };
  private readonly blocksProtocol: string;
  private readonly serve: ServeStats;
  private readonly future = new Map<number, ConsensusEnvelope[]>();
  private catchingUp = false;
  private redialTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private bestHeight = 0;
  readonly evidence: Evidence[] = [];
  readonly counts = { gossipIn: 0, gossipOut: 0, rejected: new Map<string, number>(), evidenceSent: 0 };
  private readonly timers = new Set<NodeJS.Timeout>();
  private own: ConsensusEnvelope[] = [];
  private resendTimer: NodeJS.Timeout | undefined;
  private lastPosition = '';
  private resends = 0;
  private readonly progress = { heights: 0, extraRounds: 0, lastFinalityMs: 0, missed: new Map<string, number>(), last: null as ConsensusStatus['lastCommit'] };

  constructor(private readonly node: TallyNode, private readonly transport: Transport, private readonly o: ValidatorNetworkOptions) {
    if (!node.validatorChain) fail('bad_args', 'this data directory is not a validator chain\'s (its genesis names no validators)');
    this.chain = node.validatorChain;
    const network = networkName(node.params.chain, node.params.genesisHash);
    this.topics = { consensus: protocolId(network, 'consensus'), txs: protocolId(network, 'txs') };
    this.blocksProtocol = protocolIds(node.params.chain, node.params.genesisHash).blocks;
    this.serve = serveChain(node, transport);
    this.timersApi = {
      after: (ms, fn) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          fn();
        }, ms);
        this.timers.add(t);
      },
    };
    this.signer = o.blsSecretKey ? new ConsensusSigner(blstBls, o.blsSecretKey, node.params.chain, SignJournal.open(node.paths.dir)) : undefined;
    this.driver = this.makeDriver();
    if (!this.driver) o.log('info', 'this node\'s key is not in the validator set in force: it follows the chain and votes once the set names it', { key: node.signer.pub });
    node.network = this;
  }

  /** A driver for the set in force, or undefined when this node is not in it. */
  private makeDriver(): ValidatorDriver | undefined {
    const set = this.chain.validators;
    this.driverSet = validatorsHash(set);
    const self = this.chain.indexOf(this.node.signer.pub);
    if (self < 0) return undefined;
    if (!this.signer) {
      this.o.log('error', 'this node\'s key is in the validator set but its data directory has no validator.key: it follows and does not vote', { key: this.node.signer.pub });
      return undefined;
    }
    const o = this.o;
    const mempool = this.node.mempool;
    return new ValidatorDriver({
      scheme: blstBls,
      chainId: this.node.params.chain,
      validators: set,
      self,
      signer: this.signer,
      app: {
        propose: (h) => this.chain.build(h),
        valid: (h, id) => {
          const ok = this.chain.valid(h, id);
          if (!ok) o.log('warn', 'prevoting nil: the proposed block is not valid here', { height: h, block: id, reason: this.chain.invalidReason(id) ?? 'not checked' });
          return ok;
        },
        commit: (h, r, id, certificate) => this.committed(h, r, id, certificate),
        evidence: (e) => this.reportEvidence(e),
      },
      net: { broadcast: (m) => this.broadcast(m) },
      timers: this.timersApi,
      ...(o.timeouts ? { timeouts: o.timeouts } : {}),
      // An idle chain makes a block about every idleCommitWaitMs, a busy one as fast as it agrees.
      commitWaitMs: () => (mempool.size > 0 ? o.commitWaitMs ?? 0 : o.idleCommitWaitMs ?? 1000),
    });
  }

  /** The set changed (evidence, governance): a machine for the new one, started at the next height. */
  private followSet(startAfterMs: number): void {
    if (validatorsHash(this.chain.validators) === this.driverSet) return;
    this.driver?.close();
    this.driver = this.makeDriver();
    this.o.log('info', 'the validator set changed', { height: this.chain.tip.height + 1, validators: this.chain.validators.length, voting: this.driver !== undefined });
    const driver = this.driver;
    this.timersApi.after(startAfterMs, () => {
      if (driver && driver === this.driver && !this.closed) driver.start(this.chain.tip.height + 1);
    });
  }

  /**
   * Equivocation seen by this validator: kept for status, and sent as a
   * validators.evidence transaction signed by the node key (the chain jails the validator).
   */
  private reportEvidence(e: Evidence): void {
    if (this.evidence.length < 64) this.evidence.push(e);
    this.o.log('warn', 'equivocation: a validator signed two votes in one slot; sending the evidence', { validator: e.first.message.validator, height: e.first.message.height, round: e.first.message.round });
    const id = accountIdFromPub(this.node.signer.pub);
    const tx: Tx = { chain: this.node.params.chain, type: 'validators.evidence', from: id, nonce: this.node.auth(id).nonce, expires: Math.floor(Date.now() / 1000) + 600, body: { first: e.first, second: e.second } as unknown as Record<string, unknown> };
    this.counts.evidenceSent++;
    this.node.submit([signTx(tx, this.node.signer)]).then((r) => {
      const result = r[0] as { status?: string; error?: { code: string } } | undefined;
      this.o.log(result?.status === 'ok' ? 'info' : 'warn', 'evidence transaction', { result: result?.status ?? result?.error?.code });
    }, () => undefined);
  }

  async start(): Promise<void> {
    this.transport.subscribe(this.topics.consensus, (msg) => this.onConsensus(msg));
    this.transport.subscribe(this.topics.txs, (msg) => this.onTxs(msg));
    this.node.relay = (canonical, relay) => {
      if (relay) this.publish(this.topics.txs, `{"txs":[${canonical.join(',')}]}`);
      // an idle chain waits a second between heights: work to do starts the next one now
      this.driver?.hurry();
    };
    this.transport.on('peer:connect', (peer) => void this.askStatus(peer));
    await this.dialAll();
    this.redialTimer = setInterval(() => void this.dialAll(), REDIAL_MS);
    this.redialTimer.unref();
    this.resendTimer = setInterval(() => this.resendIfStuck(), RESEND_MS);
    this.resendTimer.unref();
    this.driver?.start(this.chain.tip.height + 1);
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.driver?.close();
    if (this.redialTimer) clearInterval(this.redialTimer);
    if (this.resendTimer) clearInterval(this.resendTimer);
    for (const t of this.timers) clearTimeout(t);
    this.node.relay = undefined;
  }

  private async dialAll(): Promise<void> {
    const connected = new Set(this.transport.peers().flatMap((p) => p.addrs.map((a) => a.split('/p2p/')[1]).concat(p.id)));
    await Promise.all(this.o.peers.map(async (addr) => {
      const id = addr.split('/p2p/')[1];
      if (id && connected.has(id)) return;
      try {
        await this.transport.dial(addr);
      } catch {
        // down or not yet up: the next round of dials tries again
      }
    }));
  }

  private publish(topic: string, text: string): void {
    if (this.closed) return;
    this.counts.gossipOut++;
    this.transport.publish(topic, utf8.encode(text)).catch(() => undefined);
  }

  private broadcast(signed: Signed): void {
    const m = signed.message;
    if (TRACE) this.o.log('info', 'trace: send', { type: m.type, height: m.height, round: m.round, value: m.value === null ? null : m.value.slice(0, 8) });
    const block = m.type === 'proposal' ? this.chain.proposalOf(m.value) : undefined;
    if (m.type === 'proposal' && !block) this.o.log('warn', 'proposing a value whose block this node no longer holds (after a restart): the round will time out', { height: m.height, round: m.round });
    const env: ConsensusEnvelope = block ? { signed, block } : { signed };
    this.own = this.own.filter((e) => e.signed.message.height >= m.height).slice(-(RESEND_KEEP - 1));
    this.own.push(env);
    this.publish(this.topics.consensus, JSON.stringify(env));
  }

  private resendIfStuck(): void {
    if (this.closed) return;
    if (!this.driver) return;
    const p = this.driver.position();
    const at = `${p.height}/${p.round}/${p.step}`;
    if (at !== this.lastPosition) {
      this.lastPosition = at;
      return;
    }
    this.resends++;
    for (const env of this.own) if (env.signed.message.height === p.height) this.publish(this.topics.consensus, JSON.stringify({ ...env, resend: this.resends }));
  }

  private reject(code: string): Verdict {
    this.counts.rejected.set(code, (this.counts.rejected.get(code) ?? 0) + 1);
    return 'reject';
  }

  private onConsensus(msg: GossipMessage): Verdict {
    if (this.closed) return 'ignore';
    this.counts.gossipIn++;
    let env: ConsensusEnvelope;
    try {
      env = JSON.parse(textOf(msg.data)) as ConsensusEnvelope;
      if (typeof env !== 'object' || env === null || typeof env.signed !== 'object' || env.signed === null) return this.reject('garbage');
      decodeConsensus(env.signed.message, this.chain.validators.length);
    } catch {
      return this.reject('garbage');
    }
    const m = env.signed.message;
    const next = this.chain.tip.height + 1;
    if (m.height > this.bestHeight) this.bestHeight = m.height;
    if (m.height > next) {
      if (m.type === 'proposal' && m.height === next + 1) this.keepFuture(env);
      void this.catchUp(msg.from);
      return 'accept';
    }
    if (m.height < next) return 'ignore';
    if (!this.driver) return 'ignore';
    if (m.type !== 'proposal') {
      this.driver.receive(env.signed);
      return 'accept';
    }
    void this.takeProposal(env);
    return 'accept';
  }

  /** A proposal of the next height: its block is checked (and executed) before the machine hears of it. */
  private async takeProposal(env: ConsensusEnvelope): Promise<void> {
    const m = env.signed.message;
    if (!env.block) {
      // Without its block a proposal only counts once some later message carries it.
      return;
    }
    // The proposer's signature before any work on the block: nobody else can make us execute one.
    if (!this.chain.valid(m.height, m.value as string)) {
      const signed = checkSigned(blstBls, this.chain.validators, this.node.params.chain, env.signed);
      if (!signed.ok) {
        this.counts.rejected.set(signed.code, (this.counts.rejected.get(signed.code) ?? 0) + 1);
        return;
      }
      if (env.block.block?.hash !== m.value) {
        this.counts.rejected.set('bad_proposal', (this.counts.rejected.get('bad_proposal') ?? 0) + 1);
        return;
      }
    }
    // The proposal came in time: its round's propose timeout waits while the block is checked.
    const driver = this.driver;
    const held = driver?.checkingProposal(m.height, m.round, m.validator) ?? false;
    const t0 = performance.now();
    try {
      try {
        await this.chain.check(m.validator, env.block);
        if (TRACE) this.o.log('info', 'trace: proposal checked', { height: m.height, round: m.round, txs: env.block.txs.length, ms: Math.round(performance.now() - t0), verifyMs: Math.round(this.chain.lastCheck.verifyMs), executeMs: Math.round(this.chain.lastCheck.executeMs), valid: this.chain.valid(m.height, m.value as string) });
      } catch (err) {
        if (!(err instanceof TallyError)) throw err;
        this.counts.rejected.set(err.code, (this.counts.rejected.get(err.code) ?? 0) + 1);
        return;
      }
      if (this.closed || m.height !== this.chain.tip.height + 1) return;
      this.driver?.receive(env.signed);
    } finally {
      if (held) driver!.proposalChecked(m.height, m.round);
    }
  }

  private keepFuture(env: ConsensusEnvelope): void {
    const list = this.future.get(env.signed.message.height) ?? [];
    if (list.filter((e) => e.signed.message.validator === env.signed.message.validator).length >= FUTURE_PER_VALIDATOR_MAX) return;
    list.push(env);
    this.future.set(env.signed.message.height, list);
  }

  private onTxs(msg: GossipMessage): Verdict {
    if (this.closed) return 'ignore';
    this.counts.gossipIn++;
    let txs: unknown[];
    try {
      const parsed = JSON.parse(textOf(msg.data)) as { txs?: unknown };
      if (!Array.isArray(parsed.txs) || parsed.txs.length === 0 || parsed.txs.length > 4096) return this.reject('garbage');
      txs = parsed.txs;
    } catch {
      return this.reject('garbage');
    }
    // Admission checks each as if a client sent it; what it refuses (already pending, say) costs nothing more.
    for (let i = 0; i < txs.length; i += 256) this.node.submitRelayed(txs.slice(i, i + 256)).catch(() => undefined);
    return 'accept';
  }

  private committed(height: number, round: number, id: string, certificate: { signers: string; signature: string }): void {
    // Catching up may have committed this height already (with another certificate for the same block).
    if (height !== this.chain.tip.height + 1) return;
    try {
      const t0 = performance.now();
      const set = this.chain.validators;
      const event = this.chain.commit(height, round, id, certificate);
      this.noteCommit(set, event.block.header.time, round, certificate.signers);
      if (TRACE) this.o.log('info', 'trace: committed', { height, round, txs: event.receipts.length, ms: Math.round(performance.now() - t0), mempool: this.node.mempool.size });
    } catch (err) {
      this.o.log('error', 'the decided block could not be committed; this validator stops voting', { height, error: (err as Error).message });
      this.driver?.close();
      return;
    }
    this.followSet(this.node.mempool.size > 0 ? this.o.commitWaitMs ?? 0 : this.o.idleCommitWaitMs ?? 1000);
    const early = this.future.get(height + 1) ?? [];
    for (const h of this.future.keys()) if (h <= height + 1) this.future.delete(h);
    for (const env of early) void this.takeProposal(env);
  }

  /** Consensus figures for status and metrics: rounds, finality time, who missed the certificate. */
  private noteCommit(set: ReadonlyArray<{ key: string }>, headerTime: number, round: number, signersHex: string): void {
    const p = this.progress;
    p.heights++;
    p.extraRounds += round;
    p.lastFinalityMs = Math.max(0, Date.now() - headerTime);
    let signers = 0;
    set.forEach((v, i) => {
      const on = (parseInt(signersHex.slice(2 * (i >> 3), 2 * (i >> 3) + 2), 16) >> (i % 8)) & 1;
      if (on) signers++;
      else if (p.missed.size < 1000 || p.missed.has(v.key)) p.missed.set(v.key, (p.missed.get(v.key) ?? 0) + 1);
    });
    p.last = { height: this.chain.tip.height, round, signers, of: set.length };
  }

  private consensusStatus(): ConsensusStatus {
    const pos = this.driver?.position();
    const p = this.progress;
    return {
      voting: this.driver !== undefined,
      height: pos?.height ?? this.chain.tip.height + 1,
      round: pos?.round ?? 0,
      step: pos?.step ?? 'following',
      validators: this.chain.validators.length,
      peersConnected: Math.min(this.chain.validators.length, this.transport.peers().length + (this.driver ? 1 : 0)),
      lastCommit: p.last,
      heights: p.heights,
      extraRounds: p.extraRounds,
      lastFinalityMs: p.lastFinalityMs,
      missedVotes: Object.fromEntries(p.missed),
      evidenceSeen: this.evidence.length,
    };
  }

  private async askStatus(peer: string): Promise<void> {
    try {
      const ids = protocolIds(this.node.params.chain, this.node.params.genesisHash);
      const status = decodeMessage('status', await this.transport.request(peer, ids.status, encodeMessage({}), { timeoutMs: 5000, maxResponseBytes: netLimits.smallMessageBytesMax }));
      if (status.genesisHash !== this.node.params.genesisHash) return;
      if (status.height > this.bestHeight) this.bestHeight = status.height;
      if (status.height > this.chain.tip.height) void this.catchUp(peer);
    } catch {
      // a peer that does not answer is asked again when it reconnects
    }
  }

  /**
   * Final blocks from `peer` up to its tip, each checked against its commit certificate
   * and re-executed before it is committed; then the driver starts at the new height.
   */
  private async catchUp(peer: string): Promise<void> {
    if (this.catchingUp || this.closed) return;
    this.catchingUp = true;
    const startedAt = this.chain.tip.height;
    try {
      for (;;) {
        const from = this.chain.tip.height + 1;
        const res = decodeMessage('blocksResponse', await this.transport.request(peer, this.blocksProtocol, encodeMessage({ from, count: CATCH_UP_BATCH }), { timeoutMs: 20_000, maxResponseBytes: netLimits.blocksResponseBytesMax }));
        let took = 0;
        for (const wire of res.blocks) {
          if (this.closed || wire.block.header.height !== this.chain.tip.height + 1 || !wire.commit) break;
          if (!(await this.importFinal(wire.block.header.height, { block: wire.block, txs: wire.txs, ...(wire.lastCommit ? { lastCommit: wire.lastCommit } : {}) }, wire.commit))) break;
          took++;
        }
        if (took === 0 || res.blocks.length < CATCH_UP_BATCH) break;
      }
    } catch (err) {
      this.o.log('warn', 'catching up from a peer failed', { peer, error: (err as Error).message });
    } finally {
      this.catchingUp = false;
    }
    if (!this.closed && this.chain.tip.height > startedAt) {
      this.o.log('info', 'caught up with final blocks from a peer', { peer, from: startedAt + 1, to: this.chain.tip.height });
      if (validatorsHash(this.chain.validators) !== this.driverSet) this.followSet(0);
      else this.driver?.start(this.chain.tip.height + 1);
    }
  }

  private async importFinal(height: number, proposal: ProposalBlock, commit: CertifiedCommit): Promise<boolean> {
    if (commit.height !== height || commit.blockHash !== proposal.block.hash) return false;
    if (!verifyCommit(blstBls, this.node.params.chain, this.chain.validators, commit).ok) return false;
    // (the set in force signs the next block: chain.validators, re-read after every commit)
    const proposer = this.chain.indexOf(proposal.block.header.proposer);
    await this.chain.check(proposer, proposal);
    if (this.chain.tip.height + 1 !== height || !this.chain.valid(height, proposal.block.hash)) return false;
    this.chain.commit(height, commit.round, proposal.block.hash, { signers: commit.signers, signature: commit.signature });
    return true;
  }

  status(): NetworkStatus {
    const height = this.chain.tip.height;
    return {
      role: 'validator', state: this.catchingUp ? 'syncing' : 'following',
      peers: this.transport.peers().map((p) => ({ id: p.id, addrs: p.addrs, height: null, score: p.score, direction: p.direction })),
      height, bestHeight: Math.max(height, this.bestHeight - 1), lagBlocks: Math.max(0, this.bestHeight - 1 - height), lagMs: 0,
      blocksVerified: this.chain.counts.blocks, txsVerified: this.chain.counts.txs, blocksVerifiedPerSec: 0,
      gossipIn: this.counts.gossipIn, gossipOut: this.counts.gossipOut + this.serve.gossipOut,
      rejectedPeers: Object.fromEntries(this.counts.rejected), equivocation: null,
      consensus: this.consensusStatus(),
    };
  }
}
