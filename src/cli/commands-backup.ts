// `tally backup` and `tally restore`: an online, consistent, encrypted copy of a node's
// database (optionally sealed with its key files in one archive), and a restore into a new
// data directory that replays the result as `tally chain verify` does.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { fail, TallyError } from '../core/errors.js';
import { dataPaths, loadNodeSigner } from '../chain/datadir.js';
import { acquireNodeLock } from '../store/lock.js';
import { checkSecretFileMode } from '../store/keyfile.js';
import { databaseBytes, describeDatabase, fsyncDir, snapshotInChild } from '../store/backup.js';
import { isArchive, readArchive, writeArchive, type ArchiveFileName, type ArchiveInput, type ManifestFile } from '../store/backup-archive.js';
import { readGenesisFile, validateGenesis } from '../chain/genesis.js';
import { storeSource, verifyChain, type VerifyPins, type VerifyReport } from '../chain/replay.js';
import { VerifierPool } from '../chain/verifier.js';
import { chainModules } from '../modules/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { defaultDataDir } from './context.js';
import { readPassphrase } from './keystore.js';
import { output, table } from './output.js';

/** Files of a data directory that a backup carries besides the database (datadir.ts, tickets, config). */
const SIDE_FILES: ArchiveFileName[] = ['db.key', 'node.key', 'tickets.key', 'genesis.json', 'config.json'];
/** Secret (or possibly secret) files are written owner-only; genesis.json is public. */
const PUBLIC_FILES = new Set<string>(['genesis.json']);
const MIB = 1024 * 1024;

interface BackupOptions {
  out: string;
  data?: string;
  withKeys?: boolean;
  passphraseFile?: string;
  json?: boolean;
}

interface RestoreOptions {
  data: string;
  keysFrom?: string;
  passphraseFile?: string;
  json?: boolean;
}

export function registerBackupCommands(program: Command): void {
  program.command('backup')
    .description('write a consistent, encrypted copy of the node\'s database while it runs (with --with-keys: the database and key files in one passphrase-sealed archive)')
    .requiredOption('--out <file>', 'write the backup here (must not exist; mode 0600)')
    .option('--data <dir>', 'the data directory to back up (default: $TALLY_DATA or ~/.tally/node)')
    .option('--with-keys', 'also db.key, node.key, tickets.key, genesis.json and config.json, in one archive sealed with a passphrase (scrypt + AES-256-GCM)')
    .option('--passphrase-file <file>', 'with --with-keys: read the passphrase from this file (mode 0600; default: $TALLY_PASSPHRASE, else ask)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Examples:
  tally backup --data /var/lib/tally --out /var/backups/tally/tally-$(date -u +%Y%m%d).db
  TALLY_PASSPHRASE=... tally backup --with-keys --out full.bak    # database and keys in one archive`)
    .action(async (opts: BackupOptions) => {
      const r = await runBackup(opts);
      output(opts, r, () => `backed up chain "${r.chain}" at height ${r.height} (tip ${r.tipHash.slice(0, 16)}…) to ${r.out}\n` + table([
        ['format', r.format === 'archive' ? `archive (${r.files.join(', ')}), sealed with the passphrase` : 'database snapshot, encrypted with the node\'s db.key (keep that key elsewhere)'],
        ['size', `${(r.bytes / MIB).toFixed(1)} MiB`],
        ['took', `${r.seconds} s`],
      ]) + `\nrestore with: tally restore ${r.out} --data NEW_DIR${r.format === 'archive' ? '' : ' --keys-from DIR_WITH_DB_KEY'}`);
    });

  program.command('restore')
    .argument('<file>', 'a backup written by `tally backup` (a database snapshot or a --with-keys archive)')
    .description('restore a backup into a new or empty data directory, then replay and verify the chain it holds (as `tally chain verify --data`)')
    .requiredOption('--data <dir>', 'the data directory to create (it must not exist, or be empty)')
    .option('--keys-from <dir>', 'for a database snapshot: copy db.key (required), node.key, tickets.key, genesis.json and config.json from this directory')
    .option('--passphrase-file <file>', 'for an archive: read the passphrase from this file (mode 0600; default: $TALLY_PASSPHRASE, else ask)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Examples:
  tally restore full.bak --data /var/lib/tally.new
  tally restore tally-20270101.db --data /var/lib/tally.new --keys-from /root/tally-keys`)
    .action(async (file: string, opts: RestoreOptions) => {
      const r = await runRestore(file, opts);
      output(opts, r, () => humanRestore(r));
      if (!r.ok) process.exitCode = 3;
    });
}

// ---------------------------------------------------------------------------------------
// Backup

async function runBackup(opts: BackupOptions) {
  const started = Date.now();
  const p = dataPaths(opts.data ?? defaultDataDir());
  if (!fs.existsSync(p.db)) fail('db_missing', `no database at ${p.db}`, { hint: 'pass the node\'s data directory with --data' });
  const out = path.resolve(opts.out);
  if (!fs.existsSync(path.dirname(out))) fail('bad_flag', `--out: the directory ${path.dirname(out)} does not exist`);
  if (fs.existsSync(out)) fail('file_exists', `${out} already exists`, { hint: 'choose another --out; a backup never overwrites a file' });
  if (!opts.withKeys && opts.passphraseFile) fail('bad_flag', '--passphrase-file is for --with-keys (a database snapshot is encrypted with db.key)');
  // Ask before the long work, not after it.
  const passphrase = opts.withKeys ? await backupPassphrase(opts.passphraseFile) : undefined;

  const snapshot = `${out}.db-${process.pid}.tmp`;
  const sealed = `${out}.${process.pid}.tmp`;
  const progress = progressLine();
  // Ctrl-C mid-way: no temporary file is left beside --out (the snapshot child gets it too).
  const abort = new AbortController();
  const removeTemporaries = () => {
    for (const f of [snapshot, `${snapshot}-journal`, sealed]) fs.rmSync(f, { force: true });
  };
  const interrupted = () => {
    abort.abort();
    removeTemporaries();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const live = databaseBytes(p.db);
    progress.say(`snapshotting ${p.db} (${(live / MIB).toFixed(1)} MiB with its WAL); a running node keeps running…`);
    const info = await snapshotInChild(p.db, p.dbKey, snapshot, (bytes) => progress.update('snapshot', bytes, Math.max(live, bytes)), abort.signal);
    progress.say(`snapshot at height ${info.height}: ${(info.bytes / MIB).toFixed(1)} MiB`);
    let files: string[] = ['tally.db'];
    if (passphrase !== undefined) {
      const inputs: ArchiveInput[] = [{ name: 'tally.db', path: snapshot, mode: 0o600 }];
      for (const name of SIDE_FILES) {
        const file = path.join(p.dir, name);
        if (fs.existsSync(file)) inputs.push({ name, path: file, mode: PUBLIC_FILES.has(name) ? 0o644 : 0o600 });
      }
      const fd = fs.openSync(sealed, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      try {
        const meta = { chain: info.chain, height: info.height, tipHash: info.tipHash };
        writeArchive(fd, inputs, meta, passphrase, (done, total) => progress.update('sealing', done, total));
      } finally {
        fs.closeSync(fd);
      }
      files = inputs.map((i) => i.name);
    } else {
      fs.renameSync(snapshot, sealed);
    }
    publishExclusive(sealed, out);
    fsyncDir(path.dirname(out));
    progress.done();
    return {
      out, format: passphrase !== undefined ? 'archive' as const : 'database' as const,
      chain: info.chain, height: info.height, tipHash: info.tipHash,
      bytes: fs.statSync(out).size, files, seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    removeTemporaries();
  }
}

/** Put the finished file at `out` without ever replacing a file that appeared there meanwhile. */
function publishExclusive(tmp: string, out: string): void {
  try {
    fs.linkSync(tmp, out);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') fail('file_exists', `${out} already exists`, { hint: 'choose another --out' });
    // File systems without hard links (some network shares): an exclusive copy instead.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
    fs.copyFileSync(tmp, out, fs.constants.COPYFILE_EXCL);
    const fd = fs.openSync(out, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

async function backupPassphrase(file: string | undefined): Promise<string> {
  const passphrase = file !== undefined ? readPassphraseFile(file) : await readPassphrase('Passphrase for the backup archive: ', { confirm: true });
  if (passphrase === '') {
    fail('passphrase_empty', 'an archive holds the node\'s keys: it needs a passphrase, and this one is empty', {
      hint: 'set TALLY_PASSPHRASE or pass --passphrase-file with a non-empty passphrase',
    });
  }
  return passphrase;
}

/** A passphrase file: owner-only, its first line (a trailing newline is not part of it). */
function readPassphraseFile(file: string): string {
  checkSecretFileMode(file, 'passphrase file');
  return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}

/** Progress on stderr: a rewritten line on a terminal, a line per tenth otherwise. */
function progressLine() {
  const tty = process.stderr.isTTY === true;
  let lastTenth = -1;
  let open = false;
  return {
    say(text: string) {
      if (open) process.stderr.write('\n');
      open = false;
      lastTenth = -1;
      process.stderr.write(`${text}\n`);
    },
    update(what: string, done: number, total: number, unit: 'MiB' | 'blocks' = 'MiB') {
      const pct = total === 0 ? 100 : Math.floor((done * 100) / total);
      const amount = unit === 'MiB' ? `${(done / MIB).toFixed(1)} of ${(total / MIB).toFixed(1)} MiB` : `${done} of ${total} blocks`;
      const text = `${what}: ${amount} (${pct}%)`;
      if (tty) {
        process.stderr.write(`\r${text}`);
        open = true;
      } else if (Math.floor(pct / 10) > lastTenth) {
        lastTenth = Math.floor(pct / 10);
        process.stderr.write(`${text}\n`);
      }
    },
    done() {
      if (open) process.stderr.write('\n');
      open = false;
    },
  };
}

// ---------------------------------------------------------------------------------------
// Restore

async function runRestore(file: string, opts: RestoreOptions) {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) fail('file_unreadable', `no backup file ${file}`);
  const archive = isArchive(file);
  if (!archive && !opts.keysFrom) {
    fail('keys_required', `${file} is a database snapshot: it opens only with the node's db.key`, {
      hint: 'pass --keys-from DIR, a directory holding that db.key (and node.key, tickets.key); or restore an archive made with `tally backup --with-keys`',
    });
  }
  if (archive && opts.keysFrom) fail('bad_flag', '--keys-from is for a database snapshot; this archive carries its own keys');
  if (!archive && opts.passphraseFile) fail('bad_flag', '--passphrase-file is for an archive; a database snapshot opens with its db.key (--keys-from)');
  const passphrase = archive ? (opts.passphraseFile !== undefined ? readPassphraseFile(opts.passphraseFile) : await readPassphrase('Passphrase of the backup archive: ')) : undefined;

  const p = dataPaths(opts.data);
  const created = prepareEmptyDir(p.dir);
  const written: string[] = [];
  let release: (() => void) | undefined;
  try {
    // The lock keeps a node from starting on the directory half-way through the restore.
    release = acquireNodeLock(p.lock);
    const progress = progressLine();
    let manifestTip: { height: number; tipHash: string } | undefined;
    if (passphrase !== undefined) {
      progress.say(`opening ${file}…`);
      const fds = new Map<string, number>();
      const manifest = readArchive(file, passphrase, {
        begin: () => undefined,
        data: (f, bytes) => {
          let fd = fds.get(f.name);
          if (fd === undefined) fd = openNew(path.join(p.dir, f.name), f, fds, written);
          fs.writeSync(fd, bytes);
        },
        end: (f) => {
          const fd = fds.get(f.name) ?? openNew(path.join(p.dir, f.name), f, fds, written);
          fs.fsyncSync(fd);
          fs.closeSync(fd);
          fds.delete(f.name);
        },
      }, (done, total) => progress.update('restoring', done, total));
      manifestTip = { height: manifest.height, tipHash: manifest.tipHash };
    } else {
      copyInto(file, path.join(p.dir, 'tally.db'), 0o600, written);
      const from = opts.keysFrom!;
      if (!fs.existsSync(path.join(from, 'db.key'))) fail('keys_required', `${from} holds no db.key`, { hint: '--keys-from names the directory where the node\'s db.key is' });
      for (const name of SIDE_FILES) {
        const src = path.join(from, name);
        if (fs.existsSync(src)) copyInto(src, path.join(p.dir, name), PUBLIC_FILES.has(name) ? 0o644 : 0o600, written);
      }
    }
    progress.done();
    fsyncDir(p.dir);
    const db = describeDatabase(p.db, p.dbKey);
    if (manifestTip && (manifestTip.height !== db.height || manifestTip.tipHash !== db.tipHash)) {
      fail('backup_invalid', `${file}: the database ends at height ${db.height}, the manifest says ${manifestTip.height}`);
    }
    progress.say(`replaying the chain to height ${db.height}…`);
    const verify = await verifyDirectory(p, (height, tip) => progress.update('verifying', height, tip, 'blocks'));
    progress.done();
    const missing = (['node.key', 'tickets.key'] as const).filter((n) => !fs.existsSync(path.join(p.dir, n)));
    const warnings: string[] = [];
    if (verify.snapshot) warnings.push(verify.snapshot.note);
    if (missing.includes('node.key')) warnings.push(`no node.key: a node cannot start on ${p.dir} until its node key is put there (mode 0600)`);
    if (missing.includes('tickets.key')) warnings.push('no tickets.key: a node makes a new one at start, so tickets redeemed before cannot get their tokens handed out again (restore the old tickets.key if the node sold tickets)');
    warnings.push(`a node started here continues the chain from height ${db.height}. If the node this came from signed blocks past ${db.height}, clients may hold those blocks and this node would sign others at the same heights: restore the newest backup, and run only one node of the chain`);
    return {
      ok: verify.ok, dir: p.dir, source: archive ? 'archive' as const : 'database' as const,
      chain: db.chain, height: db.height, tipHash: db.tipHash,
      files: fs.readdirSync(p.dir).filter((n) => (SIDE_FILES as string[]).includes(n) || n === 'tally.db').sort(),
      missing, verify, warnings,
    };
  } catch (err) {
    // Nothing half-restored is left behind to be mistaken for a node.
    for (const f of written) fs.rmSync(f, { force: true });
    release?.();
    release = undefined;
    for (const f of ['node.lock', 'node.lock.db']) fs.rmSync(path.join(p.dir, f), { force: true });
    if (created) fs.rmSync(p.dir, { recursive: true, force: true });
    throw err;
  } finally {
    release?.();
  }
}

/** Create the directory (0700), or accept an existing empty one; anything else is refused. */
function prepareEmptyDir(dir: string): boolean {
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return true;
  }
  if (!fs.statSync(dir).isDirectory()) fail('data_dir_not_empty', `${dir} exists and is not a directory`);
  const entries = fs.readdirSync(dir);
  if (entries.length > 0) {
    fail('data_dir_not_empty', `${dir} is not empty (${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', …' : ''}): a restore never overwrites a data directory`, {
      hint: 'restore into a new directory, check it, then stop the old node and swap the directories',
    });
  }
  return false;
}

function openNew(file: string, f: ManifestFile, fds: Map<string, number>, written: string[]): number {
  const mode = PUBLIC_FILES.has(f.name) ? 0o644 : 0o600;
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
  written.push(file);
  fs.fchmodSync(fd, mode);
  fds.set(f.name, fd);
  return fd;
}

function copyInto(src: string, dest: string, mode: number, written: string[]): void {
  fs.copyFileSync(src, dest, fs.constants.COPYFILE_EXCL);
  written.push(dest);
  fs.chmodSync(dest, mode);
  const fd = fs.openSync(dest, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** `tally chain verify --data DIR`, trusting the restored genesis.json and node.key when present. */
async function verifyDirectory(p: ReturnType<typeof dataPaths>, onProgress: (height: number, tip: number) => void): Promise<VerifyReport> {
  const pins: VerifyPins = {};
  if (fs.existsSync(p.genesis)) pins.genesis = readGenesisFile(p.genesis, chainModules);
  if (fs.existsSync(p.nodeKey)) pins.nodeKey = loadNodeSigner(p.nodeKey).pub;
  const pool = new VerifierPool();
  const store = SqliteStore.open({ dbPath: p.db, keyPath: p.dbKey, readonly: true });
  try {
    store.db.exec('BEGIN');
    const stored = store.getMeta('genesis');
    if (!stored) throw new TallyError('db_corrupt', 'the database has no genesis record');
    return await verifyChain(storeSource(store, validateGenesis(JSON.parse(stored), chainModules)), chainModules, pool, onProgress, pins);
  } finally {
    await pool.close();
    if (store.db.inTransaction) store.db.exec('COMMIT');
    store.close();
  }
}

function humanRestore(r: Awaited<ReturnType<typeof runRestore>>): string {
  const v = r.verify;
  const lines = [
    `restored chain "${r.chain}" at height ${r.height} (tip ${r.tipHash.slice(0, 16)}…) into ${r.dir}`,
    table([['files', r.files.join(', ')], ['replayed', `${v.blocks} blocks, ${v.txs} transactions, ${v.stateKeys} state entries`]]),
    v.ok ? 'OK: every hash, signature, Merkle root, receipt and balance matches' : `FAILED: the chain diverges at height ${v.firstDivergence}\n${v.issues.slice(0, 20).map((i) => `  height ${i.height}: ${i.kind}: ${i.message}`).join('\n')}`,
    ...r.warnings.map((w) => `note: ${w}`),
  ];
  if (v.ok && !r.missing.includes('node.key')) lines.push(`start it with: tally node --data ${r.dir}`);
  return lines.join('\n');
}
