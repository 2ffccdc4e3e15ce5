// WebSocket block stream: each block is serialized once (once per distinct ?account filter),
// and the same bytes go to every subscriber. A subscriber that leaves more than
// limits.wsSubscriberBufferBytesMax unread when the next block comes is closed as a slow
// reader; subscribers are capped in total and per client address.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { TallyError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { TallyNode } from '../chain/node.js';
import type { BlockCommitted } from '../chain/sequencer.js';

/** Close codes the stream uses (documented in the README, "HTTP API"). */
export const wsCloseCodes = Object.freeze({ slowReader: 4000, nodeStopping: 1001 });

interface Subscriber { socket: WebSocket; account: string | undefined }

function blockMessage(e: BlockCommitted, account: string | undefined): Buffer | undefined {
  const receipts = account
    ? e.receipts.filter((r, i) => e.senders[i] === account || r.events.some((ev) => ev.from === account || ev.to === account || ev.account === account))
    : e.receipts;
  if (account && receipts.length === 0) return undefined;
  return Buffer.from(JSON.stringify({ type: 'block', hash: e.block.hash, header: e.block.header, sig: e.block.sig, receipts }));
}

export function registerBlockStream(app: FastifyInstance, node: TallyNode): void {
  const subscribers = new Set<Subscriber>();
  const perAddress = new Map<string, number>();

  const onBlock = (e: BlockCommitted) => {
    // One serialization per distinct filter for this block, shared by all its subscribers.
    const messages = new Map<string | undefined, Buffer | undefined>();
    for (const sub of subscribers) {
      if (sub.socket.readyState !== sub.socket.OPEN) continue;
      if (sub.socket.bufferedAmount > limits.wsSubscriberBufferBytesMax) {
        dropSlowReader(sub.socket);
        continue;
      }
      if (!messages.has(sub.account)) messages.set(sub.account, blockMessage(e, sub.account));
      const message = messages.get(sub.account);
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
    if (held >= limits.wsSubscribersMax) {
      throw new TallyError('too_many_subscribers', `the node serves at most ${limits.wsSubscribersMax} block subscribers; retry later`, { status: 503 });
    }
    const ip = req.ip;
    const mine = perAddress.get(ip) ?? 0;
    if (mine >= limits.wsSubscribersPerAddressMax) {
      throw new TallyError('too_many_subscribers', `at most ${limits.wsSubscribersPerAddressMax} block subscribers per client address; one subscriber per process is enough`, { status: 429 });
    }
    held++;
    perAddress.set(ip, mine + 1);
    req.raw.socket.once('close', () => {
      held--;
      const left = (perAddress.get(ip) ?? 1) - 1;
      if (left > 0) perAddress.set(ip, left);
      else perAddress.delete(ip);
    });
  };

  app.get('/v1/ws', {
    websocket: true,
    preValidation: admit,
    schema: { summary: `WebSocket: one JSON message per new block {type:"block", hash, header, sig, receipts}; ?account=ID keeps only receipts touching that account. A reader more than ${limits.wsSubscriberBufferBytesMax / 1024} KiB behind is closed with code ${wsCloseCodes.slowReader}` },
  }, (socket, req) => {
    const sub: Subscriber = { socket, account: (req.query as Record<string, string>).account };
    subscribers.add(sub);
    socket.on('close', () => subscribers.delete(sub));
  });
}

function dropSlowReader(socket: WebSocket): void {
  socket.close(wsCloseCodes.slowReader, 'slow reader: more than ' + limits.wsSubscriberBufferBytesMax / 1024 + ' KiB unread; reconnect and read faster');
  // Nothing more is sent to it; the close frame waits behind what it did not read, so a
  // client that reads later learns why, and ws cuts it 30 s after if it never answers.
}
