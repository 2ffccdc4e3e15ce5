import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { limits } from '../core/limits.js';
import { serveConnection, type SocketEndpoint } from './socket.js';

// Backpressure on the Unix socket, seen from the node's side: a client that sends many
// requests and reads no reply must stop being served once its unread replies pass
// limits.socketUnreadReplyBytesMax, and must get every reply once it reads.
const REPLY = 'x'.repeat(256 * 1024);

function listen(endpoint: SocketEndpoint): Promise<{ server: net.Server; file: string }> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tally-sock-')), 's.sock');
  const server = net.createServer((conn) => serveConnection(conn, endpoint));
  return new Promise((resolve) => server.listen(file, () => resolve({ server, file })));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the Unix socket holds back a client that does not read', () => {
  it('stops answering past the unread-reply bound, and answers everything once read', async () => {
    let calls = 0;
    const endpoint: SocketEndpoint = {
      pub: 'test',
      call: () => {
        calls++;
        return REPLY;
      },
      sign: (reply) => JSON.stringify(reply) + '\n',
    };
    const { server, file } = await listen(endpoint);
    const count = 200; // 50 MiB of replies if the server answered them all into memory
    const client = net.createConnection(file);
    try {
      await new Promise((r) => client.once('connect', r));
      await exchange(client, count, () => calls);
    } finally {
      client.destroy();
      server.close();
    }
  });
});

/** Send `count` requests, read nothing for a while, then read everything. */
async function exchange(client: net.Socket, count: number, calls: () => number): Promise<void> {
    client.pause();
    client.write(JSON.stringify({ id: 1, method: 'big' }).concat('\n').repeat(count));
    await sleep(500);
    // The kernel's socket buffers take some replies before user-space buffering starts;
    // past that, at most the unread bound plus one reply is produced.
    const kernelSlack = 4 * 1024 * 1024;
    const bound = Math.ceil((limits.socketUnreadReplyBytesMax + kernelSlack) / REPLY.length) + 1;
    assert.ok(calls() <= bound, `answered ${calls()} of ${count} requests with nobody reading (bound ${bound})`);

    let replies = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${replies} replies`)), 30_000);
      client.on('data', (c: Buffer) => {
        for (let at = c.indexOf(10); at >= 0; at = c.indexOf(10, at + 1)) replies++;
        if (replies >= count) {
          clearTimeout(timer);
          resolve();
        }
      });
      client.resume();
    });
    assert.equal(replies, count);
    assert.equal(calls(), count);
}
