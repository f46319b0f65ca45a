// The page's files, all served from this package and its dependencies (no CDN: fleet machines may have
// no network): our index.html / app.js / style.css, ECharts' browser build and htm + Preact's
// standalone module. Read once at first request and kept in memory.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
// Resolves to packages/coordinator/src/dashboard/assets from both src/dashboard (tests) and dist/dashboard.
const OWN = fileURLToPath(new URL('../../src/dashboard/assets/', import.meta.url));

export interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

const SOURCES: Record<string, { readonly file: () => string; readonly type: string }> = {
  '/': { file: () => `${OWN}index.html`, type: 'text/html; charset=utf-8' },
  '/app.js': { file: () => `${OWN}app.js`, type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: () => `${OWN}style.css`, type: 'text/css; charset=utf-8' },
  '/vendor/echarts.min.js': { file: () => require.resolve('echarts/dist/echarts.min.js'), type: 'text/javascript; charset=utf-8' },
  // htm's Preact bundle (Preact, its hooks and htm in one ES module).
  '/vendor/htm-preact.mjs': { file: () => join(dirname(require.resolve('htm')), '..', 'preact', 'standalone.module.js'), type: 'text/javascript; charset=utf-8' },
};

const cache = new Map<string, Promise<Asset>>();

export const isAssetPath = (path: string): boolean => Object.hasOwn(SOURCES, path);

export function asset(path: string): Promise<Asset> {
  const src = SOURCES[path];
  if (!src) return Promise.reject(new Error(`no dashboard asset '${path}'`));
  let a = cache.get(path);
  if (!a) {
    a = readFile(src.file()).then((body) => ({ type: src.type, body }));
    a.catch(() => cache.delete(path));
    cache.set(path, a);
  }
  return a;
}
