// One error type for everything a caller can get wrong. The code is stable (clients
// switch on it), the message is for humans, and the HTTP status is chosen here once.

export interface ErrorOptions {
  status?: number;
  details?: Record<string, unknown>;
  hint?: string;
  cause?: unknown;
}

export class TallyError extends Error {
  override readonly name = 'TallyError';
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? 400;
    this.details = options.details;
    this.hint = options.hint;
  }

  toJSON(): { code: string; message: string; details?: Record<string, unknown>; hint?: string } {
    const out: { code: string; message: string; details?: Record<string, unknown>; hint?: string } = {
      code: this.code,
      message: this.message,
    };
    if (this.details) out.details = this.details;
    if (this.hint) out.hint = this.hint;
    return out;
  }
}

export function fail(code: string, message: string, options?: ErrorOptions): never {
  throw new TallyError(code, message, options);
}

/** Programmer errors and broken invariants: crash loudly instead of returning a code. */
export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`);
}

/** Turn anything thrown into the JSON error shape every transport uses. */
export function errorBody(err: unknown): { code: string; message: string; details?: Record<string, unknown>; hint?: string } {
  if (err instanceof TallyError) return err.toJSON();
  return { code: 'internal', message: 'internal error' };
}

export function errorStatus(err: unknown): number {
  return err instanceof TallyError ? err.status : 500;
}
