// The web wallet and explorer on the public listener: GET / is the page, /assets/* its
// content-hashed files (cached for a year, immutable: a new build has new names). Built by
// `npm run build` into dist/web (web/build.mjs); read once at start, bounded, and served
// from memory. Without a build, GET / says how to make one.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** dist/src/api/web.js -> dist/web */
export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
const ASSET_FILES_MAX = 64;
const ASSET_BYTES_MAX = 4 * 1024 * 1024;
const ASSET_NAME = /^[A-Za-z0-9_-]{1,64}\.(js|css|svg|png|woff2)$/;

/** The page's policy: its own origin only (the node it came from), no inline script, no framing. */
export const WEB_CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
};

interface Asset { body: Buffer; type: string }

function loadAssets(dir: string): { index: Buffer; assets: Map<string, Asset> } | null {
  let index: Buffer;
  try {
    index = fs.readFileSync(path.join(dir, 'index.html'));
  } catch {
    return null;
  }
  const assets = new Map<string, Asset>();
  const assetDir = path.join(dir, 'assets');
  let total = index.length;
  for (const name of fs.existsSync(assetDir) ? fs.readdirSync(assetDir).sort() : []) {
    const m = ASSET_NAME.exec(name);
    if (!m) continue;
    if (assets.size >= ASSET_FILES_MAX) throw new Error(`${assetDir} has more than ${ASSET_FILES_MAX} files: rebuild it (npm run build)`);
    const body = fs.readFileSync(path.join(assetDir, name));
    total += body.length;
    if (total > ASSET_BYTES_MAX) throw new Error(`${dir} holds more than ${ASSET_BYTES_MAX} bytes: rebuild it (npm run build)`);
    assets.set(name, { body, type: TYPES[m[1]!]! });
  }
  return { index, assets };
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', WEB_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin');
}

export function registerWebPage(app: FastifyInstance, dir: string = WEB_DIR): void {
  const built = loadAssets(dir);
  const page = {
    operationId: 'getWebPage', tags: ['web'], summary: 'the web wallet and explorer (HTML; README, "The web wallet")',
    response: {
      200: { description: 'the page, never cached without revalidation', content: { 'text/html': { schema: { type: 'string' } } } },
      404: { description: 'web_not_built: this node was installed without the page (npm run build writes dist/web)' },
    },
  };
  const asset = {
    operationId: 'getWebAsset', tags: ['web'], summary: 'a file of the page, named by its content hash (cached a year, immutable)',
    params: { type: 'object', required: ['file'], properties: { file: { type: 'string', maxLength: 80 } } },
    response: {
      200: { description: 'the file (JavaScript or CSS)', content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } } },
      404: { description: 'not_found: no such file in this build' },
    },
  };
  app.get('/', { schema: page }, async (_req, reply) => {
    if (!built) {
      return reply.status(404).send({ error: { code: 'web_not_built', message: 'this node has no web page: build it with npm run build (it writes dist/web)' } });
    }
    return secure(reply).type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(built.index);
  });
  app.get('/assets/:file', { schema: asset }, async (req, reply) => {
    const file = built?.assets.get((req.params as { file: string }).file);
    if (!file) return reply.status(404).send({ error: { code: 'not_found', message: `no asset ${req.url}` } });
    return secure(reply).type(file.type).header('cache-control', 'public, max-age=31536000, immutable').send(file.body);
  });
}
