// A validator's consensus loop: the pure machine (tendermint.ts) between a network of
// signed messages (wire.ts), a signer that journals before it signs (signer.ts), timers,
// and the application that proposes, checks and commits blocks. Everything arriving is
// checked before the machine sees it; every decision leaves with its commit certificate.
// The network and the timers are interfaces, so the same driver runs on libp2p in a node
// and on an in-memory bus in tests.
import { TallyError } from '../../core/errors.js';
import type { BlsScheme } from '../../core/bls.js';
import type { BlsValidator, CommitCertificate } from './certificate.js';
import { ProposerSchedule } from './proposer.js';
import type { ConsensusSigner } from './signer.js';
import { ROUNDS_AHEAD_MAX, Tendermint } from './tendermint.js';
import { VALUES_PER_SLOT_MAX } from './votes.js';
import { DEFAULT_TIMEOUTS_MS, type Message, type Output, type TimeoutsMs, type Vote } from './types.js';
import { certificateOf, checkEvidence, checkSigned, type Evidence, type Signed } from './wire.js';

export interface ConsensusApp {
  /** a new block to propose at `height`; returns its id (block hash) */
  propose(height: number): string;
  /** whether the block `id` is valid at `height` (re-executed against the parent state) */
  valid(height: number, id: string): boolean;
  /** the block `id` is final at `height` with this certificate: commit it, then the driver starts height + 1 */
  commit(height: number, round: number, id: string, certificate: CommitCertificate): void;
  /** checked evidence of a validator's equivocation (to submit as a transaction) */
  evidence?(evidence: Evidence): void;
}

export interface ConsensusNet {
  broadcast(message: Signed): void;
}

export interface Timers {
  after(ms: number, fn: () => void): void;
}

export interface DriverOptions {
  scheme: BlsScheme;
  chainId: string;
  validators: readonly BlsValidator[];
  /** this validator's index in `validators` */
  self: number;
  signer: ConsensusSigner;
  app: ConsensusApp;
  net: ConsensusNet;
  timers: Timers;
  timeouts?: TimeoutsMs;
  /** wait after a commit before the next height starts (CometBFT's timeout_commit); a function is asked after each commit */
  commitWaitMs?: number | (() => number);
}

/**
 * Signed votes are kept for this height and the next (the machine holds the next height's
 * early votes too): precommits for certificates, any vote for evidence. Bounded as the
 * machine's log is: rounds up to ROUNDS_AHEAD_MAX past the current one (the next height:
 * from round 0), at most VALUES_PER_SLOT_MAX values per slot, dropped as heights pass.
 */
const slotKey = (v: Vote) => `${v.type}/${v.height}/${v.round}/${v.validator}/${v.value}`;
const slotOf = (v: Vote) => `${v.type}/${v.height}/${v.round}/${v.validator}`;
/**
 * Distinct proposals of one round whose check may hold that round's propose timeout: the
 * machine keeps two proposals per round, and an equivocating proposer must not be able to
 * hold the timeout for ever with a stream of new blocks.
 */
const CHECKS_HOLDING_TIMEOUT_MAX = 2;

export class ValidatorDriver {
  private readonly machine: Tendermint;
  private height = -1;
  private signedVotes = new Map<string, Signed<Vote>>();
  /** values kept per slot, for the bound */
  private valuesPerSlot = new Map<string, number>();
  private readonly rejected = new Map<string, number>();
  private stopped: TallyError | undefined;
  private closed = false;
  /** the height a commit wait will start, while it waits */
  private nextStart: number | undefined;
  private readonly schedule: ProposerSchedule;
  /** per "height/round": proposals of that round's proposer still being checked by the app, and how many ever held it */
  private readonly checks = new Map<string, { running: number; held: number; timedOut: boolean }>();

  constructor(private readonly o: DriverOptions) {
    const schedule = new ProposerSchedule(o.validators.map((v) => v.power));
    this.schedule = schedule;
    this.machine = new Tendermint({
      powers: o.validators.map((v) => v.power),
      proposer: (h, r) => schedule.proposer(h, r),
      getValue: (h) => o.app.propose(h),
      valid: (h, id) => o.app.valid(h, id),
      timeouts: o.timeouts ?? DEFAULT_TIMEOUTS_MS,
    }, o.self);
  }

  /** Why the driver stopped (a refused double-sign), if it did. */
  get failure(): TallyError | undefined {
    return this.stopped;
  }

  /** Counts of refused network input by code (for metrics and scoring the sender). */
  get refusals(): ReadonlyMap<string, number> {
    return this.rejected;
  }

  /** Stops for good: later messages and timers do nothing (the node is shutting down). */
  close(): void {
    this.closed = true;
  }

  /**
   * Starts `height`, unless the machine has reached it already: a catch-up that imported
   * final blocks may finish after consensus itself moved to the same height, and
   * restarting a running height would throw its round away.
   */
  start(height: number): void {
    if (this.closed || height <= this.machine.position().height) return;
    this.nextStart = undefined;
    this.height = height;
    for (const [k, s] of this.signedVotes) if (s.message.height < height) this.signedVotes.delete(k);
    for (const k of this.valuesPerSlot.keys()) if (Number(k.split('/')[1]) < height) this.valuesPerSlot.delete(k);
    for (const k of this.checks.keys()) if (Number(k.split('/')[0]) < height) this.checks.delete(k);
    const saved = this.o.signer.resumeState();
    const resume = saved?.lock.height === height ? saved : undefined;
    // Its own votes from before a restart count in the machine again, so their signatures
    // must be at hand for a certificate: the signer signs them again, to the same bytes.
    // They are sent again too: if every validator restarted, nobody else still has them,
    // and a machine waiting in a step for votes nobody resends would wait for ever.
    for (const m of resume?.own ?? []) {
      if (m.type === 'proposal') continue;
      const signed = this.o.signer.sign(m, resume!);
      this.retain(signed);
      this.o.net.broadcast(signed);
    }
    this.apply(this.machine.start(height, resume));
  }

  /** A message from the network: refused with a count unless well formed and signed by the validator it names. */
  receive(input: unknown): void {
    if (this.stopped || this.closed) return;
    const checked = checkSigned(this.o.scheme, this.o.validators, this.o.chainId, input);
    if (!checked.ok) {
      this.rejected.set(checked.code, (this.rejected.get(checked.code) ?? 0) + 1);
      return;
    }
    const s = checked.value;
    if (s.message.type !== 'proposal') this.keepVote(s as Signed<Vote>);
    this.apply(this.machine.onMessage(s.message));
  }

  private keepVote(s: Signed<Vote>): void {
    const m = s.message;
    const roundMax = m.height === this.height ? this.machine.position().round + ROUNDS_AHEAD_MAX : m.height === this.height + 1 ? ROUNDS_AHEAD_MAX : -1;
    if (m.round <= roundMax) this.retain(s);
  }

  private retain(s: Signed<Vote>): void {
    const m = s.message;
    if (this.signedVotes.has(slotKey(m))) return;
    const values = this.valuesPerSlot.get(slotOf(m)) ?? 0;
    if (values >= VALUES_PER_SLOT_MAX) return;
    this.valuesPerSlot.set(slotOf(m), values + 1);
    this.signedVotes.set(slotKey(m), s);
  }

  /** Where the machine is: the network layer resends this validator's messages while it stays there. */
  position(): { height: number; round: number; step: string } {
    const p = this.machine.position();
    return { height: p.height, round: p.round, step: p.step };
  }

  /** Signed votes held for certificates and evidence (bounded: see slotKey). */
  get retainedVotes(): number {
    return this.signedVotes.size;
  }

  private apply(outputs: Output[]): void {
    for (const out of outputs) {
      if (this.stopped) return;
      if (out.kind === 'send') this.send(out.message);
      else if (out.kind === 'timeout') this.o.timers.after(out.afterMs, () => this.onTimer(out.step, out.height, out.round));
      else if (out.kind === 'evidence') this.reportEvidence(out.evidence.first, out.evidence.second);
      else this.decided(out.height, out.round, out.value, out.precommits);
    }
  }

  private onTimer(step: 'propose' | 'prevote' | 'precommit', height: number, round: number): void {
    if (this.stopped || this.closed) return;
    const check = step === 'propose' ? this.checks.get(`${height}/${round}`) : undefined;
    if (check && check.running > 0) {
      check.timedOut = true;
      return;
    }
    this.apply(this.machine.onTimeout(step, height, round));
  }

  /**
   * The app received the signed proposal of (height, round) from that round's proposer and
   * is checking its block (signatures, re-execution), which may take longer than the
   * propose timeout under load. The proposal arrived in time, so the timeout waits for the
   * outcome, as CometBFT's does while ProcessProposal runs: on a valid block the machine
   * prevotes for it, on an invalid one the held timeout fires (nil). Timeouts only ever
   * decide liveness, never safety. Returns false (nothing held) for anything but the
   * round's proposer, a passed height, or past the per-round bound; the caller calls
   * proposalChecked(height, round) after receive() only when this returned true.
   */
  checkingProposal(height: number, round: number, validator: number): boolean {
    // this height, or the next one while the commit wait runs (the schedule is asked in height order)
    const current = height === this.height ? this.machine.position().round : height === this.nextStart ? 0 : undefined;
    if (this.closed || current === undefined || round < 0 || round > current + ROUNDS_AHEAD_MAX) return false;
    if (this.schedule.proposer(height, round) !== validator) return false;
    const key = `${height}/${round}`;
    const check = this.checks.get(key) ?? { running: 0, held: 0, timedOut: false };
    if (check.held >= CHECKS_HOLDING_TIMEOUT_MAX) return false;
    check.held++;
    check.running++;
    this.checks.set(key, check);
    return true;
  }

  /** The check of a proposal announced by checkingProposal ended: a held propose timeout fires now. */
  proposalChecked(height: number, round: number): void {
    const key = `${height}/${round}`;
    const check = this.checks.get(key);
    if (!check) return;
    check.running = Math.max(0, check.running - 1);
    if (check.running === 0 && check.timedOut) {
      check.timedOut = false;
      this.onTimer('propose', height, round);
    }
  }

  private send(message: Message): void {
    try {
      const signed = this.o.signer.sign(message, this.machine.saved());
      if (message.type !== 'proposal') this.keepVote(signed as Signed<Vote>);
      this.o.net.broadcast(signed);
    } catch (err) {
      if (err instanceof TallyError && err.code === 'double_sign_refused') this.stopped = err;
      else throw err;
    }
  }

  private reportEvidence(first: Vote, second: Vote): void {
    const evidence = { first: this.signedVotes.get(slotKey(first)), second: this.signedVotes.get(slotKey(second)) };
    if (!evidence.first || !evidence.second) return;
    if (checkEvidence(this.o.scheme, this.o.validators, this.o.chainId, evidence).ok) this.o.app.evidence?.(evidence as Evidence);
  }

  private decided(height: number, round: number, id: string, precommits: Vote[]): void {
    const signed = precommits.map((v) => this.signedVotes.get(slotKey(v))).filter((s): s is Signed<Vote> => s !== undefined);
    this.o.app.commit(height, round, id, certificateOf(this.o.scheme, this.o.validators, signed));
    const wait = typeof this.o.commitWaitMs === 'function' ? this.o.commitWaitMs() : this.o.commitWaitMs ?? 0;
    this.nextStart = height + 1;
    this.o.timers.after(wait, () => this.startNext(height + 1));
  }

  /** The next height, unless it has started already (hurry) or the driver stopped. */
  private startNext(height: number): void {
    if (this.nextStart !== height || this.stopped) return;
    this.nextStart = undefined;
    this.start(height);
  }

  /**
   * Work arrived while the driver waits after a commit (an idle chain waits longer):
   * start the next height now instead of at the end of the wait.
   */
  hurry(): void {
    if (this.nextStart !== undefined) this.startNext(this.nextStart);
  }
}
