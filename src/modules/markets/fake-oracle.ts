// A stand-in oracle module for tests (until the real one is wired): announces, attests and
// freezes by plain transactions from anyone, no signatures, and serves the OracleKeeper
// that markets codes against. Never registered in a real build.
import { fail } from '../../core/errors.js';
import type { ChainModule, TxType } from '../../chain/module.js';
import type { OracleEventView, OracleKeeper } from './oracle-view.js';

interface FakeEvent {
  maturity: number;
  precision: number;
  outcome?: string;
  atBound?: boolean;
  attestedHeight?: number;
}

const evKey = (o: string, e: string) => `oracle/ev/${o}/${e}`;
const statusKey = (o: string) => `oracle/status/${o}`;
const attKey = (h: number, n: number) => `oracle/att/${String(h).padStart(12, '0')}/${String(n).padStart(4, '0')}`;
const frozenKey = (h: number, o: string) => `oracle/frozen/${String(h).padStart(12, '0')}/${o}`;

const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || v.length === 0 || v.length > 64) fail('bad_body', `${what} must be a string`);
  return v;
};

export function fakeOracleModule(): ChainModule<OracleKeeper> {
  const announce: TxType<{ oracle: string; eventId: string; maturity: number; precision: number }> = {
    type: 'oracle.announce',
    parse: (b) => ({ oracle: str(b.oracle, 'oracle'), eventId: str(b.eventId, 'eventId'), maturity: Number(b.maturity), precision: Number(b.precision ?? 0) }),
    apply(ctx, b) {
      ctx.state.set(statusKey(b.oracle), ctx.state.get(statusKey(b.oracle)) ?? 'active');
      ctx.state.set(evKey(b.oracle, b.eventId), { maturity: b.maturity, precision: b.precision } satisfies FakeEvent);
      return [];
    },
  };
  const attest: TxType<{ oracle: string; eventId: string; outcome: string; atBound: boolean }> = {
    type: 'oracle.attest',
    parse: (b) => ({ oracle: str(b.oracle, 'oracle'), eventId: str(b.eventId, 'eventId'), outcome: str(b.outcome, 'outcome'), atBound: b.atBound === true }),
    apply(ctx, b) {
      const ev = ctx.state.get<FakeEvent>(evKey(b.oracle, b.eventId));
      if (!ev) fail('unknown_event', 'no such event', { status: 404 });
      if (ev.outcome !== undefined) fail('already_attested', 'attested', { status: 409 });
      ctx.state.set(evKey(b.oracle, b.eventId), { ...ev, outcome: b.outcome, atBound: b.atBound, attestedHeight: ctx.height });
      const n = ctx.state.entries(`oracle/att/${String(ctx.height).padStart(12, '0')}/`).length;
      ctx.state.set(attKey(ctx.height, n), { oracle: b.oracle, eventId: b.eventId });
      return [{ type: 'oracle.attested', oracle: b.oracle, eventId: b.eventId, outcome: b.outcome }];
    },
  };
  const freeze: TxType<{ oracle: string }> = {
    type: 'oracle.freeze',
    parse: (b) => ({ oracle: str(b.oracle, 'oracle') }),
    apply(ctx, b) {
      ctx.state.set(statusKey(b.oracle), 'frozen');
      ctx.state.set(frozenKey(ctx.height, b.oracle), 1);
      return [];
    },
  };
  return {
    name: 'oracle',
    txTypes: [announce, attest, freeze] as TxType[],
    queries: [],
    keeper(ctx) {
      const h = String(ctx.height).padStart(12, '0');
      return {
        event(oracle, eventId): OracleEventView | undefined {
          const ev = ctx.state.get<FakeEvent>(evKey(oracle, eventId));
          if (!ev) return undefined;
          const view: OracleEventView = { oracle, eventId, maturity: ev.maturity, base: 10, signed: false, digits: 8, unit: 'usd', precision: ev.precision, status: ev.outcome === undefined ? 'announced' : 'attested' };
          if (ev.outcome !== undefined) Object.assign(view, { outcome: BigInt(ev.outcome), atBound: ev.atBound === true, attestedHeight: ev.attestedHeight });
          return view;
        },
        oracleStatus: (o) => ctx.state.get<'active' | 'frozen'>(statusKey(o)),
        attestedThisBlock: () => ctx.state.entries<{ oracle: string; eventId: string }>(`oracle/att/${h}/`).map(([, v]) => v),
        frozenThisBlock: () => ctx.state.entries(`oracle/frozen/${h}/`).map(([k]) => k.slice(k.lastIndexOf('/') + 1)),
      };
    },
  };
}
