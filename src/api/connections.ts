// Connection caps for the listeners: a total (so one flood cannot take every file
// descriptor from the other listeners and clients) and, for TCP, one per client address
// (so one peer cannot take the whole total). A refused HTTP connection gets a plain 503
// with our error shape, then is closed; a refused socket connection gets one error line.
import net from 'node:net';
import type { FastifyInstance } from 'fastify';

export interface ConnectionCaps {
  totalMax: number;
  /** 0: no per-address cap (Unix sockets have no address) */
  perAddressMax: number;
  /** addresses exempt from the per-address cap (trusted reverse proxies: many clients share them) */
  exempt?: (address: string) => boolean;
  /** what a refused connection is told before it is closed */
  refusal: (reason: 'total' | 'address') => string;
}

export interface CappedServer {
  count(): number;
  /** A refused connection: whatever request it still sends must not be served. */
  refused(socket: net.Socket): boolean;
}

export function capConnections(server: net.Server, caps: ConnectionCaps): CappedServer {
  const perAddress = new Map<string, number>();
  const refused = new WeakSet<net.Socket>();
  let total = 0;
  server.on('connection', (socket: net.Socket) => {
    const address = socket.remoteAddress ?? '';
    const capped = caps.perAddressMax > 0 && address !== '' && !caps.exempt?.(address);
    const mine = capped ? (perAddress.get(address) ?? 0) : 0;
    if (total >= caps.totalMax || (capped && mine >= caps.perAddressMax)) {
      refused.add(socket);
      socket.on('error', () => undefined);
      socket.end(caps.refusal(total >= caps.totalMax ? 'total' : 'address'));
      // A peer that does not read the refusal must not hold the descriptor.
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    total++;
    if (capped) perAddress.set(address, mine + 1);
    socket.once('close', () => {
      total--;
      if (!capped) return;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
  });
  return { count: () => total, refused: (socket) => refused.has(socket) };
}

/** Cap a Fastify listener's connections; a request arriving on a refused connection is dropped unserved. */
export function capHttpConnections(app: FastifyInstance, caps: Omit<ConnectionCaps, 'refusal'>): CappedServer {
  const capped = capConnections(app.server, { ...caps, refusal: httpRefusal });
  app.addHook('onRequest', async (req, reply) => {
    if (!capped.refused(req.raw.socket)) return;
    reply.hijack();
    req.raw.socket.destroy();
  });
  return capped;
}

/** A complete HTTP/1.1 503 answer in the node's error shape, for a connection refused before any request. */
export function httpRefusal(reason: 'total' | 'address'): string {
  const message = reason === 'total' ? 'the node holds as many connections as it allows; retry later' : 'too many connections from this address; close some (reuse one keep-alive connection) and retry';
  const body = JSON.stringify({ error: { code: 'too_many_connections', message } });
  return `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nretry-after: 5\r\nconnection: close\r\n\r\n${body}`;
}

/**
 * Addresses and CIDRs ("10.0.0.1", "10.0.0.0/8", "::1", "fd00::/8") as a matcher; throws a
 * message naming the first entry that is neither.
 */
export function addressMatcher(entries: readonly string[]): (address: string) => boolean {
  const list = new net.BlockList();
  for (const entry of entries) {
    const [addr, bits, extra] = entry.split('/');
    const family = net.isIP(addr ?? '');
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32) || (bits !== undefined && !/^\d+$/.test(bits))) {
      throw new Error(`"${entry}" is not an IP address or CIDR (e.g. 10.0.0.1, 10.0.0.0/8, fd00::/8)`);
    }
    list.addSubnet(addr!, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return (address: string) => {
    const family = net.isIP(address);
    if (family === 0) return false;
    // IPv4 peers of a dual-stack listener appear as ::ffff:a.b.c.d.
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    return v4 ? list.check(v4[1]!, 'ipv4') : list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}
