// CORS on the public listener, for the origins the operator names (--cors-origin); off
// when none are. A browser page from another origin (a wallet, an explorer) may then read
// the API. Requests from any other origin get no CORS headers at all, so the browser keeps
// their answers from the page, and their preflights are 404 like any unknown route.
import type { FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import { refuse, type Decoder } from '../core/decode.js';

/** "*" (any origin) or exact origins: scheme://host[:port], as a browser sends them. */
export const corsOrigins: Decoder<string[]> = (value, at) => {
  if (typeof value !== 'string') refuse(at, 'must be a comma-separated list of origins');
  const list = value.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  if (list.length === 0) refuse(at, 'must name at least one origin, e.g. https://wallet.example.org');
  for (const origin of list) {
    if (origin === '*') continue;
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    // An origin has no path, query or trailing slash: the browser's Origin header is compared as text.
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== origin) {
      refuse(at, `has "${origin.slice(0, 100)}", which is not an origin: write scheme://host[:port], e.g. https://wallet.example.org (or * for any)`);
    }
  }
  return list;
};

/** Answer CORS requests from `origins` ("*": any). Register before the rate limit, so a 429 carries the headers too. */
export async function registerCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  await app.register(cors, {
    origin: (origin: string | undefined, cb: (err: Error | null, allow: string | boolean) => void) => {
      if (origin === undefined || !(any || allowed.has(origin))) return cb(null, false);
      cb(null, any ? '*' : origin);
    },
    methods: ['GET', 'HEAD', 'POST'],
    allowedHeaders: ['content-type'],
    // Clients back off on these; tickets' per-route limits send the x-ratelimit-* headers.
    exposedHeaders: ['retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
    maxAge: 600,
  });
}
