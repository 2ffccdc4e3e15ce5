// Invite codes for chains whose registration policy is "invite". An admin makes one
// offline (`tally invite`): a small payload signed by the admin's account key. The newcomer
// puts it in their ledger.register body; the chain checks the admin, the signature and the
// expiry, and marks the code used, so each code opens exactly one account.
//
//   code = base64url(JCS(payload)) "." base64url(Ed25519(INVITE_DOMAIN || JCS(payload)))
//   payload = {chain, id: 16 hex, admin: account id, expires: unix seconds}
import crypto from 'node:crypto';
import { ED25519_SIG_B64U } from '../../core/base64url.js';
import { canonicalJson } from '../../core/canonical.js';
import { fromB64u, toB64u, utf8 } from '../../core/encoding.js';
import { fail } from '../../core/errors.js';
import { ACCOUNT_ID, verifySignature, type Signer } from '../../core/keys.js';

export const INVITE_DOMAIN = 'tally/invite/v1\n';
export const INVITE_CODE_MAX = 512;

export interface InvitePayload {
  chain: string;
  id: string;
  admin: string;
  expires: number;
}

export interface Invite {
  payload: InvitePayload;
  sig: string;
}

function signingBytes(payload: InvitePayload): Uint8Array {
  return utf8.encode(INVITE_DOMAIN + canonicalJson(payload));
}

export function makeInvite(chain: string, admin: string, signer: Signer, expiresSecs: number): { code: string; payload: InvitePayload } {
  const payload: InvitePayload = { chain, id: crypto.randomBytes(8).toString('hex'), admin, expires: expiresSecs };
  const code = `${toB64u(utf8.encode(canonicalJson(payload)))}.${signer.sign(signingBytes(payload))}`;
  return { code, payload };
}

/** Decode and shape-check an invite code (no signature check: that needs the chain's state). */
export function parseInvite(code: unknown): Invite {
  const bad = (why: string): never => fail('invite_invalid', `the invite code is malformed: ${why}`, { hint: 'paste the whole code the admin gave you' });
  if (typeof code !== 'string' || code.length === 0 || code.length > INVITE_CODE_MAX) return bad(`it must be a string of at most ${INVITE_CODE_MAX} characters`);
  const dot = code.indexOf('.');
  if (dot < 0) return bad('no "." between payload and signature');
  let payload: InvitePayload;
  let payloadText: string;
  try {
    payloadText = fromB64u(code.slice(0, dot), 'invite payload').toString('utf8');
    payload = JSON.parse(payloadText) as InvitePayload;
  } catch {
    return bad('the payload is not base64url JSON');
  }
  if (typeof payload !== 'object' || payload === null) return bad('the payload is not an object');
  const keys = Object.keys(payload).sort().join(',');
  if (keys !== 'admin,chain,expires,id') return bad('unexpected payload fields');
  if (typeof payload.chain !== 'string' || typeof payload.id !== 'string' || !/^[0-9a-f]{16}$/.test(payload.id) ||
      typeof payload.admin !== 'string' || !ACCOUNT_ID.test(payload.admin) || !Number.isSafeInteger(payload.expires)) {
    return bad('a payload field has the wrong type');
  }
  if (canonicalJson(payload) !== payloadText) return bad('the payload is not in canonical form');
  const sig = code.slice(dot + 1);
  if (!ED25519_SIG_B64U.test(sig)) return bad('the signature is not 64 bytes of base64url');
  return { payload, sig };
}

export function inviteSignatureValid(invite: Invite, adminPub: string): boolean {
  try {
    return verifySignature(adminPub, signingBytes(invite.payload), invite.sig);
  } catch {
    return false;
  }
}
