// What a validator has signed, on disk before the signature leaves the process, so that a
// crash and restart never produces a second, conflicting vote (issue 14; CometBFT's
// privval state and consensus WAL do this job). One file, `consensus-state.json` in the
// data directory (mode 0600): the machine's saved state (tendermint.ts SavedState: its
// locks, its own messages of the height and the quorums behind its locks) and the signer
// guard's messages of the height.
//
// A record writes a temporary file, fsyncs it, renames it over the old one and fsyncs the
// directory: after a crash the file is the old state or the new one, never a torn mix.
// A file that does not parse is refused loudly: guessing could sign twice.
import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../core/errors.js';
import { fsyncDir } from '../../store/backup.js';
import { checkSecretFileMode } from '../../store/keyfile.js';
import type { SavedState } from './tendermint.js';
import type { Message } from './types.js';

export const JOURNAL_FILE = 'consensus-state.json';
const VERSION = 1;

export interface JournalState {
  saved: SavedState;
  signed: Message[];
}

export class SignJournal {
  private constructor(
    readonly file: string,
    private current: JournalState | undefined,
  ) {}

  static open(dataDir: string): SignJournal {
    const file = path.join(dataDir, JOURNAL_FILE);
    if (!fs.existsSync(file)) return new SignJournal(file, undefined);
    checkSecretFileMode(file, 'consensus state file');
    let parsed: { version?: unknown; state?: JournalState };
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof parsed;
    } catch (err) {
      return fail('consensus_state_invalid', `${file} is not valid JSON: refusing to sign anything without knowing what was signed`, { status: 500, cause: err });
    }
    const s = parsed.state;
    if (parsed.version !== VERSION || !s || !Array.isArray(s.signed) || !s.saved || !Array.isArray(s.saved.own) || !Array.isArray(s.saved.pol) || typeof s.saved.lock?.height !== 'number') {
      fail('consensus_state_invalid', `${file} is not a version ${VERSION} consensus state: refusing to sign anything without knowing what was signed`, { status: 500 });
    }
    return new SignJournal(file, s);
  }

  get state(): JournalState | undefined {
    return this.current;
  }

  /** Makes `state` durable; returns only once it is on disk. */
  record(state: JournalState): void {
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify({ version: VERSION, state }));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    fsyncDir(path.dirname(this.file));
    this.current = state;
  }
}
