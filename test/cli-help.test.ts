// Examples in --help: the main commands show them, and every example is a command line the
// real program parses (its command, flags, flag values and arguments), so an example
// cannot go stale when a command or flag changes.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/main.js';
import { HELP_EXAMPLES } from '../src/cli/help-examples.js';
import { cleanup, cli, tempDir, TALLY_BIN } from './helpers.js';

/** The `tally ...` invocations in a shell line, as argument lists (quotes removed). */
function invocations(line: string): string[][] {
  const inner = /^source <\((.*)\)$/.exec(line)?.[1] ?? line;
  return inner.split('&&').map((part) => {
    const words = [...part.replace(/\s>\s.*$/, '').matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
    assert.equal(words[0], 'tally', `an example runs tally: ${line}`);
    return words.slice(1);
  });
}

/** The program with every action replaced by nothing and every exit turned into a throw. */
function dryProgram(): Command {
  const program = buildProgram();
  const quiet = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} }).action(() => {});
    for (const c of cmd.commands) quiet(c);
  };
  for (const c of program.commands) quiet(c);
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  return program;
}

describe('examples in --help', { timeout: 60_000 }, () => {
  after(cleanup);

  it('the main commands have examples: node, init, send, register, chain verify, bench, completion', () => {
    for (const path of ['node', 'init', 'send', 'register', 'history', 'contest', 'chain verify', 'bench', 'completion']) {
      assert.ok(HELP_EXAMPLES[path]?.length, `examples for tally ${path}`);
    }
  });

  it('every example parses with the real program: command, flags, values, arguments', async () => {
    let count = 0;
    for (const [path, examples] of Object.entries(HELP_EXAMPLES)) {
      for (const [line] of examples) {
        for (const args of invocations(line)) {
          await assert.doesNotReject(dryProgram().parseAsync(args, { from: 'user' }), `tally ${args.join(' ')} (an example of tally ${path})`);
          count++;
        }
      }
    }
    assert.ok(count >= 20, `${count} examples parsed`);
    // and the check itself catches a stale one
    await assert.rejects(dryProgram().parseAsync(['send', 'bob', '1', '--no-such-flag'], { from: 'user' }));
    await assert.rejects(dryProgram().parseAsync(['bench', '--duration', 'abc'], { from: 'user' }));
  });

  it('`tally bench --help | head`: a reader that closes the pipe early gets no stack trace', async () => {
    // The pipe's reader is gone before the help is written: each write fails with EPIPE.
    const child = spawn(process.execPath, [TALLY_BIN, 'bench', '--help'], { env: { ...process.env, TALLY_HOME: tempDir() }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += String(d); });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(stderr, '', 'nothing on stderr');
    assert.equal(code, 141, 'the exit status of a process that SIGPIPE stopped');
  });

  it('--help prints them after the options', async () => {
    const home = tempDir();
    for (const path of ['node', 'send', 'chain verify', 'bench']) {
      const r = await cli(home, [...path.split(' '), '--help']);
      assert.equal(r.code, 0, r.stderr);
      const at = r.stdout.indexOf('\nExamples:\n');
      assert.ok(at > r.stdout.indexOf('Options:'), `tally ${path} --help ends with examples:\n${r.stdout}`);
      for (const [line, what] of HELP_EXAMPLES[path]!) {
        assert.ok(r.stdout.includes(`  # ${what}\n  ${line}\n`) || r.stdout.endsWith(`  # ${what}\n  ${line}`), `${line} in tally ${path} --help`);
      }
    }
  });
});
