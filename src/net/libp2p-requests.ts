// Request-response on libp2p streams: the requester opens a stream for the protocol,
// writes one frame and closes its side; the server reads that frame (refusing it past
// its limit without buffering it), answers one frame and closes. A peer that sends an
// oversized frame or bytes that are not one frame is dropped (not one whose connection
// died mid-request); slow or failing peers lose
// score. In-flight requests per peer are capped both ways.
import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { TallyError, fail } from '../core/errors.js';
import { FrameRefused, decodeResponse, encodeErrorResponse, encodeFrame, encodeOkResponse, readOneFrame } from './framing.js';
import type { NetMetricsHooks } from './metrics.js';
import { SCORE_FAILED_REQUEST, type NetLimits } from './limits.js';
import type { DropReason, RequestHandler, RequestOptions } from './transport.js';

const WRITE_PIECE_BYTES = 64 * 1024;

export interface RequestContext {
  node: Libp2p;
  limits: Readonly<NetLimits>;
  metrics: NetMetricsHooks;
  inFlight: { in: Map<string, number>; out: Map<string, number> };
  drop(peer: string, reason: DropReason): Promise<void>;
  scoreDown(peer: string, by: number): void;
}

/**
 * Serve one inbound stream of `protocol` from `from`. Never throws: it runs detached.
 * `connected` says whether the peer's connection is still open: a request cut short
 * because the connection went (the peer crashed or was killed) is not the peer's garbage.
 */
export async function serveRequest(ctx: RequestContext, protocol: string, handler: RequestHandler, maxRequestBytes: number, stream: Stream, from: string, connected: () => boolean): Promise<void> {
  if (!take(ctx.inFlight.in, from, ctx.limits.requestsInFlightPerPeerMax)) {
    ctx.metrics.requestIn(protocol, 'refused');
    stream.abort(new Error('too many requests in flight from this peer'));
    return;
  }
  const deadline = AbortSignal.timeout(ctx.limits.serveTimeoutMs);
  const unwatch = abortOn(stream, deadline);
  try {
    let request: Uint8Array;
    try {
      request = await readOneFrame(stream, maxRequestBytes);
    } catch (err) {
      stream.abort(err as Error);
      if (err instanceof FrameRefused && !(err.truncated && !connected())) {
        ctx.metrics.requestIn(protocol, 'refused');
        await ctx.drop(from, err.fault);
      } else {
        ctx.metrics.requestIn(protocol, deadline.aborted ? 'timeout' : 'error');
      }
      return;
    }
    let payload: Uint8Array;
    try {
      payload = encodeOkResponse(await raceAbort(handler(from, request), deadline));
      ctx.metrics.requestIn(protocol, 'ok');
    } catch (err) {
      if (deadline.aborted) {
        ctx.metrics.requestIn(protocol, 'timeout');
        return;
      }
      // Only the stable code crosses the wire; the message may name local things.
      payload = encodeErrorResponse(err instanceof TallyError ? err.code : 'internal');
      ctx.metrics.requestIn(protocol, 'error');
    }
    await writeFrame(stream, payload);
    await stream.close({ signal: deadline });
  } catch (err) {
    stream.abort(err as Error); // the peer went away or the deadline passed mid-answer
  } finally {
    unwatch();
    give(ctx.inFlight.in, from);
  }
}

export async function sendRequest(ctx: RequestContext, peer: string, protocol: string, data: Uint8Array, opts: RequestOptions): Promise<Uint8Array> {
  let peerId: PeerId;
  try {
    peerId = peerIdFromString(peer);
  } catch {
    fail('net_bad_peer', `not a peer id: ${peer.slice(0, 100)}`);
  }
  const maxResponseBytes = opts.maxResponseBytes ?? ctx.limits.responseBytesMax;
  if (!take(ctx.inFlight.out, peer, ctx.limits.requestsInFlightPerPeerMax)) {
    ctx.metrics.requestOut(protocol, 'refused');
    fail('net_too_many_requests', `already ${ctx.limits.requestsInFlightPerPeerMax} requests in flight to ${peer}`, { status: 503 });
  }
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? ctx.limits.requestTimeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  let stream: Stream | undefined;
  let unwatch = (): void => {};
  try {
    stream = await ctx.node.dialProtocol(peerId, protocol, { signal });
    unwatch = abortOn(stream, signal);
    await writeFrame(stream, data);
    await stream.close({ signal });
    // +1: the status byte in front of the body.
    const response = decodeResponse(await readOneFrame(stream, maxResponseBytes + 1));
    if (!response.ok) {
      ctx.metrics.requestOut(protocol, 'error');
      fail('net_remote_error', `${peer} answered ${protocol} with error ${response.code}`, { status: 502, details: { code: response.code } });
    }
    ctx.metrics.requestOut(protocol, 'ok');
    return response.body;
  } catch (err) {
    if (err instanceof TallyError) throw err;
    stream?.abort(err as Error);
    if (err instanceof FrameRefused) {
      ctx.metrics.requestOut(protocol, 'refused');
      await ctx.drop(peer, err.fault);
      fail(`net_${err.fault}`, `${peer} answered ${protocol} with ${err.fault === 'oversized' ? 'an oversized frame' : 'garbage'}: ${err.message}`, { status: 502 });
    }
    if (opts.signal?.aborted && !timeout.aborted) throw err; // the caller gave up: not the peer's fault
    ctx.scoreDown(peer, SCORE_FAILED_REQUEST);
    if (timeout.aborted) {
      ctx.metrics.requestOut(protocol, 'timeout');
      fail('net_timeout', `${peer} did not answer ${protocol} in time`, { status: 504 });
    }
    ctx.metrics.requestOut(protocol, 'error');
    fail('net_request_failed', `request ${protocol} to ${peer} failed: ${(err as Error).message}`, { status: 502, cause: err });
  } finally {
    unwatch();
    give(ctx.inFlight.out, peer);
  }
}

function take(counts: Map<string, number>, peer: string, max: number): boolean {
  const n = counts.get(peer) ?? 0;
  if (n >= max) return false;
  counts.set(peer, n + 1);
  return true;
}

function give(counts: Map<string, number>, peer: string): void {
  const n = (counts.get(peer) ?? 1) - 1;
  if (n <= 0) counts.delete(peer);
  else counts.set(peer, n);
}

/** Abort `stream` when `signal` fires; returns a function that stops watching. */
function abortOn(stream: Stream, signal: AbortSignal): () => void {
  const onAbort = (): void => stream.abort(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Send `payload` as one frame in pieces, waiting for 'drain' whenever the muxer asks us to. */
async function writeFrame(stream: Stream, payload: Uint8Array): Promise<void> {
  const frame = encodeFrame(payload);
  for (let at = 0; at < frame.length; at += WRITE_PIECE_BYTES) {
    if (!stream.send(frame.subarray(at, at + WRITE_PIECE_BYTES))) await drained(stream);
  }
}

function drained(stream: Stream): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => { stream.removeEventListener('close', onClose); resolve(); };
    const onClose = (): void => { stream.removeEventListener('drain', onDrain); reject(new Error('stream closed while sending')); };
    stream.addEventListener('drain', onDrain, { once: true });
    stream.addEventListener('close', onClose, { once: true });
  });
}
