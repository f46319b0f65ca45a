import { it } from 'vitest';
import { gemm, randomF32, type GemmBlock } from '../src/index.js';
import { useGpu } from './setup.js';
const gpu = useGpu();
it('probe', async () => {
  const g = await gpu();
  for (const bl of [[4, 4], [8, 8], [16, 16], [32, 32]] as [GemmBlock, GemmBlock][]) {
    const [m, n, k] = [256, 256, 256];
    const a = g.upload(randomF32(m * k, 1), [m, k]);
    const b = g.upload(randomF32(k * n, 2), [k, n]);
    let t0 = performance.now();
    let r = g.recorder(); await gemm(r, a, b, { block: bl }); await r.submit();
    const first = performance.now() - t0;
    t0 = performance.now();
    r = g.recorder(); await gemm(r, a, b, { block: bl }); await r.submit();
    const ms = performance.now() - t0;
    console.log(`block ${bl}: first ${first.toFixed(0)} ms, then ${ms.toFixed(1)} ms = ${(2 * m * n * k / ms / 1e6).toFixed(2)} GFLOP/s`);
  }
}, 600000);
