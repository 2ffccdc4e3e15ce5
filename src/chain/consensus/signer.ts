// A validator's signer: the signer guard, the journal and the BLS key together, in the
// order that makes a restart safe: check the guard, note the message, make the journal
// durable, and only then sign. A crash before the journal write loses a signature nobody
// saw; a crash after it leaves on disk everything the signature committed the validator to.
import { TallyError } from '../../core/errors.js';
import type { BlsScheme } from '../../core/bls.js';
import type { SignJournal } from './journal.js';
import { SignGuard } from './sign-guard.js';
import type { SavedState } from './tendermint.js';
import type { Message } from './types.js';
import { signMessage, type Signed } from './wire.js';

export class ConsensusSigner {
  private readonly guard: SignGuard;

  constructor(
    private readonly scheme: BlsScheme,
    private readonly secretKey: Uint8Array,
    private readonly chainId: string,
    private readonly journal: SignJournal,
  ) {
    this.guard = new SignGuard(journal.state?.signed ?? []);
  }

  /** The machine's state to resume at a height (tendermint.ts start), if the journal holds one. */
  resumeState(): SavedState | undefined {
    return this.journal.state?.saved;
  }

  /**
   * Signs `message`, which the machine asked to send with `saved` as its state. A second,
   * different message in a slot already signed throws `double_sign_refused`: the driver
   * must stop, since only a bug or a copied key directory gets there.
   */
  sign<M extends Message>(message: M, saved: SavedState): Signed<M> {
    const verdict = this.guard.check(message);
    if (verdict === 'refuse') {
      throw new TallyError('double_sign_refused', `refusing to sign ${message.type} at height ${message.height} round ${message.round}: this validator signed another one there`, {
        status: 500,
        hint: 'another process may hold this validator\'s keys; stop it before anything else',
      });
    }
    if (verdict === 'sign') {
      this.guard.note(message);
      this.journal.record({ saved, signed: this.guard.persisted() });
    }
    return signMessage(this.scheme, this.secretKey, this.chainId, message);
  }
}
