// `npm run bench -w @mtv/kernels`: kernel throughput on this machine's adapter.
import { existsSync } from 'node:fs';
import { exitOnBrokenPipe } from '../cli/broken-pipe.js';
import { Gpu } from '../gpu.js';
import { MATMUL_SHAPES, ROW_HEADER, benchMatmul, rowCells } from './matmul.bench.js';
import { benchSession, fmtStats } from './measure.js';
import { nativeCeiling, shapeKey } from './native.js';
import { printTable } from './table.js';

/** Optional benches written elsewhere: each exports `bench<Name>(gpu)` returning table rows or printing its own. */
type ExternalBench = (gpu: Gpu, opts?: { quick?: boolean }) => Promise<unknown>;

async function optionalBench(file: string, exportName: string): Promise<ExternalBench | null> {
  const url = new URL(file, import.meta.url);
  if (!existsSync(url)) return null;
  const mod = (await import(url.href)) as Record<string, unknown>;
  const fn = mod[exportName];
  if (typeof fn !== 'function') throw new Error(`${file} does not export a function ${exportName}`);
  return fn as ExternalBench;
}

async function main(): Promise<void> {
  const session = benchSession('@mtv/kernels bench');
  const quick = session.quick;
  const gpu = await Gpu.create();
  try {
    const r = gpu.report;
    console.log(`adapter: ${r.device || r.vendor} (${r.description}); backend ${r.backend}, ${r.featureLevel}; cpuAdapter ${r.cpuAdapter}; maxBinding ${gpu.maxBinding} B`);
    console.log('method: per row, 1 untimed first use (timed apart: record + JIT + 1 run), then 5 timed submits: median [min–max]');
    const rows = await benchMatmul(gpu, { quick, repeats: quick ? 3 : 5, log: (row) => console.log(`  ${row.m}x${row.n}x${row.k} ${row.variant} ${row.pipeline} ${row.wDtype}: ${row.gflops.toFixed(2)} GFLOP/s (first use ${Math.round(row.firstMs)} ms)`) });
    // The native ceiling at the same shapes, in the same run (numpy's BLAS, f32).
    const native = nativeCeiling(MATMUL_SHAPES(quick), quick ? 3 : 5);
    const header = [...ROW_HEADER, 'numpy GFLOP/s [min–max]', 'ours / numpy'];
    const cells = rows.map((r) => {
      const n = native.ok ? native.gflops.get(shapeKey(r)) : undefined;
      return [...rowCells(r), n ? fmtStats(n, 1) : '-', n ? (r.gflops / n.median).toFixed(3) : '-'];
    });
    printTable('matmul (Y = X·Wᵀ)', header, cells);
    if (native.ok) console.log(`native ceiling: numpy with ${native.blas} (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset for that command)${native.reference ? '; WARNING: a reference BLAS, no ceiling' : ''}`);
    else console.log(native.note);
    const compiled = [...new Set(rows.map((r) => `${r.variant}:${r.pipeline}:${r.wDtype}`))];
    console.log(`matmul pipeline variants compiled here: ${compiled.length} (${compiled.join(', ')}); first-use ms above is with Mesa's shader cache as it is (MESA_SHADER_CACHE_DISABLE=true for the cold figure)`);
    const attention = await optionalBench('./attention.bench.js', 'benchAttention');
    if (!attention) console.log('\n(attention bench not present: skipped)');
    else {
      const out = await attention(gpu, { quick });
      if (Array.isArray(out) && out.length > 0 && typeof out[0] === 'object' && out[0] !== null) {
        const header = Object.keys(out[0] as object);
        printTable('attention', header, (out as Record<string, string | number>[]).map((o) => header.map((h) => o[h] ?? '')));
      }
    }
    const backward = await optionalBench('./backward.bench.js', 'benchBackward');
    if (backward) {
      const out = (await backward(gpu, { quick })) as Record<string, string | number>[];
      if (out.length > 0) {
        const header = Object.keys(out[0]!);
        printTable('backward kernels (training the demo model)', header, out.map((o) => header.map((h) => o[h] ?? '')));
      }
    }
  } finally {
    gpu.destroy();
    session.end();
  }
}

exitOnBrokenPipe();
main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
