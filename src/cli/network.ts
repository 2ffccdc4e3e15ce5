// The node's libp2p side, as `tally node --p2p/--follow` and `tally init --follow` use it.
// A writer serves its peers (status, blocks, genesis, submit) and publishes each block's
// signed header; a replica also follows (src/net/replica.ts). libp2p loads only here, and
// only when one of those flags is given.
import fs from 'node:fs';
import path from 'node:path';
import { blstBls } from '../chain/consensus/bls-native.js';
import { loadValidatorKey, VALIDATOR_KEY_FILE } from '../chain/consensus/validator-key.js';
import { ValidatorNetwork } from '../net/validator.js';
import { fail } from '../core/errors.js';
import type { SignedBlock } from '../chain/blocks.js';
import { initDataDir, type TallyNode } from '../chain/node.js';
import type { TallyModule } from '../chain/app-module.js';
import { log } from '../app/log.js';
import { nodeMetrics } from '../api/metrics.js';
import { createNetMetrics } from '../net/metrics.js';
import { openLibp2pTransport } from '../net/load.js';
import { decodeMessage, encodeMessage, GENESIS_PROTOCOL, netLimits } from '../net/protocol.js';
import { Replica } from '../net/replica.js';
import { WriterNetwork } from '../net/serve.js';
import type { Transport } from '../net/transport.js';

/** A comma-separated list of multiaddrs (flag text). */
export function multiaddrList(text: string): string[] {
  const list = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (list.length === 0 || list.length > 64 || list.some((a) => !a.startsWith('/'))) fail('bad_flag', 'give 1 to 64 comma-separated multiaddrs like /ip4/10.0.0.5/tcp/7702/p2p/12D3Koo...');
  return list;
}

export interface NodeNetwork {
  transport: Transport;
  stop(): Promise<void>;
}

export async function startNodeNetwork(node: TallyNode, o: { listen: string[]; follow?: string[]; peers?: string[] }): Promise<NodeNetwork> {
  if (node.role === 'validator' && o.follow) fail('bad_args', 'this data directory is a validator\'s: give the other validators with --peers, not --follow');
  if (node.role !== 'validator' && o.peers) fail('bad_args', '--peers is for validators (a chain whose genesis names validators); a replica follows with --follow');
  if (node.role === 'writer' && o.follow) fail('bad_args', 'this data directory is a writer\'s: it makes blocks and follows no one (leave out --follow)', { hint: 'a replica starts from `tally init --follow ADDR --node-key KEY`' });
  if (node.role === 'replica' && !o.follow) fail('bad_args', 'this data directory is a replica\'s: give the peers to follow with --follow ADDR,...');
  // The transport's metrics (tally_net_*) go on the node's registry, beside the replica's.
  const metrics = createNetMetrics(nodeMetrics(node).registry);
  const transport = await openLibp2pTransport({ dataDir: node.paths.dir, listen: o.listen, metrics });
  metrics.track(transport);
  await transport.start();
  if (node.role === 'writer') {
    new WriterNetwork(node, transport);
    return { transport, stop: () => transport.stop() };
  }
  const netLog = (level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}) => log()[level](fields, message);
  if (node.role === 'validator') {
    // Without validator.key the node follows the chain (a replica of a validator chain): it
    // checks every block's certificate, serves reads and relays what clients send it.
    const keyFile = path.join(node.paths.dir, VALIDATOR_KEY_FILE);
    const blsSecretKey = fs.existsSync(keyFile) ? loadValidatorKey(keyFile, blstBls).secretKey : undefined;
    const validator = new ValidatorNetwork(node, transport, { peers: o.peers ?? [], ...(blsSecretKey ? { blsSecretKey } : {}), log: netLog });
    await validator.start();
    return {
      transport,
      stop: async () => {
        await validator.stop();
        await transport.stop();
      },
    };
  }
  const replica = new Replica(node, transport, { follow: o.follow!, log: netLog });
  await replica.start();
  return {
    transport,
    stop: async () => {
      await replica.stop();
      await transport.stop();
    },
  };
}

/**
 * `tally init --follow ADDR --node-key KEY`: ask a peer for the genesis document and block
 * 0, and make a replica's data directory if block 0 is that genesis's, signed by KEY.
 */
export async function initReplicaFromPeer(dataDir: string, addrs: string[], chainKey: string, modules: TallyModule[]): Promise<{ chain: string; genesisHash: string; peer: string }> {
  // The p2p identity goes in the new directory (the replica keeps it); a failed init removes what it made.
  const created = !fs.existsSync(dataDir);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const transport = await openLibp2pTransport({ dataDir, listen: [] });
  await transport.start();
  let ok = false;
  try {
    let lastErr: unknown;
    for (const addr of addrs) {
      try {
        const peer = await transport.dial(addr);
        // The chain id is not known yet: the genesis protocol is the one without it.
        const bytes = await transport.request(peer, GENESIS_PROTOCOL, encodeMessage({}), { timeoutMs: 20_000, maxResponseBytes: netLimits.genesisResponseBytesMax });
        const g = decodeMessage('genesisResponse', bytes);
        const block0: SignedBlock = g.block;
        initDataDir(dataDir, g.genesis, modules, { chainKey, block0 });
        ok = true;
        return { chain: block0.header.chain, genesisHash: block0.header.prevHash, peer };
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr ?? new Error('no peer');
  } finally {
    await transport.stop();
    if (!ok && created) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
