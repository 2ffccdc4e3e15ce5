// WebSocket block stream: each block is serialized once (once per distinct ?account filter),
// and the same bytes go to every subscriber. A subscriber that leaves more than
// limits.wsSubscriberBufferBytesMax unread when the next block comes is closed as a slow
// reader; subscribers are capped in total and per client address.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import client from 'prom-client';
import type { WebSocket } from 'ws';
import { TallyError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { TallyNode } from '../chain/node.js';
import type { BlockCommitted } from '../chain/blocks.js';
import type { WsTopic } from '../chain/app-module.js';
import { nodeMetrics } from './metrics.js';

/** Close codes the stream uses (documented in the README, "HTTP API"). */
export const wsCloseCodes = Object.freeze({ slowReader: 4000, nodeStopping: 1001 });

interface Subscriber { socket: WebSocket; topic: WsTopic; params: unknown; key: string }

/** The core's topic: every block with all its receipts. */
const blocksTopic: WsTopic<null> = {
  name: 'blocks',
  summary: 'every new block {type:"block", hash, header, sig, receipts}',
  parse: () => null,
  key: () => '',
  message: (e) => ({ type: 'block', hash: e.block.hash, header: e.block.header, sig: e.block.sig, receipts: e.receipts }),
};

/** Topics by name: the core's and those the modules declare. */
function topicsOf(node: TallyNode): Map<string, WsTopic> {
  const topics = new Map<string, WsTopic>([[blocksTopic.name, blocksTopic as WsTopic]]);
  for (const m of node.modules) for (const t of m.app.wsTopics ?? []) topics.set(t.name, t);
  return topics;
}

/** One pair per registry however many listeners stream blocks: gauges and counters are shared. */
function streamMetrics(registry: client.Registry): { subscribers: client.Gauge; slowReaders: client.Counter } {
  const subscribers = (registry.getSingleMetric('tally_ws_subscribers') as client.Gauge | undefined) ??
    new client.Gauge({ name: 'tally_ws_subscribers', help: 'WebSocket subscribers holding a place (all topics)', registers: [registry] });
  const slowReaders = (registry.getSingleMetric('tally_ws_slow_readers_closed_total') as client.Counter | undefined) ??
    new client.Counter({ name: 'tally_ws_slow_readers_closed_total', help: 'subscribers closed with code 4000 for leaving too much unread', registers: [registry] });
  return { subscribers, slowReaders };
}

export function registerBlockStream(app: FastifyInstance, node: TallyNode): void {
  const metrics = streamMetrics(nodeMetrics(node).registry);
  const subscribers = new Set<Subscriber>();
  const topics = topicsOf(node);
  const perAddress = new Map<string, number>();

  const onBlock = (e: BlockCommitted) => {
    // One serialization per distinct (topic, params) for this block, shared by its subscribers.
    const messages = new Map<string, Buffer | undefined>();
    for (const sub of subscribers) {
      if (sub.socket.readyState !== sub.socket.OPEN) continue;
      if (sub.socket.bufferedAmount > limits.wsSubscriberBufferBytesMax) {
        dropSlowReader(sub.socket);
        metrics.slowReaders.inc();
        continue;
      }
      const key = `${sub.topic.name}\n${sub.key}`;
      if (!messages.has(key)) {
        const value = sub.topic.message(e, sub.params);
        messages.set(key, value === undefined ? undefined : Buffer.from(JSON.stringify(value)));
      }
      const message = messages.get(key);
      if (message) sub.socket.send(message, { binary: false });
    }
  };
  node.on('block', onBlock);
  app.addHook('onClose', async () => {
    node.off('block', onBlock);
    for (const sub of subscribers) sub.socket.close(wsCloseCodes.nodeStopping, 'node stopping');
  });

  // Caps are checked before the upgrade, so a refused client gets an HTTP error with a code.
  // A place is held from here until the TCP connection closes (upgrades complete later).
  let held = 0;
  const admit = async (req: FastifyRequest) => {
    subscription(req); // a bad topic or params is refused before any place is held
    if (held >= limits.wsSubscribersMax) {
      throw new TallyError('too_many_subscribers', `the node serves at most ${limits.wsSubscribersMax} block subscribers; retry later`, { status: 503 });
    }
    const ip = req.ip;
    const mine = perAddress.get(ip) ?? 0;
    if (mine >= limits.wsSubscribersPerAddressMax) {
      throw new TallyError('too_many_subscribers', `at most ${limits.wsSubscribersPerAddressMax} block subscribers per client address; one subscriber per process is enough`, { status: 429 });
    }
    held++;
    metrics.subscribers.inc();
    perAddress.set(ip, mine + 1);
    req.raw.socket.once('close', () => {
      held--;
      metrics.subscribers.dec();
      const left = (perAddress.get(ip) ?? 1) - 1;
      if (left > 0) perAddress.set(ip, left);
      else perAddress.delete(ip);
    });
  };

  /** ?topic=NAME&params... (default "blocks"; a bare ?account=ID is the ledger's account topic). */
  const subscription = (req: FastifyRequest): Subscriber & { socket: WebSocket } => {
    const query = { ...(req.query as Record<string, string>) };
    const name = query.topic ?? (query.account !== undefined ? 'ledger.account' : 'blocks');
    delete query.topic;
    const topic = topics.get(name);
    if (!topic) throw new TallyError('unknown_topic', `unknown topic "${name}"`, { status: 400, details: { known: [...topics.keys()] } });
    const params = topic.parse(query);
    return { socket: undefined as unknown as WebSocket, topic, params, key: topic.key(params) };
  };

  app.get('/v1/ws', {
    websocket: true,
    preValidation: admit,
    schema: {
      operationId: 'subscribe',
      tags: ['chain'],
      summary: `WebSocket: ?topic=NAME (default blocks: one JSON message per new block {type:"block", hash, header, sig, receipts}; modules add topics, e.g. ledger.account with ?account=ID, the blocks' receipts touching that account). A reader more than ${limits.wsSubscriberBufferBytesMax / 1024} KiB behind is closed with code ${wsCloseCodes.slowReader}`,
      description: 'Send a WebSocket upgrade (GET with Upgrade: websocket); the server only sends, one JSON text message per block that has something for the topic. Topics, messages and close codes: x-websocket.',
      // Parsed by admit() (before validation, with its own codes): documented here, never narrower than the topics' own parse.
      querystring: {
        type: 'object',
        properties: {
          topic: { type: 'string', enum: [...topics.keys()], description: 'default "blocks"; a bare ?account=ID means ledger.account' },
          account: { type: 'string', description: 'ledger.account: the account id (40 lowercase hex)' },
        },
      },
      response: {
        101: { description: 'Switching Protocols: the stream is open (messages in x-websocket)', type: 'null' },
        // @fastify/websocket answers a request that asks for no upgrade itself, with no body.
        404: { description: 'a plain GET without Upgrade: websocket (no body)', type: 'null' },
        400: { description: 'unknown_topic (details.known lists the topics), bad_params: the topic\'s parameters are wrong' },
        429: { description: `too_many_subscribers: this address already holds ${limits.wsSubscribersPerAddressMax} subscriptions` },
        503: { description: `too_many_subscribers: the node serves at most ${limits.wsSubscribersMax} subscribers` },
      },
      'x-websocket': {
        topics: [...topics.values()].map((t) => ({ name: t.name, summary: t.summary })),
        message: 'a JSON text frame {type: "block", hash, header, sig, receipts}: the block\'s signed header and the receipts the topic selects',
        closeCodes: {
          [wsCloseCodes.nodeStopping]: 'going away: the node is stopping; reconnect after it restarts',
          [wsCloseCodes.slowReader]: `slow reader: more than ${limits.wsSubscriberBufferBytesMax / 1024} KiB unread when a block came; reconnect, read faster, fill the gap with GET /v1/blocks/{height}`,
        },
      },
    },
  }, (socket, req) => {
    const sub = { ...subscription(req), socket };
    subscribers.add(sub);
    socket.on('close', () => subscribers.delete(sub));
  });
}

function dropSlowReader(socket: WebSocket): void {
  socket.close(wsCloseCodes.slowReader, 'slow reader: more than ' + limits.wsSubscriberBufferBytesMax / 1024 + ' KiB unread; reconnect and read faster');
  // Nothing more is sent to it; the close frame waits behind what it did not read, so a
  // client that reads later learns why, and ws cuts it 30 s after if it never answers.
}
