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
import { capConnections } from './connections.js';
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

export interface SocketOptions {
  /** connections at once; more get one `too_many_connections` line and are closed */
  connectionsMax: number;
}

export async function listenSocket(node: TallyNode, socketPath: string, options: SocketOptions = { connectionsMax: limits.socketConnectionsMax }): Promise<net.Server> {
  removeStaleSocket(socketPath);
  const endpoint: SocketEndpoint = {
    pub: node.signer.pub,
    call: (method, params) => callMethod(node, method, params),
    sign: (reply) => signReply(node, reply),
  };
  const server = net.createServer((conn) => {
    if (!capped.refused(conn)) serveConnection(conn, endpoint);
  });
  const capped = capConnections(server, {
    totalMax: options.connectionsMax,
    perAddressMax: 0,
    refusal: () => signReply(node, { id: null, error: { code: 'too_many_connections', message: `the node holds ${options.connectionsMax} socket connections, its most; retry later` }, node: endpoint.pub }),
  });
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

/** What a connection needs from the node: a method dispatcher and a reply signer. */
export interface SocketEndpoint {
  pub: string;
  call(method: unknown, params: unknown): unknown;
  sign(reply: SocketReply): string;
}

/**
 * One connection: split lines, answer each. Backpressure: a client that does not read its
 * replies stops being read (its requests wait in the kernel, and its writes block), once
 * more than limits.socketUnreadReplyBytesMax of replies are unsent or
 * limits.socketRequestsInFlightMax requests are being answered; reading resumes on 'drain'
 * and as answers complete. So a connection holds at most that many bytes, one reply over,
 * and one read chunk of lines.
 */
export function serveConnection(conn: net.Socket, endpoint: SocketEndpoint): void {
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let discarding = false; // inside an oversized line: drop bytes until its newline
  const lines: string[] = []; // read, not yet dispatched
  let inFlight = 0;
  const send = (reply: SocketReply) => {
    if (!conn.destroyed) conn.write(endpoint.sign(reply));
  };
  const tooLong = () => lines.push(LINE_TOO_LONG);
  const blocked = () => inFlight >= limits.socketRequestsInFlightMax || conn.writableLength > limits.socketUnreadReplyBytesMax;
  const pump = () => {
    while (lines.length > 0 && !blocked() && !conn.destroyed) {
      const line = lines.shift()!;
      if (line === LINE_TOO_LONG) {
        send({ id: null, error: { code: 'line_too_long', message: `a request line may be at most ${limits.socketLineBytesMax} bytes` }, node: endpoint.pub });
        continue;
      }
      const answered = handleLine(endpoint, line, send);
      if (answered) {
        inFlight++;
        void answered.finally(() => {
          inFlight--;
          pump();
        });
      }
    }
    if (lines.length > 0 || blocked()) conn.pause();
    else if (conn.isPaused()) conn.resume();
  };
  conn.on('drain', pump);

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
      if (line.trim().length > 0) lines.push(line);
    }
    const rest = chunk.subarray(start);
    if (!discarding && rest.length > 0) {
      if (bufferedBytes + rest.length > limits.socketLineBytesMax) {
        buffered = [];
        bufferedBytes = 0;
        discarding = true;
        tooLong();
      } else {
        buffered.push(Buffer.from(rest));
        bufferedBytes += rest.length;
      }
    }
    pump();
  });
  conn.on('error', () => conn.destroy());
}

/** Marks an oversized line in the queue (a request line can never be this: it has no newline inside). */
const LINE_TOO_LONG = '\n';

/** A request id is echoed back, so it must be small and plain: a string, an integer or null. */
function validId(id: unknown): boolean {
  return id === null || (typeof id === 'string' && id.length <= 128 && id.isWellFormed()) || (typeof id === 'number' && Number.isSafeInteger(id));
}

/**
 * Answer one line. A method that answers at once is replied to at once (so the unsent
 * bytes it adds are counted before the next line is taken); one that waits (a submit
 * awaiting its commit) returns a promise that settles after its reply is written.
 */
function handleLine(endpoint: SocketEndpoint, line: string, send: (reply: SocketReply) => void): Promise<void> | undefined {
  let request: { id?: unknown; method?: unknown; params?: unknown };
  try {
    request = JSON.parse(line) as typeof request;
    if (typeof request !== 'object' || request === null || Array.isArray(request)) throw new Error('not an object');
  } catch {
    send({ id: null, error: { code: 'bad_json', message: 'each line must be one JSON object {id, method, params}' }, node: endpoint.pub });
    return undefined;
  }
  const id = request.id ?? null;
  if (!validId(id)) {
    send({ id: null, error: { code: 'bad_request', message: 'id must be a well-formed string of at most 128 characters, a safe integer, or null' }, node: endpoint.pub });
    return undefined;
  }
  let result: unknown;
  try {
    result = endpoint.call(request.method, request.params);
  } catch (err) {
    sendSafely(endpoint, send, failure(endpoint, id, err));
    return undefined;
  }
  if (!(result instanceof Promise)) {
    sendSafely(endpoint, send, { id, result, node: endpoint.pub });
    return undefined;
  }
  return result.then(
    (value: unknown) => sendSafely(endpoint, send, { id, result: value, node: endpoint.pub }),
    (err: unknown) => sendSafely(endpoint, send, failure(endpoint, id, err)),
  );
}

function failure(endpoint: SocketEndpoint, id: unknown, err: unknown): SocketReply {
  if (!(err instanceof TallyError)) console.error('tally: socket request failed', err);
  return { id, error: errorBody(err), node: endpoint.pub };
}

function sendSafely(endpoint: SocketEndpoint, send: (reply: SocketReply) => void, reply: SocketReply): void {
  try {
    send(reply);
  } catch (err) {
    // Never let one reply that cannot be serialized take the node down.
    console.error('tally: socket reply could not be signed', err);
    send({ id: null, error: { code: 'reply_unserializable', message: 'the reply could not be serialized (lone UTF-16 surrogates in the request?)' }, node: endpoint.pub });
  }
}
