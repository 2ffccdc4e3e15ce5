// The node key the user trusts. Shown once from GET /v1/node (the user compares it with
// the key the operator published) and kept in localStorage per node origin; every check
// on every page is against this key, never against what the node says on later visits.
import { ED25519_PUB_B64U } from '../../src/core/base64url.js';
import { nodeOrigin } from './api.js';

const KEY_PREFIX = 'tally.pin.';

export function pinnedKey(): string | null {
  const key = localStorage.getItem(KEY_PREFIX + nodeOrigin());
  return key !== null && ED25519_PUB_B64U.test(key) ? key : null;
}

export function pinKey(key: string): void {
  if (!ED25519_PUB_B64U.test(key)) throw new Error('a node key is 43 characters of base64url');
  localStorage.setItem(KEY_PREFIX + nodeOrigin(), key);
}

export function unpinKey(): void {
  localStorage.removeItem(KEY_PREFIX + nodeOrigin());
}
