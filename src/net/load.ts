// The one way the node should make a libp2p transport: libp2p and its ~100 modules load
// only here, on demand (a node that does not network never loads them), and always after
// the Promise.withResolvers polyfill that Node 20 needs.
import path from 'node:path';
import type { NetMetricsHooks } from './metrics.js';
import type { NetLimits } from './limits.js';
import type { Libp2pTransport } from './libp2p.js';

export interface OpenLibp2pOptions {
  /** the node's data directory: the identity lives in `<dataDir>/p2p-key` */
  dataDir: string;
  /** multiaddrs to listen on, e.g. ['/ip4/0.0.0.0/tcp/7400'] */
  listen: string[];
  limits?: Partial<NetLimits>;
  metrics?: NetMetricsHooks;
}

/** Make (not start) the node's libp2p transport, creating its identity file on first use. */
export async function openLibp2pTransport(o: OpenLibp2pOptions): Promise<Libp2pTransport> {
  await import('./polyfill.js');
  const { loadOrCreateP2pIdentity, P2P_KEY_FILE } = await import('./identity.js');
  const { Libp2pTransport } = await import('./libp2p.js');
  const identity = await loadOrCreateP2pIdentity(path.join(o.dataDir, P2P_KEY_FILE));
  return new Libp2pTransport({ privateKey: identity.privateKey, listen: o.listen, limits: o.limits, metrics: o.metrics });
}
