// What the node exposes about its state tree, for proofs (HTTP, socket, CLI, snapshots).
import type { StateProof } from '../../core/smt.js';

export interface StateTreeReads {
  /** tree root at a committed height; undefined if pruned or before the tree existed */
  rootAt(height: number): string | undefined;
  /** proof for `key` at `height`; TallyError 'height_pruned' (410) or 'height_unknown' (404) */
  prove(key: string, height: number): StateProof;
  /** oldest height still provable (pruning), and the tip */
  provableRange(): { oldest: number; tip: number };
}

/** How many versions behind the tip stay provable unless the config says otherwise. */
export const STATE_TREE_KEEP_VERSIONS_DEFAULT = 256;
