// HTTP Digest access authentication (RFC 7616), client side, as monero-wallet-rpc asks for
// it when started with --rpc-login user:pass: MD5 or MD5-sess with qop=auth. The server's
// challenge is cached, so each later request carries its answer at once (nc counts up);
// a 401 (a new or stale nonce) is answered once with the fresh challenge.
import crypto from 'node:crypto';

export interface DigestLogin {
  user: string;
  pass: string;
}

export interface DigestChallenge {
  realm: string;
  nonce: string;
  qop?: string;
  algorithm: 'MD5' | 'MD5-sess';
  opaque?: string;
  /** the server says an earlier answer used an old nonce: answer this one, the login was right */
  stale?: boolean;
}

const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');

/** Split `a="x, y", b=z` into its parameters (quoted values may hold commas). */
function params(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
  return out;
}

/**
 * The first Digest challenge we can answer (MD5 or MD5-sess, qop auth or none) from the
 * WWW-Authenticate header(s); fetch joins several headers with ", ", so split at each scheme.
 */
export function parseDigestChallenge(header: string | null): DigestChallenge | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,?\s*(?=\b(?:Digest|Basic|Bearer|Negotiate)\s)/i)) {
    const m = /^\s*Digest\s+(.*)$/is.exec(part);
    if (!m) continue;
    const p = params(m[1]!);
    const algorithm = (p.get('algorithm') ?? 'MD5').toUpperCase();
    const qops = p.get('qop')?.split(',').map((q) => q.trim().toLowerCase());
    const realm = p.get('realm');
    const nonce = p.get('nonce');
    if (realm === undefined || nonce === undefined) continue;
    if (algorithm !== 'MD5' && algorithm !== 'MD5-SESS') continue;
    if (qops && !qops.includes('auth')) continue;
    return { realm, nonce, algorithm: algorithm === 'MD5' ? 'MD5' : 'MD5-sess', ...(qops ? { qop: 'auth' } : {}), ...(p.has('opaque') ? { opaque: p.get('opaque')! } : {}), ...(p.get('stale')?.toLowerCase() === 'true' ? { stale: true } : {}) };
  }
  return undefined;
}

const quote = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;

/** The Authorization header answering `c` for one request (nc is this nonce's request count, from 1). */
export function digestAuthorization(login: DigestLogin, c: DigestChallenge, method: string, uri: string, nc: number, cnonce = crypto.randomBytes(16).toString('hex')): string {
  let ha1 = md5(`${login.user}:${c.realm}:${login.pass}`);
  if (c.algorithm === 'MD5-sess') ha1 = md5(`${ha1}:${c.nonce}:${cnonce}`);
  const ha2 = md5(`${method}:${uri}`);
  const ncHex = nc.toString(16).padStart(8, '0');
  const response = c.qop ? md5(`${ha1}:${c.nonce}:${ncHex}:${cnonce}:${c.qop}:${ha2}`) : md5(`${ha1}:${c.nonce}:${ha2}`);
  const fields = [
    `username=${quote(login.user)}`, `realm=${quote(c.realm)}`, `nonce=${quote(c.nonce)}`, `uri=${quote(uri)}`,
    `algorithm=${c.algorithm}`, `response=${quote(response)}`,
    ...(c.qop ? [`qop=${c.qop}`, `nc=${ncHex}`, `cnonce=${quote(cnonce)}`] : []),
    ...(c.opaque !== undefined ? [`opaque=${quote(c.opaque)}`] : []),
  ];
  return `Digest ${fields.join(', ')}`;
}

/** "user:pass" as monero-wallet-rpc's --rpc-login takes it (the password may hold colons). */
export function parseLogin(text: string): DigestLogin | undefined {
  const line = text.split('\n')[0]!.replace(/\r$/, '');
  const i = line.indexOf(':');
  if (i <= 0) return undefined;
  return { user: line.slice(0, i), pass: line.slice(i + 1) };
}
