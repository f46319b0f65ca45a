// The dashboard in a real browser: headless Chromium (Debian's, installed by the bootstrap) through
// playwright-core, on a coordinator process and two worker processes running a small job
// (extract -> locate -> eval) on a tiny random checkpoint:
//   - the layer x head heatmap's cells (ECharts SVG paths) change while the locator trains;
//   - the coordinator is stopped (SIGTERM) mid-job and restarted with --resume on the same port: the
//     open page reconnects by itself and shows the resumed job;
//   - the final accuracy table appears; a screenshot goes to .test-results/dashboard.png.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { writeTinyCheckpoint } from '@mtv/model';
import { writeDataset } from '@mtv/toy';
import { ROOT, buildDist, coordinatorProc, freePort, workerProc, type Proc } from './fleet-procs.js';

const CHROMIUM = [process.env.MTV_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => !!p && existsSync(p));
// The flags for a machine without network or GPU (issue 16); the user-data-dir is a fresh temp dir.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let dir = '';
const procs: Proc[] = [];
let browser: BrowserContext | null = null;

beforeAll(async () => {
  if (!CHROMIUM) throw new Error('no Chromium at /usr/bin/chromium (or $MTV_CHROMIUM): run `node scripts/bootstrap.mjs` as root, or `apt-get install chromium`');
  buildDist();
  dir = await mkdtemp(join(tmpdir(), 'mtv-dashboard-'));
  await writeTinyCheckpoint(join(dir, 'model'), { family: 'clip-llama', seed: 3 });
  await writeDataset(join(dir, 'train'), 'task-inference', 30, 11, { subTask: 'colour' });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const p of procs) p.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

const start = (p: Proc): Proc => (procs.push(p), p);

/** The fill colours of the heatmap's cells as ECharts drew them (SVG renderer). */
const heatmapFills = (page: Page): Promise<string> =>
  page.$$eval('#heatmap svg path[fill]', (els) => els.map((e) => e.getAttribute('fill')).join(',')).catch(() => '');

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 200): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

describe('dashboard in headless Chromium', () => {
  it('shows the heatmap changing live, survives a coordinator restart with --resume, and ends with the accuracy table', async () => {
    const port = await freePort();
    const args = [
      '--port', String(port), '--data', join(dir, 'train', 'task-inference.jsonl'), '--model', join(dir, 'model'), '--seed', '2', '--shots', '2',
      '--rounds', '8', '--shard-size', '2', '--steps', '150', '--samples', '8', '--reinforce', '10', '--selection', '4', '--validation', '4',
      '--validate-every', '5', '--final-samples', '3', '--eval-n', '6', '--eval-shard-size', '3', '--max-new-tokens', '2', '--modes', 'zero-shot,icl,mtv',
      '--state', join(dir, 'state'), '--out', join(dir, 'mtv.safetensors'), '--workers', '2', '--heartbeat-ms', '500', '--no-progress',
    ];
    const c1 = start(coordinatorProc(args));
    const url = (await c1.waitFor(/^MTV_DASHBOARD /)).split(' ')[1]!;
    expect(url).toBe(`http://127.0.0.1:${port}/`);
    for (const id of ['b1', 'b2']) start(workerProc(id, ['--connect', `ws://127.0.0.1:${port}`, '--model', join(dir, 'model')]));

    browser = await chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), 'mtv-chromium-')), {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 1500 },
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    try {
      await scenario(page, c1, args);
    } catch (e) {
      // What the page and the coordinator showed, for the failure message.
      await mkdir(join(ROOT, '.test-results'), { recursive: true });
      await page.screenshot({ path: join(ROOT, '.test-results', 'dashboard-failure.png'), fullPage: true }).catch(() => {});
      const text = await page.locator('body').innerText().catch(() => '?');
      throw new Error(`${(e as Error).message}\npage errors: ${errors.join('; ') || 'none'}\npage:\n${text.slice(0, 3000)}\ncoordinator:\n${procs.filter((p) => p.name === 'coordinator').map((p) => p.tail(25)).join('\n---\n')}`);
    }
    expect(errors).toEqual([]);
  }, 180_000);
});

async function scenario(page: Page, c1: Proc, args: string[]): Promise<void> {
  await until('two workers in the table', async () => (await page.locator('#workers-table tr[data-worker]').count()) === 2, 60_000);
  // Live: the heatmap's cells change as REINFORCE steps arrive (pushed, the page is never reloaded).
  const first = await until('the heatmap', async () => (await heatmapFills(page)) || null, 90_000);
  const changed = await until('the heatmap cells to change', async () => {
    const now = await heatmapFills(page);
    return now && now !== first ? now : null;
  }, 30_000);
  expect(changed).not.toBe(first);
  // A few steps in, so the curve history beside the checkpoint holds some of them.
  const state = (): Promise<{ jobs: { curves: { step: number[] }; progress: { locate?: { done: number } } }[] }> => page.evaluate(() => fetch('/api/state').then((r) => r.json()));
  await until('10 locate steps', async () => ((await state()).jobs[0]?.progress.locate?.done ?? 0) >= 10, 30_000);

  // Restart: SIGTERM (state checkpointed), then the same flags with --resume on the same port.
  c1.kill('SIGTERM');
  expect((await c1.exited).code).toBe(143);
  await until('the page to notice the coordinator is gone', async () => (await page.locator('#link').textContent()) === 'reconnecting', 15_000);
  const c2 = start(coordinatorProc([...args, '--resume']));
  await c2.waitFor(/^MTV_DASHBOARD /);
  await until('the resumed job on the page', async () => (await page.locator('#jobs-table').textContent())?.includes('resumed at'), 30_000);
  expect(await page.locator('#link').textContent()).toBe('live');
  // The curves drawn before the restart are still there (kept beside the checkpoint).
  expect((await state()).jobs[0]!.curves.step[0]).toBe(1);

  await until('the final accuracy table', async () => (await page.locator('#final-table tr[data-mode]').count()) === 3, 120_000, 500);
  const modes = await page.$$eval('#final-table tr[data-mode]', (rows) => rows.map((r) => r.getAttribute('data-mode')));
  expect(modes).toEqual(['zero-shot', 'icl', 'mtv']);
  expect(await page.locator('#final-table').textContent()).toMatch(/\d+\.\d%/);
  expect(await page.locator('#heads-heatmap svg path[fill]').count()).toBeGreaterThan(0);
  await mkdir(join(ROOT, '.test-results'), { recursive: true });
  await page.screenshot({ path: join(ROOT, '.test-results', 'dashboard.png'), fullPage: true });
  expect((await c2.exited).code).toBe(0);
  // The finished coordinator's last push said it was closing: the page says so instead of 'reconnecting'.
  await until('the page to show the coordinator closed', async () => (await page.locator('#link').textContent()) === 'closed', 10_000);
}
