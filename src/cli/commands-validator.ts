// `tally validator keys new|show`: a validator's key files and the entry that names it in
// a genesis validator list. The node key (Ed25519, node.key) is made here too when the
// directory has none, so keys can exist before the genesis that lists them; `tally init`
// later keeps the node.key it finds.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { fail } from '../core/errors.js';
import { dataPaths, loadNodeSigner } from '../chain/datadir.js';
import { blstBls } from '../chain/consensus/bls-native.js';
import { createValidatorKey, loadValidatorKey, validatorEntry, VALIDATOR_KEY_FILE, type ValidatorEntry } from '../chain/consensus/validator-key.js';
import { writeSecretFile } from '../store/keyfile.js';
import { loadOrCreateP2pIdentity, P2P_KEY_FILE } from '../net/identity.js';
import { defaultDataDir } from './context.js';
import { output, table } from './output.js';

interface ValidatorOptions { data?: string; power: string; json?: boolean }

function parsePower(text: string): number {
  const power = Number(text);
  if (!/^[1-9][0-9]*$/.test(text) || !Number.isSafeInteger(power)) fail('bad_option', `--power must be a positive integer, got "${text}"`);
  return power;
}

type Described = ValidatorEntry & { peerId: string; files: { nodeKey: string; validatorKey: string; p2pKey: string } };

/** The entry, and the libp2p peer id (its key file is made if missing) that the other validators dial with --peers. */
async function entryOf(dir: string, power: number): Promise<Described> {
  const p = dataPaths(dir);
  const { secretKey } = loadValidatorKey(path.join(dir, VALIDATOR_KEY_FILE), blstBls);
  const p2pKey = path.join(dir, P2P_KEY_FILE);
  const { peerId } = await loadOrCreateP2pIdentity(p2pKey);
  return { ...validatorEntry(blstBls, loadNodeSigner(p.nodeKey).pub, secretKey, power), peerId, files: { nodeKey: p.nodeKey, validatorKey: path.join(dir, VALIDATOR_KEY_FILE), p2pKey } };
}

function describe(e: Described): string {
  const { files, peerId, ...entry } = e;
  return table([['node key (Ed25519)', e.key], ['BLS key', e.blsKey], ['power', String(e.power)], ['peer id', peerId], ['files', `${files.nodeKey}, ${files.validatorKey}, ${files.p2pKey} (0600)`]]) +
    `\nthe entry for the genesis validator list (tally init --validators FILE takes a JSON array of these):\n${JSON.stringify(entry)}`;
}

export function registerValidatorCommands(program: Command): void {
  const validator = program.command('validator').description('validator keys (see the README, "Running validators")');
  const keys = validator.command('keys').description('a validator\'s key files: node.key (Ed25519) and validator.key (BLS12-381), mode 0600');

  keys.command('new').description('make validator.key (and node.key if missing) in a data directory, and print the validator\'s genesis entry')
    .option('--data <dir>', 'data directory (default: $TALLY_DATA or ~/.tally/node)')
    .option('--power <n>', 'voting power to put in the printed entry', '1')
    .option('--json', 'print JSON')
    .action(async (opts: ValidatorOptions) => {
      const dir = opts.data ?? defaultDataDir();
      const power = parsePower(opts.power);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const p = dataPaths(dir);
      createValidatorKey(path.join(dir, VALIDATOR_KEY_FILE), blstBls);
      if (!fs.existsSync(p.nodeKey)) {
        const { privateKey } = crypto.generateKeyPairSync('ed25519');
        writeSecretFile(p.nodeKey, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
      }
      const e = await entryOf(dir, power);
      output(opts, e, () => `made a validator key in ${dir}\n${describe(e)}`);
    });

  keys.command('show').description('print the validator\'s genesis entry from its key files')
    .option('--data <dir>', 'data directory (default: $TALLY_DATA or ~/.tally/node)')
    .option('--power <n>', 'voting power to put in the printed entry', '1')
    .option('--json', 'print JSON')
    .action(async (opts: ValidatorOptions) => {
      const e = await entryOf(opts.data ?? defaultDataDir(), parsePower(opts.power));
      output(opts, e, () => describe(e));
    });
}
