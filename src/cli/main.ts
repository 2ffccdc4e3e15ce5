// The `tally` command: the node and its users share one binary.
import fs from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerChainCommands } from './commands-chain.js';
import { registerStateCommands } from './commands-state.js';
import { registerKeyCommands } from './commands-keys.js';
import { registerValidatorCommands } from './commands-validator.js';
import { registerNodeCommands } from './commands-node.js';
import { registerBenchCommand } from './commands-bench.js';
import { registerBackupCommands } from './commands-backup.js';
import { registerCompletionCommand } from './completion.js';
import { addHelpExamples } from './help-examples.js';
import { cliContext } from './context.js';
import { reportError, reportErrorAsLog } from './output.js';
import { createLogger } from '../app/log.js';
import { TallyError } from '../core/errors.js';
import { ED25519_PUB_B64U } from '../core/base64url.js';
import { allModules } from '../modules/index.js';

const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('tally')
    .description('Tally: a self-hosted verifiable ledger. Run a node, hold keys, send signed requests, verify the chain.')
    .version(pkg.version)
    .showHelpAfterError()
    .exitOverride();
  registerNodeCommands(program);
  registerKeyCommands(program);
  registerValidatorCommands(program);
  for (const m of allModules) m.app.cli?.(program, cliContext);
  registerChainCommands(program);
  registerStateCommands(program);
  registerBenchCommand(program);
  registerBackupCommands(program);
  registerCompletionCommand(program, pkg.version);
  addHelpExamples(program);
  return program;
}

/** `--log-format json` (only `tally node` has it): failures are then log records too. */
function logsAsJson(argv: string[]): boolean {
  return argv.some((a, i) => a === '--log-format=json' || (a === '--log-format' && argv[i + 1] === 'json'));
}

/** A base64url public key (32 bytes): one in 64 starts with '-'. No option is this long. */
const isDashKey = (arg: string): boolean => arg.startsWith('-') && ED25519_PUB_B64U.test(arg);

/**
 * Commander reads an argument that starts with '-' as options, so `tally whoami -gJS…`
 * fails as an unknown option. Only "--" before it makes it an argument: say so.
 */
function hintDashKey(args: string[]): void {
  const at = args.findIndex(isDashKey);
  if (at < 0 || args.slice(0, at).includes('--')) return;
  const words = args.slice(0, at).filter((a, i, all) => !a.startsWith('-') && !(all[i - 1] ?? '').startsWith('-'));
  process.stderr.write(`tally: ${args[at]} looks like a key that starts with "-": write it after "--", as in: tally ${[...words, '[options]'].join(' ')} -- ${args[at]}\n`);
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      if (err.code === 'commander.unknownOption') hintDashKey(argv.slice(2));
      return;
    }
    const code = logsAsJson(argv) ? reportErrorAsLog(err, json, createLogger({ format: 'json', level: 'info' })) : reportError(err, json);
    // A flag value refused by its decoder is a usage error, like commander's own.
    process.exitCode = err instanceof TallyError && err.code === 'bad_flag' ? 2 : code;
  }
}
