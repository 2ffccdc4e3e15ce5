// Tendermint consensus (Buchman, Kwon, Milosevic, "The latest gossip on BFT consensus",
// arXiv 1807.04938, Algorithm 1) as a pure state machine: inputs are messages whose
// signatures the driver has checked, timeouts the driver was asked to fire, and the start
// of a height; outputs are messages to sign and send, timeouts to schedule, decisions and
// evidence. No clock, no I/O, no randomness: the same inputs in the same order give the
// same outputs, which is what lets the simulator replay a failing seed exactly.
//
// "2f + 1" in the paper is read as "more than 2/3 of the voting power" and "f + 1" as
// "more than 1/3". The comments name the paper's line numbers.
import { assert } from '../../core/errors.js';
import { HeightVotes } from './votes.js';
import type { Environment, LockState, Message, Output, Proposal, Step, ValidatorIndex, Vote } from './types.js';

/** Votes are stored for at most this many rounds past the current one; later ones only count towards a round skip. */
export const ROUNDS_AHEAD_MAX = 4;
/** Different proposals kept per round (only an equivocating proposer sends two), besides ones whose value has a quorum. */
export const PROPOSALS_PER_ROUND_MAX = 2;
/** Messages for the next height wait here, at most this many per validator. */
export const NEXT_HEIGHT_PER_VALIDATOR_MAX = 8;

const STEP_ORDER: Record<Step, number> = { propose: 0, prevote: 1, precommit: 2 };

/**
 * What a validator persists before it signs (see types.ts LockState): its locks, its own
 * messages of the height, and the prevote quorums behind its locked and valid values. The
 * quorums matter after a restart: others accept the valid value again only on seeing its
 * quorum (line 28), and a validator that restarted would otherwise hold a lock that no one
 * can prove any more, with the votes that justify it lost from every memory.
 */
export interface SavedState {
  lock: LockState;
  own: Message[];
  pol: Vote[];
}

export class Tendermint {
  private height = -1;
  private round = 0;
  private step: Step = 'propose';
  /** the height is decided and the driver has not started the next one yet */
  private decided = false;
  private lockedValue: string | null = null;
  private lockedRound = -1;
  private validValue: string | null = null;
  private validRound = -1;

  private votes: HeightVotes;
  private proposals = new Map<number, Proposal[]>();
  /** the highest round each validator has sent anything for at this height (line 55) */
  private seenRound = new Map<ValidatorIndex, number>();
  private validCache = new Map<string, boolean>();
  /** rules the paper fires "for the first time" only, by round */
  private prevoteTimeoutSet = new Set<number>();
  private precommitTimeoutSet = new Set<number>();
  private line36Done = new Set<number>();
  private own: Message[] = [];
  private nextHeight = new Map<ValidatorIndex, Message[]>();
  private readonly totalPower: number;

  constructor(
    private readonly env: Environment,
    /** this node's index, or undefined for a node that only watches */
    private readonly self: ValidatorIndex | undefined,
  ) {
    assert(env.powers.length > 0, 'a validator set is not empty');
    this.totalPower = env.powers.reduce((a, b) => a + b, 0);
    assert(self === undefined || (self >= 0 && self < env.powers.length), 'self is in the validator set');
    this.votes = new HeightVotes(env.powers);
  }

  /** Where the machine is, for status and tests. */
  position(): { height: number; round: number; step: Step; decided: boolean; lockedRound: number; lockedValue: string | null } {
    return { height: this.height, round: this.round, step: this.step, decided: this.decided, lockedRound: this.lockedRound, lockedValue: this.lockedValue };
  }

  /** What must be on disk before the driver signs anything this machine sent. */
  saved(): SavedState {
    return {
      lock: {
        height: this.height,
        round: this.round,
        step: this.step,
        lockedValue: this.lockedValue,
        lockedRound: this.lockedRound,
        validValue: this.validValue,
        validRound: this.validRound,
      },
      own: [...this.own],
      pol: this.proofsOfLock(),
    };
  }

  private proofsOfLock(): Vote[] {
    const out = this.lockedValue === null ? [] : this.votes.votesFor('prevote', this.lockedRound, this.lockedValue);
    if (this.validValue !== null && (this.validRound !== this.lockedRound || this.validValue !== this.lockedValue)) {
      out.push(...this.votes.votesFor('prevote', this.validRound, this.validValue));
    }
    return out;
  }

  /** This node's own messages at the current height (re-sent to peers that missed them). */
  ownMessages(): readonly Message[] {
    return this.own;
  }

  /** Every vote counted at the current height (for a peer that missed them). */
  countedVotes(): Vote[] {
    return this.votes.all();
  }

  /**
   * Starts a height (after the driver committed the previous one). `resume` is what was
   * saved at this height before a restart: the machine continues from its round and step
   * with its locks, and counts its own messages again.
   */
  start(height: number, resume?: SavedState): Output[] {
    assert(height > this.height, 'heights only go up');
    const out: Output[] = [];
    this.height = height;
    this.decided = false;
    this.votes = new HeightVotes(this.env.powers);
    this.proposals = new Map();
    this.seenRound = new Map();
    this.validCache = new Map();
    this.prevoteTimeoutSet = new Set();
    this.precommitTimeoutSet = new Set();
    this.line36Done = new Set();
    this.own = [];
    const buffered = [...this.nextHeight.values()].flat();
    this.nextHeight = new Map();
    if (resume && resume.lock.height === height) {
      const l = resume.lock;
      Object.assign(this, { round: l.round, step: l.step, lockedValue: l.lockedValue, lockedRound: l.lockedRound, validValue: l.validValue, validRound: l.validRound });
      for (const m of [...resume.own, ...resume.pol]) this.record(m);
      this.own = [...resume.own];
      // The timeout of the step it stopped in may never have fired: ask for it again.
      out.push(this.timeoutFor(this.step, this.round));
    } else {
      this.lockedValue = null;
      this.lockedRound = -1;
      this.validValue = null;
      this.validRound = -1;
      this.startRound(0, out);
    }
    for (const m of buffered) this.receive(m, out);
    this.evaluate(out);
    return out;
  }

  onMessage(message: Message): Output[] {
    const out: Output[] = [];
    this.receive(message, out);
    this.evaluate(out);
    return out;
  }

  /** A timeout the machine asked for has fired (lines 57 to 65). Stale ones do nothing. */
  onTimeout(step: Step, height: number, round: number): Output[] {
    const out: Output[] = [];
    if (height !== this.height || round !== this.round || this.decided) return out;
    if (step === 'propose' && this.step === 'propose') {
      this.send({ type: 'prevote', height, round, value: null, validator: this.self! }, out);
      this.step = 'prevote';
    } else if (step === 'prevote' && this.step === 'prevote') {
      this.send({ type: 'precommit', height, round, value: null, validator: this.self! }, out);
      this.step = 'precommit';
    } else if (step === 'precommit') {
      this.startRound(round + 1, out);
    }
    this.evaluate(out);
    return out;
  }

  // --- receiving -------------------------------------------------------------------

  private receive(m: Message, out: Output[]): void {
    if (!Number.isSafeInteger(m.validator) || m.validator < 0 || m.validator >= this.env.powers.length) return;
    if (!Number.isSafeInteger(m.round) || m.round < 0) return;
    if (m.height === this.height + 1 || (m.height === this.height && this.decided)) {
      const queue = this.nextHeight.get(m.validator) ?? [];
      if (m.height === this.height + 1 && queue.length < NEXT_HEIGHT_PER_VALIDATOR_MAX) this.nextHeight.set(m.validator, [...queue, m]);
      return;
    }
    if (m.height !== this.height) return;
    if (m.round > this.round) this.seenRound.set(m.validator, Math.max(m.round, this.seenRound.get(m.validator) ?? 0));
    if (m.round > this.round + ROUNDS_AHEAD_MAX) return;
    const evidence = this.record(m);
    if (evidence) out.push(evidence);
  }

  /** Adds a message to the height's log; an equivocating vote comes back as evidence. */
  private record(m: Message): Output | undefined {
    if (m.type === 'proposal') {
      if (m.validator !== this.env.proposer(m.height, m.round)) return undefined;
      if (!(m.validRound >= -1 && m.validRound < m.round)) return undefined;
      const list = this.proposals.get(m.round) ?? [];
      if (list.some((p) => p.value === m.value)) return undefined;
      // Past the cap, only a proposal whose value already has a quorum in its round gets in:
      // the block that was decided, when an equivocating proposer filled the slots first.
      const known = (type: Vote['type']) => this.quorum(this.votes.powerFor(type, m.round, m.value));
      if (list.length >= PROPOSALS_PER_ROUND_MAX && !known('precommit') && !known('prevote')) return undefined;
      this.proposals.set(m.round, [...list, m]);
      return undefined;
    }
    const result = this.votes.add(m);
    if (typeof result === 'object' && result.equivocation) return { kind: 'evidence', evidence: result.equivocation };
    return undefined;
  }

  // --- the rules ---------------------------------------------------------------------

  private quorum(power: number): boolean {
    return 3 * power > 2 * this.totalPower;
  }

  private oneHonest(power: number): boolean {
    return 3 * power > this.totalPower;
  }

  private isValid(value: string): boolean {
    let v = this.validCache.get(value);
    if (v === undefined) this.validCache.set(value, (v = this.env.valid(this.height, value)));
    return v;
  }

  /** Fires rules until none applies: each firing changes state, so this ends. */
  private evaluate(out: Output[]): void {
    while (!this.decided && this.fireOne(out));
  }

  private fireOne(out: Output[]): boolean {
    return this.decide(out) || this.skipRound(out) || this.onProposalRules(out) || this.onPrevoteRules(out) || this.onPrecommitRules(out);
  }

  /** Line 49: a proposal and a precommit quorum for its value, in any round. */
  private decide(out: Output[]): boolean {
    for (const round of this.votes.roundsWith('precommit')) {
      for (const value of this.votes.precommittedValues(round)) {
        if (!this.quorum(this.votes.powerFor('precommit', round, value))) continue;
        const proposal = this.proposals.get(round)?.find((p) => p.value === value);
        if (!proposal || !this.isValid(value)) continue;
        this.decided = true;
        out.push({ kind: 'decide', height: this.height, round, value, proposal, precommits: this.votes.votesFor('precommit', round, value) });
        return true;
      }
    }
    return false;
  }

  /** Line 55: more than 1/3 of the power is in a later round, so at least one honest validator is. */
  private skipRound(out: Output[]): boolean {
    const ahead = [...this.seenRound].filter(([, r]) => r > this.round).sort((a, b) => b[1] - a[1]);
    let power = 0;
    for (const [validator, round] of ahead) {
      power += this.env.powers[validator]!;
      if (this.oneHonest(power)) {
        this.startRound(round, out);
        return true;
      }
    }
    return false;
  }

  /** Lines 22 and 28: prevote on the round's proposal. */
  private onProposalRules(out: Output[]): boolean {
    if (this.step !== 'propose') return false;
    const p = this.proposals.get(this.round)?.[0];
    if (!p) return false;
    let accept: boolean;
    if (p.validRound === -1) {
      accept = this.isValid(p.value) && (this.lockedRound === -1 || this.lockedValue === p.value);
    } else {
      if (!this.quorum(this.votes.powerFor('prevote', p.validRound, p.value))) return false;
      accept = this.isValid(p.value) && (this.lockedRound <= p.validRound || this.lockedValue === p.value);
    }
    this.send({ type: 'prevote', height: this.height, round: this.round, value: accept ? p.value : null, validator: this.self! }, out);
    this.step = 'prevote';
    return true;
  }

  /** Lines 34, 36 and 44. */
  private onPrevoteRules(out: Output[]): boolean {
    const { round } = this;
    if (this.step === 'prevote' && !this.prevoteTimeoutSet.has(round) && this.quorum(this.votes.powerAny('prevote', round))) {
      this.prevoteTimeoutSet.add(round);
      out.push(this.timeoutFor('prevote', round));
      return true;
    }
    if (STEP_ORDER[this.step] >= STEP_ORDER.prevote && !this.line36Done.has(round)) {
      for (const p of this.proposals.get(round) ?? []) {
        if (!this.quorum(this.votes.powerFor('prevote', round, p.value)) || !this.isValid(p.value)) continue;
        this.line36Done.add(round);
        if (this.step === 'prevote') {
          this.lockedValue = p.value;
          this.lockedRound = round;
          this.send({ type: 'precommit', height: this.height, round, value: p.value, validator: this.self! }, out);
          this.step = 'precommit';
        }
        this.validValue = p.value;
        this.validRound = round;
        return true;
      }
    }
    if (this.step === 'prevote' && this.quorum(this.votes.powerFor('prevote', round, null))) {
      this.send({ type: 'precommit', height: this.height, round, value: null, validator: this.self! }, out);
      this.step = 'precommit';
      return true;
    }
    return false;
  }

  /** Line 47. */
  private onPrecommitRules(out: Output[]): boolean {
    const { round } = this;
    if (!this.precommitTimeoutSet.has(round) && this.quorum(this.votes.powerAny('precommit', round))) {
      this.precommitTimeoutSet.add(round);
      out.push(this.timeoutFor('precommit', round));
      return true;
    }
    return false;
  }

  // --- acting ------------------------------------------------------------------------

  /** Line 11. */
  private startRound(round: number, out: Output[]): void {
    this.round = round;
    this.step = 'propose';
    for (const [v, r] of this.seenRound) if (r <= round) this.seenRound.delete(v);
    if (this.self !== undefined && this.env.proposer(this.height, round) === this.self) {
      const value = this.validValue ?? this.env.getValue(this.height);
      this.send({ type: 'proposal', height: this.height, round, value, validRound: this.validRound, validator: this.self }, out);
    } else {
      out.push(this.timeoutFor('propose', round));
    }
  }

  private timeoutFor(step: Step, round: number): Output {
    const t = this.env.timeouts;
    const afterMs = step === 'propose' ? t.proposeBase + t.proposePerRound * round
      : step === 'prevote' ? t.prevoteBase + t.prevotePerRound * round
        : t.precommitBase + t.precommitPerRound * round;
    return { kind: 'timeout', step, height: this.height, round, afterMs };
  }

  /** Counts the node's own message and asks the driver to sign and send it. A watcher sends nothing. */
  private send(m: Message, out: Output[]): void {
    if (this.self === undefined) return;
    this.record(m);
    this.own.push(m);
    out.push({ kind: 'send', message: m });
  }
}
