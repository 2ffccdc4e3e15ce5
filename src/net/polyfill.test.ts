import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

type WithResolvers = <T>() => { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void };
const P = Promise as unknown as { withResolvers?: WithResolvers };
// Read through a function: TypeScript would keep `undefined` narrowed after the delete.
const current = (): WithResolvers | undefined => P.withResolvers;

describe('Promise.withResolvers polyfill', () => {
  it('installs a working method where the runtime lacks one, and keeps a native one', async () => {
    const native = P.withResolvers;
    delete P.withResolvers;
    try {
      await import('./polyfill.js?fresh=1' as string);
      const w = current();
      assert.ok(w);
      const ok = w.call(Promise) as ReturnType<WithResolvers>;
      ok.resolve(42);
      assert.equal(await ok.promise, 42);
      const bad = w.call(Promise) as ReturnType<WithResolvers>;
      bad.reject(new Error('no'));
      await assert.rejects(bad.promise, /no/);
      assert.equal(Object.keys(Promise).includes('withResolvers'), false, 'not enumerable');
      const installed = current();
      await import('./polyfill.js?fresh=2' as string);
      assert.equal(current(), installed, 'a present method is left alone');
    } finally {
      if (native) P.withResolvers = native;
    }
  });
});
