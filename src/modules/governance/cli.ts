// `tally governance ...`: propose, deposit, vote, list, show, params. Transactions are
// signed by the --key account. A validator votes with its node key: import node.key into
// the keystore once (`tally keys import <data>/node.key --name val`), register it as an
// account, then `tally governance vote ID yes --key val`.
import fs from 'node:fs';
import type { Command } from 'commander';
import { fail } from '../../core/errors.js';
import { flag, int } from '../../core/decode.js';
import type { CliContext } from '../../chain/app-module.js';
import { table } from '../../core/text.js';
import { PARAM_NAMES } from './params.js';

type Opts = Record<string, unknown>;
const OPTIONS = ['yes', 'no', 'abstain', 'veto'] as const;
const proposalId = flag('proposal id', int({ min: 1, text: true, what: 'a proposal id (a positive integer)' }));

interface ProposalView {
  id: number;
  status: string;
  content: { kind: string; [k: string]: unknown };
  proposer?: string;
  deposit?: string;
  votingEnd?: number;
  executeAt?: number;
  [k: string]: unknown;
}

const summary = (p: ProposalView) => {
  const c = p.content;
  return c.kind === 'param' ? `${String(c.name)} = ${String(c.value)}`
    : c.kind === 'validator' ? `${String(c.action)} validator ${String(c.key).slice(0, 12)}...${c.power !== undefined ? ` power ${String(c.power)}` : ''}`
    : `text: ${String(c.title)}`;
};

/** A validator entry file (`tally validator keys show --json`): {key, blsKey, pop, power}. */
function readEntry(file: string): { key: string; blsKey: string; pop: string; power: number } {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    fail('file_unreadable', `cannot read validator entry ${file}: ${(err as Error).message}`);
  }
  if (typeof e.key !== 'string' || typeof e.blsKey !== 'string' || typeof e.pop !== 'string') fail('bad_args', `${file} is not a validator entry {key, blsKey, pop, power} (tally validator keys show --json)`);
  return { key: e.key, blsKey: e.blsKey, pop: e.pop, power: Number(e.power ?? 1) };
}

export function governanceCli(program: Command, cli: CliContext): void {
  const gov = program.command('governance').description('chain governance: propose parameter and validator changes, deposit, vote (validators), list and show proposals');
  const receiptLine = (r: { height: number; id: string; events: Array<{ type: string; proposal?: number }> }) => {
    const proposed = r.events.find((e) => e.type === 'governance.proposed');
    return `${proposed ? `proposal ${proposed.proposal}: ` : ''}committed in block ${r.height} (tx ${r.id})`;
  };
  const submit = async (body: Opts, opts: Opts, type = 'governance.propose') => {
    const r = await cli.submitTx(type, body, opts);
    if (r.status !== 'ok') fail(r.code ?? 'failed', `the chain refused it: ${r.code ?? 'failed'}`, { status: 422 });
    cli.output(opts, r, () => receiptLine(r as never));
  };

  const propose = gov.command('propose').description('make a proposal; the --deposit (ledger amount) is held until the tally');
  const depositOption = (c: Command) => cli.clientOptions(c).requiredOption('--deposit <amount>', 'deposit, a ledger amount (e.g. 0.001); voting opens once deposits reach minDeposit');
  depositOption(propose.command('param').argument('<name>', `one of ${PARAM_NAMES.join(', ')}`).argument('<value>', 'an integer within the parameter\'s bounds (tally governance params)')
    .description('change a chain parameter'))
    .action((name: string, value: string, opts: Opts) => submit({ kind: 'param', name, value: flag('value', int({ min: 0, text: true }))(value), deposit: opts.deposit }, opts));
  depositOption(propose.command('add-validator').argument('<entry-file>', 'the new validator\'s entry (tally validator keys show --json on its machine)')
    .option('--power <n>', 'voting power (default: the entry\'s)').description('add a validator to the set'))
    .action((file: string, opts: Opts) => {
      const e = readEntry(file);
      return submit({ kind: 'validator', action: 'add', key: e.key, blsKey: e.blsKey, pop: e.pop, power: opts.power !== undefined ? Number(opts.power) : e.power, deposit: opts.deposit }, opts);
    });
  depositOption(propose.command('remove-validator').argument('<key>', 'the validator\'s Ed25519 key (base64url)').description('remove a validator from the set'))
    .action((key: string, opts: Opts) => submit({ kind: 'validator', action: 'remove', key, deposit: opts.deposit }, opts));
  depositOption(propose.command('power').argument('<key>', 'the validator\'s Ed25519 key (base64url)').argument('<power>', 'its new voting power').description('change a validator\'s voting power'))
    .action((key: string, power: string, opts: Opts) => submit({ kind: 'validator', action: 'power', key, power: flag('power', int({ min: 1, text: true }))(power), deposit: opts.deposit }, opts));
  depositOption(propose.command('text').argument('<title>', 'up to 140 bytes').option('--body <text>', 'up to 3,000 bytes', '').description('a signal with no effect'))
    .action((title: string, opts: Opts) => submit({ kind: 'text', title, body: opts.body, deposit: opts.deposit }, opts));

  cli.clientOptions(gov.command('deposit').argument('<proposal>', 'proposal id').argument('<amount>', 'a ledger amount').description('add to a proposal\'s deposit'))
    .action((id: string, amount: string, opts: Opts) => submit({ proposal: proposalId(id), amount }, opts, 'governance.deposit'));

  cli.clientOptions(gov.command('vote').argument('<proposal>', 'proposal id').argument('<option>', OPTIONS.join(' | '))
    .description('vote as a validator (the --key must be the validator\'s node key, imported with tally keys import)'))
    .action((id: string, option: string, opts: Opts) => {
      if (!(OPTIONS as readonly string[]).includes(option)) fail('bad_args', `the option is one of ${OPTIONS.join(', ')}`);
      return submit({ proposal: proposalId(id), option }, opts, 'governance.vote');
    });

  cli.clientOptions(gov.command('list').description('proposals in id order').option('--after <id>', 'the page after this id'))
    .action(async (opts: Opts) => {
      const page = (await cli.query('governance.proposals', { ...(opts.after !== undefined ? { after: String(opts.after) } : {}) }, opts)) as { items: ProposalView[]; next?: number | null };
      cli.output(opts, page, () => (page.items.length === 0 ? 'no proposals' : table(page.items.map((p) => [`#${p.id}`, `${p.status.padEnd(9)} ${summary(p)}`]))));
    });
  cli.clientOptions(gov.command('show').argument('<proposal>', 'proposal id').description('one proposal: content, status, deposits, votes so far'))
    .action(async (id: string, opts: Opts) => {
      const p = (await cli.query('governance.proposal', { id: String(proposalId(id)) }, opts)) as ProposalView;
      cli.output(opts, p, () => `proposal ${p.id} (${p.status}): ${summary(p)}\n` + JSON.stringify(p, null, 2));
    });
  cli.clientOptions(gov.command('params').description('every governable parameter: value in force, default, bounds'))
    .action(async (opts: Opts) => {
      const ps = (await cli.query('governance.params', {}, opts)) as Array<{ name: string; value: number; default: number; min: number; max: number; doc: string }>;
      cli.output(opts, ps, () => table(ps.map((p) => [p.name, `${p.value} (default ${p.default}, ${p.min}..${p.max}): ${p.doc}`])));
    });
}
