// A validator chain's validator set, owned by the core as a module named "validators" (a
// name no other module may take). State, under "validators/":
//
//   set            the validators in force, sorted by key: [{key, blsKey, pop, power}]
//   since          the first height the current set signs (absent: 1, the genesis set)
//   previous       the set before the last change (it signs block since - 1, whose commit
//                  the next proposal carries: a node restarting there needs it)
//   jailed/<key>   a jailed validator's entry, with the height and reason it was jailed
//
// A change made by block h (evidence, governance) is in force from block h + 1: the next
// header's validatorsHash names the new set and its commit is signed by it. The keeper is
// how governance changes the set; a method that refuses writes nothing. The transaction
// `validators.evidence` jails a validator that signed two different votes in one slot:
// anyone may send it (it opens the sender's account if new), once per offence.
import { TallyError, fail } from '../core/errors.js';
import { nobleBls } from '../core/bls.js';
import { blstBls } from './consensus/bls-native.js';
import { checkValidatorEntry, type ValidatorEntry } from './consensus/validator-key.js';
import { checkEvidence, type Evidence } from './consensus/wire.js';
import type { TxEvent } from './envelope.js';
import type { BlockContext, ChainModule, TxType } from './module.js';
import type { StateReader, StateView } from './state.js';

export const VALIDATORS_MODULE = 'validators';
/** The full key of the set in state (genesis-block.ts writes it at block 0). */
export const VALIDATORS_KEY = 'validators/set';
const SET = 'validators/set';
const SINCE = 'validators/since';
const PREVIOUS = 'validators/previous';
const JAILED = 'validators/jailed/';

export interface JailedEntry extends ValidatorEntry {
  jailedAt: number;
  reason: string;
}

/** What governance may do to the set (and what it reads of it). */
export interface ValidatorSetKeeper {
  /** The set in force and the jailed validators (jailed: true), sorted by key. */
  list(): Array<ValidatorEntry & { jailed?: boolean }>;
  add(v: { key: string; blsKey: string; pop: string; power: number }): void;
  /** Power 0 removes the validator. */
  setPower(key: string, power: number): void;
  unjail(key: string): void;
}

const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
function refuse(code: string, message: string, status = 422): never {
  fail(code, message, { status });
}

export function validatorSet(state: StateReader): ValidatorEntry[] | undefined {
  return state.get<ValidatorEntry[]>(SET);
}

/** The set that signed block `height` (the tip), given the state after it. */
export function signersOf(state: Pick<StateReader, 'get'>, height: number): ValidatorEntry[] | undefined {
  const changedBy = (state.get<number>(SINCE) ?? 1) - 1;
  return changedBy === height ? state.get<ValidatorEntry[]>(PREVIOUS) : state.get<ValidatorEntry[]>(SET);
}

function setOf(state: StateReader): ValidatorEntry[] {
  return validatorSet(state) ?? refuse('not_a_validator_chain', 'this chain has no validator set (its genesis names no validators)');
}

/** The set's writes after a change: the new list, and the height it is in force from. */
function writeSet(state: StateView, height: number, set: ValidatorEntry[]): void {
  if (set.length === 0) refuse('last_validator', 'the change would leave the chain without validators', 409);
  // The set this block is signed by, kept once per block (a second change in the block keeps the first's).
  if (state.get<number>(SINCE) !== height + 1) state.set(PREVIOUS, state.get(SET));
  state.set(SET, [...set].sort(byKey));
  state.set(SINCE, height + 1);
}

function jail(state: StateView, height: number, key: string, reason: string): void {
  const set = setOf(state);
  const v = set.find((x) => x.key === key);
  if (!v) refuse('validator_unknown', `${key} is not a validator in force`, 404);
  writeSet(state, height, set.filter((x) => x.key !== key));
  const entry: JailedEntry = { key: v.key, blsKey: v.blsKey, pop: v.pop, power: v.power, jailedAt: height, reason };
  state.set(JAILED + key, entry);
}

export function validatorsKeeper(ctx: BlockContext): ValidatorSetKeeper {
  // The keeper works on the module's own scoped view: its keys are the full ones above.
  const state = ctx.state;
  const jailedList = () => state.entries<JailedEntry>(JAILED, { limit: 10_000 }).map(([, v]) => v);
  return {
    list: () => [...setOf(state), ...jailedList().map((j) => ({ key: j.key, blsKey: j.blsKey, pop: j.pop, power: j.power, jailed: true }))].sort(byKey),
    add(v) {
      const set = setOf(state);
      if (set.some((x) => x.key === v.key) || state.get(JAILED + v.key)) refuse('validator_exists', `${v.key} is a validator already (in force or jailed)`, 409);
      if (set.some((x) => x.blsKey === v.blsKey)) refuse('validator_exists', 'another validator holds this BLS key', 409);
      if (!Number.isSafeInteger(v.power) || v.power < 1) refuse('bad_power', 'a validator\'s power is a positive integer');
      try {
        checkValidatorEntry(nobleBls, v);
      } catch (err) {
        refuse('bad_pop', `the BLS key or its proof of possession is not valid: ${(err as Error).message}`);
      }
      writeSet(state, ctx.height, [...set, { key: v.key, blsKey: v.blsKey, pop: v.pop, power: v.power }]);
    },
    setPower(key, power) {
      const set = setOf(state);
      if (!set.some((x) => x.key === key)) refuse('validator_unknown', `${key} is not a validator in force`, 404);
      if (!Number.isSafeInteger(power) || power < 0) refuse('bad_power', 'power is a non-negative integer (0 removes the validator)');
      writeSet(state, ctx.height, power === 0 ? set.filter((x) => x.key !== key) : set.map((x) => (x.key === key ? { ...x, power } : x)));
    },
    unjail(key) {
      const j = state.get<JailedEntry>(JAILED + key);
      if (!j) refuse('validator_unknown', `${key} is not jailed`, 404);
      const set = setOf(state);
      writeSet(state, ctx.height, [...set, { key: j.key, blsKey: j.blsKey, pop: j.pop, power: j.power }]);
      state.delete(JAILED + key);
    },
  };
}

/** Evidence as it travels in a transaction body: the two signed votes (wire.ts). */
const evidenceTx: TxType<Evidence> = {
  type: 'validators.evidence',
  opensAccount: true,
  parse(body) {
    const b = body as Partial<Evidence>;
    const keys = Object.keys(body);
    if (keys.length !== 2 || typeof b.first !== 'object' || typeof b.second !== 'object' || b.first === null || b.second === null) {
      refuse('bad_evidence', 'the body is {first, second}: two signed votes of one validator in one slot', 400);
    }
    if (JSON.stringify(body).length > 4096) refuse('bad_evidence', 'evidence is two small signed votes (at most 4 KiB)', 400);
    return { first: b.first!, second: b.second! };
  },
  admit(ctx, body) {
    checkOffence(setOf(ctx.state), ctx.params.chain, ctx.state.get<number>(SINCE) ?? 1, body);
  },
  apply(ctx, body): TxEvent[] {
    const set = setOf(ctx.state);
    const offence = checkOffence(set, ctx.params.chain, ctx.state.get<number>(SINCE) ?? 1, body);
    if (offence.height >= ctx.height) refuse('bad_evidence', `evidence of height ${offence.height} cannot be in block ${ctx.height}: that height is not decided yet`);
    const key = set[offence.validator]!.key;
    jail(ctx.state, ctx.height, key, `equivocation at height ${offence.height} round ${offence.round}`);
    return [{ type: 'validators.jailed', key, height: offence.height, round: offence.round }];
  },
};

/** The offence, if the evidence proves one by a validator of the set in force. */
function checkOffence(set: ValidatorEntry[], chain: string, since: number, body: Evidence): { validator: number; height: number; round: number } {
  // Votes name a validator by its index in the set that was in force when they were cast:
  // only evidence from the current set's heights can be read against it.
  const h = (body.first as { message?: { height?: unknown } }).message?.height;
  if (typeof h === 'number' && h < since) refuse('evidence_stale', `the votes are of height ${h}, before the current validator set (in force from ${since})`, 409);
  const check = checkEvidence(blstBls, set, chain, body);
  if (!check.ok) throw new TallyError(check.code === 'bad_consensus_message' ? 'bad_evidence' : check.code, check.reason, { status: 422 });
  return check.value;
}

export const coreValidators: ChainModule<ValidatorSetKeeper> = {
  name: VALIDATORS_MODULE,
  txTypes: [evidenceTx as TxType],
  queries: [],
  keeper: (ctx) => validatorsKeeper(ctx),
};
