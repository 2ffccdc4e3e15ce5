// Whole-state checks of the oracle module (`tally chain verify` runs them on the replayed
// and the stored state): every announced nonce points at the event that announced it and
// back, attestations are filed by block position and agree with their events, and every
// frozen oracle has its freeze on file.
import type { EventRecord, OracleRecord } from './state.js';

export function oracleInvariants(entries: Iterable<[string, string]>): string[] {
  const problems: string[] = [];
  const oracles = new Map<string, OracleRecord>();
  const events = new Map<string, EventRecord>();
  const nonces = new Map<string, string>();
  const attested: Array<[string, { oracle: string; eventId: string }]> = [];
  const frozen = new Map<string, string>();
  for (const [k, v] of entries) {
    if (!k.startsWith('oracle/')) continue;
    const parts = k.split('/');
    if (parts[1] === 'o') oracles.set(parts[2]!, JSON.parse(v) as OracleRecord);
    else if (parts[1] === 'e') events.set(`${parts[2]}/${parts.slice(3).join('/')}`, JSON.parse(v) as EventRecord);
    else if (parts[1] === 'n') nonces.set(`${parts[2]}/${parts[3]}`, JSON.parse(v) as string);
    else if (parts[1] === 'att') attested.push([parts[2]!, JSON.parse(v) as { oracle: string; eventId: string }]);
    else if (parts[1] === 'frz') frozen.set(JSON.parse(v) as string, parts[2]!);
    else problems.push(`unexpected oracle state key ${k}`);
  }
  const counts = new Map<string, number>();
  for (const [key, e] of events) {
    if (!oracles.has(e.oracle)) problems.push(`event ${key} belongs to no registered oracle`);
    counts.set(e.oracle, (counts.get(e.oracle) ?? 0) + 1);
    for (const r of e.nonces) if (nonces.get(`${e.oracle}/${r}`) !== e.eventId) problems.push(`nonce ${r} of event ${key} is not filed for it`);
    if ((e.status === 'attested') !== (e.attestation !== undefined)) problems.push(`event ${key} is ${e.status} but ${e.attestation ? 'has' : 'lacks'} an attestation`);
  }
  for (const [key, eventId] of nonces) {
    const [oracle, r] = key.split('/') as [string, string];
    if (!events.get(`${oracle}/${eventId}`)?.nonces.includes(r)) problems.push(`nonce ${r} of oracle ${oracle} points at event ${eventId}, which did not announce it`);
  }
  for (const [pos, a] of attested) {
    const e = events.get(`${a.oracle}/${a.eventId}`);
    if (!e?.attestation || String(e.attestation.height).padStart(12, '0') !== pos.split('.')[0]) problems.push(`attestation at ${pos} of ${a.oracle}/${a.eventId} does not match its event`);
  }
  for (const [pub, o] of oracles) {
    if (o.events !== (counts.get(pub) ?? 0)) problems.push(`oracle ${pub} counts ${o.events} events but has ${counts.get(pub) ?? 0}`);
    if ((o.status === 'frozen') !== frozen.has(pub)) problems.push(`oracle ${pub} is ${o.status} but its freeze is ${frozen.has(pub) ? '' : 'not '}on file`);
  }
  return problems;
}
