// How Tally configures gossipsub: unsigned envelopes with content ids, and per-topic
// scores under which a rejected message costs its sender more than being in the mesh
// earns it.
import crypto from 'node:crypto';
import type { GossipSub, GossipsubOpts } from '@libp2p/gossipsub';
import { createTopicScoreParams, type PeerScore } from '@libp2p/gossipsub/score';
import type { NetLimits } from './limits.js';

/** Room for gossipsub's own framing around the largest message we accept. */
const RPC_OVERHEAD_BYTES = 64 * 1024;

/** A gossip message's id: the first 20 bytes of SHA-256(topic, 0x00, data). */
export function gossipMessageId(topic: string, data: Uint8Array): Uint8Array {
  return crypto.createHash('sha256').update(topic).update('\0').update(data).digest().subarray(0, 20);
}

export function gossipOptions(limits: Readonly<NetLimits>): Partial<GossipsubOpts> {
  return {
    // Messages are blocks and transactions that carry their own signatures, so the
    // envelope is unsigned and its id is its content: the same block relayed by two
    // peers is one message.
    globalSignaturePolicy: 'StrictNoSign',
    msgIdFn: (m) => gossipMessageId(m.topic, m.data),
    allowPublishToZeroTopicPeers: true,
    ignoreDuplicatePublishError: true,
    fallbackToFloodsub: false,
    doPX: false,
    emitSelf: false,
    maxInboundDataLength: limits.gossipBytesMax + RPC_OVERHEAD_BYTES,
  };
}

/**
 * Give `topic` score parameters: only scored topics count invalid messages against the
 * sender. Each rejected message costs (count^2), remembered for minutes (decay 0.99 a
 * second), and outweighs the small credit for time in the mesh (the default quantum of
 * 1 ms gave every mesh peer the full positive cap at once). The delivery-rate penalties
 * are off: a quiet chain honestly delivers few blocks.
 */
export function scoreTopic(pubsub: GossipSub, topic: string): void {
  const score = (pubsub as unknown as { score: PeerScore }).score;
  score.params.topics[topic] = createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0.01, timeInMeshQuantum: 1000, timeInMeshCap: 600,
    meshMessageDeliveriesWeight: 0, meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -1, invalidMessageDeliveriesDecay: 0.99,
  });
}
