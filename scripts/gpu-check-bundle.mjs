#!/usr/bin/env node
// Builds the GPU check bundle (docs/GPU-CHECK.md): everything `scripts/gpu-check.sh` needs on a Linux
// x86-64 GPU host that has no Node.js and no network, in one file of at most 64 MiB:
//   .gpu-check/mtv-gpu-check.tar.gz  containing  mtv-gpu-check/
//     node.xz                 this machine's node binary, xz-compressed (unpacked on the host)
//     lib/libvulkan.so.1      the Vulkan loader (Debian libvulkan1), used only where the host has none
//     node_modules/           the runtime closure of vitest, fast-check, webgpu (linux-x64 Dawn only),
//                             sharp and the model's tokenizers, plus @mtv/kernels and @mtv/model links
//     packages/{kernels,model}/  package.json, src, wgsl, test, dist (the benches run from dist)
//     vitest.config.ts, package.json, tsconfig*.json
//     scripts/gpu-check.sh, scripts/gpu-check/   the check itself
//     BUNDLE.json             node version, commit, build time, sizes
// Run from the repository root after `npx tsc -b`:   node scripts/gpu-check-bundle.mjs
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const outDir = join(root, '.gpu-check');
const name = 'mtv-gpu-check';
const stage = join(outDir, 'stage', name);
const tarball = join(outDir, `${name}.tar.gz`);
const LIMIT = 64 * 2 ** 20;
const log = (m) => process.stderr.write(`[gpu-check-bundle] ${m}\n`);
const fail = (m) => {
  log(`ERROR: ${m}`);
  process.exit(1);
};

if (process.platform !== 'linux' || process.arch !== 'x64') fail(`the bundle carries this machine's node and Dawn for linux-x64; this is ${process.platform}-${process.arch}`);
for (const p of ['packages/kernels/dist/bench/index.js', 'packages/model/dist/bench/index.js', 'packages/kernels/dist/device.js']) {
  if (!existsSync(join(root, p))) fail(`${p} is missing: build first (nice -n 19 npx tsc -b)`);
}
const VULKAN_LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/lib/x86_64-linux-gnu/libvulkan.so.1'];
const vulkan = VULKAN_LOADERS.find((p) => existsSync(p));
if (!vulkan) fail(`no Vulkan loader at ${VULKAN_LOADERS.join(' or ')} (apt-get install libvulkan1, or npm run bootstrap)`);

rmSync(join(outDir, 'stage'), { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

// --- node_modules: the runtime dependency closure of what the check imports --------------------
const ROOTS = ['vitest', 'fast-check', 'webgpu', 'sharp', '@huggingface/jinja', '@huggingface/tokenizers'];
const nm = join(root, 'node_modules');
const pkgDir = (from, dep) => {
  // node's lookup: nested node_modules first, then upwards to the root's
  for (let d = from; d.startsWith(root); d = dirname(d)) {
    const c = join(d, 'node_modules', dep);
    if (existsSync(join(c, 'package.json'))) return c;
    if (d === root) break;
  }
  return null;
};
const seen = new Set();
const queue = ROOTS.map((r) => {
  const d = pkgDir(root, r);
  if (!d) fail(`node_modules/${r} is missing (npm install)`);
  return d;
});
while (queue.length > 0) {
  const d = queue.pop();
  if (seen.has(d)) continue;
  seen.add(d);
  const pj = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8'));
  const deps = { ...(pj.dependencies ?? {}), ...(pj.optionalDependencies ?? {}) };
  for (const dep of Object.keys(deps)) {
    const c = pkgDir(d, dep);
    if (c) queue.push(c); // optional ones for other platforms are not installed: left out
    else if (!(pj.optionalDependencies ?? {})[dep]) fail(`${relative(root, d)} needs ${dep}, which is not installed`);
  }
}
// Left out of the copies: other platforms' binaries and what nothing runs (docs, sources maps, types).
const SKIP = [/\.d\.ts$/, /\.d\.mts$/, /\.d\.cts$/, /\.map$/, /\.md$/i, /^(CHANGELOG|README|HISTORY)/i];
const copyFiltered = (src, dst) =>
  cpSync(src, dst, {
    recursive: true,
    dereference: false,
    filter: (s) => {
      const rel = relative(src, s);
      if (rel === '') return true;
      const base = rel.split('/').pop();
      // webgpu ships Dawn for five platforms (20+ MiB each): only linux-x64's travels
      if (lstatSync(s).isDirectory()) return !(relative(root, src) === join('node_modules', 'webgpu') && /^dist\/(?!linux-x64$)[^/]+$/.test(rel));
      return !SKIP.some((re) => re.test(base));
    },
  });
for (const d of [...seen].sort()) copyFiltered(d, join(stage, relative(root, d)));
mkdirSync(join(stage, 'node_modules', '@mtv'), { recursive: true });
symlinkSync('../../packages/kernels', join(stage, 'node_modules', '@mtv', 'kernels'));
symlinkSync('../../packages/model', join(stage, 'node_modules', '@mtv', 'model'));

// --- the two packages, the test config, the check -----------------------------------------------
for (const p of ['kernels', 'model']) {
  for (const part of ['package.json', 'tsconfig.json', 'src', 'test', 'dist', ...(p === 'kernels' ? ['wgsl'] : [])]) {
    const src = join(root, 'packages', p, part);
    if (!existsSync(src)) fail(`packages/${p}/${part} is missing`);
    cpSync(src, join(stage, 'packages', p, part), { recursive: true, filter: (s) => !/\.(map|tsbuildinfo)$/.test(s) && !/\.d\.ts$/.test(s) });
  }
}
for (const f of ['vitest.config.ts', 'tsconfig.base.json']) cpSync(join(root, f), join(stage, f));
// vitest's transform (oxc) loads the tsconfig references: only the two packages that travel
writeFileSync(join(stage, 'tsconfig.json'), JSON.stringify({ files: [], references: [{ path: 'packages/kernels' }, { path: 'packages/model' }] }, null, 2));
// a root package.json without workspaces or scripts: only "type": "module" matters there
writeFileSync(join(stage, 'package.json'), JSON.stringify({ name: 'mtv-gpu-check', private: true, type: 'module' }, null, 2));
mkdirSync(join(stage, 'scripts'), { recursive: true });
cpSync(join(root, 'scripts', 'gpu-check.sh'), join(stage, 'scripts', 'gpu-check.sh'));
cpSync(join(root, 'scripts', 'gpu-check'), join(stage, 'scripts', 'gpu-check'), { recursive: true });
mkdirSync(join(stage, 'lib'), { recursive: true });
cpSync(vulkan, join(stage, 'lib', 'libvulkan.so.1'), { dereference: true });

// --- node, xz-compressed ------------------------------------------------------------------------
// xz -9 of a 95 MiB binary takes minutes on 2 busy cores: kept in .gpu-check/cache, keyed by the
// binary's version, size and mtime, and reused while those stay the same.
const nodeStat = statSync(process.execPath);
const cached = join(outDir, 'cache', `node-${process.version}-${nodeStat.size}-${Math.round(nodeStat.mtimeMs)}.xz`);
if (!existsSync(cached)) {
  mkdirSync(dirname(cached), { recursive: true });
  log(`compressing ${process.execPath} (${(nodeStat.size / 2 ** 20).toFixed(1)} MiB) with xz -9 (minutes; cached afterwards)`);
  const xz = spawnSync('bash', ['-c', `xz -9 -T2 -c "${process.execPath}" > "${cached}.part" && mv "${cached}.part" "${cached}"`], { stdio: 'inherit' });
  if (xz.status !== 0) fail('xz failed (apt-get install xz-utils)');
} else log(`node.xz: reusing ${relative(root, cached)}`);
cpSync(cached, join(stage, 'node.xz'));

const du = (d) => {
  let n = 0;
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isSymbolicLink()) continue;
    n += e.isDirectory() ? du(p) : statSync(p).size;
  }
  return n;
};
const commit = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
const dirty = spawnSync('git', ['status', '--porcelain', '--', 'packages/kernels', 'packages/model', 'scripts'], { cwd: root, encoding: 'utf8' }).stdout.trim() !== '';
writeFileSync(
  join(stage, 'BUNDLE.json'),
  JSON.stringify({ built: new Date().toISOString(), commit, uncommittedChanges: dirty, node: process.version, vulkanLoader: vulkan, packages: [...seen].map((d) => relative(nm, d)).sort(), unpackedBytes: du(stage) }, null, 2),
);

log('writing the tarball (gzip -9)');
rmSync(tarball, { force: true });
const tar = spawnSync('bash', ['-c', `tar -C "${join(outDir, 'stage')}" -cf - ${name} | gzip -9 > "${tarball}"`], { stdio: 'inherit' });
if (tar.status !== 0) fail('tar failed');
const size = statSync(tarball).size;
log(`${relative(root, tarball)}: ${(size / 2 ** 20).toFixed(1)} MiB (unpacked ${(du(stage) / 2 ** 20).toFixed(1)} MiB; ${seen.size} npm packages)`);
rmSync(join(outDir, 'stage'), { recursive: true, force: true });
if (size > LIMIT) fail(`the bundle is ${(size / 2 ** 20).toFixed(1)} MiB, over the 64 MiB a device run can carry`);
console.log(tarball);
