// `tally chain verify`: replay from genesis, offline on a data directory or online
// against --node, with a progress bar on a terminal.
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { validateGenesis } from '../chain/genesis.js';
import { dataPaths } from '../chain/node.js';
import { clientSource, storeSource, verifyChain, type ChainSource, type VerifyReport } from '../chain/replay.js';
import { VerifierPool } from '../chain/verifier.js';
import { connectClient } from '../api/client.js';
import { allModules } from '../modules/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { TallyError } from '../core/errors.js';
import { defaultDataDir } from './context.js';
import { output } from './output.js';

export function registerChainCommands(program: Command): void {
  const chain = program.command('chain').description('inspect and verify the chain');
  chain.command('verify')
    .description('replay the chain from genesis: every hash, signature, Merkle root, receipt and balance (offline on --data, or online with --node)')
    .option('--data <dir>', 'verify this data directory offline (default: $TALLY_DATA or ~/.tally/node)')
    .option('--node <socket|url>', 'verify a running node instead, over its socket or HTTP')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { data?: string; node?: string; json?: boolean }) => {
      const report = await runVerify(opts);
      output(opts, report, () => humanReport(report));
      if (!report.ok) process.exitCode = 3;
    });
}

async function runVerify(opts: { data?: string; node?: string; json?: boolean }): Promise<VerifyReport> {
  const pool = new VerifierPool();
  let store: SqliteStore | undefined;
  let client: ReturnType<typeof connectClient> | undefined;
  const bar = !opts.json && process.stderr.isTTY ? new SingleBar({ format: 'verifying |{bar}| {value}/{total} blocks  {eta_formatted} left', stream: process.stderr }, Presets.shades_classic) : undefined;
  try {
    let source: ChainSource;
    if (opts.node) {
      client = connectClient(opts.node);
      source = clientSource(client);
    } else {
      const p = dataPaths(opts.data ?? defaultDataDir());
      store = SqliteStore.open({ dbPath: p.db, keyPath: p.dbKey, readonly: true });
      const stored = store.getMeta('genesis');
      if (!stored) throw new TallyError('db_corrupt', 'the database has no genesis record');
      source = storeSource(store, validateGenesis(JSON.parse(stored), allModules));
    }
    let started = false;
    return await verifyChain(source, allModules, pool, (height, tip) => {
      if (!bar) return;
      if (!started) {
        bar.start(tip, 0);
        started = true;
      }
      bar.update(height);
    });
  } finally {
    bar?.stop();
    await pool.close();
    store?.close();
    client?.close();
  }
}

function humanReport(r: VerifyReport): string {
  const head = `chain "${r.chain}": ${r.blocks} blocks, ${r.txs} transactions, ${r.stateKeys} state entries replayed`;
  if (r.ok) return `${head}\nOK: every hash, signature, Merkle root, receipt and balance matches`;
  const lines = r.issues.slice(0, 20).map((i) => `  height ${i.height}: ${i.kind}: ${i.message}`);
  if (r.issues.length > 20) lines.push(`  ... and ${r.issues.length - 20} more (--json lists up to 100)`);
  return `${head}\nFAILED: the chain diverges at height ${r.firstDivergence}\n${lines.join('\n')}`;
}
