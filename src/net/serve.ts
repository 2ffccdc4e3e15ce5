// What every node (writer or replica) serves its peers: its status, blocks with their
// transaction envelopes, the genesis document with block 0, and (the writer only)
// submitted transactions. Each committed block's signed header is published on the
// chain's header topic, so followers learn of it at once and fetch the body.
import { errorBody, errorStatus, fail } from '../core/errors.js';
import type { NetworkStatus, TallyNode } from '../chain/node.js';
import { decodeMessage, encodeMessage, netLimits, protocolIds, type BlocksResponse, type StatusMessage, type WireBlock } from './protocol.js';
import type { Transport } from './transport.js';

export interface ServeStats {
  gossipOut: number;
}

export function statusOf(node: TallyNode): StatusMessage {
  const tip = node.tip;
  return { chain: node.params.chain, genesisHash: node.params.genesisHash, height: tip.height, hash: tip.hash };
}

/** Blocks from `from`, at most `count`, bounded by bytes (always at least one if there is one). */
export function blocksFrom(node: TallyNode, from: number, count: number): BlocksResponse {
  const blocks: WireBlock[] = [];
  let bytes = 0;
  const last = Math.min(node.tip.height, from + count - 1);
  for (let h = from; h <= last; h++) {
    const block = node.block(h);
    if (!block) break; // below a snapshot base: absent here
    const txs = node.blockTxViews(h).map((t) => t.envelope);
    const commit = node.store.commitOf(h);
    const lastCommit = h > 1 ? node.store.commitOf(h - 1) : undefined;
    const wire: WireBlock = { block, txs, ...(commit ? { commit: JSON.parse(commit) } : {}), ...(lastCommit ? { lastCommit: JSON.parse(lastCommit) } : {}) };
    // A rough size (envelopes are at most txBytesMax): exact enough for a soft bound.
    bytes += JSON.stringify(wire).length;
    if (blocks.length > 0 && bytes > netLimits.blocksResponseBytesSoft) break;
    blocks.push(wire);
  }
  return { blocks };
}

export function serveChain(node: TallyNode, transport: Transport): ServeStats {
  const ids = protocolIds(node.params.chain, node.params.genesisHash);
  const stats: ServeStats = { gossipOut: 0 };
  const small = { maxRequestBytes: netLimits.smallMessageBytesMax };
  transport.handle(ids.status, async () => encodeMessage(statusOf(node)), small);
  transport.handle(ids.blocks, async (_from, data) => {
    const req = decodeMessage('blocksRequest', data);
    return encodeMessage(blocksFrom(node, req.from, req.count));
  }, small);
  transport.handle(ids.genesis, async (_from, data) => {
    decodeMessage('genesisRequest', data);
    const block = node.block(0);
    if (!block) fail('block_not_found', 'no block 0');
    return encodeMessage({ genesis: node.genesis, block });
  }, small);
  transport.handle(ids.submit, async (_from, data) => {
    // Only the writer takes forwarded transactions: a replica forwarding to a replica could loop.
    const req = decodeMessage('submitRequest', data);
    if (node.role !== 'writer') {
      const e = { error: { code: 'not_writer', message: 'this peer is a replica; send transactions to the writer' }, status: 421 };
      return encodeMessage({ results: req.txs.map(() => e) });
    }
    let results;
    try {
      results = await node.submit(req.txs);
    } catch (err) {
      const e = { error: errorBody(err), status: errorStatus(err) };
      results = req.txs.map(() => e);
    }
    return encodeMessage({ results });
  }, { maxRequestBytes: netLimits.submitRequestBytesMax });
  node.on('block', (event: { block: { header: { height: number } } }) => {
    stats.gossipOut++;
    transport.publish(ids.headersTopic, encodeMessage(event.block)).catch(() => undefined);
  });
  return stats;
}

/** The writer's side of the network: it serves and publishes; it follows no one. */
export class WriterNetwork {
  private readonly stats: ServeStats;

  constructor(private readonly node: TallyNode, private readonly transport: Transport) {
    this.stats = serveChain(node, transport);
    node.network = this;
  }

  status(): NetworkStatus {
    const height = this.node.tip.height;
    return {
      role: 'writer', state: 'serving',
      peers: this.transport.peers().map((p) => ({ id: p.id, addrs: p.addrs, height: null, score: p.score, direction: p.direction })),
      height, bestHeight: height, lagBlocks: 0, lagMs: 0, blocksVerified: 0, txsVerified: 0, blocksVerifiedPerSec: 0,
      gossipIn: 0, gossipOut: this.stats.gossipOut, rejectedPeers: {}, equivocation: null,
    };
  }
}
