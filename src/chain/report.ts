// What `tally chain verify` reports: the first divergence and every issue found.

export interface VerifyIssue {
  height: number;
  kind: string;
  message: string;
}

/** Where a replay started when the directory began at a snapshot: history below `height` was not verified. */
export interface VerifyStart {
  height: number;
  /** the hash of the snapshot's block (height `height`) */
  hash: string;
  /** the same in a sentence, for people reading the JSON */
  note: string;
}

export interface VerifyReport {
  ok: boolean;
  chain: string;
  height: number;
  /** blocks checked: all of them from genesis, else block 0 and the snapshot's block to the tip */
  blocks: number;
  /** transactions replayed */
  txs: number;
  stateKeys: number;
  firstDivergence: number | null;
  issues: VerifyIssue[];
  /** set when the directory started from a snapshot (`tally init --from-snapshot`) */
  snapshot?: VerifyStart;
}
