// `tally keys new|list|show|export|import|passwd|backup|restore|rotate`.
import fs from 'node:fs';
import type { Command } from 'commander';
import { fail } from '../core/errors.js';
import { accountIdFromPub } from '../core/keys.js';
import { ROTATE_TYPE, signRotateBody } from '../chain/auth-rotate.js';
import {
  adoptAccount, changePassphrase, createKey, emptyPassphraseWarning, exportKeyFile, exportPrivatePem, importKey, keyInfo, listKeys,
  loadSigner, readPassphrase, resolveKeyName, withPassphrase,
} from './keystore.js';
import { addClientOptions, homeDir, submitSignedBy, withClient, type ClientOptions } from './context.js';
import { backupKeystore, restoreKeystore } from './keystore-backup.js';
import { output, table } from './output.js';

const homeOption = ['--home <dir>', 'keystore directory (default: $TALLY_HOME or ~/.tally)'] as const;
const passphraseFileOption = ['--passphrase-file <file>', 'the passphrase: first line of a 0600 file (before $TALLY_PASSPHRASE and the prompt)'] as const;

type KeyOptions = ClientOptions & { passphraseFile?: string };

/** The account a key opens by itself (its id before any rotation). */
const accountOfOwnKey = (k: { pub: string }): string => accountIdFromPub(k.pub);

/** The key each listed account signs with on the node now (null: the node has no such account). */
async function currentKeys(opts: ClientOptions, list: Array<{ id: string }>): Promise<Map<string, string | null>> {
  const accounts = [...new Set(list.map((k) => k.id))];
  return withClient(opts, async (c) => {
    const out = new Map<string, string | null>();
    for (const id of accounts) out.set(id, ((await c.call('auth.get', { id })) as { pub: string | null }).pub);
    return out;
  });
}

/**
 * Retired: the key's account signs with another key. With the node's answer, exact. From
 * the keystore alone: the account's original key when another key here took it over by
 * rotation (after two rotations of one account, the middle key needs --node).
 */
function retiredKey(k: { id: string; pub: string }, list: Array<{ id: string; pub: string }>, current: Map<string, string | null> | undefined): boolean {
  const onNode = current?.get(k.id);
  if (onNode) return onNode !== k.pub;
  return k.id === accountOfOwnKey(k) && list.some((j) => j.pub !== k.pub && j.id === k.id && j.id !== accountOfOwnKey(j));
}

/** $TALLY_BACKUP_PASSPHRASE when set, else the default ($TALLY_PASSPHRASE). */
const backupEnv = (): { envVar?: string } => (process.env.TALLY_BACKUP_PASSPHRASE !== undefined ? { envVar: 'TALLY_BACKUP_PASSPHRASE' } : {});

function warnIfEmpty(name: string, passphrase: string): void {
  if (passphrase === '') process.stderr.write(emptyPassphraseWarning(name) + '\n');
}

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('manage your signing keys (encrypted with scrypt + AES-256-GCM, files mode 0600)');

  keys.command('new').argument('<name>', 'key name').description('create a new Ed25519 key, encrypted with a passphrase')
    .option(...homeOption).option(...passphraseFileOption).option('--json', 'print JSON')
    .action(async (name: string, opts: KeyOptions) => {
      const passphrase = await readPassphrase(`Passphrase for new key "${name}": `, { confirm: true, file: opts.passphraseFile });
      const info = await createKey(homeDir(opts), name, passphrase);
      warnIfEmpty(name, passphrase);
      output(opts, info, () => `created key "${info.name}"\n` + table([['account id', info.id], ['public key', info.pub], ['file', info.path]]) +
        `\nnext: tally register NAME --key ${info.name}`);
    });

  keys.command('list').description('list the keys in the keystore; keys an account moved away from (`keys rotate`) are marked retired')
    .option(...homeOption)
    .option('--node <socket|url>', 'also ask this node which key each account signs with now (marks every retired key, not only those the keystore knows of)')
    .option('--json', 'print JSON')
    .action(async (opts: ClientOptions) => {
      const list = listKeys(homeDir(opts));
      const current = opts.node === undefined ? undefined : await currentKeys(opts, list);
      const marked = list.map((k) => ({ ...k, retired: retiredKey(k, list, current) }));
      output(opts, marked, () => (marked.length === 0 ? 'no keys yet: tally keys new NAME'
        : marked.map((k) => `${k.name.padEnd(16)} ${k.id}  ${k.pub}${k.retired ? '  retired (its account signs with another key)' : ''}`).join('\n')));
    });

  keys.command('show').argument('<name>', 'key name').description('show a key: account id, public key, file').option(...homeOption).option('--json', 'print JSON')
    .action((name: string, opts: ClientOptions) => {
      const info = keyInfo(homeDir(opts), name);
      output(opts, info, () => table([['name', info.name], ['account id', info.id], ['public key', info.pub], ['file', info.path], ['created', info.created]]));
    });

  keys.command('export').argument('<name>', 'key name')
    .description('print the encrypted key file (a safe backup); with --private, the unencrypted PKCS#8 PEM after the passphrase')
    .option('--private', 'print the private key unencrypted (asks for the passphrase)')
    .option(...homeOption).option(...passphraseFileOption).option('--json', 'print JSON')
    .action(async (name: string, opts: KeyOptions & { private?: boolean }) => {
      const home = homeDir(opts);
      const text = opts.private
        ? await withPassphrase(name, (p) => exportPrivatePem(home, name, p), { file: opts.passphraseFile })
        : exportKeyFile(home, name);
      output(opts, { name, format: opts.private ? 'pkcs8-pem' : 'tally-key-v1', data: text }, () => text.trimEnd());
    });

  keys.command('import').argument('<file>', 'a Tally key file or an Ed25519 PKCS#8 PEM private key ("-" for stdin)')
    .requiredOption('--name <name>', 'name to store it under')
    .description('import a key; it is stored encrypted with your passphrase')
    .option(...homeOption).option(...passphraseFileOption).option('--json', 'print JSON')
    .action(async (file: string, opts: KeyOptions & { name: string }) => {
      let text: string;
      try {
        text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
      } catch (err) {
        fail('file_unreadable', `cannot read ${file}: ${(err as Error).message}`);
      }
      const passphrase = await readPassphrase(`Passphrase for key "${opts.name}": `, { file: opts.passphraseFile });
      const info = await importKey(homeDir(opts), opts.name, text, passphrase);
      warnIfEmpty(opts.name, passphrase);
      output(opts, info, () => `imported key "${info.name}"\n` + table([['account id', info.id], ['public key', info.pub], ['file', info.path]]));
    });

  keys.command('passwd').argument('<name>', 'key name')
    .description('change the passphrase of a stored key (the file is rewritten atomically, mode 0600)')
    .option(...homeOption)
    .option('--passphrase-file <file>', 'the current passphrase: first line of a 0600 file (before $TALLY_PASSPHRASE and the prompt)')
    .option('--new-passphrase-file <file>', 'the new passphrase: first line of a 0600 file (before $TALLY_NEW_PASSPHRASE and the prompt)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: KeyOptions & { newPassphraseFile?: string }) => {
      const home = homeDir(opts);
      keyInfo(home, name); // a missing key is refused before any prompt
      // Checked first (with retries at a terminal), so the new one is asked only for a key we can open.
      const current = await withPassphrase(name, async (p) => { await loadSigner(home, name, p); return p; }, { file: opts.passphraseFile });
      const next = await readPassphrase(`New passphrase for key "${name}": `, { confirm: true, file: opts.newPassphraseFile, envVar: 'TALLY_NEW_PASSPHRASE' });
      const info = await changePassphrase(home, name, current, next);
      warnIfEmpty(name, next);
      output(opts, info, () => `changed the passphrase of key "${info.name}" (${info.path})`);
    });

  keys.command('backup')
    .description('the whole keystore (account keys, oracle keys and their nonces) as one encrypted file; positions and balances live on chain and need no backup')
    .requiredOption('--out <file>', 'the backup file to write (mode 0600; an existing file only with --force)')
    .option('--force', 'replace an existing --out file')
    .option(...homeOption)
    .option('--passphrase-file <file>', "the backup's passphrase: first line of a 0600 file (before $TALLY_BACKUP_PASSPHRASE, $TALLY_PASSPHRASE and the prompt)")
    .option('--json', 'print JSON')
    .action(async (opts: KeyOptions & { out: string; force?: boolean }) => {
      const passphrase = await readPassphrase('Passphrase for the backup: ', { confirm: true, file: opts.passphraseFile, ...backupEnv() });
      const r = backupKeystore(homeDir(opts), opts.out, passphrase, opts.force === true);
      output(opts, r, () => `backed up ${r.entries.length} file(s) to ${r.file}
restore with: tally keys restore ${r.file}`);
    });

  keys.command('restore').argument('<file>', 'a file made by `tally keys backup`')
    .description('restore a keystore backup: checked whole (checksum, passphrase, every entry) before anything is written; differing files only with --force')
    .option('--force', 'replace keystore files that differ from the backup')
    .option(...homeOption)
    .option('--passphrase-file <file>', "the backup's passphrase: first line of a 0600 file (before $TALLY_BACKUP_PASSPHRASE, $TALLY_PASSPHRASE and the prompt)")
    .option('--json', 'print JSON')
    .action(async (file: string, opts: KeyOptions & { force?: boolean }) => {
      const passphrase = await readPassphrase('Passphrase of the backup: ', { file: opts.passphraseFile, ...backupEnv() });
      const r = restoreKeystore(homeDir(opts), file, passphrase, opts.force === true);
      output(opts, r, () => `restored ${r.restored.length} file(s), replaced ${r.replaced.length}, ${r.unchanged.length} already identical`);
    });

  addClientOptions(keys.command('rotate')
    .description('move your account to another key of the keystore (auth.rotate, signed by the old key): name, balance and history stay')
    .requiredOption('--to <name>', 'the key that takes over (e.g. made with `tally keys new`)')
    .option('--to-passphrase-file <file>', "the --to key's passphrase: first line of a 0600 file (default: as for --key)"))
    .action(async (opts: KeyOptions & { to: string; toPassphraseFile?: string }) => {
      const home = homeDir(opts);
      const oldName = resolveKeyName(home, opts.key);
      if (oldName === opts.to) fail('bad_args', '--to must name another key than --key', { hint: 'make a new key first: tally keys new NAME' });
      const target = keyInfo(home, opts.to);
      const old = await withPassphrase(oldName, (p) => loadSigner(home, oldName, p), { file: opts.passphraseFile });
      let nextPassphrase = '';
      const next = await withPassphrase(opts.to, async (p) => { const s = await loadSigner(home, opts.to, p); nextPassphrase = p; return s; }, { file: opts.toPassphraseFile ?? opts.passphraseFile });
      const account = old.id;
      // A key that took over another account by an earlier rotation is not free.
      if (target.id !== accountOfOwnKey(target) && target.id !== account) {
        fail('key_in_use', `key ${opts.to} already signs for account ${target.id}`, { hint: 'rotate to a fresh key: tally keys new NAME' });
      }
      const onChain = await withClient(opts, async (c) => ({
        account: (await c.call('auth.get', { id: account })) as { pub: string | null },
        own: (await c.call('auth.get', { id: accountOfOwnKey(target) })) as { pub: string | null },
      }));
      let receipt = null;
      // Already moved on chain (an earlier run stopped before updating the keystore): only record it.
      if (onChain.account.pub !== next.pub) {
        if (onChain.account.pub === null) fail('account_not_found', `no account ${account} on this chain`, { status: 404, hint: 'register it first: tally register NAME' });
        if (onChain.account.pub !== old.pub) fail('wrong_key', `key ${oldName} no longer signs for account ${account}`, { status: 401 });
        if (onChain.own.pub !== null) {
          fail('key_in_use', `key ${opts.to} already holds its own account ${accountOfOwnKey(target)}`, { hint: 'rotate to a fresh key: tally keys new NAME' });
        }
        receipt = await submitSignedBy(opts, old, ROTATE_TYPE, (chain, nonce) => ({ ...signRotateBody(chain, account, nonce, next) }));
      }
      const info = await adoptAccount(home, opts.to, nextPassphrase, account);
      const result = { account, from: { key: oldName, pub: old.pub }, to: { key: info.name, pub: info.pub }, receipt };
      output(opts, result, () => `account ${account} now signs with key "${info.name}" (${info.pub})` +
        (receipt ? `; committed at block ${receipt.height} as ${receipt.id}` : '; it already did on chain, the keystore is updated') +
        `\nkey "${oldName}" is refused from now on; keep its file only to show past signatures, or delete it.` +
        `\nnext: pass --key ${info.name} (or set TALLY_KEY=${info.name})`);
    });
}

