// Bundle the web wallet and explorer into dist/web: one JS and one CSS file, named by their
// content hash (served with year-long immutable caching), and an index.html that loads
// them (no inline script: the node serves it with CSP default-src 'self').
// src/core's hash.ts (hash-wasm) and encoding.ts (Node's Buffer) are swapped for the
// browser versions in web/src/shims; any other Node-only import fails the build.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { browserShims } from './esbuild-shims.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const out = path.join(root, 'dist', 'web');
/** The budget for the page's JavaScript, gzipped. */
const JS_GZIP_BYTES_MAX = 100 * 1024;

fs.rmSync(out, { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints: { app: path.join(here, 'src', 'main.ts'), style: path.join(here, 'src', 'style.css') },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  entryNames: '[name]-[hash]',
  outdir: path.join(out, 'assets'),
  metafile: true,
  plugins: [browserShims],
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => path.resolve(root, p));
const js = outputs.find((p) => p.endsWith('.js'));
const css = outputs.find((p) => p.endsWith('.css'));
if (!js || !css) throw new Error('esbuild wrote no JS or no CSS');
const inputs = Object.keys(result.metafile.inputs);
for (const banned of ['src/core/hash.ts', 'src/core/encoding.ts', 'hash-wasm']) {
  if (inputs.some((i) => i.includes(banned))) throw new Error(`the page bundles ${banned}: the browser shim was not used`);
}

// The page's runtime dependencies: the packages whose code is in the bundle (at most three).
const packages = [...new Set(inputs.map((i) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(i)?.[1]).filter(Boolean))].sort();
const PACKAGES_MAX = 3;
if (packages.length > PACKAGES_MAX) throw new Error(`the page bundles ${packages.length} packages (${packages.join(', ')}), more than ${PACKAGES_MAX}`);

const rel = (p) => '/' + path.relative(out, p).split(path.sep).join('/');
const html = fs.readFileSync(path.join(here, 'index.html'), 'utf8').replace('{{js}}', rel(js)).replace('{{css}}', rel(css));
fs.writeFileSync(path.join(out, 'index.html'), html);

const jsBytes = fs.readFileSync(js);
const jsGzip = zlib.gzipSync(jsBytes, { level: 9 }).length;
const cssGzip = zlib.gzipSync(fs.readFileSync(css), { level: 9 }).length;
fs.writeFileSync(path.join(out, 'sizes.json'), JSON.stringify({ js: rel(js), jsBytes: jsBytes.length, jsGzipBytes: jsGzip, css: rel(css), cssGzipBytes: cssGzip, packages }) + '\n');
console.log(`web: ${rel(js)} ${(jsBytes.length / 1024).toFixed(1)} KiB (${(jsGzip / 1024).toFixed(1)} KiB gzipped), ${rel(css)} ${(cssGzip / 1024).toFixed(1)} KiB gzipped; packages: ${packages.join(', ')}`);
if (jsGzip > JS_GZIP_BYTES_MAX) throw new Error(`the page's JavaScript is ${jsGzip} bytes gzipped, over the ${JS_GZIP_BYTES_MAX} budget`);
