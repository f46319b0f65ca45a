#!/usr/bin/env node
// Attention at the GPU check's sequence lengths (docs/GPU-CHECK.md): causal prefill (Tn = S) and
// decode (Tn = 1) over S keys, in Qwen2-0.5B's layout (Hq 14, Hkv 2, D 64), on the adapter
// @mtv/kernels acquires (MTV_GPU_BACKEND). Prints one JSON line: { adapter, rows: [{ case, S, Tn,
// ms, msMin, msMax, gflops }] } or { error }. Each timing: 1 untimed run (compile + first touch),
// then `--repeats` submits of one dispatch each, each timed to queue.onSubmittedWorkDone(), median and min-max.
//   node scripts/gpu-check/attention.mjs --S 1024,4096 [--repeats 5]
import { Gpu, attention, randomF32 } from '@mtv/kernels';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
const lengths = arg('--S', '1024,4096').split(',').map(Number);
const repeats = Number(arg('--repeats', '5'));
if (lengths.some((s) => !Number.isInteger(s) || s < 1) || !(repeats >= 1)) throw new Error(`--S ${arg('--S', '')} / --repeats ${repeats}: positive integers expected`);
const [Hq, Hkv, D] = [14, 2, 64];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

const gpu = await Gpu.create();
const note = (m) => process.stderr.write(`attention: ${m}\n`);
note(`device ${gpu.report.description || gpu.report.device} (${gpu.report.backend})`);
const rows = [];
try {
  for (const S of lengths) {
    for (const Tn of [S, 1]) {
      const name = Tn === 1 ? `decode S=${S}` : `causal prefill S=${S}`;
      const q = gpu.upload(randomF32(Tn * Hq * D, 1, -2, 2), [1, Tn, Hq, D]);
      const kSuf = gpu.upload(randomF32(S * Hkv * D, 2, -2, 2), [1, S, Hkv, D]);
      const vSuf = gpu.upload(randomF32(S * Hkv * D, 3), [1, S, Hkv, D]);
      const out = gpu.empty([1, Tn, Hq, D]);
      const once = async () => {
        const rec = gpu.recorder('gpu-check-attention');
        await attention(rec, { q, kSuf, vSuf, S, causal: true, out });
        const t0 = performance.now();
        await rec.submit();
        // submit() resolves on its error scopes, which need not wait for the GPU: wait for the work itself
        await gpu.device.queue.onSubmittedWorkDone();
        return performance.now() - t0;
      };
      try {
        await once();
        const xs = [];
        for (let i = 0; i < repeats; i++) xs.push(await once());
        let pairs = 0;
        for (let t = 0; t < Tn; t++) pairs += S - Tn + t + 1;
        const ms = median(xs);
        note(`${name}: ${ms.toFixed(3)} ms`);
        rows.push({ case: name, S, Tn, ms, msMin: Math.min(...xs), msMax: Math.max(...xs), gflops: (pairs * Hq * 4 * D) / ms / 1e6 });
      } catch (e) {
        rows.push({ case: name, S, Tn, error: e instanceof Error ? e.message.split('\n')[0] : String(e) });
      }
      for (const t of [q, kSuf, vSuf, out]) t.release();
    }
  }
  const r = gpu.report;
  console.log(JSON.stringify({ adapter: `${r.description || r.device} (${r.backend}, ${r.featureLevel})`, layout: `Hq ${Hq}, Hkv ${Hkv}, D ${D}`, repeats, rows }));
} finally {
  gpu.destroy();
}
