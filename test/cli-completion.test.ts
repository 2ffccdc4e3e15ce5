// `tally completion bash|zsh`: the scripts are valid shell, and they complete exactly the
// commands and flags of the program tree (asked of a real bash with COMP_WORDS set, the
// way bash's programmable completion calls the function).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/main.js';
import { cleanup, cli, tempDir } from './helpers.js';

const hasZsh = spawnSync('zsh', ['--version']).status === 0;

/** What bash offers for the words typed so far (the last one is being completed). */
function bashComplete(script: string, words: string[]): string[] {
  const array = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const out = execFileSync('bash', ['--norc', '-c', `source ${script}; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _tally; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).sort();
}

const names = (cmds: readonly Command[]): string[] => cmds.map((c) => c.name()).sort();

describe('tally completion', { timeout: 60_000 }, () => {
  after(cleanup);
  const dir = tempDir();
  const program = buildProgram();

  it('bash: the script is valid (bash -n) and completes the real subcommands, at every level', async () => {
    const r = await cli(dir, ['completion', 'bash']);
    assert.equal(r.code, 0, r.stderr);
    const script = path.join(dir, 'tally.bash');
    fs.writeFileSync(script, r.stdout);
    execFileSync('bash', ['-n', script]);
    assert.match(r.stdout, /complete -o default -F _tally tally/);

    const top = bashComplete(script, ['tally', '']);
    assert.deepEqual(top, names(program.commands));
    for (const must of ['node', 'send', 'register', 'chain', 'bench', 'completion', 'keys', 'tx']) assert.ok(top.includes(must), must);
    const groups = program.commands.filter((c) => c.commands.length > 0);
    assert.ok(groups.length >= 3, 'keys, chain, bench, ... have subcommands');
    for (const g of groups) assert.deepEqual(bashComplete(script, ['tally', g.name(), '']), names(g.commands), `tally ${g.name()} <TAB>`);
    assert.deepEqual(bashComplete(script, ['tally', 'chain', 've']), ['verify']);
    assert.deepEqual(bashComplete(script, ['tally', 'se']), ['second', 'send']);
  });

  it('bash: flags of the command being typed, after flag values too', async () => {
    const script = path.join(dir, 'tally.bash');
    const send = program.commands.find((c) => c.name() === 'send')!;
    const expected = [...send.options.flatMap((o) => [o.long, o.short]).filter((f): f is string => !!f), '--help'].sort();
    assert.deepEqual(bashComplete(script, ['tally', 'send', '-']), expected);
    assert.ok(expected.includes('--force') && expected.includes('--memo'));
    // "--memo lunch" is a flag and its value: "lunch" is not taken for a command
    assert.deepEqual(bashComplete(script, ['tally', 'send', '--memo', 'keys', '--fo']), ['--force']);
    assert.deepEqual(bashComplete(script, ['tally', 'bench', '--node', 'http://127.0.0.1:7700', '--y']), ['--yes']);
    assert.deepEqual(bashComplete(script, ['tally', 'bench', 'notary', '--thr']), ['--threads']);
    // a flag's value is left to bash's file-name completion
    assert.deepEqual(bashComplete(script, ['tally', 'send', '--node', '']), []);
  });

  it('zsh: the script is valid (zsh -n) and lists the real subcommands with descriptions', { skip: hasZsh ? false : 'zsh is not installed here (apt-get install zsh)' }, async () => {
    const r = await cli(dir, ['completion', 'zsh']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^#compdef tally\n/);
    const script = path.join(dir, '_tally');
    fs.writeFileSync(script, r.stdout);
    execFileSync('zsh', ['-n', script]);
    // Outside compinit, compdef is stubbed: the script registers _tally, and its tables answer.
    const out = execFileSync('zsh', ['-f', '-c', `compdef() { print -r -- "compdef $*"; }; source ${script}; _tally_subcommands ''; _tally_subcommands keys; _tally_options send`], { encoding: 'utf8' });
    assert.match(out, /^compdef _tally tally$/m);
    for (const c of program.commands) assert.match(out, new RegExp(`^${c.name()}:`, 'm'), c.name());
    assert.match(out, /^send:send coins to another account$/m);
    assert.match(out, /^new:create a new Ed25519 key/m);
    assert.match(out, /^--force:sign and submit even if/m);
  });

  it('an unknown shell is a usage error (exit 2)', async () => {
    const r = await cli(dir, ['completion', 'fish']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bash, zsh/);
  });
});
