// The replica protocol: gossip topic and request-response protocols, their JSON messages
// and the one decoder for what peers send. Every message is UTF-8 JSON; nothing here is
// hashed or signed by the protocol itself (a block's hash and signature are the chain's,
// checked by the importer), so the JSON needs no canonical form. Every refusal is a
// TallyError with code `bad_message` (or `oversized` before parsing), naming the field.
import { array, decode, int, isPlainObject, object, optional, refuse, string, unknownValue, type Decoder } from '../core/decode.js';
import { fail } from '../core/errors.js';
import { utf8 } from '../core/encoding.js';
import { limits } from '../core/limits.js';
import { networkName, protocolId } from './ids.js';
import type { SubmitResult } from '../chain/app-module.js';
import type { BlockHeader, SignedBlock } from '../chain/blocks.js';
import type { Envelope } from '../chain/envelope.js';
import type { Genesis } from '../chain/genesis.js';
import type { CertifiedCommit } from '../core/header.js';

export const netLimits = Object.freeze({
  /** Blocks in one `blocks` request. */
  blocksPerRequestMax: 64,
  /** A `blocks` response stops adding blocks past this many bytes (it always holds one). */
  blocksResponseBytesSoft: 8 * 1024 * 1024,
  /** Hard bound of a `blocks` response: one full block (4,000 transactions of 4 KiB) and its header. */
  blocksResponseBytesMax: limits.blockTxCountMax * (limits.txBytesMax + 64) + 64 * 1024,
  /** A gossiped header, a status, a small request. */
  smallMessageBytesMax: 16 * 1024,
  /** Transactions in one forwarded `submit`. */
  submitTxCountMax: 256,
  submitRequestBytesMax: 256 * (limits.txBytesMax + 256),
  submitResponseBytesMax: 256 * 16 * 1024,
  /** genesis document and block 0 */
  genesisResponseBytesMax: 4 * 1024 * 1024,
});

/** Topic and protocol ids of one chain (ids.ts): peers of another chain or genesis never share one. */
export function protocolIds(chain: string, genesisHash: string) {
  const network = networkName(chain, genesisHash);
  return {
    headersTopic: protocolId(network, 'headers'),
    status: protocolId(network, 'status'),
    blocks: protocolId(network, 'blocks'),
    submit: protocolId(network, 'submit'),
    genesis: GENESIS_PROTOCOL,
  };
}

/** The one protocol without a network name: a new replica asks it which chain a peer serves. */
export const GENESIS_PROTOCOL = '/tally/genesis/1';

export interface StatusMessage {
  chain: string;
  genesisHash: string;
  height: number;
  hash: string;
}

export interface BlocksRequest {
  from: number;
  count: number;
}

/** A block as it travels: the signed header and the transaction envelopes in block order. */
export interface WireBlock {
  block: SignedBlock;
  txs: Envelope[];
  /** a validator chain: the block's commit certificate as the serving node stores it */
  commit?: CertifiedCommit;
  /** a validator chain: the previous block's canonical commit (the one lastCommitHash names) */
  lastCommit?: CertifiedCommit;
}

export interface BlocksResponse {
  blocks: WireBlock[];
}

export interface SubmitRequest {
  txs: unknown[];
}

export interface SubmitResponse {
  results: SubmitResult[];
}

export interface GenesisResponse {
  genesis: Genesis;
  block: SignedBlock;
}

const HEX64 = /^[0-9a-f]{64}$/;
const B64U = /^[A-Za-z0-9_-]+$/;
const height = int({ min: 0, what: 'a block height' });
const hex64 = string({ pattern: HEX64, maxLength: 64, what: '64 lowercase hex digits' });
const chainId = string({ pattern: limits.chainIdPattern, maxLength: 64, what: 'a chain id' });

const headerSchema: Decoder<BlockHeader> = object({
  version: optional(int({ min: 2, max: 3, what: '2 or 3' })),
  chain: chainId,
  height,
  prevHash: hex64,
  time: int({ min: 0, what: 'unix milliseconds' }),
  txRoot: hex64,
  stateRoot: hex64,
  txCount: int({ min: 0, max: limits.blockTxCountMax }),
  proposer: string({ pattern: B64U, maxLength: 43, what: 'a base64url Ed25519 public key' }),
  // version 3 (checkSignedHeader insists on both there and on neither before)
  validatorsHash: optional(hex64),
  lastCommitHash: optional(hex64),
}) as Decoder<BlockHeader>;

const signedBlockSchema: Decoder<SignedBlock> = object({
  hash: hex64,
  header: headerSchema,
  sig: string({ pattern: B64U, maxLength: 86, what: 'a base64url Ed25519 signature' }),
});

/** Envelopes are checked whole by parseEnvelope in the importer; here only their outline. */
const envelopeOutline: Decoder<Envelope> = (v, at) => (isPlainObject(v) ? (v as unknown as Envelope) : refuse(at, 'must be a transaction envelope object'));

const statusSchema: Decoder<StatusMessage> = object({ chain: chainId, genesisHash: hex64, height, hash: hex64 });
const blocksRequestSchema: Decoder<BlocksRequest> = object({ from: height, count: int({ min: 1, max: netLimits.blocksPerRequestMax }) });
const commitSchema: Decoder<CertifiedCommit> = object({
  height,
  round: int({ min: 0, what: 'a round' }),
  blockHash: hex64,
  signers: string({ pattern: /^([0-9a-f]{2})+$/, maxLength: 2 * Math.ceil(limits.blsAggregateCountMax / 8), what: 'a hex bitmap' }),
  signature: string({ pattern: B64U, maxLength: 128, what: 'a base64url BLS signature' }),
});
const wireBlockSchema: Decoder<WireBlock> = object({
  block: signedBlockSchema,
  txs: array(envelopeOutline, { maxItems: limits.blockTxCountMax }),
  commit: optional(commitSchema),
  lastCommit: optional(commitSchema),
}) as Decoder<WireBlock>;
const blocksResponseSchema: Decoder<BlocksResponse> = object({ blocks: array(wireBlockSchema, { maxItems: netLimits.blocksPerRequestMax }) });
const headerGossipSchema: Decoder<SignedBlock> = signedBlockSchema;
const submitRequestSchema: Decoder<SubmitRequest> = object({ txs: array(unknownValue, { minItems: 1, maxItems: netLimits.submitTxCountMax }) });
const submitResultSchema: Decoder<SubmitResult> = (v, at) => {
  if (!isPlainObject(v)) refuse(at, 'must be a receipt or an error');
  if (isPlainObject(v.error)) {
    if (typeof v.error.code !== 'string' || typeof v.error.message !== 'string') refuse(at, 'must have error.code and error.message strings');
    return v as unknown as SubmitResult;
  }
  if (typeof v.id !== 'string' || !HEX64.test(v.id) || !Number.isSafeInteger(v.height) || !Number.isSafeInteger(v.index) || (v.status !== 'ok' && v.status !== 'failed') || !Array.isArray(v.events)) {
    refuse(at, 'must be a receipt {id, height, index, status, events} or {error}');
  }
  return v as unknown as SubmitResult;
};
const submitResponseSchema: Decoder<SubmitResponse> = object({ results: array(submitResultSchema, { maxItems: netLimits.submitTxCountMax }) });
const genesisResponseSchema: Decoder<GenesisResponse> = object({
  genesis: (v, at) => (isPlainObject(v) ? (v as unknown as Genesis) : refuse(at, 'must be a genesis document')),
  block: signedBlockSchema,
});

export const messages = {
  status: { schema: statusSchema, bytesMax: netLimits.smallMessageBytesMax },
  blocksRequest: { schema: blocksRequestSchema, bytesMax: netLimits.smallMessageBytesMax },
  blocksResponse: { schema: blocksResponseSchema, bytesMax: netLimits.blocksResponseBytesMax },
  header: { schema: headerGossipSchema, bytesMax: netLimits.smallMessageBytesMax },
  submitRequest: { schema: submitRequestSchema, bytesMax: netLimits.submitRequestBytesMax },
  submitResponse: { schema: submitResponseSchema, bytesMax: netLimits.submitResponseBytesMax },
  genesisRequest: { schema: object({}) as Decoder<Record<string, never>>, bytesMax: netLimits.smallMessageBytesMax },
  genesisResponse: { schema: genesisResponseSchema, bytesMax: netLimits.genesisResponseBytesMax },
} as const;

type Kind = keyof typeof messages;
export type MessageOf<K extends Kind> = ReturnType<(typeof messages)[K]['schema']>;

export function encodeMessage(value: unknown): Uint8Array {
  return utf8.encode(JSON.stringify(value));
}

/** Decode a peer's bytes: `oversized` past the kind's bound, `bad_message` for anything malformed. */
export function decodeMessage<K extends Kind>(kind: K, bytes: Uint8Array): MessageOf<K> {
  const m = messages[kind];
  if (bytes.length > m.bytesMax) fail('oversized', `a ${kind} message is at most ${m.bytesMax} bytes, this one ${bytes.length}`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    fail('bad_message', `a ${kind} message must be UTF-8 JSON`);
  }
  return decode(m.schema as Decoder<MessageOf<K>>, value, 'bad_message', kind);
}
