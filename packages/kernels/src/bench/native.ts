// The native ceiling next to our kernels (issue 18): numpy's BLAS GFLOP/s at the same matmul shapes,
// measured in the same run with the same method (warm-up, repeats, median and min–max). numpy from
// the python3 on PATH, with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from that command's
// environment only (so OpenBLAS picks its own kernel for this CPU); it reports which BLAS and which
// kernel it ran. Debian's python3-numpy links the reference BLAS, which is no ceiling: flagged.
import { spawnSync } from 'node:child_process';
import { stats, type Stats } from './measure.js';

export interface NativeShape {
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

export type NativeResult =
  | { readonly ok: true; readonly blas: string; readonly reference: boolean; readonly gflops: ReadonlyMap<string, Stats> }
  | { readonly ok: false; readonly note: string };

export const shapeKey = (s: NativeShape): string => `${s.m}x${s.n}x${s.k}`;

const SCRIPT = String.raw`
import json, sys, time, ctypes
try:
    import numpy as np
except Exception as e:
    print(json.dumps({"error": "numpy not importable: %s" % e})); sys.exit(0)
shapes, repeats = json.loads(sys.argv[1]), int(sys.argv[2])
blas = "unknown BLAS"
try:
    cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    blas = "%s %s" % (cfg.get("name"), cfg.get("version"))
except Exception:
    pass
core = None
try:
    import threadpoolctl
    for lib in threadpoolctl.threadpool_info():
        if lib.get("internal_api") in ("openblas", "mkl", "blis"):
            blas = "%s %s" % (lib.get("internal_api"), lib.get("version")); core = lib.get("architecture"); break
except Exception:
    pass
if core is None:
    try:
        libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if "openblas" in l.lower() and ".so" in l})
        for path in libs:
            lib = ctypes.CDLL(path)
            for sym in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename64_", "openblas_get_corename"):
                f = getattr(lib, sym, None)
                if f is not None:
                    f.restype = ctypes.c_char_p; core = f().decode(); break
            if core: break
    except Exception:
        pass
out = {"blas": blas + (", kernel " + core if core else ""), "reference": "openblas" not in blas.lower() and "mkl" not in blas.lower() and "blis" not in blas.lower() and "accelerate" not in blas.lower(), "rows": {}}
for m, n, k in shapes:
    x = np.random.default_rng(1).random((m, k), dtype=np.float32)
    w = np.random.default_rng(2).random((n, k), dtype=np.float32)
    flop = 2.0 * m * n * k
    per = max(1, min(50, int(2e9 / flop)))
    x @ w.T
    xs = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(per):
            x @ w.T
        xs.append(flop * per / (time.perf_counter() - t) / 1e9)
    out["rows"]["%dx%dx%d" % (m, n, k)] = xs
print(json.dumps(out))
`;

/** numpy's GFLOP/s per shape (Y = X·Wᵀ, f32), or a note saying why the column is skipped. */
export function nativeCeiling(shapes: readonly NativeShape[], repeats = 5): NativeResult {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync('python3', ['-c', SCRIPT, JSON.stringify(shapes.map((s) => [s.m, s.n, s.k])), String(repeats)], { env, encoding: 'utf8', timeout: 600_000 });
  if (r.error) return { ok: false, note: `native ceiling skipped: python3 not runnable (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})` };
  let parsed: { error?: string; blas?: string; reference?: boolean; rows?: Record<string, number[]> };
  try {
    parsed = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as typeof parsed;
  } catch {
    return { ok: false, note: `native ceiling skipped: python3 failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop() ?? ''}` };
  }
  if (parsed.error) return { ok: false, note: `native ceiling skipped: ${parsed.error}` };
  const gflops = new Map(Object.entries(parsed.rows ?? {}).map(([k, v]) => [k, stats(v)] as const));
  return { ok: true, blas: parsed.blas ?? 'unknown BLAS', reference: parsed.reference ?? false, gflops };
}
