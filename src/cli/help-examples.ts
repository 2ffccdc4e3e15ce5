// Examples at the end of `--help` for the commands people run most, kept in one table so
// that a test can check each one against the program tree (a renamed command or flag
// fails it instead of leaving a stale example).
import type { Command } from 'commander';
import { assert } from '../core/errors.js';

/** [command line, what it does] by command path. */
export const HELP_EXAMPLES: Record<string, Array<[string, string]>> = {
  'init': [
    ['tally init --data /srv/tally --chain our-town --decimals 2 --policy invite --admin alice', 'a new chain whose genesis admin is the keystore key "alice"'],
  ],
  'node': [
    ['tally node --dev', 'a development chain in ~/.tally/node, created if missing, with an admin key'],
    ['tally node --data /srv/tally --http 127.0.0.1:7700 --trust-proxy 127.0.0.1', 'a node behind a reverse proxy on the same host'],
    ['tally node --data /srv/tally --config /etc/tally/config.json --http off', 'socket only, module settings from a config file'],
  ],
  'keys new': [
    ['tally keys new alice', 'an encrypted key (asks for a passphrase; TALLY_PASSPHRASE for scripts)'],
  ],
  'register': [
    ['tally keys new alice && tally register alice --key alice', 'a key and its account'],
    ['tally register alice --invite eyJhZG1p...', 'on a chain that registers by invitation'],
  ],
  'send': [
    ['tally send bob 12.5 --memo lunch', 'checks bob, yourself and your balance first, then signs bob\'s account id'],
    ['tally send bob 12.5 --key savings --node http://127.0.0.1:7700', 'another key, a node over HTTP'],
    ['tally send bob 5000 --force', 'sign even though the node says it would fail (uses a nonce)'],
  ],
  'history': [
    ['tally history --with bob --since 2026-11-01', 'your transactions with bob since a date, whole ids to copy'],
    ['tally history alice --limit 50 --json', 'for scripts; page on with --cursor NEXT'],
  ],
  'contest': [
    ['tally contest 4f1c2d3e --reason "never arrived"', 'a transfer by a unique prefix of its id'],
  ],
  'resolve': [
    ['tally resolve 3 reverse --note "refunded: goods not delivered" --key admin', 'an admin returns what the hold covers'],
  ],
  'tx': [
    ['tally tx 4f1c2d3e', 'a transaction by a unique prefix of its id, its proof checked'],
  ],
  'chain verify': [
    ['tally chain verify --data ~/.tally/node', 'replay a data directory offline (the node may keep running)'],
    ['tally chain verify --node http://127.0.0.1:7700 --genesis genesis.json --node-key KEY', 'a remote node, trusting only a genesis and a key you hold'],
  ],
  'bench': [
    ['tally bench --duration 5', 'a fresh dev node, 5 seconds per transport'],
    ['tally bench --node http://127.0.0.1:7700 --socket ~/.tally/node/tally.sock', 'a running dev node over HTTP and its socket'],
    ['tally bench --node https://ledger.example.org --yes', 'a chain that is not a dev chain: it keeps the accounts and transfers'],
  ],
  'keys backup': [
    ['tally keys backup --out ~/tally-keys.backup', 'every key of the keystore in one encrypted file (asks for a backup passphrase twice)'],
  ],
  'keys restore': [
    ['tally keys restore ~/tally-keys.backup --home ~/.tally', 'checked whole first; files that differ are replaced only with --force'],
  ],
  'oracle feed': [
    ['tally oracle feed --oracle-key prices --key alice --source https://prices.example.org/btcusd.json --every 60 --digits 9 --precision -2 --unit USD', 'announce a BTC/USD event each minute and attest it at maturity'],
  ],
  'oracle attest': [
    ['tally oracle attest btcusd-1700000000 97123.45 --oracle-key prices --key alice', 'split into digits, clamped to the range, signed with the announced nonces'],
  ],
  'completion': [
    ['source <(tally completion bash)', 'bash, this shell; for good: tally completion bash > /etc/bash_completion.d/tally'],
    ['tally completion zsh > "${fpath[1]}/_tally"', 'zsh, then start a new shell'],
  ],
};

/** The command at a path of subcommand names ("chain verify"), or undefined. */
export function commandAt(root: Command, path: string): Command | undefined {
  let cmd: Command | undefined = root;
  for (const name of path.split(' ')) cmd = cmd?.commands.find((c) => c.name() === name);
  return cmd;
}

export function addHelpExamples(root: Command): void {
  for (const [path, examples] of Object.entries(HELP_EXAMPLES)) {
    const cmd = commandAt(root, path);
    assert(cmd, `help examples: no command "${path}"`);
    // What it does as a shell comment above it: every line can be pasted as it is.
    cmd.addHelpText('after', `\nExamples:\n${examples.map(([line, what]) => `  # ${what}\n  ${line}`).join('\n')}`);
  }
}
