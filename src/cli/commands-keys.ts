// `tally keys new|list|show|export|import`.
import fs from 'node:fs';
import type { Command } from 'commander';
import { fail } from '../core/errors.js';
import { createKey, exportKeyFile, exportPrivatePem, importKey, keyInfo, listKeys, readPassphrase } from './keystore.js';
import { homeDir, type ClientOptions } from './context.js';
import { output, table } from './output.js';

const homeOption = ['--home <dir>', 'keystore directory (default: $TALLY_HOME or ~/.tally)'] as const;

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('manage your signing keys (encrypted with scrypt + AES-256-GCM, files mode 0600)');

  keys.command('new').argument('<name>', 'key name').description('create a new Ed25519 key, encrypted with a passphrase')
    .option(...homeOption).option('--json', 'print JSON')
    .action(async (name: string, opts: ClientOptions) => {
      const passphrase = await readPassphrase(`Passphrase for new key "${name}": `, { confirm: true });
      const info = await createKey(homeDir(opts), name, passphrase);
      output(opts, info, () => `created key "${info.name}"\n` + table([['account id', info.id], ['public key', info.pub], ['file', info.path]]) +
        `\nnext: tally register NAME --key ${info.name}`);
    });

  keys.command('list').description('list the keys in the keystore').option(...homeOption).option('--json', 'print JSON')
    .action((opts: ClientOptions) => {
      const list = listKeys(homeDir(opts));
      output(opts, list, () => (list.length === 0 ? 'no keys yet: tally keys new NAME' : list.map((k) => `${k.name.padEnd(16)} ${k.id}  ${k.pub}`).join('\n')));
    });

  keys.command('show').argument('<name>', 'key name').description('show a key: account id, public key, file').option(...homeOption).option('--json', 'print JSON')
    .action((name: string, opts: ClientOptions) => {
      const info = keyInfo(homeDir(opts), name);
      output(opts, info, () => table([['name', info.name], ['account id', info.id], ['public key', info.pub], ['file', info.path], ['created', info.created]]));
    });

  keys.command('export').argument('<name>', 'key name')
    .description('print the encrypted key file (a safe backup); with --private, the unencrypted PKCS#8 PEM after the passphrase')
    .option('--private', 'print the private key unencrypted (asks for the passphrase)')
    .option(...homeOption).option('--json', 'print JSON')
    .action(async (name: string, opts: ClientOptions & { private?: boolean }) => {
      const home = homeDir(opts);
      const text = opts.private ? await exportPrivatePem(home, name, await readPassphrase(`Passphrase for key "${name}": `)) : exportKeyFile(home, name);
      output(opts, { name, format: opts.private ? 'pkcs8-pem' : 'tally-key-v1', data: text }, () => text.trimEnd());
    });

  keys.command('import').argument('<file>', 'a Tally key file or an Ed25519 PKCS#8 PEM private key ("-" for stdin)')
    .requiredOption('--name <name>', 'name to store it under')
    .description('import a key; it is stored encrypted with your passphrase')
    .option(...homeOption).option('--json', 'print JSON')
    .action(async (file: string, opts: ClientOptions & { name: string }) => {
      let text: string;
      try {
        text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
      } catch (err) {
        fail('file_unreadable', `cannot read ${file}: ${(err as Error).message}`);
      }
      const info = await importKey(homeDir(opts), opts.name, text, await readPassphrase(`Passphrase for key "${opts.name}": `));
      output(opts, info, () => `imported key "${info.name}"\n` + table([['account id', info.id], ['public key', info.pub], ['file', info.path]]));
    });
}
