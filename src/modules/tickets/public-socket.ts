// The public tickets API on a Unix socket (often a Tor hidden service's target): the same
// routes and error replies as the public HTTP listener, with its own caps. Every client here
// is the same local user, so the rate limits are per connection (see routes.ts) and the
// number of connections is capped, with the HTTP listener's timeouts.
import fs from 'node:fs';
import type { ServiceContext } from '../../chain/app-module.js';
import { TallyError } from '../../core/errors.js';
import { publicTicketsRoutes } from './routes.js';
import type { TicketsService } from './service.js';

/** Connections at once on the tickets socket: each has its own rate budget, so keep them few. */
export const TICKETS_SOCKET_CONNECTIONS_MAX = 256;

/** Listen on `socketPath` (mode 0666); answers the function that stops it. */
export async function listenTicketsSocket(ctx: ServiceContext, service: TicketsService, socketPath: string): Promise<() => Promise<void>> {
  const app = ctx.publicListener({ bodyBytesMax: 4096, connectionsMax: TICKETS_SOCKET_CONNECTIONS_MAX, connectionsPerAddressMax: 0 });
  await app.register(publicTicketsRoutes(() => service));
  removeStaleSocket(socketPath);
  await app.listen({ path: socketPath });
  // The public API, often reached through a Tor hidden service running as another user.
  fs.chmodSync(socketPath, 0o666);
  return async () => {
    const reaper = setInterval(() => app.server.closeIdleConnections(), 50);
    await app.close().finally(() => clearInterval(reaper));
  };
}

export function removeStaleSocket(p: string): void {
  try {
    if (fs.statSync(p).isSocket()) fs.unlinkSync(p);
    else throw new TallyError('config_invalid', `${p} exists and is not a socket; refusing to replace it`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
