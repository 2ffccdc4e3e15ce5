// `tally oracle ...`: an oracle operator's commands. The oracle's BIP340 key lives in the
// keystore (<home>/oracle/NAME.json, encrypted, 0600); transactions are signed by the
// --key account that owns the oracle (any account may submit an attestation).
import type { Command } from 'commander';
import { fail } from '../../core/errors.js';
import { flag, int, intFlag, oneOf, string } from '../../core/decode.js';
import type { CliContext } from '../../chain/app-module.js';
import { table } from '../../core/text.js';
import { ORACLE_PROFILES, type OracleProfile } from './bip340.js';
import { BASE_MAX, BASE_MIN, DIGITS_MAX } from './digits.js';
import { runFeed } from './feed.js';
import { createOracleKey, oracleKeyInfo, unlockOracleKey } from './keyfile.js';
import { announceEvent, attestEvent, oracleOnChain, type Operator } from './operator.js';
import { registerBodyFor } from './sign.js';
import { EVENT_ID, type EventRecord } from './state.js';
import { MATURITY_MAX, PRECISION_ABS_MAX } from './txs.js';

type Opts = Record<string, unknown>;

const ORACLE_ENV = 'TALLY_ORACLE_PASSPHRASE';
const oracleKeyOption = ['--oracle-key <name>', 'the oracle key in the keystore (tally oracle keys new)'] as const;
const oraclePassOption = ['--oracle-passphrase-file <file>', `the oracle key's passphrase: first line of a 0600 file (before $${ORACLE_ENV}, $TALLY_PASSPHRASE and the prompt)`] as const;

function oraclePassphrase(cli: CliContext, name: string, opts: Opts, confirm = false): Promise<string> {
  const file = opts.oraclePassphraseFile as string | undefined;
  return cli.passphrase(`Passphrase for oracle key "${name}": `, {
    ...(file !== undefined ? { file } : {}), ...(process.env[ORACLE_ENV] !== undefined ? { envVar: ORACLE_ENV } : {}), confirm,
  });
}

async function operator(cli: CliContext, opts: Opts): Promise<Operator> {
  const keyName = opts.oracleKey as string | undefined;
  if (!keyName) fail('bad_flag', '--oracle-key NAME is required (see `tally oracle keys new`)');
  const home = cli.home(opts);
  oracleKeyInfo(home, keyName); // says key_not_found before asking for a passphrase
  const { secret, pubkey } = unlockOracleKey(home, keyName, await oraclePassphrase(cli, keyName, opts));
  return { home, keyName, secret, pubkey };
}

const eventIdFlag = flag('--event', string({ pattern: EVENT_ID, maxLength: 64, what: 'an event id: 1-64 of A-Z a-z 0-9 . _ : -' }));
/** Unix seconds, or +SECS from now. */
const maturityFlag = (text: string): number => {
  const rel = /^\+(\d{1,9})$/.exec(text);
  if (rel) return Math.floor(Date.now() / 1000) + Number(rel[1]);
  return flag('--maturity', int({ min: 0, max: MATURITY_MAX, text: true, what: 'unix seconds, or +SECS from now' }))(text);
};
const precisionFlag = flag('--precision', int({ min: -PRECISION_ABS_MAX, max: PRECISION_ABS_MAX, text: true }));

/** The digit-decomposition flags announce and feed share. */
function shapeOptions(c: Command): Command {
  return c
    .option('--base <n>', `digit base, ${BASE_MIN}-${BASE_MAX}`, intFlag('--base', BASE_MIN, BASE_MAX), 10)
    .option('--digits <n>', `number of digits, 1-${DIGITS_MAX}`, intFlag('--digits', 1, DIGITS_MAX), 7)
    .option('--signed', 'outcomes may be negative (one more nonce, for the sign)')
    .option('--unit <text>', 'the unit of the value', 'USD')
    .option('--precision <n>', 'value = outcome × 10^precision (e.g. -2 for cents)', precisionFlag, 0);
}

function shapeOf(opts: Opts) {
  return { base: opts.base as number, signed: opts.signed === true, digits: opts.digits as number, unit: opts.unit as string, precision: opts.precision as number };
}

/** "OUTCOME:SIG" as an evidence half: a 64-hex OUTCOME is the BIP340 message itself. */
function evidencePart(text: string): { outcome?: string; message?: string; sig: string } {
  const cut = text.lastIndexOf(':');
  const head = text.slice(0, Math.max(cut, 0));
  const sig = text.slice(cut + 1);
  if (cut < 1 || !/^[0-9a-f]{128}$/.test(sig)) fail('bad_args', `"${text.slice(0, 40)}..." is not OUTCOME:SIG (SIG: 128 lowercase hex)`);
  return /^[0-9a-f]{64}$/.test(head) ? { message: head, sig } : { outcome: head, sig };
}

export function oracleCli(program: Command, cli: CliContext): void {
  const oracle = program.command('oracle').description('run a BIP340 oracle: keys, register, announce, attest, and a reference price feed');

  const keys = oracle.command('keys').description('oracle keys (BIP340 secp256k1, encrypted in the keystore, files mode 0600)');
  keys.command('new').argument('<name>', 'key name').description('create an oracle key, encrypted with a passphrase')
    .option('--home <dir>', 'keystore directory (default: $TALLY_HOME or ~/.tally)').option(...oraclePassOption).option('--json', 'print JSON')
    .action(async (name: string, opts: Opts) => {
      const info = createOracleKey(cli.home(opts), name, await oraclePassphrase(cli, name, opts, true));
      cli.output(opts, info, () => `created oracle key "${info.name}"\n` + table([['public key', info.pubkey], ['file', info.path]]) +
        `\nnext: tally oracle register --oracle-key ${info.name} --name "..." --profile dlcspecs-v0`);
    });
  keys.command('show').argument('<name>', 'key name').description("an oracle key's public key (no passphrase needed)")
    .option('--home <dir>', 'keystore directory (default: $TALLY_HOME or ~/.tally)').option('--json', 'print JSON')
    .action((name: string, opts: Opts) => {
      const info = oracleKeyInfo(cli.home(opts), name);
      cli.output(opts, info, () => table([['name', info.name], ['public key', info.pubkey], ['file', info.path], ['created', info.created]]));
    });

  cli.clientOptions(oracle.command('register').description('register the oracle key on chain, owned by the --key account'))
    .option(...oracleKeyOption).option(...oraclePassOption)
    .requiredOption('--name <text>', 'a name for the oracle (1-64 bytes)')
    .option('--profile <profile>', `message format: ${ORACLE_PROFILES.join(' or ')} (README, "Oracles")`, flag('--profile', oneOf(ORACLE_PROFILES)), 'dlcspecs-v0')
    .action(async (opts: Opts) => {
      const op = await operator(cli, opts);
      const { chain } = (await cli.call('node.info', {}, opts)) as { chain: string };
      const body = registerBodyFor(op.secret, chain, cli.currentAccountId(opts), opts.profile as OracleProfile, opts.name as string);
      const receipt = await cli.submitTx('oracle.register', body as unknown as Opts, opts);
      cli.output(opts, { oracle: op.pubkey, profile: body.profile, receipt }, () => `registered oracle ${op.pubkey} (${body.profile}) at block ${receipt.height}`);
    });

  shapeOptions(cli.clientOptions(oracle.command('announce').description('announce an event: fresh nonces, stored encrypted here and used once')))
    .option(...oracleKeyOption).option(...oraclePassOption)
    .requiredOption('--event <id>', 'event id (unique per oracle)', eventIdFlag)
    .requiredOption('--maturity <time>', 'earliest attestation time: unix seconds, or +SECS from now', maturityFlag)
    .action(async (opts: Opts) => {
      const op = await operator(cli, opts);
      const { receipt, nonces } = await announceEvent(cli, op, { ...shapeOf(opts), eventId: opts.event as string, maturity: opts.maturity as number }, opts);
      cli.output(opts, { oracle: op.pubkey, eventId: opts.event, maturity: opts.maturity, nonces, receipt },
        () => `announced "${opts.event as string}" (matures ${new Date((opts.maturity as number) * 1000).toISOString()}) at block ${receipt.height}`);
    });

  cli.clientOptions(oracle.command('attest').description('attest an event announced from this keystore: the value is split into digits (clamped to the range) and signed'))
    .argument('<event>', 'event id').argument('<value>', 'the value, a decimal number in the event\'s unit (e.g. 97123.45)')
    .option(...oracleKeyOption).option(...oraclePassOption)
    .action(async (event: string, value: string, opts: Opts) => {
      const op = await operator(cli, opts);
      const r = await attestEvent(cli, op, eventIdFlag(event), value, opts, Date.now());
      cli.output(opts, { oracle: op.pubkey, ...r }, () => r.already
        ? `event "${event}" was already attested: outcome ${r.outcome}`
        : `attested "${event}": digits ${r.outcomes.join(' ')} (outcome ${r.outcome}${r.clamped ? ', clamped to the range' : ''}) at block ${r.receipt!.height}`);
    });

  cli.clientOptions(oracle.command('show').description('an oracle as the chain has it, and its latest events').argument('<pubkey>', "the oracle's x-only public key (64 hex)"))
    .action(async (pubkey: string, opts: Opts) => {
      const o = await oracleOnChain(cli, pubkey, opts);
      const events = (await cli.query('oracle.events', { oracle: pubkey, limit: 50 }, opts)) as { items: EventRecord[] };
      cli.output(opts, { ...o, recent: events.items }, () => table([['oracle', o.pubkey], ['name', o.name], ['owner', o.owner], ['profile', o.profile], ['status', o.status], ['events', String(o.events)]]) + '\n' +
        table(events.items.map((e) => [e.eventId, `${new Date(e.maturity * 1000).toISOString()}  ${e.status}${e.attestation ? `  outcome ${e.attestation.outcome}` : ''}`])));
    });

  cli.clientOptions(oracle.command('evidence')
    .description("submit evidence of nonce reuse: two signatures by the oracle with one R over different outcomes freeze it")
    .argument('<pubkey>', "the oracle's x-only public key (64 hex)")
    .argument('<first>', 'OUTCOME:SIG (OUTCOME an outcome string, or the 32-byte message in 64 hex; SIG 128 hex)')
    .argument('<second>', 'OUTCOME:SIG, another message signed with the same R'))
    .action(async (pubkey: string, first: string, second: string, opts: Opts) => {
      const receipt = await cli.submitTx('oracle.evidence', { oracle: pubkey, a: evidencePart(first), b: evidencePart(second) }, opts);
      cli.output(opts, { oracle: pubkey, receipt }, () => `oracle ${pubkey} is frozen (block ${receipt.height})`);
    });

  shapeOptions(cli.clientOptions(oracle.command('feed').description('a reference price feed: announce on a schedule, attest from a file or URL at each maturity')))
    .option(...oracleKeyOption).option(...oraclePassOption)
    .requiredOption('--source <file|url>', 'where the price is read: a file or http(s) URL holding a decimal number or JSON {"price": ...}')
    .option('--every <secs>', 'seconds between events', intFlag('--every', 1, 86_400), 60)
    .option('--prefix <text>', 'event id prefix (events are PREFIX-MATURITY)', flag('--prefix', string({ pattern: /^[A-Za-z0-9][A-Za-z0-9._:-]{0,40}$/, maxLength: 41, what: '1-41 of A-Z a-z 0-9 . _ : -' })), 'price')
    .option('--count <n>', 'stop after this many attestations (default: run until interrupted)', intFlag('--count', 1, 1_000_000))
    .action(async (opts: Opts) => {
      const op = await operator(cli, opts);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
      try {
        const done = await runFeed(cli, op, {
          source: opts.source as string, everySecs: opts.every as number, prefix: opts.prefix as string, shape: shapeOf(opts),
          ...(opts.count !== undefined ? { count: opts.count as number } : {}),
        }, opts, (line) => process.stderr.write(`${line}\n`), stop.signal);
        cli.output(opts, { oracle: op.pubkey, attested: done }, () => `attested ${done.length} event(s)`);
      } finally {
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      }
    });
}
