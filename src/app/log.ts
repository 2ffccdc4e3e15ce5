// The node's log: pino records on stderr (stdout carries only command output, e.g. the
// `--json` listening line). Readable text by default, JSON lines with `--log-format json`.
// Both write synchronously on the main thread: a record is on stderr before the next line
// runs, so a crash or `process.exit` never loses the reason, and no worker thread is spawned.
import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { redactUrlCredentials } from '../core/text.js';

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Fields never written as they are, wherever they appear one level deep: a record that
 * carries one (by mistake or from an error's details) shows "[redacted]" instead.
 */
export const REDACT_PATHS: readonly string[] = [
  'passphrase', 'password', 'secret', 'privateKey', 'private_der', 'token', 'authorization', 'cookie',
  '*.passphrase', '*.password', '*.secret', '*.privateKey', '*.private_der', '*.token', '*.authorization', '*.cookie',
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie',
];

export interface LogOptions {
  format: LogFormat;
  level: LogLevel;
}

/** A logger writing to `destination` (default: stderr, file descriptor 2). */
export function createLogger(options: LogOptions, destination?: DestinationStream): Logger {
  const base = {
    level: options.level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    hooks: {
      // Messages are free text (module services log lines they build from errors): the
      // one secret such text is known to carry, credentials in a URL, is cut out.
      logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void) {
        const a = args as unknown[];
        for (let i = 0; i < a.length; i++) if (typeof a[i] === 'string') a[i] = redactUrlCredentials(a[i] as string);
        method.apply(this, a);
      },
    },
  };
  if (options.format === 'json') return pino(base, destination ?? pino.destination({ dest: 2, sync: true }));
  // Text: one readable line per record; the structured fields stay in the JSON format
  // (each message already says what they say), except an error's stack, which is kept.
  const stream = pretty({
    destination: destination ?? 2,
    sync: true,
    colorize: destination === undefined && Boolean(process.stderr.isTTY),
    translateTime: 'UTC:yyyy-mm-dd\'T\'HH:MM:ss.l\'Z\'',
    ignore: 'pid,hostname',
    hideObject: true,
    messageFormat: (log, messageKey) => {
      const msg = String(log[messageKey] ?? '');
      const err = log.err as { stack?: string } | undefined;
      return err?.stack ? `${msg}\n${err.stack}` : msg;
    },
  });
  return pino(base, stream);
}

let current: Logger | undefined;

/** The process's logger: text at info until `useLogger` installs the configured one. */
export function log(): Logger {
  current ??= createLogger({ format: 'text', level: 'info' });
  return current;
}

export function useLogger(logger: Logger): void {
  current = logger;
}
