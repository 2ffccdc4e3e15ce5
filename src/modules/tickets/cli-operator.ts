// `tally ticket spend|revoke|list`: the service operator's commands. They talk to the node's
// internal listener (loopback by default; spend, revoke and the token list are served
// nowhere else), so they work only from the node's machine or through a tunnel to it.
import type { Command } from 'commander';
import { intFlag } from '../../core/decode.js';
import { fail } from '../../core/errors.js';
import type { CliContext } from '../../chain/app-module.js';
import { call, tokenArg, type ApiOptions, type Reply } from './cli.js';
import { TOKEN_PAGE_DEFAULT, TOKEN_PAGE_MAX } from './service.js';

const DEFAULT_INTERNAL = 'http://127.0.0.1:7701';
/** Pages `list --all` reads at most (500 tokens each). */
const LIST_ALL_PAGES_MAX = 10_000;

interface InternalOptions extends ApiOptions {
  internal?: string;
}

function internal(cmd: Command): Command {
  return cmd
    .option('--internal <url|socket>', `the node's internal listener (default: $TALLY_INTERNAL_API, else ${DEFAULT_INTERNAL})`)
    .option('--json', 'print JSON for scripts');
}

function withInternal<T extends InternalOptions>(opts: T): T {
  return { ...opts, internal: opts.internal ?? process.env.TALLY_INTERNAL_API ?? DEFAULT_INTERNAL };
}

function tokenLine(t: Reply): string {
  return `${t.hash.slice(0, 16)}  ${t.status.padEnd(7)}  ${t.source.padEnd(6)}  balance ${t.balance}  spent ${t.spent}  issued ${t.issued_at}` +
    (t.revoked_at ? `  revoked ${t.revoked_at} (${t.revoke_reason})` : '');
}

export function operatorTicketsCli(ticket: Command, cli: CliContext): void {
  const show = (o: InternalOptions, value: unknown, human: () => string) => cli.output(o as Record<string, unknown>, value, human);

  internal(ticket.command('spend').argument('<token>', 'service token (64 hex), or - to read it from stdin').argument('<amount>', 'amount to debit (decimal, in the token\'s units)')
    .description('operator: debit usage from a token (never below zero); internal listener'))
    .action(async (token: string, amount: string, opts: InternalOptions) => {
      const r = await call(withInternal(opts), 'POST', `/api/v1/token/${tokenArg(token)}/spend`, { amount });
      show(opts, r, () => `spent ${amount}: balance ${r.balance} (${r.source}), spent in all ${r.spent}`);
    });

  internal(ticket.command('revoke').argument('[token]', 'service token (64 hex), or - to read it from stdin')
    .option('--hash <hash>', 'the token\'s hash instead, as `tally ticket list` shows it')
    .requiredOption('--reason <text>', 'why (1 to 256 bytes; kept with the token)')
    .description('operator: revoke a token (or, with --hash, the token of that hash) for good; internal listener'))
    .action(async (token: string | undefined, opts: InternalOptions & { reason: string; hash?: string }) => {
      if ((token === undefined) === (opts.hash === undefined)) fail('bad_args', 'give either a TOKEN or --hash HASH');
      const path = opts.hash !== undefined ? `/api/v1/tokens/${encodeURIComponent(opts.hash)}/revoke` : `/api/v1/token/${tokenArg(token!)}/revoke`;
      const r = await call(withInternal(opts), 'POST', path, { reason: opts.reason });
      show(opts, r, () => `revoked at ${r.revoked_at} (${r.revoke_reason}); balance left ${r.balance} (${r.source})`);
    });

  internal(ticket.command('list')
    .option('--status <status>', 'only active or only revoked tokens')
    .option('--limit <n>', `tokens per page (1 to ${TOKEN_PAGE_MAX})`, intFlag('--limit', 1, TOKEN_PAGE_MAX), TOKEN_PAGE_DEFAULT)
    .option('--cursor <cursor>', 'the next page: next_cursor of the page before')
    .option('--all', 'every page, one after another')
    .description('operator: tokens issued, newest first, by hash (tokens themselves are not stored); internal listener'))
    .action(async (opts: InternalOptions & { status?: string; limit: number; cursor?: string; all?: boolean }) => {
      if (opts.status !== undefined && opts.status !== 'active' && opts.status !== 'revoked') fail('bad_flag', '--status must be active or revoked');
      const tokens: Reply[] = [];
      let cursor = opts.cursor;
      let next: string | null = null;
      for (let pages = 0; pages < LIST_ALL_PAGES_MAX; pages++) {
        const q = new URLSearchParams({ limit: String(opts.limit) });
        if (opts.status) q.set('status', opts.status);
        if (cursor) q.set('cursor', cursor);
        const page = await call(withInternal(opts), 'GET', `/api/v1/tokens?${q}`);
        tokens.push(...(page.tokens as Reply[]));
        next = page.next_cursor as string | null;
        if (!opts.all || !next) break;
        cursor = next;
      }
      show(opts, { tokens, next_cursor: next }, () => [
        tokens.length ? tokens.map(tokenLine).join('\n') : 'no tokens',
        next ? `more: tally ticket list --cursor ${next}${opts.status ? ` --status ${opts.status}` : ''}` : undefined,
      ].filter(Boolean).join('\n'));
    });
}
