// The oracle module's state, under "oracle/". An oracle is keyed by its x-only public key
// (64 hex), its events by (oracle, event id), each announced nonce by (oracle, R) so a
// reuse is one read. Attestations and freezes are also filed by block position, so a
// block's are one ordered range read (the keeper's attestedThisBlock / frozenThisBlock).
import type { StateReader } from '../../chain/state.js';
import type { EventFields } from './announcement.js';
import type { OracleProfile } from './bip340.js';

export interface OracleRecord {
  /** x-only public key, 64 hex: the oracle's id */
  pubkey: string;
  /** the account that registered it and signs its announcements */
  owner: string;
  name: string;
  profile: OracleProfile;
  status: 'active' | 'frozen';
  registered: number;
  /** events announced so far */
  events: number;
  frozen?: { height: number; evidence: string };
}

/** An announced event: the fields its signature covers (announcement.ts), and what follows. */
export interface EventRecord extends EventFields {
  oracle: string;
  nonces: string[];
  /** the oracle's announcement signature (hex) */
  announcementSig: string;
  announced: number;
  status: 'announced' | 'attested';
  attestation?: {
    outcomes: string[];
    sigs: string[];
    /** the composed integer, decimal */
    outcome: string;
    atBound: boolean;
    height: number;
    /** the attesting transaction */
    tx: string;
  };
}

export const HEX32 = /^[0-9a-f]{64}$/;
export const HEX64 = /^[0-9a-f]{128}$/;
/** Event ids become part of state keys: no "/", printable, short. */
export const EVENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export const oracleKey = (pub: string): string => `oracle/o/${pub}`;
export const eventPrefix = (pub: string): string => `oracle/e/${pub}/`;
export const eventKey = (pub: string, eventId: string): string => `oracle/e/${pub}/${eventId}`;
export const nonceKey = (pub: string, r: string): string => `oracle/n/${pub}/${r}`;
const position = (height: number, index: number): string => `${String(height).padStart(12, '0')}.${String(index).padStart(4, '0')}`;
export const attestedAtPrefix = (height: number): string => `oracle/att/${String(height).padStart(12, '0')}.`;
export const attestedAtKey = (height: number, index: number): string => `oracle/att/${position(height, index)}`;
export const frozenAtPrefix = (height: number): string => `oracle/frz/${String(height).padStart(12, '0')}.`;
export const frozenAtKey = (height: number, index: number): string => `oracle/frz/${position(height, index)}`;

export function getOracle(state: StateReader, pub: string): OracleRecord | undefined {
  return HEX32.test(pub) ? state.get<OracleRecord>(oracleKey(pub)) : undefined;
}

export function getEvent(state: StateReader, pub: string, eventId: string): EventRecord | undefined {
  return HEX32.test(pub) && EVENT_ID.test(eventId) ? state.get<EventRecord>(eventKey(pub, eventId)) : undefined;
}
