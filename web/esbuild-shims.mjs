// The esbuild plugin that gives the page browser versions of two src/core files: hash.ts
// (hash-wasm) and encoding.ts (Node's Buffer) become web/src/shims/*.ts. Shared by the
// build (web/build.mjs) and the test that runs the page's checks in Node (test/web-verify.test.ts).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const coreDir = path.resolve(here, '..', 'src', 'core');

export const browserShims = {
  name: 'browser-shims',
  setup(build) {
    build.onResolve({ filter: /^\.\/(hash|encoding)\.js$/ }, (args) => {
      if (path.resolve(args.resolveDir) !== coreDir) return undefined;
      const name = args.path.slice(2, -3);
      return { path: path.join(here, 'src', 'shims', `${name}.ts`) };
    });
  },
};
