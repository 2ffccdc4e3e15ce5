// What governance needs of the validator set, stated as a narrow interface (Cosmos's
// expected_keepers): the set is owned by the core's `validators` module, which
// governance `requires` and calls only through this keeper. Types only: no code here.
//
// Encodings: `key` is the validator's Ed25519 public key, base64url (32 bytes, as every
// account key); `blsKey` is its BLS12-381 min-pk public key (48 bytes compressed) and
// `pop` the key's proof of possession (96 bytes), both base64url as in a genesis
// validator entry (src/chain/consensus/validator-key.ts).
//
// Contract: a method that throws has written nothing (it checks, then writes), because
// governance calls it from beginBlock and keeps the block's other writes when it fails.

export interface ValidatorEntry { key: string; blsKey: string; pop: string; power: number; jailed?: boolean }

export interface ValidatorSetKeeper {
  /** The current set, sorted by key. */
  list(): ValidatorEntry[];
  /** Throws TallyError (e.g. validator_exists, bad_pop). */
  add(v: { key: string; blsKey: string; pop: string; power: number }): void;
  /** Power 0 removes; throws validator_unknown / last_validator. */
  setPower(key: string, power: number): void;
  unjail(key: string): void;
}
