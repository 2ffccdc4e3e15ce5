// The last line against double-signing, apart from the state machine: before the driver
// signs a message it asks the guard, which remembers (durably, through the driver) every
// message signed at the current height and refuses a second, different one at the same
// height, round and type. The machine never asks for one (it resumes its saved state), so
// a refusal means a bug or a copied key directory, and the driver must stop loudly.
import type { Message } from './types.js';

const slot = (m: Message): string => `${m.type}/${m.round}`;

export class SignGuard {
  private height = -1;
  private signed = new Map<string, Message>();

  /** Restores what was signed before a restart (the messages the driver persisted). */
  constructor(persisted: readonly Message[] = []) {
    for (const m of persisted) this.note(m);
  }

  /** 'sign' for a new message, 'resend' for one already signed, 'refuse' for a conflicting one. */
  check(m: Message): 'sign' | 'resend' | 'refuse' {
    if (m.height < this.height) return 'refuse';
    if (m.height > this.height) return 'sign';
    const before = this.signed.get(slot(m));
    if (!before) return 'sign';
    return before.value === m.value && (m.type !== 'proposal' || (before.type === 'proposal' && before.validRound === m.validRound)) ? 'resend' : 'refuse';
  }

  /** Records a message as signed; call it before the signature leaves the process. */
  note(m: Message): void {
    if (m.height > this.height) {
      this.height = m.height;
      this.signed = new Map();
    }
    this.signed.set(slot(m), m);
  }

  /** What to persist: this height's signed messages. */
  persisted(): Message[] {
    return [...this.signed.values()];
  }
}
