// What `tally chain verify` reports: the first divergence and every issue found.

export interface VerifyIssue {
  height: number;
  kind: string;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  chain: string;
  height: number;
  blocks: number;
  txs: number;
  stateKeys: number;
  firstDivergence: number | null;
  issues: VerifyIssue[];
}
