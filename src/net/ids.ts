// Protocol ids and gossip topics: `/tally/<network>/<name>/<version>`, where the network
// is `<chain id>-<first 8 hex digits of the genesis hash>`. Two chains that share an id
// but not a genesis never talk: their protocol ids differ, so multistream-select refuses
// the stream before a byte of ours is read, and their topics never meet.
import { fail } from '../core/errors.js';

const CHAIN = /^[a-z0-9._-]{1,64}$/;
const GENESIS_HASH = /^[0-9a-f]{64}$/;
const NAME = /^[a-z][a-z0-9-]{0,31}$/;

export function networkName(chain: string, genesisHash: string): string {
  if (!CHAIN.test(chain)) fail('bad_args', `chain id ${JSON.stringify(chain.slice(0, 80))} is not [a-z0-9._-]{1,64}`);
  if (!GENESIS_HASH.test(genesisHash)) fail('bad_args', 'genesis hash must be 64 lowercase hex digits');
  return `${chain}-${genesisHash.slice(0, 8)}`;
}

/** A request-response protocol id or a gossip topic: the same shape for both. */
export function protocolId(network: string, name: string, version = 1): string {
  if (!NAME.test(name)) fail('bad_args', `protocol name ${JSON.stringify(name.slice(0, 80))} is not [a-z][a-z0-9-]{0,31}`);
  if (!(Number.isInteger(version) && version >= 1 && version <= 999)) fail('bad_args', `protocol version ${version} is not 1..999`);
  return `/tally/${network}/${name}/${version}`;
}
