// A deterministic network of Tendermint validators in one process, for tests: a seeded
// random source, virtual time, and an event queue ordered by (time, sequence). From the
// seed come the validator set, which validators are Byzantine and how, message delays,
// drops, duplicates, crashes with restarts, and partitions. Faults stop at `healAtMs`:
// after it every honest validator is up and every link delivers. The run checks, as it
// goes, what must hold whatever happened:
//   - agreement: no two honest validators decide different values at one height;
//   - validity: honest validators decide only valid values;
//   - evidence: a validator that received two conflicting votes of one validator at its
//     height reports it, and nobody ever reports an honest validator;
//   - no honest validator's signer refuses a message (the machine never equivocates,
//     even after a restart);
// and at the end, liveness: every honest validator decided `heights` more heights than
// the highest any had decided when the network healed.
// The same seed gives the same run, event for event; a failure carries the trace.
import { DEFAULT_TIMEOUTS_MS, type Environment, type Message, type Output, type Proposal, type Vote } from './types.js';
import { ProposerSchedule } from './proposer.js';
import { SignGuard } from './sign-guard.js';
import { seededRandom } from '../../core/testing.js';
import { ROUNDS_AHEAD_MAX, Tendermint, type SavedState } from './tendermint.js';


/**
 * equivocate: each message also goes to about half the peers with another value (nil for a
 * value, a made-up block for nil, a second block for a proposal); withhold: most messages
 * are never sent; invalid: proposes blocks that fail validation; split: the Byzantine
 * validators collude, split the honest ones in two halves per round and show each half a
 * different block in every proposal and vote, the attack that quorums of more than 2/3 and
 * locks exist to defeat.
 */
export type Byzantine = 'equivocate' | 'withhold' | 'invalid' | 'split';

export interface Scenario {
  seed: number;
  powers: number[];
  byzantine: Map<number, Byzantine>;
  heights: number;
  healAtMs: number;
  /** after healing, the run must finish within this much virtual time */
  liveWithinMs: number;
  dropRate: number;
  duplicateRate: number;
  /** before healing, this share of precommits is held back 1 to 3 s: one validator decides while the rest move on a round, where locks matter */
  slowPrecommitRate: number;
  /** before healing, an honest validator that decides crashes at once with this chance (for 0.5 to 3 s), so no one hears of its decision */
  crashOnDecideRate: number;
  delayMsMin: number;
  delayMsMax: number;
  /** [crash at, restart at] per crash, honest validators only, all before healAtMs */
  crashes: Array<{ validator: number; atMs: number; upAtMs: number }>;
  /** each partition splits the validators in two groups for a while, before healAtMs */
  partitions: Array<{ group: Set<number>; fromMs: number; toMs: number }>;
  gossipEveryMs: number;
  /** a validator waits this long after deciding before it starts the next height (CometBFT's timeout_commit) */
  commitWaitMs: number;
}

/** A scenario from a seed: n is 4 or 7 unless given, and the Byzantine power stays below a third. */
export function scenarioOf(seed: number, n?: number): Scenario {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const size = n ?? pick([4, 7]);
  const powers = rnd() < 0.5 ? Array(size).fill(1) : Array.from({ length: size }, () => 1 + Math.floor(rnd() * 5));
  const total = powers.reduce((a, b) => a + b, 0);
  const byzantine = new Map<number, Byzantine>();
  const wanted = Math.floor(rnd() * (size + 2) / 3);
  for (const v of [...powers.keys()].sort(() => rnd() - 0.5)) {
    if (byzantine.size >= wanted) break;
    const power = [...byzantine.keys()].reduce((a, b) => a + powers[b]!, 0) + powers[v]!;
    if (3 * power < total) byzantine.set(v, pick(['equivocate', 'withhold', 'invalid', 'split', 'split'] as const));
  }
  const healAtMs = 2000 + Math.floor(rnd() * 20000);
  const honest = [...powers.keys()].filter((v) => !byzantine.has(v));
  const crashes = Array.from({ length: Math.floor(rnd() * (size + 1)) }, () => {
    const atMs = Math.floor(rnd() * healAtMs);
    return { validator: pick(honest), atMs, upAtMs: atMs + Math.floor(rnd() * (healAtMs - atMs)) };
  });
  const partitions = Array.from({ length: Math.floor(rnd() * 3) }, () => {
    const fromMs = Math.floor(rnd() * healAtMs);
    return { group: new Set([...powers.keys()].filter(() => rnd() < 0.5)), fromMs, toMs: fromMs + Math.floor(rnd() * (healAtMs - fromMs)) };
  });
  const delayMsMin = 1 + Math.floor(rnd() * 20);
  return {
    seed, powers, byzantine, heights: 4, healAtMs, liveWithinMs: 180_000,
    dropRate: rnd() < 0.3 ? 0 : rnd() * 0.3,
    duplicateRate: rnd() * 0.2,
    slowPrecommitRate: rnd() < 0.5 ? 0 : rnd() * 0.5,
    crashOnDecideRate: rnd() < 0.3 ? 0 : 0.2 + rnd() * 0.6,
    delayMsMin, delayMsMax: delayMsMin + 1 + Math.floor(rnd() * (rnd() < 0.2 ? 2000 : 200)),
    crashes, partitions, gossipEveryMs: 300, commitWaitMs: 100 + Math.floor(rnd() * 900),
  };
}

interface Decision { value: string; round: number; proposal: Proposal; precommits: Vote[] }

/** What travels between simulated validators: consensus messages and a height announcement. */
type Wire = Message | { type: 'status'; height: number };

interface Node {
  index: number;
  up: boolean;
  /** bumped on each restart: a timeout from before the crash is ignored */
  incarnation: number;
  machine: Tendermint;
  guard: SignGuard;
  /** what survives a crash */
  disk: { decided: Decision[]; saved?: SavedState; signed: Message[] };
  /** heights its peers said they are at, for catch-up */
  peerHeights: Map<number, number>;
  proposals: number;
}

type Event =
  | { kind: 'deliver'; to: number; from: number; message: Wire }
  | { kind: 'timeout'; node: number; incarnation: number; step: 'propose' | 'prevote' | 'precommit'; height: number; round: number }
  | { kind: 'gossip'; node: number }
  | { kind: 'next'; node: number; incarnation: number; height: number }
  | { kind: 'crash'; node: number }
  | { kind: 'restart'; node: number };

export interface RunResult {
  ok: boolean;
  failure?: string;
  /** the last events, one line each (bounded) */
  trace: string[];
  /** heights decided by each honest validator */
  decided: number[];
  evidence: number;
  events: number;
  endMs: number;
}

const TRACE_LINES_MAX = 4000;
const EVENTS_MAX = 3_000_000;

export class Simulation {
  private readonly rnd: () => number;
  private readonly queue: Array<{ at: number; seq: number; event: Event }> = [];
  private seq = 0;
  private now = 0;
  private readonly nodes: Node[];
  private readonly schedule: ProposerSchedule;
  private readonly trace: string[] = [];
  private failure: string | undefined;
  private evidence = 0;
  /** honest decisions: height -> value */
  private readonly agreed = new Map<number, string>();
  /** votes each honest node's machine received at its height: node/type/round/validator -> values */
  private readonly heard = new Map<string, Set<string>>();
  private readonly reported = new Set<string>();

  constructor(readonly scenario: Scenario) {
    this.rnd = seededRandom(scenario.seed ^ 0x9e3779b9);
    this.schedule = new ProposerSchedule(scenario.powers);
    this.nodes = scenario.powers.map((_, i) => {
      const node: Node = {
        index: i, up: true, incarnation: 0, machine: undefined as unknown as Tendermint, guard: new SignGuard(),
        disk: { decided: [], signed: [] }, peerHeights: new Map(), proposals: 0,
      };
      node.machine = this.machineFor(node);
      return node;
    });
  }

  private environment(node: Node): Environment {
    const bad = this.scenario.byzantine.get(node.index) === 'invalid';
    return {
      powers: this.scenario.powers,
      proposer: (h, r) => this.schedule.proposer(h, r),
      getValue: (h) => `h${h}-v${node.index}-${node.proposals++}${bad ? '-bad' : ''}`,
      valid: (h, value) => value.startsWith(`h${h}-`) && !value.endsWith('-bad'),
      timeouts: DEFAULT_TIMEOUTS_MS,
    };
  }

  private machineFor(node: Node): Tendermint {
    return new Tendermint(this.environment(node), node.index);
  }

  private at(delayMs: number, event: Event): void {
    const at = this.now + delayMs;
    const item = { at, seq: this.seq++, event };
    // Binary insertion keeps the queue sorted by (at, seq): the order of events is the seed's alone.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid]!;
      if (q.at < at || (q.at === at && q.seq < item.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, item);
  }

  private log(line: string): void {
    this.trace.push(`${this.now}ms ${line}`);
    if (this.trace.length > TRACE_LINES_MAX) this.trace.splice(0, this.trace.length - TRACE_LINES_MAX);
  }

  private fail(why: string): void {
    this.failure ??= `at ${this.now} ms: ${why}`;
  }

  private honest(i: number): boolean {
    return !this.scenario.byzantine.has(i);
  }

  private linked(from: number, to: number): boolean {
    if (this.now >= this.scenario.healAtMs) return true;
    return !this.scenario.partitions.some((p) => this.now >= p.fromMs && this.now < p.toMs && p.group.has(from) !== p.group.has(to));
  }

  /** Sends over the simulated network: partitions cut, and before healing links drop and duplicate. */
  private transmit(from: number, to: number, message: Wire): void {
    if (from === to) return;
    const faulty = this.now < this.scenario.healAtMs;
    if (faulty && this.rnd() < this.scenario.dropRate) return;
    const copies = faulty && this.rnd() < this.scenario.duplicateRate ? 2 : 1;
    const { delayMsMin, delayMsMax } = this.scenario;
    for (let c = 0; c < copies; c++) {
      const slow = faulty && message.type === 'precommit' && this.rnd() < this.scenario.slowPrecommitRate ? 1000 + Math.floor(this.rnd() * 2000) : 0;
      this.at(slow + delayMsMin + Math.floor(this.rnd() * (delayMsMax - delayMsMin)), { kind: 'deliver', to, from, message });
    }
  }

  private broadcast(node: Node, m: Message): void {
    const behaviour = this.scenario.byzantine.get(node.index);
    const peers = this.nodes.map((n) => n.index).filter((i) => i !== node.index);
    if (behaviour === 'withhold' && this.rnd() < 0.7) return;
    if (behaviour === 'split') return this.split(node, m, peers);
    if (behaviour === 'equivocate') {
      // Another value to half the peers: the real one's opposite for a vote, a second block for a proposal.
      const other: Message = m.type === 'proposal'
        ? { ...m, value: `h${m.height}-v${node.index}-${node.proposals++}` }
        : { ...m, value: m.value === null ? `h${m.height}-fake-${node.index}` : null };
      for (const p of peers) {
        if (!this.linked(node.index, p)) continue;
        // Some peers get both, as they would through gossip: they must report it.
        const r = this.rnd();
        if (r < 0.45 || r >= 0.9) this.transmit(node.index, p, m);
        if (r >= 0.45) this.transmit(node.index, p, other);
      }
      return;
    }
    for (const p of peers) if (this.linked(node.index, p)) this.transmit(node.index, p, m);
  }

  /** Per (height, round): the two halves of the honest validators and the block each half is shown. */
  private readonly splits = new Map<string, { half: Set<number>; a: string; b: string }>();
  /** every block proposed at a height, as the colluding validators know them */
  private readonly proposed = new Map<number, string[]>();

  private split(node: Node, m: Message, peers: number[]): void {
    const key = `${m.height}/${m.round}`;
    let plan = this.splits.get(key);
    if (!plan) {
      const known = this.proposed.get(m.height) ?? [];
      const a = m.value ?? known[0] ?? `h${m.height}-v${node.index}-${node.proposals++}`;
      const b = known.find((v) => v !== a) ?? `h${m.height}-v${node.index}-${node.proposals++}`;
      const honest = this.nodes.map((n) => n.index).filter((i) => this.honest(i));
      plan = { half: new Set(honest.filter(() => this.rnd() < 0.5)), a, b };
      this.splits.set(key, plan);
    }
    for (const p of peers) {
      if (!this.linked(node.index, p)) continue;
      const forA = !this.honest(p) || plan.half.has(p);
      const forB = !this.honest(p) || !plan.half.has(p);
      if (forA) this.transmit(node.index, p, { ...m, value: plan.a });
      if (forB) this.transmit(node.index, p, { ...m, value: plan.b });
    }
  }

  private apply(node: Node, outputs: Output[]): void {
    for (const o of outputs) {
      if (this.failure) return;
      if (o.kind === 'send') {
        if (this.honest(node.index)) {
          const verdict = node.guard.check(o.message);
          if (verdict === 'refuse') return this.fail(`honest validator ${node.index}'s signer refused ${describe(o.message)}`);
          node.guard.note(o.message);
          // Persist before the signature leaves: the saved state and the signed messages.
          node.disk.saved = node.machine.saved();
          node.disk.signed = node.guard.persisted();
        }
        this.log(`v${node.index} sends ${describe(o.message)}`);
        if (o.message.type === 'proposal') this.proposed.set(o.message.height, [...(this.proposed.get(o.message.height) ?? []), o.message.value]);
        this.broadcast(node, o.message);
      } else if (o.kind === 'timeout') {
        this.at(o.afterMs, { kind: 'timeout', node: node.index, incarnation: node.incarnation, step: o.step, height: o.height, round: o.round });
      } else if (o.kind === 'evidence') {
        const { first, second } = o.evidence;
        this.evidence++;
        this.reported.add(`${node.index}.${node.incarnation}/${first.type}/${first.height}/${first.round}/${first.validator}`);
        this.log(`v${node.index} evidence against v${first.validator}: ${describe(first)} / ${describe(second)}`);
        if (this.honest(node.index) && this.honest(first.validator)) this.fail(`validator ${node.index} reported honest validator ${first.validator}`);
      } else {
        this.decided(node, o);
      }
    }
  }

  private decided(node: Node, o: Output & { kind: 'decide' }): void {
    this.log(`v${node.index} decides h${o.height} = ${o.value} (round ${o.round})`);
    node.disk.decided[o.height] = { value: o.value, round: o.round, proposal: o.proposal, precommits: o.precommits };
    if (this.honest(node.index)) {
      const before = this.agreed.get(o.height);
      if (before !== undefined && before !== o.value) return this.fail(`two values decided at height ${o.height}: ${before} and ${o.value}`);
      if (!o.value.startsWith(`h${o.height}-`) || o.value.endsWith('-bad')) return this.fail(`an invalid value decided at height ${o.height}: ${o.value}`);
      this.agreed.set(o.height, o.value);
      if (this.now < this.scenario.healAtMs && this.rnd() < this.scenario.crashOnDecideRate) {
        node.up = false;
        this.log(`v${node.index} crashes on deciding`);
        this.at(500 + Math.floor(this.rnd() * 2500), { kind: 'restart', node: node.index });
        return;
      }
    }
    this.at(this.scenario.commitWaitMs, { kind: 'next', node: node.index, incarnation: node.incarnation, height: o.height + 1 });
  }

  private handle(event: Event): void {
    if (event.kind === 'crash' || event.kind === 'restart') return this.crashOrRestart(event);
    const node = this.nodes[event.kind === 'deliver' ? event.to : event.node]!;
    // Gossip keeps its beat through a crash, so a restarted node gossips again.
    if (event.kind === 'gossip') this.at(this.scenario.gossipEveryMs, event);
    if (!node.up) return;
    if (event.kind === 'next') {
      if (event.incarnation !== node.incarnation) return;
      this.apply(node, node.machine.start(event.height, undefined));
    } else if (event.kind === 'timeout') {
      if (event.incarnation !== node.incarnation) return;
      this.apply(node, node.machine.onTimeout(event.step, event.height, event.round));
    } else if (event.kind === 'gossip') {
      this.gossip(node);
    } else {
      const m = event.message;
      if (m.type === 'status') return this.catchUp(node, event.from, m.height);
      this.noteHeard(node, m);
      this.apply(node, node.machine.onMessage(m));
    }
  }

  /** Records which conflicting votes an honest machine was shown at its own height. */
  private noteHeard(node: Node, m: Message): void {
    if (m.type === 'proposal' || !this.honest(node.index)) return;
    const pos = node.machine.position();
    if (m.height !== pos.height || pos.decided || m.round > pos.round + ROUNDS_AHEAD_MAX) return;
    const key = `${node.index}.${node.incarnation}/${m.type}/${m.height}/${m.round}/${m.validator}`;
    const values = this.heard.get(key) ?? new Set<string>();
    values.add(String(m.value));
    this.heard.set(key, values);
  }

  /** Every few hundred ms: status to all, own messages to all, everything counted to one peer (relay). */
  private gossip(node: Node): void {
    const pos = node.machine.position();
    const peers = this.nodes.map((n) => n.index).filter((i) => i !== node.index && this.linked(node.index, i));
    if (this.scenario.byzantine.get(node.index) === 'withhold') return;
    for (const p of peers) this.transmit(node.index, p, { type: 'status', height: pos.decided ? pos.height + 1 : pos.height });
    for (const m of node.machine.ownMessages()) for (const p of peers) this.transmit(node.index, p, m);
    if (peers.length > 0) {
      const p = peers[Math.floor(this.rnd() * peers.length)]!;
      for (const v of node.machine.countedVotes()) this.transmit(node.index, p, v);
    }
  }

  /** A peer says it is at a height this node has decided: send it that height's proposal and precommits. */
  private catchUp(node: Node, peer: number, height: number): void {
    node.peerHeights.set(peer, height);
    const d = node.disk.decided[height];
    if (!d || !this.linked(node.index, peer)) return;
    this.transmit(node.index, peer, d.proposal);
    for (const v of d.precommits) this.transmit(node.index, peer, v);
  }

  private crashOrRestart(event: Event & { kind: 'crash' | 'restart' }): void {
    const node = this.nodes[event.node]!;
    if (event.kind === 'crash') {
      if (!node.up) return;
      node.up = false;
      this.log(`v${node.index} crashes`);
      return;
    }
    if (node.up) return;
    node.up = true;
    node.incarnation++;
    node.machine = this.machineFor(node);
    node.guard = new SignGuard(node.disk.signed);
    const next = node.disk.decided.length;
    this.log(`v${node.index} restarts at height ${next}`);
    this.apply(node, node.machine.start(next, node.disk.saved));
  }

  run(): RunResult {
    const s = this.scenario;
    for (const c of s.crashes) {
      this.at(c.atMs, { kind: 'crash', node: c.validator });
      this.at(c.upAtMs, { kind: 'restart', node: c.validator });
    }
    for (const node of this.nodes) {
      this.at(s.healAtMs, { kind: 'restart', node: node.index });
      this.at(Math.floor(this.rnd() * s.gossipEveryMs), { kind: 'gossip', node: node.index });
    }
    for (const node of this.nodes) this.apply(node, node.machine.start(0));
    let events = 0;
    const deadline = s.healAtMs + s.liveWithinMs;
    while (this.queue.length > 0 && !this.failure && events < EVENTS_MAX) {
      const { at, event } = this.queue.shift()!;
      if (at > deadline) break;
      if (this.target === Infinity && at >= s.healAtMs) this.target = Math.max(...this.nodes.map((n) => n.disk.decided.length)) + s.heights;
      this.now = at;
      this.handle(event);
      events++;
      if (this.now >= s.healAtMs && this.done()) break;
    }
    this.checkEvidence();
    const decided = this.nodes.filter((n) => this.honest(n.index)).map((n) => n.disk.decided.length);
    if (!this.failure && !this.done()) this.fail(`liveness: honest validators decided ${decided.join(', ')} heights, not ${this.target}, by ${this.now} ms (${events} events)`);
    return { ok: !this.failure, failure: this.failure, trace: this.trace, decided, evidence: this.evidence, events, endMs: this.now };
  }

  /** Heights every honest validator must have decided: `heights` more than the highest decided when the network heals. */
  private target = Infinity;

  private done(): boolean {
    return this.nodes.every((n) => !this.honest(n.index) || n.disk.decided.length >= this.target);
  }

  /** Every honest machine shown two values of one validator's vote reported it. */
  private checkEvidence(): void {
    for (const [key, values] of this.heard) {
      if (values.size > 1 && !this.reported.has(key)) this.fail(`validator ${key.split('/')[0]} saw conflicting votes ${key} and reported nothing`);
    }
  }
}

function describe(m: Message): string {
  if (m.type === 'proposal') return `proposal h${m.height} r${m.round} ${m.value} vr${m.validRound} by v${m.validator}`;
  return `${m.type} h${m.height} r${m.round} ${m.value ?? 'nil'} by v${m.validator}`;
}
