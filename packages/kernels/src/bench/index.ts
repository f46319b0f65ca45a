// `npm run bench -w @mtv/kernels`: kernel throughput on this machine's adapter.
import { existsSync } from 'node:fs';
import { Gpu } from '../gpu.js';
import { ROW_HEADER, benchMatmul, rowCells } from './matmul.bench.js';
import { printTable } from './table.js';

/** Optional benches written elsewhere: each exports `bench<Name>(gpu)` returning table rows or printing its own. */
type ExternalBench = (gpu: Gpu) => Promise<unknown>;

async function optionalBench(file: string, exportName: string): Promise<ExternalBench | null> {
  const url = new URL(file, import.meta.url);
  if (!existsSync(url)) return null;
  const mod = (await import(url.href)) as Record<string, unknown>;
  const fn = mod[exportName];
  if (typeof fn !== 'function') throw new Error(`${file} does not export a function ${exportName}`);
  return fn as ExternalBench;
}

async function main(): Promise<void> {
  const gpu = await Gpu.create();
  try {
    const r = gpu.report;
    console.log(`adapter: ${r.device || r.vendor} (${r.description}); backend ${r.backend}, ${r.featureLevel}; cpuAdapter ${r.cpuAdapter}; maxBinding ${gpu.maxBinding} B`);
    const rows = await benchMatmul(gpu, { log: (row) => console.log(`  ${row.m}x${row.n}x${row.k} ${row.variant} ${row.wDtype}: ${row.gflops.toFixed(2)} GFLOP/s`) });
    printTable('matmul (Y = X·Wᵀ)', ROW_HEADER, rows.map(rowCells));
    const attention = await optionalBench('./attention.bench.js', 'benchAttention');
    if (!attention) console.log('\n(attention bench not present: skipped)');
    else {
      const out = await attention(gpu);
      if (Array.isArray(out) && out.length > 0 && typeof out[0] === 'object' && out[0] !== null) {
        const header = Object.keys(out[0] as object);
        printTable('attention', header, (out as Record<string, string | number>[]).map((o) => header.map((h) => o[h] ?? '')));
      }
    }
  } finally {
    gpu.destroy();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
