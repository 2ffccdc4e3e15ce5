import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RangeCache } from './range-cache.js';
import { LayeredState, MemoryState, type CommittedState } from './state.js';

/** A parent state that counts the range reads that reach it. */
function counted(parent: CommittedState): CommittedState & { reads: number } {
  const c = { reads: 0, get: (k: string) => parent.get(k), range: (p: string, a: string | undefined, n: number) => { c.reads++; return parent.range(p, a, n); } };
  return c;
}

function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('RangeCache', () => {
  it('answers every range read exactly as the parent does, with room and when full', () => {
    for (const [seed, rowsMax] of [[1, 65_536], [2, 40], [3, 0], [4, 200]] as const) {
      const rnd = seeded(seed);
      const parent = new MemoryState();
      const prefixes = ['a/', 'a/x/', 'b/', 'c/'];
      for (let i = 0; i < 600; i++) parent.map.set(`${prefixes[Math.floor(rnd() * 3)]}${String(Math.floor(rnd() * 5000)).padStart(4, '0')}`, String(i));
      const cache = new RangeCache(parent, rowsMax);
      for (let q = 0; q < 3000; q++) {
        const prefix = prefixes[Math.floor(rnd() * prefixes.length)]!;
        const after = rnd() < 0.4 ? undefined : `${prefix}${String(Math.floor(rnd() * 5200)).padStart(4, '0')}`;
        const limit = 1 + Math.floor(rnd() * (rnd() < 0.8 ? 20 : 900));
        assert.deepEqual(cache.range(prefix, after, limit), parent.range(prefix, after, limit), `seed ${seed} query ${q}: ${prefix} after ${after} limit ${limit}`);
      }
    }
  });

  it('a block that deletes the best rows reads past them in memory, not from the parent each time', () => {
    const parent = new MemoryState();
    for (let i = 0; i < 2000; i++) parent.map.set(`book/${String(i).padStart(5, '0')}`, String(i));
    const plain = counted(parent);
    const cached = counted(parent);
    const read = (state: LayeredState) => {
      for (let i = 0; i < 1000; i++) {
        const [best] = state.entries<number>('book/', { limit: 1 });
        assert.equal(best![1], i);
        state.delete(best![0]);
        state.commitTx();
      }
    };
    read(new LayeredState(plain));
    read(new LayeredState(new RangeCache(cached)));
    assert.ok(cached.reads * 20 < plain.reads, `parent range reads: ${cached.reads} cached, ${plain.reads} without`);
  });
});
