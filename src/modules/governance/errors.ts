// The governance module's error codes: stable, snake_case, each with its HTTP status. The
// README's governance error table lists the same codes. Bodies refused by the decoder
// carry `bad_body`; amounts carry the ledger's amount codes (amount_invalid, amount_zero,
// ...); holds carry the ledger keeper's (insufficient_funds, unknown_account).
import { fail } from '../../core/errors.js';

export const GOVERNANCE_ERRORS = {
  param_unknown: { status: 400, text: 'governance.propose: no chain parameter with this name (see governance.params)' },
  param_out_of_bounds: { status: 400, text: "governance.propose: the value is outside the parameter's declared bounds" },
  bad_validator_key: { status: 400, text: 'governance.propose: a validator key, BLS key or proof is not the right encoding or length, or the BLS key is not a valid point' },
  bad_pop: { status: 403, text: 'governance.propose: pop is not a proof of possession of blsKey' },
  validator_exists: { status: 409, text: 'governance.propose (add): the key is already in the validator set' },
  validator_unknown: { status: 404, text: 'governance.propose (remove, power): the key is not in the validator set' },
  last_validator: { status: 409, text: 'governance.propose (remove): the set would be left empty' },
  deposit_too_small: { status: 422, text: "governance.propose: the initial deposit is below minInitialDepositPct of minDeposit" },
  too_many_proposals: { status: 409, text: 'governance.propose: the chain already has the most open proposals it keeps (wait for one to close)' },
  unknown_proposal: { status: 404, text: 'no proposal with this id' },
  proposal_closed: { status: 409, text: 'governance.deposit: the proposal is past its deposit and voting periods' },
  too_many_depositors: { status: 409, text: 'governance.deposit: the proposal has the most depositors it keeps (an existing depositor may add more)' },
  not_voting_period: { status: 409, text: 'governance.vote: the proposal is not in its voting period' },
  not_validator: { status: 403, text: "governance.vote: the signer's key is not in the current validator set" },
  validator_jailed: { status: 403, text: 'governance.vote: the validator is jailed' },
} as const;

export type GovernanceErrorCode = keyof typeof GOVERNANCE_ERRORS;

export function govFail(code: GovernanceErrorCode, message: string, details?: Record<string, unknown>): never {
  fail(code, message, { status: GOVERNANCE_ERRORS[code].status, ...(details ? { details } : {}) });
}
