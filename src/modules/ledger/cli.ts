// `tally register`, `tally send`, `tally balance`.
import type { Command } from 'commander';
import type { CliContext, Receipt } from '../../chain/module.js';

function receiptLine(r: Receipt): string {
  return `committed in block ${r.height} (tx ${r.id})`;
}

export function ledgerCli(program: Command, cli: CliContext): void {
  cli.clientOptions(
    program.command('register')
      .argument('<name>', 'account name: a lowercase letter, then up to 31 of a-z 0-9 _ -')
      .description('register an account for your key (signed by that key; the chain may grant a starting balance)'),
  ).action(async (name: string, opts: Record<string, unknown>) => {
    const receipt = await cli.submitTx('ledger.register', { name }, opts);
    cli.output(opts, receipt, () => {
      const grant = receipt.events.find((e) => e.type === 'ledger.transfer');
      return `registered "${name}"${grant ? ` with a starting grant of ${String(grant.amount)}` : ''}; ${receiptLine(receipt)}`;
    });
  });

  cli.clientOptions(
    program.command('send')
      .argument('<to>', 'recipient account name or id')
      .argument('<amount>', 'decimal amount, e.g. 12.5')
      .option('--memo <text>', 'a note for the recipient (at most 256 bytes)')
      .description('send coins to another account'),
  ).action(async (to: string, amount: string, opts: Record<string, unknown>) => {
    const body: Record<string, unknown> = { to, amount };
    if (typeof opts.memo === 'string') body.memo = opts.memo;
    const receipt = await cli.submitTx('ledger.send', body, opts);
    cli.output(opts, receipt, () => `sent ${amount} to ${to}; ${receiptLine(receipt)}`);
  });

  cli.clientOptions(
    program.command('balance')
      .argument('[name]', 'account name or id (default: the account of --key)')
      .description('show an account balance: total, held and available'),
  ).action(async (name: string | undefined, opts: Record<string, unknown>) => {
    const account = name ?? cli.currentAccountId(opts);
    const result = (await cli.query('ledger.balance', { account }, opts)) as { name: string; id: string; total: string; held: string; available: string };
    cli.output(opts, result, () => `${result.name}  total ${result.total}  held ${result.held}  available ${result.available}`);
  });
}
