#!/usr/bin/env node
// Device self-check: which adapter and backend we got, the limits the kernels rely on, and a
// short correctness + speed check of the core kernels. `npm run selfcheck` runs it.
import { Gpu } from '../gpu.js';
import { exitOnBrokenPipe } from './broken-pipe.js';
import { timeIt } from '../bench/table.js';
import { matmul } from '../ops/matmul.js';
import { refMatmul } from '../reference/matmul.js';
import { compareClose, randomF32 } from '../testing.js';

function fmtBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${(n / 2 ** 20).toFixed(0)} MiB`;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const gpu = await Gpu.create();
  const r = gpu.report;
  console.log(`adapter   ${r.device || r.description} (${r.vendor || 'unknown vendor'})`);
  console.log(`backend   ${r.backend}, feature level ${r.featureLevel}${r.cpuAdapter ? ', CPU (software) adapter' : ''}${r.shaderF16 ? ', shader-f16' : ''}`);
  console.log(`driver    ${r.description}`);
  const l = r.limits;
  console.log(`limits    binding ${fmtBytes(l.maxStorageBufferBindingSize)}, buffer ${fmtBytes(l.maxBufferSize)}, ${l.maxComputeInvocationsPerWorkgroup} invocations/workgroup, ${l.maxStorageBuffersPerShaderStage} storage buffers/stage, ${l.maxComputeWorkgroupStorageSize} B workgroup memory`);

  // correctness: a small odd-shaped matmul against the float64 reference
  const [M, N, K] = [37, 29, 53];
  const x = randomF32(M * K, 1);
  const w = randomF32(N * K, 2);
  const b = randomF32(N, 3);
  const rec = gpu.recorder('selfcheck');
  const y = rec.read(await matmul(rec, gpu.upload(x, [M, K]), gpu.upload(w, [N, K]), { bias: gpu.upload(b, [N]) }));
  await rec.submit();
  const check = compareClose(await y, refMatmul(x, w, b, M, N, K), 1e-4, 1e-4);
  console.log(`matmul    ${M}x${N}x${K} vs float64 reference: ${check.ok ? 'ok' : 'MISMATCH'} (${check.message})`);

  // speed: 512^3 f32, a few iterations in one submit. `--no-speed` skips it: its 32x32-block
  // matmul variant takes a minute or two to compile on llvmpipe with a cold Mesa shader cache.
  if (process.argv.includes('--no-speed')) {
    gpu.destroy();
    console.log(`self-check ${check.ok ? 'passed' : 'FAILED'} in ${((performance.now() - t0) / 1000).toFixed(1)} s (speed skipped)`);
    process.exitCode = check.ok ? 0 : 1;
    return;
  }
  const S = 512;
  const xs = gpu.upload(randomF32(S * S, 4), [S, S]);
  const ws = gpu.upload(randomF32(S * S, 5), [S, S]);
  const out = gpu.empty([S, S]);
  const ms = await timeIt(gpu, async (rec) => void (await matmul(rec, xs, ws, { out })), { warmup: 1, iters: 3, perSubmit: 4 });
  console.log(`speed     matmul ${S}^3 f32: ${((2 * S ** 3) / ms / 1e6).toFixed(1)} GFLOP/s (${ms.toFixed(2)} ms); full table: npm run bench -w @mtv/kernels`);
  gpu.destroy();
  console.log(`self-check ${check.ok ? 'passed' : 'FAILED'} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  process.exitCode = check.ok ? 0 : 1;
}

exitOnBrokenPipe();
main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
