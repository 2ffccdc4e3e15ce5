// `tally market create|close|list|book|order|cancel|positions|trades`: the markets in a terminal.
import fs from 'node:fs';
import type { Command } from 'commander';
import { TallyError } from '../../core/errors.js';
import { flag, int, intFlag, oneOf } from '../../core/decode.js';
import type { CliContext } from '../../chain/app-module.js';

type Opts = Record<string, unknown>;

const cols = (head: string[], rows: unknown[][]): string => {
  const all = [head, ...rows.map((r) => r.map((v) => (v === undefined || v === null ? '-' : String(v))))];
  const widths = head.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  return all.map((r) => r.map((v, i) => String(v).padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
};

export function marketsCli(program: Command, cli: CliContext): void {
  const market = program.command('market').description('futures and perpetuals: markets, book, orders, positions, trades');

  cli.clientOptions(market.command('create').argument('<spec>', 'the markets.create body: a JSON object, or @FILE holding one')
    .description('create a market (a chain admin): a future {id, kind:"future", oracles, event, ...} or a perpetual {id, kind:"perpetual", oracles, series, ...}')).action(async (spec: string, opts: Opts) => {
    let body: Opts;
    try {
      body = JSON.parse(spec.startsWith('@') ? fs.readFileSync(spec.slice(1), 'utf8') : spec) as Opts;
    } catch (err) {
      throw new TallyError('bad_flag', `the market spec is not JSON: ${(err as Error).message}`, { status: 400 });
    }
    const receipt = await cli.submitTx('markets.create', body, opts);
    cli.output(opts, receipt, () => `market ${body.id} created`);
  });

  cli.clientOptions(market.command('close').argument('<market>', 'market id')
    .description('close a market halted by a frozen oracle (a chain admin): every position settles at its mark, resting orders are cancelled')).action(async (id: string, opts: Opts) => {
    const receipt = await cli.submitTx('markets.close', { market: id }, opts);
    const settled = receipt.events.find((e) => e.type === 'markets.settled');
    cli.output(opts, receipt, () => `market ${id} closed at ${String(settled?.price)}: ${String(settled?.positions)} positions settled`);
  });

  cli.clientOptions(market.command('list').description('every market with its status and prices')).action(async (opts: Opts) => {
    const r = (await cli.query('markets.list', {}, opts)) as { markets: Array<Record<string, unknown>> };
    cli.output(opts, r, () => (r.markets.length === 0 ? 'no markets' : cols(['market', 'kind', 'status', 'last', 'index', 'mark', 'tick', 'lot', 'IM bps', 'MM bps'],
      r.markets.map((m) => [m.id, m.kind, m.status, m.last, m.index, m.mark, m.tickSize, m.lotSize, m.initialMarginBps, m.maintenanceMarginBps]))));
  });

  cli.clientOptions(market.command('book').argument('<market>', 'market id').option('--depth <n>', 'levels per side (1-500)', intFlag('--depth', 1, 500), 10)
    .description('the aggregated book at the committed height')).action(async (id: string, opts: Opts) => {
    const r = (await cli.query('markets.book', { market: id, depth: opts.depth }, opts)) as { height: number; bids: Array<[number, number]>; asks: Array<[number, number]>; checksum: string };
    cli.output(opts, r, () => {
      const asks = [...r.asks].reverse().map(([p, s]) => ['ask', p, s]);
      const bids = r.bids.map(([p, s]) => ['bid', p, s]);
      return `${id} at height ${r.height} (checksum ${r.checksum})\n${cols(['side', 'price', 'size'], [...asks, ...bids])}`;
    });
  });

  cli.clientOptions(market.command('order').argument('<market>', 'market id').argument('<side>', 'buy or sell', flag('side', oneOf(['buy', 'sell'] as const)))
    .argument('<size>', 'size in size units (a multiple of the lot size)', flag('size', int({ min: 1, text: true })))
    .requiredOption('--price <p>', 'limit price in price units (for --market: the worst price accepted)', flag('--price', int({ min: 1, text: true })))
    .option('--market', 'a market order: IOC at --price or better')
    .option('--tif <tif>', 'gtc, ioc, fok or post (post-only)', flag('--tif', oneOf(['gtc', 'ioc', 'fok', 'post'] as const)))
    .option('--reduce-only', 'only shrink the position (ioc or fok)')
    .description('place an order (a transaction)')).action(async (id: string, side: string, size: number, opts: Opts) => {
    const body: Opts = { market: id, side, size, price: opts.price, type: opts.market ? 'market' : 'limit' };
    if (opts.tif) body.tif = opts.tif;
    if (opts.reduceOnly) body.reduceOnly = true;
    const receipt = await cli.submitTx('markets.order', body, opts);
    cli.output(opts, receipt, () => {
      const ev = receipt.events;
      const fills = ev.filter((e) => e.type === 'markets.fill').map((e) => `${e.size} @ ${e.price}`);
      const rested = ev.find((e) => e.type === 'markets.order_rested');
      const order = ev.find((e) => e.type === 'markets.order')?.order;
      return `order ${order}: ${fills.length ? `filled ${fills.join(', ')}` : 'no fills'}${rested ? `; ${rested.size} rests at ${rested.price}` : ''}`;
    });
  });

  cli.clientOptions(market.command('cancel').argument('<market>', 'market id').argument('[order]', 'order id (<height>.<index>.<seq>); omit with --all').option('--all', 'cancel every open order of the account (in this market)')
    .description('cancel an order, or all of them')).action(async (id: string, order: string | undefined, opts: Opts) => {
    const receipt = opts.all ? await cli.submitTx('markets.cancel_all', { market: id }, opts) : await cli.submitTx('markets.cancel', { market: id, order: order ?? '' }, opts);
    cli.output(opts, receipt, () => `cancelled ${receipt.events.filter((e) => e.type === 'markets.order_cancelled').length} order(s)`);
  });

  cli.clientOptions(market.command('positions').argument('[account]', 'account id (default: the account of --key)').description('positions with entry, equity and unrealised PnL at the mark'))
    .action(async (ref: string | undefined, opts: Opts) => {
      const account = ref ?? cli.currentAccountId(opts);
      const r = (await cli.query('markets.positions', { account }, opts)) as { positions: Array<Record<string, unknown>> };
      cli.output(opts, r, () => (r.positions.length === 0 ? 'no positions' : cols(['market', 'size', 'entry', 'mark', 'collateral', 'equity', 'uPnL', 'maintenance'],
        r.positions.map((p) => [p.market, p.size, p.entry, p.mark, p.collateral, p.equity, p.unrealisedPnl, p.maintenance]))));
    });

  cli.clientOptions(market.command('trades').argument('<market>', 'market id').option('--limit <n>', 'trades (1-500)', intFlag('--limit', 1, 500), 20).description('recent trades, newest first'))
    .action(async (id: string, opts: Opts) => {
      const r = (await cli.query('markets.trades', { market: id, limit: opts.limit }, opts)) as { trades: Array<Record<string, unknown>> };
      cli.output(opts, r, () => (r.trades.length === 0 ? 'no trades' : cols(['seq', 'height', 'side', 'price', 'size', 'maker', 'taker'],
        r.trades.map((t) => [t.seq, t.height, t.side, t.price, t.size, String(t.maker).slice(0, 8), String(t.taker).slice(0, 8)]))));
    });
}
