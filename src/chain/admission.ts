// Admission: check, verify and queue submitted transactions. The rules are the executor's
// (checkTxStatic, checkTxSender) run early against the wall clock and the committed state,
// so that what cannot be included is refused before it costs anything; the executor
// re-checks everything against the block. A refusal here changes nothing.
import { errorBody, errorStatus, fail, TallyError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { SubmitResult } from './app-module.js';
import { parseEnvelope, type Envelope, type Receipt } from './envelope.js';
import { checkTxSender, checkTxStatic } from './execute.js';
import { accountKeys, scopedReader, type Kernel } from './kernel.js';
import type { Mempool, PendingTx } from './mempool.js';
import type { TxType } from './module.js';
import { authKey, type AuthRecord, type StateReader } from './state.js';
import type { VerifierPool } from './verifier.js';

export interface AdmissionStats {
  txsAccepted: number;
  txsRefused: Map<string, number>;
}

export interface AdmissionDeps {
  kernel: Kernel;
  pool: VerifierPool;
  mempool: Mempool;
  /** committed state */
  state: StateReader;
  clock: () => number;
  /** why the node takes nothing now (shutting down, halted), or undefined */
  closed: () => TallyError | undefined;
  /** the receipt of a committed transaction (a retry gets it back) */
  committedReceipt: (id: string) => Receipt | undefined;
  /** transactions were queued: make a block soon */
  queued: () => void;
  /** these transactions (canonical JSON) entered the mempool; `relay`: from a client, so a validator tells the other validators */
  admitted?: (canonical: string[], relay: boolean) => void;
}

export class Admission {
  readonly stats: AdmissionStats = { txsAccepted: 0, txsRefused: new Map() };

  constructor(private readonly deps: AdmissionDeps) {}

  private refuse(err: unknown): SubmitResult {
    const body = errorBody(err);
    this.stats.txsRefused.set(body.code, (this.stats.txsRefused.get(body.code) ?? 0) + 1);
    return { error: body, status: errorStatus(err) };
  }

  /** Each result is a receipt (after commit) or an error. */
  async submit(raws: unknown[], options: { relay?: boolean } = {}): Promise<SubmitResult[]> {
    const closed = this.deps.closed();
    if (closed) throw closed;
    if (raws.length > limits.batchTxCountMax) fail('batch_too_large', `at most ${limits.batchTxCountMax} transactions per batch`, { status: 413 });
    const results: Array<SubmitResult | Promise<SubmitResult> | undefined> = new Array(raws.length);
    const checked: Array<{ i: number; env: Envelope; type: TxType; body: unknown }> = [];
    const nowMs = this.deps.clock();
    raws.forEach((raw, i) => {
      try {
        const env = parseEnvelope(raw);
        const { type, module, body } = checkTxStatic(env, this.deps.kernel, nowMs);
        // Before the signature check: refusing what cannot succeed costs no verification.
        if (type.admit) {
          const state = this.deps.state;
          type.admit({
            state: scopedReader(state, module.name), params: this.deps.kernel.params, accounts: accountKeys(state),
            tx: env.tx, pub: env.pub, known: state.get(authKey(env.tx.from)) !== undefined, nowMs,
          }, body);
        }
        checked.push({ i, env, type, body });
      } catch (err) {
        results[i] = this.refuse(err);
      }
    });
    const verdicts = await this.deps.pool.verify(checked.map((c) => c.env), this.deps.kernel.mayOpenAccount);
    const fresh: string[] = [];
    checked.forEach((c, k) => {
      const verdict = verdicts[k]!;
      try {
        if (verdict.code === 'bad_signature') fail('bad_signature', 'the signature does not verify for this transaction and key', { status: 401 });
        if (verdict.code) fail(verdict.code, verdict.code === 'tx_too_large' ? `a transaction may be at most ${limits.txBytesMax} bytes` : 'invalid transaction');
        results[c.i] = this.admit(verdict.id, verdict.canonical!, c.env, c.type, c.body, fresh);
      } catch (err) {
        results[c.i] = this.refuse(err);
      }
    });
    if (checked.length > 0) this.deps.queued();
    if (fresh.length > 0) this.deps.admitted?.(fresh, options.relay !== false);
    return Promise.all(results as Array<SubmitResult | Promise<SubmitResult>>);
  }

  private admit(id: string, canonical: string, env: Envelope, type: TxType, body: unknown, fresh: string[]): SubmitResult | Promise<SubmitResult> {
    // A batch whose signatures were being checked when shutdown began must not slip into a
    // mempool that nobody will propose from any more.
    const closed = this.deps.closed();
    if (closed) throw closed;
    const { state, mempool } = this.deps;
    const from = env.tx.from;
    const auth = state.get<AuthRecord>(authKey(from));
    checkTxSender(env, type, auth);
    return new Promise<SubmitResult>((resolve) => {
      const pending: PendingTx = {
        id, env, canonical, parsed: { body },
        resolve: (r) => resolve(r),
        reject: (err) => resolve(this.refuse(err)),
      };
      try {
        mempool.admit(pending, auth?.nonce ?? 0);
        this.stats.txsAccepted++;
        fresh.push(canonical);
      } catch (err) {
        // A retry of a transaction that already committed gets its receipt back; a retry
        // of one still pending waits for the same receipt.
        if (err instanceof TallyError && err.code === 'nonce_used') {
          const existing = this.deps.committedReceipt(id);
          if (existing) return resolve(existing);
        }
        if (err instanceof TallyError && err.code === 'nonce_pending') {
          const twin = mempool.pendingAt(from, env.tx.nonce);
          if (twin && twin.id === id) {
            const [first, firstReject] = [twin.resolve, twin.reject];
            twin.resolve = (r) => { first(r); resolve(r); };
            twin.reject = (e) => { firstReject(e); resolve(this.refuse(e)); };
            return;
          }
        }
        resolve(this.refuse(err));
      }
    });
  }
}
