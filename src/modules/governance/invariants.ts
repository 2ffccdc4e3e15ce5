// Whole-state checks of the governance module (`tally chain verify` runs them on the
// replayed and the stored state): what governance holds on the ledger is exactly the
// deposits of its proposals in deposit or voting, account by account; each open proposal
// has its deposit records, and exactly one queue entry for its next step; closed ones
// have neither deposits, votes nor queue entries; parameters are known and in bounds.
import { governanceLimits } from './limits.js';
import { inBounds, isParamName, PARAM_PREFIX } from './params.js';
import { HOLDING_STATUSES, OPEN_STATUSES, type Proposal, type QueueKind } from './state.js';

const HOLD_PREFIX = 'ledger/hold/';
const OWNER = 'governance';

export function governanceInvariants(entries: Iterable<[string, string]>): string[] {
  const problems: string[] = [];
  const proposals = new Map<string, Proposal>();
  const deposits = new Map<string, Map<string, bigint>>();
  const votes = new Map<string, number>();
  const queued = new Map<string, Array<{ kind: QueueKind; height: number }>>();
  const holds = new Map<string, bigint>();
  let next: number | undefined;
  let open = 0;
  for (const [k, v] of entries) {
    if (k.startsWith(HOLD_PREFIX)) {
      const [account, owner] = k.slice(HOLD_PREFIX.length).split('/') as [string, string];
      if (owner === OWNER) holds.set(account, BigInt(JSON.parse(v) as string));
      continue;
    }
    if (!k.startsWith('governance/')) continue;
    const parts = k.split('/');
    const value: unknown = JSON.parse(v);
    if (parts[1] === 'p') proposals.set(parts[2]!, value as Proposal);
    else if (parts[1] === 'd') {
      const m = deposits.get(parts[2]!) ?? new Map<string, bigint>();
      m.set(parts[3]!, BigInt(value as string));
      deposits.set(parts[2]!, m);
    } else if (parts[1] === 'v') votes.set(parts[2]!, (votes.get(parts[2]!) ?? 0) + 1);
    else if (parts[1] === 'q') {
      const list = queued.get(parts[4]!) ?? [];
      list.push({ kind: parts[2] as QueueKind, height: Number(parts[3]) });
      queued.set(parts[4]!, list);
    } else if (k.startsWith(PARAM_PREFIX)) {
      const name = k.slice(PARAM_PREFIX.length);
      if (!isParamName(name) || !inBounds(name, value as number)) problems.push(`parameter ${name} = ${JSON.stringify(value)} is unknown or out of bounds`);
    } else if (k === 'governance/next') next = value as number;
    else if (k === 'governance/open') open = value as number;
    else problems.push(`unexpected governance state key ${k}`);
  }
  const owed = new Map<string, bigint>();
  let openCount = 0;
  let maxId = 0;
  for (const [pad, p] of proposals) {
    maxId = Math.max(maxId, p.id);
    if (String(p.id).padStart(12, '0') !== pad) problems.push(`proposal ${p.id} is filed under ${pad}`);
    const ds = deposits.get(pad);
    if (HOLDING_STATUSES.includes(p.status)) {
      let sum = 0n;
      for (const [account, amount] of ds ?? []) {
        if (amount <= 0n) problems.push(`proposal ${p.id}: deposit of ${account} is ${amount}, not positive`);
        sum += amount;
        owed.set(account, (owed.get(account) ?? 0n) + amount);
      }
      if (sum !== BigInt(p.deposit) || (ds?.size ?? 0) !== p.depositors) problems.push(`proposal ${p.id}: ${ds?.size ?? 0} deposit records add up to ${sum}, it counts ${p.depositors} for ${p.deposit}`);
      if (p.depositors > governanceLimits.depositorsMax) problems.push(`proposal ${p.id} has ${p.depositors} depositors`);
    } else if (ds) problems.push(`proposal ${p.id} is ${p.status} but still has deposit records`);
    if (p.status !== 'voting' && votes.has(pad)) problems.push(`proposal ${p.id} is ${p.status} but has vote records`);
    const want: { kind: QueueKind; height: number } | undefined = p.status === 'deposit' ? { kind: 'dep', height: p.depositEnd }
      : p.status === 'voting' ? { kind: 'vote', height: p.votingEnd! }
        : p.status === 'passed' ? { kind: 'exec', height: p.executeAt! } : undefined;
    const got = queued.get(pad) ?? [];
    if (want ? got.length !== 1 || got[0]!.kind !== want.kind || got[0]!.height !== want.height : got.length !== 0) {
      problems.push(`proposal ${p.id} (${p.status}) is queued as ${JSON.stringify(got)}, expected ${want ? JSON.stringify([want]) : 'nothing'}`);
    }
    if (OPEN_STATUSES.includes(p.status)) openCount++;
  }
  for (const pad of [...deposits.keys(), ...votes.keys(), ...queued.keys()]) if (!proposals.has(pad)) problems.push(`records for proposal ${pad}, which does not exist`);
  if (openCount !== open) problems.push(`${openCount} proposals are open, but the open count is ${open}`);
  if (openCount > governanceLimits.proposalsOpenMax) problems.push(`${openCount} proposals are open, more than ${governanceLimits.proposalsOpenMax}`);
  if (proposals.size > 0 && next !== maxId + 1) problems.push(`the next proposal id is ${next}, not ${maxId + 1}`);
  for (const account of new Set([...owed.keys(), ...holds.keys()])) {
    const o = owed.get(account) ?? 0n;
    const h = holds.get(account) ?? 0n;
    if (o !== h) problems.push(`governance holds ${h} on ${account}, but its open proposals' deposits from it add up to ${o}`);
  }
  return problems;
}
