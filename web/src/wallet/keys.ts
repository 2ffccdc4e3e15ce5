// The wallet's keys, kept in this browser's IndexedDB. Each record holds the WebCrypto
// CryptoKey object itself: IndexedDB stores it by structured clone, opaque, so a key made
// non-extractable can sign through WebCrypto but its bytes can never be read, by this page
// or any other script. Nothing in a record is ever sent to the node; only public keys,
// account ids and signatures leave the browser.
import { fail } from '../../../src/core/errors.js';
import { accountIdPure } from '../../../src/core/tx-signing.js';
import type { WebCryptoKey } from '../../../src/core/webcrypto-keys.js';

const DB_NAME = 'tally-wallet';
const STORE = 'keys';
const CURRENT = 'tally.wallet.current';
/** A wallet holds a handful of keys; a bound keeps a runaway import loop from filling the disk. */
export const WALLET_KEYS_MAX = 64;

export interface StoredKey {
  /** a local label, the CLI's key name pattern (it names the file on export) */
  name: string;
  /** the account this key signs for: its own id, or the account a rotation moved to it */
  account: string;
  /** base64url raw public key */
  pub: string;
  privateKey: WebCryptoKey;
  created: string;
  /** where it came from: made here, or imported from a CLI key file */
  origin: 'created' | 'imported';
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'name' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB is not available'));
  });
}

async function run<T>(mode: IDBTransactionMode, fn: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error ?? req.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  } finally {
    db.close();
  }
}

export async function listKeys(): Promise<StoredKey[]> {
  const all = await run('readonly', (s) => s.getAll() as IDBRequest<StoredKey[]>);
  return all.sort((a, b) => a.name.localeCompare(b.name));
}

export async function getKey(name: string): Promise<StoredKey | undefined> {
  return run('readonly', (s) => s.get(name) as IDBRequest<StoredKey | undefined>);
}

/** Save a new key; never overwrites one of the same name (as the CLI keystore). */
export async function addKey(key: StoredKey): Promise<void> {
  const existing = await listKeys();
  if (existing.some((k) => k.name === key.name)) fail('key_exists', `a key named ${key.name} is already in this browser`, { hint: 'choose another name' });
  if (existing.length >= WALLET_KEYS_MAX) fail('too_many_keys', `this wallet holds at most ${WALLET_KEYS_MAX} keys`);
  await run('readwrite', (s) => s.add(key));
  if (!currentName()) setCurrent(key.name);
}

export async function deleteKey(name: string): Promise<void> {
  await run('readwrite', (s) => s.delete(name));
  if (currentName() === name) localStorage.removeItem(CURRENT);
}

export function currentName(): string | null {
  return localStorage.getItem(CURRENT);
}

export function setCurrent(name: string): void {
  localStorage.setItem(CURRENT, name);
}

/** The key the wallet signs with now: the chosen one, else the only one. */
export async function currentKey(): Promise<StoredKey | undefined> {
  const name = currentName();
  if (name) {
    const key = await getKey(name);
    if (key) return key;
  }
  const all = await listKeys();
  return all.length === 1 ? all[0] : undefined;
}

export function ownAccount(pub: string): string {
  return accountIdPure(pub);
}
