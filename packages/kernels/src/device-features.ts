// Which optional WebGPU features the device request asks for, and the Dawn toggle that lets
// NVIDIA's Vulkan driver expose shader-f16 at all. Kept apart from device.ts so the choice is
// unit-testable without an adapter that has the features.

/** The optional features the kernels use when offered (matmul f16 loads, gemv subgroupAdd). */
export const OPTIONAL_FEATURES = ['shader-f16', 'subgroups'] as const;
export type OptionalFeature = (typeof OPTIONAL_FEATURES)[number];

/**
 * Dawn hides shader-f16 on NVIDIA's Vulkan driver unless this adapter toggle is on (Dawn's
 * Toggles.cpp: "Enables F16 on Nvidia GPUs with Vulkan"). It has no effect on other adapters.
 */
export const NVIDIA_F16_TOGGLE = 'vulkan_enable_f16_on_nvidia';

/**
 * The create() flags with NVIDIA_F16_TOGGLE added to `enable-dawn-features` (Dawn's node binding
 * keeps only the last value of a repeated flag, so it is merged into a caller's list, not appended).
 */
export function withF16Toggle(flags: readonly string[]): string[] {
  const key = 'enable-dawn-features=';
  const i = flags.findIndex((f) => f.startsWith(key));
  if (i < 0) return [...flags, `${key}${NVIDIA_F16_TOGGLE}`];
  const list = flags[i]!.slice(key.length).split(',').filter((t) => t !== '');
  if (list.includes(NVIDIA_F16_TOGGLE)) return [...flags];
  return flags.map((f, j) => (j === i ? `${key}${[...list, NVIDIA_F16_TOGGLE].join(',')}` : f));
}

export interface FeatureChoice {
  /** Passed as requiredFeatures. */
  request: OptionalFeature[];
  /** One line per wanted feature not requested, naming why (recorded in the report). */
  notes: string[];
}

/**
 * The optional features to request: each one in `wanted` the adapter offers. shader-f16 is not
 * requested in compatibility mode (Dawn's OpenGL ES backend does not implement it). A feature the
 * adapter lacks is a note, never an error: the kernels fall back to their plain paths.
 */
export function chooseFeatures(offered: { has(name: string): boolean }, featureLevel: 'core' | 'compatibility', wanted: readonly OptionalFeature[] = OPTIONAL_FEATURES): FeatureChoice {
  const request: OptionalFeature[] = [];
  const notes: string[] = [];
  for (const f of wanted) {
    if (!offered.has(f)) notes.push(`${f} not offered by the adapter; ${FALLBACK[f]}`);
    else if (f === 'shader-f16' && featureLevel !== 'core') notes.push(`${f} not requested at the ${featureLevel} feature level; ${FALLBACK[f]}`);
    else request.push(f);
  }
  return { request, notes };
}

const FALLBACK: Record<OptionalFeature, string> = {
  'shader-f16': 'f16 weights are read through unpack2x16float',
  subgroups: 'reductions use workgroup memory',
};
