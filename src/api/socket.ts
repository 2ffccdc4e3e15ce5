// The Unix domain socket: newline-delimited JSON, one request per line, each reply signed
// by the node key so a client can prove what the node told it.
import fs from 'node:fs';
import net from 'node:net';
import { canonicalJson } from '../core/canonical.js';
import { errorBody, TallyError } from '../core/errors.js';
import { utf8 } from '../core/encoding.js';
import { limits } from '../core/limits.js';
import { REPLY_DOMAIN } from '../chain/blocks.js';
import type { TallyNode } from '../chain/node.js';
import { callMethod } from './methods.js';

export interface SocketReply {
  id: unknown;
  result?: unknown;
  error?: { code: string; message: string };
  node: string;
  sig?: string;
}

export function signReply(node: TallyNode, reply: SocketReply): string {
  let text: string;
  try {
    text = canonicalJson({ ...reply, sig: undefined });
  } catch {
    // Only text echoed from a request (an error message quoting bad input) can hold a lone
    // UTF-16 surrogate, which canonical JSON cannot express: replace those with U+FFFD.
    reply = wellFormed(reply) as SocketReply;
    text = canonicalJson({ ...reply, sig: undefined });
  }
  reply.sig = node.signer.sign(utf8.encode(REPLY_DOMAIN + text));
  return JSON.stringify(reply) + '\n';
}

function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return value.toWellFormed();
  if (Array.isArray(value)) return value.map(wellFormed);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toWellFormed(), wellFormed(v)]));
  return value;
}

export async function listenSocket(node: TallyNode, socketPath: string): Promise<net.Server> {
  removeStaleSocket(socketPath);
  const server = net.createServer((conn) => handleConnection(node, conn));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Create the socket with no access for others from the start, then open it to the group.
    const oldMask = process.umask(0o177);
    server.listen(socketPath, () => {
      process.umask(oldMask);
      resolve();
    });
  });
  fs.chmodSync(socketPath, 0o660);
  return server;
}

function removeStaleSocket(socketPath: string): void {
  try {
    if (fs.statSync(socketPath).isSocket()) fs.unlinkSync(socketPath);
  } catch {
    // no stale socket
  }
}

function handleConnection(node: TallyNode, conn: net.Socket): void {
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let discarding = false; // inside an oversized line: drop bytes until its newline
  const send = (reply: SocketReply) => {
    if (!conn.destroyed) conn.write(signReply(node, reply));
  };
  const tooLong = () => send({ id: null, error: { code: 'line_too_long', message: `a request line may be at most ${limits.socketLineBytesMax} bytes` }, node: node.signer.pub });

  conn.on('data', (chunk: Buffer) => {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (discarding) {
        discarding = false;
        continue;
      }
      if (bufferedBytes + piece.length > limits.socketLineBytesMax) {
        buffered = [];
        bufferedBytes = 0;
        tooLong();
        continue;
      }
      const line = bufferedBytes ? Buffer.concat([...buffered, piece]).toString('utf8') : piece.toString('utf8');
      buffered = [];
      bufferedBytes = 0;
      if (line.trim().length > 0) void handleLine(node, line, send);
    }
    const rest = chunk.subarray(start);
    if (discarding || rest.length === 0) return;
    if (bufferedBytes + rest.length > limits.socketLineBytesMax) {
      buffered = [];
      bufferedBytes = 0;
      discarding = true;
      tooLong();
      return;
    }
    buffered.push(Buffer.from(rest));
    bufferedBytes += rest.length;
  });
  conn.on('error', () => conn.destroy());
}

/** A request id is echoed back, so it must be small and plain: a string, an integer or null. */
function validId(id: unknown): boolean {
  return id === null || (typeof id === 'string' && id.length <= 128 && id.isWellFormed()) || (typeof id === 'number' && Number.isSafeInteger(id));
}

async function handleLine(node: TallyNode, line: string, send: (reply: SocketReply) => void): Promise<void> {
  let request: { id?: unknown; method?: unknown; params?: unknown };
  try {
    request = JSON.parse(line) as typeof request;
    if (typeof request !== 'object' || request === null || Array.isArray(request)) throw new Error('not an object');
  } catch {
    send({ id: null, error: { code: 'bad_json', message: 'each line must be one JSON object {id, method, params}' }, node: node.signer.pub });
    return;
  }
  const id = request.id ?? null;
  if (!validId(id)) {
    send({ id: null, error: { code: 'bad_request', message: 'id must be a well-formed string of at most 128 characters, a safe integer, or null' }, node: node.signer.pub });
    return;
  }
  let reply: SocketReply;
  try {
    reply = { id, result: await callMethod(node, request.method, request.params), node: node.signer.pub };
  } catch (err) {
    if (!(err instanceof TallyError)) console.error('tally: socket request failed', err);
    reply = { id, error: errorBody(err), node: node.signer.pub };
  }
  try {
    send(reply);
  } catch (err) {
    // Never let one reply that cannot be serialized take the node down.
    console.error('tally: socket reply could not be signed', err);
    send({ id: null, error: { code: 'reply_unserializable', message: 'the reply could not be serialized (lone UTF-16 surrogates in the request?)' }, node: node.signer.pub });
  }
}
