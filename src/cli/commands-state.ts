// `tally state proof`, `tally account proof` and `tally state verify`: fetch a state proof
// bundle (a key, or an account's name and record) with the signed header, check it here
// (the node is not trusted with the verdict), save it, and check a saved one offline with
// nothing but the node key. The checking is src/core/state-bundle.ts, as in a browser.
import fs from 'node:fs';
import type { Command } from 'commander';
import { formatAmount } from '../core/amount.js';
import { intFlag } from '../core/decode.js';
import { fail, TallyError } from '../core/errors.js';
import { verifySignature } from '../core/keys.js';
import { verifyStateBundle, type ProvenState } from '../core/state-bundle.js';
import { dataPaths } from '../chain/node.js';
import { exportSnapshot, verifySnapshotFile, type Progress } from '../chain/snapshot.js';
import { chainModules } from '../modules/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { addClientOptions, defaultDataDir, withClient, type ClientOptions } from './context.js';
import { output, table } from './output.js';

/** A bundle is a few KiB (one header, proofs of at most 256 siblings): anything far larger is not one. */
const BUNDLE_BYTES_MAX = 1024 * 1024;

interface ProofOptions extends ClientOptions {
  height?: number;
  out?: string;
  nodeKey?: string;
}

interface VerifyOptions {
  bundle: string;
  nodeKey?: string;
  account?: string;
  key?: string;
  decimals?: number;
  json?: boolean;
}

export function registerStateCommands(program: Command): void {
  const state = program.command('state').description('state proofs against signed block headers, checked here or offline (README, "State tree")');

  addClientOptions(state.command('proof')
    .argument('<key>', 'a state key, e.g. ledger/name/alice or auth/<account id>')
    .option('--height <h>', 'at this committed height (default: the tip)', intFlag('--height', 0, Number.MAX_SAFE_INTEGER))
    .option('--out <file>', 'save the bundle for offline checks (`tally state verify --bundle FILE`)')
    .option('--node-key <key>', 'the node key that must have signed the header (default: $TALLY_NODE_KEY, else the node\'s own)')
    .description('a key\'s value, or its absence, proven against the stateRoot of a signed header; checked here'))
    .action(async (key: string, opts: ProofOptions) => {
      const { bundle, nodeKey, decimals, pinned } = await fetchBundle(opts, 'state.proof', { key });
      finish(opts, bundle, nodeKey, pinned, decimals);
    });

  addClientOptions(program.command('account')
    .description('an account, proven (see `tally account proof --help`)')
    .command('proof')
    .argument('<name>', 'an account name or id')
    .option('--height <h>', 'at this committed height (default: the tip)', intFlag('--height', 0, Number.MAX_SAFE_INTEGER))
    .option('--out <file>', 'save the bundle for offline checks (`tally state verify --bundle FILE --node-key KEY`)')
    .option('--node-key <key>', 'the node key that must have signed the header (default: $TALLY_NODE_KEY, else the node\'s own)')
    .description('an account\'s balance (or that no such account exists) at a height, proven against the stateRoot of a signed header; checked here'))
    .action(async (name: string, opts: ProofOptions) => {
      const { bundle, nodeKey, decimals, pinned } = await fetchBundle(opts, 'account.proof', { name });
      finish(opts, bundle, nodeKey, pinned, decimals);
    });

  registerSnapshotCommands(state);

  state.command('verify')
    .requiredOption('--bundle <file>', 'a bundle saved by `tally state proof --out` or `tally account proof --out`')
    .option('--node-key <key>', 'the node key you trust (default: $TALLY_NODE_KEY)')
    .option('--account <name>', 'also require that the bundle is about this account (name or id)')
    .option('--key <key>', 'also require that the bundle proves this state key')
    .option('--decimals <n>', 'show amounts in whole units with this many decimals (the chain\'s genesis says; default: minor units)', intFlag('--decimals', 0, 18))
    .option('--json', 'print JSON for scripts')
    .description('check a saved state proof bundle offline, with no node: the header\'s signature by the node key, its stateRoot, every proof; exit 1 if anything fails')
    .action((opts: VerifyOptions) => {
      const nodeKey = opts.nodeKey ?? process.env.TALLY_NODE_KEY;
      if (!nodeKey) fail('bad_args', 'an offline check needs the node key you trust: --node-key KEY (or $TALLY_NODE_KEY)', { hint: '`tally status` on a node you trust prints its key' });
      const bundle = readBundle(opts.bundle);
      const proven = check(bundle, nodeKey);
      if (opts.account !== undefined) {
        const a = proven.account;
        if (a === undefined) fail('proof_invalid', 'the bundle proves a key, not an account');
        const asked = (bundle as { account?: { name: string | null; id: string | null } }).account;
        const matches = a === null ? asked?.name === opts.account || asked?.id === opts.account : a.name === opts.account || a.id === opts.account;
        if (!matches) fail('proof_invalid', `the bundle is about account ${a ? `${a.name} (${a.id})` : String(asked?.name ?? asked?.id)}, not ${opts.account}`);
      }
      if (opts.key !== undefined && !proven.entries.some((e) => e.key === opts.key)) fail('proof_invalid', `the bundle proves nothing about "${opts.key}"`);
      output(opts, { valid: true, nodeKey, ...proven }, () => human(proven, bundle, nodeKey, true, opts.decimals));
    });
}

function registerSnapshotCommands(state: Command): void {
  state.command('export')
    .requiredOption('--out <file>', 'write the snapshot here (created mode 0644, never overwritten)')
    .option('--data <dir>', 'the data directory to read (default: $TALLY_DATA or ~/.tally/node); one read snapshot, the node may keep running')
    .option('--json', 'print JSON for scripts')
    .description('write every state entry at the tip with the signed header (and block 0 and the genesis): a snapshot whose entries recompute exactly the header\'s stateRoot')
    .action((opts: { out: string; data?: string; json?: boolean }) => {
      const p = dataPaths(opts.data ?? defaultDataDir());
      const store = SqliteStore.open({ dbPath: p.db, keyPath: p.dbKey, readonly: true });
      let head;
      try {
        head = exportSnapshot(store, opts.out, progressLine('exported', opts.json));
      } finally {
        store.close();
      }
      const h = head.block.header;
      output(opts, { file: opts.out, chain: h.chain, height: h.height, entries: head.entries, stateRoot: h.stateRoot, blockHash: head.block.hash, nodeKey: h.proposer }, () =>
        `wrote ${head.entries} state entries of chain "${h.chain}" at height ${h.height} to ${opts.out}\n` +
        table([['stateRoot', h.stateRoot], ['block', head.block.hash], ['node key', h.proposer]]) +
        `\ncheck it anywhere: tally state verify-snapshot ${opts.out} --node-key ${h.proposer}`);
    });

  state.command('verify-snapshot')
    .argument('<file>', 'a snapshot written by `tally state export`')
    .option('--node-key <key>', 'the node key you trust (default: $TALLY_NODE_KEY)')
    .option('--json', 'print JSON for scripts')
    .description('check a snapshot offline: the header and block 0 signed by the node key, the genesis block 0 links to, sorted distinct entries, and their root equal to the header\'s stateRoot; exit 1 if anything fails')
    .action((file: string, opts: { nodeKey?: string; json?: boolean }) => {
      const nodeKey = opts.nodeKey ?? process.env.TALLY_NODE_KEY;
      if (!nodeKey) fail('bad_args', 'checking a snapshot needs the node key you trust: --node-key KEY (or $TALLY_NODE_KEY)');
      const { head, root } = verifySnapshotFile(file, nodeKey, chainModules, progressLine('checked', opts.json));
      const h = head.block.header;
      output(opts, { valid: true, chain: h.chain, height: h.height, entries: head.entries, stateRoot: root, blockHash: head.block.hash, nodeKey }, () =>
        `VALID: ${head.entries} entries recompute the stateRoot of chain "${h.chain}" at height ${h.height}, signed by ${nodeKey}\n` +
        table([['stateRoot', root], ['block', head.block.hash], ['genesis', h.chain]]));
    });
}

/** Progress on stderr for long runs (a terminal only; never under --json). */
function progressLine(verb: string, json: boolean | undefined): Progress {
  if (json || !process.stderr.isTTY) return () => {};
  return (done, total) => {
    process.stderr.write(`\r${verb} ${done}/${total} entries${done === total ? '\n' : ''}`);
  };
}

async function fetchBundle(opts: ProofOptions, method: string, params: Record<string, unknown>) {
  return withClient(opts, async (client) => {
    const info = (await client.call('node.info')) as { nodeKey: string; decimals: number };
    const bundle = await client.call(method, { ...params, ...(opts.height !== undefined ? { height: opts.height } : {}) });
    const pinned = opts.nodeKey ?? process.env.TALLY_NODE_KEY;
    return { bundle, nodeKey: pinned ?? info.nodeKey, pinned: pinned !== undefined, decimals: info.decimals };
  });
}

function finish(opts: ProofOptions, bundle: unknown, nodeKey: string, pinned: boolean, decimals: number): void {
  // Checked here, whatever the node said: a wrong bundle is never saved.
  const proven = check(bundle, nodeKey);
  if (opts.out) writeBundle(opts.out, bundle);
  output(opts, { valid: true, nodeKey, ...proven, bundle }, () =>
    human(proven, bundle, nodeKey, pinned, decimals) +
    (opts.out ? `\nbundle saved to ${opts.out}; check it offline: tally state verify --bundle ${opts.out} --node-key ${nodeKey}` : ''));
}

function check(bundle: unknown, nodeKey: string): ProvenState {
  const r = verifyStateBundle(bundle, nodeKey, verifySignature);
  if (!r.ok) throw new TallyError('proof_invalid', `the proof bundle does not verify: ${r.reason}`, { hint: 'nothing in it can be trusted; fetch it again from a node you trust' });
  return r.proven;
}

function human(p: ProvenState, bundle: unknown, nodeKey: string, pinned: boolean, decimals: number | undefined): string {
  const lines: Array<[string, string | number]> = [];
  const amount = (minor: string) => (decimals === undefined ? `${minor} (minor units)` : formatAmount(BigInt(minor), decimals));
  if (p.account !== undefined) {
    if (p.account === null) {
      const asked = (bundle as { account: { name: string | null; id: string | null } }).account;
      lines.push(['account', `${asked.name ?? asked.id}: proven NOT to exist`]);
    } else {
      lines.push(['account', `${p.account.name} (${p.account.id})`], ['balance', amount(p.account.balance)], ['held', amount(p.account.held)], ['created', `block ${p.account.created}`]);
    }
  } else {
    const e = p.entries[0]!;
    lines.push(['key', e.key], ['value', e.value ?? 'absent (proven)']);
  }
  lines.push(['height', p.height], ['block', p.blockHash], ['stateRoot', p.stateRoot], ['node key', `${nodeKey}${pinned ? '' : ' (the node\'s own: pass --node-key to pin the one you trust)'}`]);
  return `VALID: proven against the signed header at height ${p.height}\n` + table(lines);
}

function readBundle(file: string): unknown {
  let text: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      if (fs.fstatSync(fd).size > BUNDLE_BYTES_MAX) fail('bundle_invalid', `${file} is over ${BUNDLE_BYTES_MAX} bytes: not a state proof bundle`);
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if (err instanceof TallyError) throw err;
    fail('file_unreadable', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    fail('bundle_invalid', `${file} is not JSON: ${(err as Error).message}`);
  }
}

function writeBundle(file: string, bundle: unknown): void {
  try {
    fs.writeFileSync(file, JSON.stringify(bundle, null, 2) + '\n', { flag: 'wx', mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') fail('file_exists', `${file} exists: it is never overwritten`, { hint: 'choose another --out' });
    fail('file_unreadable', `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
