// `tally chain verify`: replay from genesis (or from the snapshot a directory started from),
// offline on a data directory or online against --node, with a progress bar on a terminal.
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { readGenesisFile, validateGenesis } from '../chain/genesis.js';
import { dataPaths } from '../chain/node.js';
import { clientSource, storeSource, verifyChain, type ChainSource, type VerifyPins, type VerifyReport } from '../chain/replay.js';
import { VerifierPool } from '../chain/verifier.js';
import { connectClient } from '../api/client.js';
import { chainModules } from '../modules/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { TallyError } from '../core/errors.js';
import { addClientOptions, defaultDataDir, nodeTarget, withClient, type ClientOptions } from './context.js';
import { output, table } from './output.js';
import { blockHash, verifyHeaderSignature, type SignedBlock } from '../chain/blocks.js';
import { verifyTxProof } from '../chain/proof.js';
import type { ConsensusStatus, NetworkStatus, ProofView, TallyNode, TxView } from '../chain/node.js';
import { intFlag } from '../core/decode.js';
import fs from 'node:fs';
import { exportGenesis } from '../chain/genesis-export.js';
import { chainParams } from '../chain/genesis-block.js';
import { Kernel } from '../chain/kernel.js';
import { decodeValue, type StateReader } from '../chain/state.js';

export function registerChainCommands(program: Command): void {
  addClientOptions(program.command('status')
    .description('what a node runs: chain id, height, tip, node key, mempool, modules'))
    .action(async (opts: ClientOptions) => {
      const info = await withClient(opts, (client) => client.call('node.info')) as ReturnType<TallyNode['info']>;
      const n = info.network;
      output(opts, info, () => table([
        ['node', nodeTarget(opts)],
        ['chain', info.chain],
        ['height', info.height],
        ['tip', info.tipHash],
        ['genesis', info.genesisHash],
        ['node key', info.nodeKey],
        ['decimals', info.decimals],
        ['mempool', info.mempool],
        ['modules', info.modules.join(', ')],
        ['tx types', info.txTypes.join(', ')],
        ['role', info.role],
        ...(n ? networkRows(n) : [['network', 'off (no --p2p or --follow)'] as [string, unknown]]),
      ]));
    });

  addClientOptions(program.command('tx')
    .argument('<id>', 'transaction id: 64 hex digits, or a unique prefix of at least 8')
    .description('show a transaction with its receipt, and check its Merkle proof against the signed block header'))
    .action(async (id: string, opts: ClientOptions) => {
      const result = await withClient(opts, async (client) => {
        const info = (await client.call('node.info')) as { nodeKey: string };
        // A short id (as people copy it) names the one transaction whose id starts with it.
        if (!/^[0-9a-f]{64}$/.test(id)) id = ((await client.call('query', { name: 'ledger.find_tx', params: { prefix: id } })) as { id: string }).id;
        const view = (await client.call('tx.get', { id })) as TxView;
        const proof = (await client.call('tx.proof', { id })) as ProofView;
        return { ...view, proof, proofCheck: verifyTxProof(proof, info.nodeKey) };
      });
      output(opts, result, () => {
        const r = result.receipt;
        const tx = result.envelope.tx;
        return table([
          ['tx', result.id],
          ['type', tx.type],
          ['from', tx.from],
          ['nonce', tx.nonce],
          ['body', JSON.stringify(tx.body)],
          ['status', `${r.status}${r.code ? ' ' + r.code : ''} (block ${r.height}, index ${r.index})`],
          ['events', r.events.map((e) => JSON.stringify(e)).join('\n' + ' '.repeat(8)) || '-'],
          ['proof', result.proofCheck.ok ? `verified: in block ${r.height} (${result.proof.block.hash.slice(0, 16)}...), signed by the node key` : `FAILED: ${result.proofCheck.reason}`],
        ]);
      });
      if (!result.proofCheck.ok) process.exitCode = 3;
    });

  addClientOptions(program.command('block')
    .argument('<height>', 'block height (0 is the genesis block)', intFlag('height', 0, Number.MAX_SAFE_INTEGER))
    .description('show a signed block header and its transaction ids, and check its hash and signature'))
    .action(async (height: number, opts: ClientOptions) => {
      const block = await withClient(opts, (client) => client.call('block.get', { height })) as SignedBlock & { txs: string[] };
      const valid = blockHash(block.header) === block.hash && verifyHeaderSignature(block.header, block.sig);
      output(opts, { ...block, valid }, () => table([
        ['height', block.header.height],
        ['hash', block.hash],
        ['prev', block.header.prevHash],
        ['time', new Date(block.header.time).toISOString()],
        ['txRoot', block.header.txRoot],
        ['stateRoot', block.header.stateRoot],
        ['txs', block.header.txCount],
        ['proposer', block.header.proposer],
        ['signature', valid ? 'valid' : 'INVALID'],
      ]) + (block.txs.length ? '\n' + block.txs.join('\n') : ''));
      if (!valid) process.exitCode = 3;
    });

  const chain = program.command('chain').description('inspect and verify the chain');
  chain.command('export-genesis')
    .description('write the genesis of a NEW chain that starts from this chain\'s committed state (accounts, keys, balances; see the README, "Genesis export"); reads the data directory in one snapshot, the node may keep running')
    .requiredOption('--chain <id>', 'the new chain\'s id (it must differ: signatures never replay across chains)')
    .option('--data <dir>', 'the data directory to read (default: $TALLY_DATA or ~/.tally/node)')
    .option('--time <ms>', 'the new genesis time, unix ms (default: now)', intFlag('--time', 0, Number.MAX_SAFE_INTEGER))
    .option('--out <file>', 'write the genesis here (mode 0644; default: standard output)')
    .action((opts: { chain: string; data?: string; time?: number; out?: string }) => {
      const p = dataPaths(opts.data ?? defaultDataDir());
      const store = SqliteStore.open({ dbPath: p.db, keyPath: p.dbKey, readonly: true });
      try {
        store.db.exec('BEGIN');
        const stored = store.getMeta('genesis');
        if (!stored) throw new TallyError('db_corrupt', 'the database has no genesis record');
        const genesis = validateGenesis(JSON.parse(stored), chainModules);
        const state: StateReader = {
          get: <T>(k: string) => { const v = store.getState(k); return v === undefined ? undefined : decodeValue<T>(v); },
          entries: <T>(prefix: string, o: { after?: string; limit?: number } = {}) =>
            store.stateRange(prefix, o.after, o.limit ?? 1000).map(([k, v]): [string, T] => [k, decodeValue<T>(v)]),
        };
        const next = exportGenesis(state, new Kernel(chainModules, chainParams(genesis)), genesis, { chain: opts.chain, time: opts.time ?? Date.now() });
        const text = JSON.stringify(next, null, 2) + '\n';
        if (opts.out) {
          fs.writeFileSync(opts.out, text, { flag: 'wx', mode: 0o644 });
          process.stderr.write(`wrote the genesis of chain "${next.chain}" (from "${genesis.chain}" at height ${store.tip()!.height}) to ${opts.out}\n`);
        } else {
          process.stdout.write(text);
        }
      } finally {
        if (store.db.inTransaction) store.db.exec('COMMIT');
        store.close();
      }
    });
  chain.command('verify')
    .description('replay the chain from genesis (a directory started from a snapshot: from the snapshot\'s height, checked against its signed header): every hash, signature, Merkle root, receipt and balance (offline on --data, or online with --node)')
    .option('--data <dir>', 'verify this data directory offline (default: $TALLY_DATA or ~/.tally/node)')
    .option('--node <socket|url>', 'verify a running node instead, over its socket or HTTP')
    .option('--genesis <file>', 'trust this genesis document, not the one the node or directory holds')
    .option('--node-key <key>', 'trust this node key (base64url), not whoever signed block 0 (default: $TALLY_NODE_KEY)')
    .option('--json', 'print the report as JSON')
    .action(async (opts: VerifyOptions) => {
      const report = await runVerify(opts);
      output(opts, report, () => humanReport(report));
      if (!report.ok) process.exitCode = 3;
    });
}

interface VerifyOptions {
  data?: string;
  node?: string;
  genesis?: string;
  nodeKey?: string;
  json?: boolean;
}

async function runVerify(opts: VerifyOptions): Promise<VerifyReport> {
  const pins: VerifyPins = {};
  if (opts.genesis) pins.genesis = readGenesisFile(opts.genesis, chainModules);
  const nodeKey = opts.nodeKey ?? process.env.TALLY_NODE_KEY;
  if (nodeKey) pins.nodeKey = nodeKey;
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
      // One read transaction for the whole replay: a node running on this directory keeps
      // committing, and blocks, transactions and state must all come from one snapshot
      // (it starts at the first read below). The connection is our own and read-only.
      store.db.exec('BEGIN');
      const stored = store.getMeta('genesis');
      if (!stored) throw new TallyError('db_corrupt', 'the database has no genesis record');
      source = storeSource(store, validateGenesis(JSON.parse(stored), chainModules));
    }
    let started = false;
    return await verifyChain(source, chainModules, pool, (height, tip) => {
      if (!bar) return;
      if (!started) {
        bar.start(tip, 0);
        started = true;
      }
      bar.update(height);
    }, pins);
  } finally {
    bar?.stop();
    await pool.close();
    if (store?.db.inTransaction) store.db.exec('COMMIT');
    store?.close();
    client?.close();
  }
}

function humanReport(r: VerifyReport): string {
  const s = r.snapshot;
  const head = s
    ? `chain "${r.chain}": started from a snapshot at height ${s.height} (block ${s.hash}): history before height ${s.height} was not verified\n` +
      `checked block 0 against the genesis, block ${s.height}'s signature and the state at ${s.height} against its stateRoot, then replayed ${r.height - s.height} blocks after it: ${r.txs} transactions, ${r.stateKeys} state entries`
    : `chain "${r.chain}": ${r.blocks} blocks, ${r.txs} transactions, ${r.stateKeys} state entries replayed`;
  if (r.ok) return `${head}\nOK: ${s ? `from height ${s.height} on, ` : ''}every hash, signature, Merkle root, receipt and balance matches`;
  const lines = r.issues.slice(0, 20).map((i) => `  height ${i.height}: ${i.kind}: ${i.message}`);
  if (r.issues.length > 20) lines.push(`  ... and ${r.issues.length - 20} more (--json lists up to 100)`);
  return `${head}\nFAILED: the chain diverges at height ${r.firstDivergence}\n${lines.join('\n')}`;
}

/** A validator chain: height, round and step, who is online, the last commit, missed votes. */
function consensusRows(c: ConsensusStatus): Array<[string, unknown]> {
  const missed = Object.entries(c.missedVotes).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, n]) => `${k.slice(0, 10)}... ${n}`).join(', ');
  return [
    ['consensus', `${c.voting ? 'voting' : 'following (not in the set)'}: height ${c.height} round ${c.round} ${c.step}; ${c.peersConnected} of ${c.validators} validators online`],
    ['last commit', c.lastCommit ? `height ${c.lastCommit.height} round ${c.lastCommit.round}, signed by ${c.lastCommit.signers} of ${c.lastCommit.of}; final ${c.lastFinalityMs} ms after its block time` : 'none since start'],
    ['rounds', `${c.heights} heights since start, ${c.extraRounds} extra rounds`],
    ...(missed ? [['missed votes', missed] as [string, unknown]] : []),
  ];
}

/** What `tally status` shows of the network: sync state, lag, peers, refusals, equivocation. */
function networkRows(n: NetworkStatus): Array<[string, unknown]> {
  const rejected = Object.entries(n.rejectedPeers).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    ['sync', n.state + (n.role === 'replica' ? ` (best known head ${n.bestHeight}, ${n.lagBlocks} blocks / ${(n.lagMs / 1000).toFixed(1)} s behind)` : '')],
    ['peers', n.peers.length === 0 ? 'none' : n.peers.map((p) => `${p.id.slice(0, 16)}... ${p.direction}${p.height !== null ? ` at ${p.height}` : ''}`).join('\n' + ' '.repeat(10))],
    ...(n.role === 'replica' ? [['verified', `${n.blocksVerified} blocks, ${n.txsVerified} txs (${n.blocksVerifiedPerSec.toFixed(1)} blocks/s)`] as [string, unknown]] : []),
    ...(rejected ? [['dropped', rejected] as [string, unknown]] : []),
    ...(n.consensus ? consensusRows(n.consensus) : []),
    ...(n.equivocation ? [['EQUIVOCATION', `at height ${n.equivocation.height}: ${n.equivocation.hashes.join(' and ')} (evidence in ${n.equivocation.file}); not following`] as [string, unknown]] : []),
  ];
}
