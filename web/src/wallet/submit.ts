// Building, signing and sending a transaction from the page: the same envelope the CLI
// makes (src/core/tx-signing.ts), signed by the WebCrypto key in IndexedDB. What goes to
// the node is the envelope (public key, signature, transaction); never the key.
import { signTxAsync, txIdPure, type Envelope, type Tx } from '../../../src/core/tx-signing.js';
import { webSigner } from '../../../src/core/webcrypto-keys.js';
import { api, ApiError, type NodeInfo, type Receipt } from '../api.js';
import { refreshInfo } from '../shell.js';
import type { StoredKey } from './keys.js';

/** How long a signed transaction stays valid, as the CLI (src/cli/context.ts). */
export const TX_LIFETIME_SECS = 600;

export interface AuthInfo { id: string; pub: string | null; nonce: number; pending: number }

export interface Prepared {
  tx: Tx;
  id: string;
  node: NodeInfo;
}

/** The transaction as it will be signed: chain, next nonce and expiry from the node. */
export async function prepare(key: StoredKey, type: string, body: Record<string, unknown>): Promise<Prepared> {
  const node = await refreshInfo();
  const auth = await api<AuthInfo>(`/v1/auth/${key.account}`);
  const tx: Tx = { chain: node.chain, type, from: key.account, nonce: auth.nonce, expires: Math.floor(Date.now() / 1000) + TX_LIFETIME_SECS, body };
  return { tx, id: txIdPure(tx), node };
}

export async function sign(key: StoredKey, tx: Tx): Promise<Envelope> {
  return signTxAsync(tx, webSigner({ privateKey: key.privateKey, pub: key.pub }));
}

/** A transaction recorded as failed: its nonce is used and nothing else changed. */
export class FailedTx extends Error {
  constructor(readonly receipt: Receipt) {
    super(`${(receipt.code ?? 'failed').replace(/_/g, ' ')}: recorded at block ${receipt.height} as failed (its nonce is used, nothing else changed)`);
  }
}

/** Sign and submit; resolves with the receipt once committed, throws ApiError or FailedTx. */
export async function submit(key: StoredKey, prepared: Prepared): Promise<Receipt> {
  const envelope = await sign(key, prepared.tx);
  const receipt = await api<Receipt>('/v1/txs', { body: envelope });
  if (receipt.status === 'failed') throw new FailedTx(receipt);
  return receipt;
}

export async function send(key: StoredKey, type: string, body: Record<string, unknown>): Promise<Receipt> {
  return submit(key, await prepare(key, type, body));
}

export function describeError(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`;
  return (err as Error).message ?? String(err);
}
