// The node's libp2p identity: an Ed25519 key of its own, in its own file, apart from the
// block-signing key. A peer id says who is on the other end of a connection; it signs
// no block, so losing or rotating it costs only the peers' scores, never the chain.
// File: `tally-p2p-key v1 ed25519\n` then the 32-byte seed as 64 lowercase hex digits
// and `\n`; mode 0600 from the first byte, and refused if the mode is wider.
import './polyfill.js';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import { fail } from '../core/errors.js';
import { checkSecretFileMode, writeSecretFile } from '../store/keyfile.js';

const HEADER = 'tally-p2p-key v1 ed25519';
const WHAT = 'libp2p identity key file';

/** Where a data directory keeps it. */
export const P2P_KEY_FILE = 'p2p-key';

export interface P2pIdentity {
  privateKey: PrivateKey;
  peerId: string;
  /** true when this call made the file */
  created: boolean;
}

/** Load the identity from `path`, or make it there if the file does not exist yet. */
export async function loadOrCreateP2pIdentity(path: string): Promise<P2pIdentity> {
  let created = false;
  if (!fs.existsSync(path)) {
    try {
      writeSecretFile(path, `${HEADER}\n${crypto.randomBytes(32).toString('hex')}\n`);
      created = true;
    } catch (err) {
      // Another process made it between our check and our O_EXCL open: read theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  checkSecretFileMode(path, WHAT);
  const privateKey = await generateKeyPairFromSeed('Ed25519', parseSeed(path, fs.readFileSync(path, 'utf8')));
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString(), created };
}

function parseSeed(path: string, text: string): Uint8Array {
  const lines = text.split('\n');
  const seed = lines[1] ?? '';
  const tail = lines.slice(2).join('');
  if (lines[0] !== HEADER || !/^[0-9a-f]{64}$/.test(seed) || tail !== '') {
    fail('key_file_invalid', `${WHAT} ${path} must be the line "${HEADER}" then 64 lowercase hex digits`, {
      status: 500,
      hint: 'move the file away and start the node again to make a new identity (peers will see a new peer id)',
    });
  }
  return Uint8Array.from(Buffer.from(seed, 'hex'));
}
