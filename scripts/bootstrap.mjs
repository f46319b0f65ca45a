#!/usr/bin/env node
// Brings a fresh clone to a runnable state: npm dependencies, the Mesa EGL/GLES system
// libraries Dawn's OpenGL ES backend needs on GPU-less hosts, and the TypeScript build.
// Every step is skipped when already done, so `npm start` / `npm test` stay fast.
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const log = (msg) => process.stderr.write(`[bootstrap] ${msg}\n`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    log(`failed: ${cmd} ${args.join(' ')} (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

// 1. Node version.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 10)) {
  log(`Node ${process.versions.node} is too old; MTV fleet needs Node >= 20.10.`);
  process.exit(1);
}

// 2. npm dependencies: install when node_modules is missing or older than the lockfile.
const stamp = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
const manifest = join(root, 'package.json');
const stale = !existsSync(stamp) || statSync(stamp).mtimeMs < Math.max(statSync(manifest).mtimeMs, existsSync(lock) ? statSync(lock).mtimeMs : 0);
if (stale) {
  log('installing npm dependencies');
  // `npm install`, not `npm ci`: npm 11 leaves other platforms' optional binaries (e.g. turbo's
  // darwin/windows packages) out of a lockfile written on Linux, and `npm ci` then refuses it as out
  // of sync. `npm install` still installs the locked versions.
  // `--no-save`: install exactly what package-lock.json says and never rewrite the committed file.
  run('npm', ['install', '--no-audit', '--no-fund', '--no-save']);
}

// 2b. The workspaces' bins (`mtv`, `mtv-coordinator`, `mtv-worker`, `mtv-demo`) in node_modules/.bin.
// They are committed launchers (packages/coordinator/bin, apps/worker/bin), so npm links them at
// install; a node_modules from before that (links to dist/ files that did not exist yet, or none) is
// re-linked here without reinstalling anything.
const BINS = { mtv: 'packages/coordinator/bin/mtv.js', 'mtv-coordinator': 'packages/coordinator/bin/mtv-coordinator.js', 'mtv-worker': 'apps/worker/bin/mtv-worker.js', 'mtv-demo': 'apps/worker/bin/mtv-demo.js' };
const binOk = (name, target) => {
  try {
    return realpathSync(join(root, 'node_modules', '.bin', name)) === realpathSync(join(root, target));
  } catch {
    return false;
  }
};
if (Object.entries(BINS).some(([name, target]) => !binOk(name, target))) {
  log('linking the mtv, mtv-coordinator, mtv-worker and mtv-demo commands into node_modules/.bin');
  run('npm', ['rebuild', '--ignore-scripts', '--no-audit', '--no-fund', '@mtv/coordinator', '@mtv/worker']);
}

// 3. System libraries for Dawn's OpenGL ES backend over Mesa llvmpipe (Linux only).
const SYSTEM_PACKAGES = ['libegl1', 'libegl-mesa0', 'libgles2', 'libgl1-mesa-dri'];
const SYSTEM_LIBS = ['libEGL.so.1', 'libGLESv2.so.2', 'libEGL_mesa.so.0'];
if (process.platform === 'linux') {
  let known = '';
  try { known = execSync('/sbin/ldconfig -p', { encoding: 'utf8' }); } catch { known = ''; }
  const missing = SYSTEM_LIBS.filter((lib) => !known.includes(lib));
  if (missing.length > 0) {
    const cmd = `apt-get update && apt-get install -y --no-install-recommends ${SYSTEM_PACKAGES.join(' ')}`;
    if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
      log(`missing ${missing.join(', ')}; installing ${SYSTEM_PACKAGES.join(' ')} with apt`);
      run('bash', ['-c', `DEBIAN_FRONTEND=noninteractive ${cmd}`]);
    } else {
      log(`missing system libraries ${missing.join(', ')} (needed for WebGPU on CPU-only hosts).`);
      log(`run as root:  sudo ${cmd.replace('&& apt-get', '&& sudo apt-get')}`);
      log('continuing: a real GPU backend (Vulkan/Metal/D3D12) does not need them.');
    }
  }
}

// 3b. The model tests' independent oracles, from Debian: Pillow (python3-pil: decodeImage and every
// image processor bit-exact against Pillow) and torch + numpy (python3-torch, python3-numpy: the
// families' float64 references against independent torch forwards). Tests skip, saying why, without
// them (Linux only, as for Mesa). See packages/model/test/python-oracle.ts.
const ORACLE_PACKAGES = [['PIL', 'python3-pil'], ['torch', 'python3-torch'], ['numpy', 'python3-numpy']];
const hasModule = (m) => ['python3', '/usr/bin/python3'].some((py) => spawnSync(py, ['-c', `import ${m}`], { stdio: 'ignore' }).status === 0);
const missingOracles = process.platform === 'linux' ? ORACLE_PACKAGES.filter(([m]) => !hasModule(m)).map(([, pkg]) => pkg) : [];
if (missingOracles.length > 0) {
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${missingOracles.join(' ')}`;
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    log(`missing the tests' python oracles; installing ${missingOracles.join(', ')} with apt`);
    run('bash', ['-c', `DEBIAN_FRONTEND=noninteractive ${cmd}`]);
  } else {
    log(`missing ${missingOracles.join(', ')} (the model tests compare against them and skip those checks without them).`);
    log(`run as root:  sudo ${cmd.replace('&& apt-get', '&& sudo apt-get')}`);
  }
}

// 3c. Debian's Chromium for the dashboard's real-browser test (test/dashboard.browser.e2e.test.ts drives it
// headless through playwright-core, which downloads no browser of its own). Linux only, as for Mesa;
// not on `npm start` (the demo needs no browser, and must stay fast on a fresh machine).
const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
if (process.platform === 'linux' && process.env.npm_lifecycle_event !== 'prestart' && !CHROMIUM_PATHS.some((p) => existsSync(p))) {
  const cmd = 'apt-get update && apt-get install -y --no-install-recommends chromium';
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    log('missing chromium (the dashboard test runs it headless); installing it with apt');
    run('bash', ['-c', `DEBIAN_FRONTEND=noninteractive ${cmd}`]);
  } else {
    log('missing chromium (the dashboard\'s browser test needs it, and fails without it).');
    log(`run as root:  sudo ${cmd.replace('&& apt-get', '&& sudo apt-get')}`);
  }
}

// 3d. The Vulkan loader (libvulkan1) for npm test's Vulkan pass: Dawn's Vulkan backend over the
// SwiftShader ICD chromium ships (scripts/run-tests.mjs, docs/GPU-CHECK.md). It registers no driver,
// so without VK_ICD_FILENAMES Dawn finds no Vulkan adapter and every other run stays on llvmpipe GLES.
// Linux only, not on `npm start`.
if (process.platform === 'linux' && process.env.npm_lifecycle_event !== 'prestart') {
  let known = '';
  try { known = execSync('/sbin/ldconfig -p', { encoding: 'utf8' }); } catch { known = ''; }
  if (!known.includes('libvulkan.so.1')) {
    const cmd = 'apt-get update && apt-get install -y --no-install-recommends libvulkan1';
    if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
      log('missing the Vulkan loader (npm test\'s Vulkan pass runs on SwiftShader through it); installing libvulkan1 with apt');
      run('bash', ['-c', `DEBIAN_FRONTEND=noninteractive ${cmd}`]);
    } else {
      log('missing the Vulkan loader libvulkan.so.1 (npm test\'s Vulkan pass fails without it).');
      log(`run as root:  sudo ${cmd.replace('&& apt-get', '&& sudo apt-get')}`);
    }
  }
}

// 4. Build every package (incremental; a no-op when nothing changed).
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b']);
