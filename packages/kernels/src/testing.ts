// Test helpers shared by every package's GPU tests: seeded random data and tolerance checks
// against a float64 reference. (Exported so model/mtv tests use the same yardstick.)

/** mulberry32: a tiny seeded PRNG, deterministic across platforms. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform values in [lo, hi) as float32 (the values the GPU sees). */
export function randomF32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

export interface CloseReport {
  ok: boolean;
  maxAbs: number;
  maxRel: number;
  worst: number;
  message: string;
}

/** |got - ref| <= atol + rtol * |ref| elementwise; reports the worst element. */
export function compareClose(got: ArrayLike<number>, ref: ArrayLike<number>, atol: number, rtol = 0): CloseReport {
  if (got.length !== ref.length) return { ok: false, maxAbs: Infinity, maxRel: Infinity, worst: -1, message: `length ${got.length} != reference length ${ref.length}` };
  let maxAbs = 0;
  let maxRel = 0;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const r = ref[i]!;
    const d = Math.abs(g - r);
    if (!Number.isFinite(g) && g !== r) return { ok: false, maxAbs: Infinity, maxRel: Infinity, worst: i, message: `element ${i}: got ${g}, reference ${r}` };
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, d / Math.max(Math.abs(r), 1e-30));
    const excess = d - (atol + rtol * Math.abs(r));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  const ok = worst < 0;
  return { ok, maxAbs, maxRel, worst, message: ok ? `max abs err ${maxAbs.toExponential(2)}` : `element ${worst}: got ${got[worst]}, reference ${ref[worst]} (atol ${atol}, rtol ${rtol}; max abs err ${maxAbs.toExponential(2)})` };
}

export type TestShapes = 'full' | 'small';

/**
 * The shape size tests run at: env MTV_TEST_SHAPES=small (npm test's Vulkan pass on SwiftShader,
 * and the GPU check's quick local run) shrinks the few cases whose cost is shader compilation of big
 * unrolled sizes (e.g. head dim 64/72 in attention), so a second backend fits CI's time; the full
 * shapes still run in the first pass. Anything else (unset, 'full') is the full shapes.
 */
export function testShapes(): TestShapes {
  const v = process.env.MTV_TEST_SHAPES;
  if (v === undefined || v === '' || v === 'full') return 'full';
  if (v === 'small') return 'small';
  throw new Error(`MTV_TEST_SHAPES=${v} is not a test shape size; use small or full`);
}

/** `full` normally, `small` under MTV_TEST_SHAPES=small (see testShapes). */
export function sizedForTests<T>(full: T, small: T): T {
  return testShapes() === 'small' ? small : full;
}
