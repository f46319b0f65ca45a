// `mtv inspect FILE --html --png`: the report shows the chosen heads, the probabilities and the
// per-head mean norms as heatmaps (ECharts SSR -> SVG, resvg -> PNG) with the provenance; outputs
// never overwrite the artifact.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivationSums, headMaps, runMtvCli, writeArtifact, type MtvArtifact } from '../src/index.js';

const L = 3;
const H = 4;
const D = 5;
let dir = '';
let file = '';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => void (out += d.toString()));
  stderr.on('data', (d: Buffer) => void (err += d.toString()));
  const code = await runMtvCli(argv, { stdout, stderr });
  return { code, out, err };
}

function artifact(): MtvArtifact {
  const sums = new ActivationSums([L, H, D]);
  // Head i's mean is (i + 1) in every dim: norm (i + 1) * sqrt(D).
  for (let r = 0; r < 2; r++) sums.add(Float32Array.from({ length: L * H * D }, (_, k) => Math.floor(k / D) + 1));
  const heads = new Uint8Array(L * H);
  heads[1] = 1;
  heads[6] = 1;
  const logits = Float32Array.from({ length: L * H }, (_, i) => (heads[i] ? 2 : -2));
  return {
    sums, heads, logits,
    provenance: { modelId: 'tiny-test-model', modelHash: 'sha256:abc', codeVersion: '0.1.0', heads: 'located', runs: [{ datasetHash: 'd'.repeat(64), shots: 2, firstRound: 0, rounds: 2, seed: 7, shardSize: 1 }] },
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtv-report-'));
  file = join(dir, 'a.safetensors');
  await writeArtifact(file, artifact());
});
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

describe('mtv inspect --html / --png', () => {
  it('per-head mean norms', () => {
    const m = headMaps(artifact());
    expect(m.meanNorms[0]).toBeCloseTo(Math.sqrt(D), 5);
    expect(m.meanNorms[11]).toBeCloseTo(12 * Math.sqrt(D), 4);
    expect(Array.from(m.chosen!)).toEqual(Array.from(artifact().heads!));
  });

  it('writes a self-contained HTML report and a PNG of the heatmaps', async () => {
    const html = join(dir, 'report.html');
    const png = join(dir, 'heatmap.png');
    const r = await run('inspect', file, '--html', html, '--png', png);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/tiny-test-model/); // the text report still goes to stdout
    const page = await readFile(html, 'utf8');
    expect(page).toContain('sha256:abc');
    expect(page).toContain('2 of 12');
    expect(page).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/); // no script, nothing fetched
    // Three panels of L x H cells: chosen, probabilities, mean norms.
    const svg = /<svg[\s\S]*<\/svg>/.exec(page)![0];
    for (const t of ['chosen heads (2 of 12)', 'Bernoulli probability', 'mean activation norm']) expect(svg).toContain(t);
    expect((page.match(/<tr><td>\d+<\/td><td>\d+<\/td>/g) ?? []).length).toBe(2); // the chosen-heads table
    const img = sharp(await readFile(png));
    const meta = await img.metadata();
    expect(meta.format).toBe('png');
    expect(meta.width!).toBeGreaterThan(600);
    // The chosen cells are drawn in the 'chosen' red (#c0392b), the others not.
    const { data, info } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    let red = 0;
    for (let i = 0; i < info.width * info.height; i++) {
      const [r0, g0, b0] = [data[3 * i]!, data[3 * i + 1]!, data[3 * i + 2]!];
      if (Math.abs(r0 - 0xc0) < 6 && Math.abs(g0 - 0x39) < 6 && Math.abs(b0 - 0x2b) < 6) red++;
    }
    expect(red).toBeGreaterThan(200);
  });

  it('refuses to write a report over the artifact', async () => {
    const r = await run('inspect', file, '--png', file);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--png/);
  });
});
