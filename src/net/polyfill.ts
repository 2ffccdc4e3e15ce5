// libp2p 3 and its muxers call Promise.withResolvers (ES2024), which Node 22 has and
// Node 20 lacks. Import this module before any libp2p module is evaluated: libp2p.ts
// imports it first, and ES modules evaluate their imports in order, so the method is in
// place before libp2p's own code can run. It does nothing where the runtime has it.

interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const P = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> };

if (typeof P.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    enumerable: false, // like the built-in, so it does not show up in for..in
    value: function withResolvers<T>(this: PromiseConstructor): Resolvers<T> {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      // `new this` keeps subclasses working, as the built-in does.
      const promise = new this<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export {};
