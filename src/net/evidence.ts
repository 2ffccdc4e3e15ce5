// Equivocation evidence: two different blocks at one height, both validly signed by the
// chain's key. That is the writer showing different histories to different people, so a
// replica keeps both signed headers in `<data>/equivocation.json` (written once, never
// overwritten: the first evidence is the one that counts) and stops following. The file
// is checkable by anyone with the chain key: both headers verify, same height, different
// hashes. A replica that finds the file at start refuses to follow until an operator
// moves it away.
import fs from 'node:fs';
import path from 'node:path';
import type { SignedBlock } from '../chain/blocks.js';
import { checkHeader } from '../chain/follower.js';

export const EVIDENCE_FILE = 'equivocation.json';

export interface Evidence {
  kind: 'equivocation';
  chain: string;
  chainKey: string;
  height: number;
  /** ISO time the replica saw the second block */
  detectedAt: string;
  /** the two signed headers, in the order the replica saw them */
  blocks: [SignedBlock, SignedBlock];
}

export function evidencePath(dataDir: string): string {
  return path.join(dataDir, EVIDENCE_FILE);
}

/** True when a and b are evidence: same height, different hashes, both signed by the chain key. */
export function isEquivocation(a: SignedBlock, b: SignedBlock, chain: string, chainKey: string): boolean {
  if (a.header.height !== b.header.height || a.hash === b.hash) return false;
  try {
    checkHeader(a, chain, chainKey);
    checkHeader(b, chain, chainKey);
    return true;
  } catch {
    return false;
  }
}

/** Write the evidence (first one wins); returns the file's path. */
export function storeEvidence(dataDir: string, e: Evidence): string {
  const file = evidencePath(dataDir);
  try {
    fs.writeFileSync(file, JSON.stringify(e, null, 2) + '\n', { flag: 'wx', mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return file;
}

export function readEvidence(dataDir: string): Evidence | undefined {
  const file = evidencePath(dataDir);
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Evidence;
}
