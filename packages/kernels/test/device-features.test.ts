// Optional device features: which are requested (chooseFeatures), the NVIDIA f16 toggle in the
// create() flags, what the report records on this adapter, and compile errors naming the backend.
import { describe, expect, it } from 'vitest';
import { KernelError } from '../src/index.js';
import { NVIDIA_F16_TOGGLE, chooseFeatures, withF16Toggle } from '../src/device-features.js';
import { useGpu } from './setup.js';

const gpu = useGpu();

describe('optional feature request', () => {
  it('requests what the adapter offers and notes, one line each, what it lacks', () => {
    expect(chooseFeatures(new Set(['shader-f16', 'subgroups']), 'core')).toEqual({ request: ['shader-f16', 'subgroups'], notes: [] });
    expect(chooseFeatures(new Set(['subgroups']), 'core')).toEqual({
      request: ['subgroups'],
      notes: ['shader-f16 not offered by the adapter; f16 weights are read through unpack2x16float'],
    });
    expect(chooseFeatures(new Set<string>(), 'compatibility', ['subgroups'])).toEqual({ request: [], notes: ['subgroups not offered by the adapter; reductions use workgroup memory'] });
    // Dawn's OpenGL ES backend: shader-f16 is never requested in compatibility mode
    expect(chooseFeatures(new Set(['shader-f16']), 'compatibility', ['shader-f16'])).toEqual({
      request: [],
      notes: ['shader-f16 not requested at the compatibility feature level; f16 weights are read through unpack2x16float'],
    });
  });

  it("adds Dawn's NVIDIA f16 toggle to create() flags, merged into a caller's enable-dawn-features", () => {
    expect(NVIDIA_F16_TOGGLE).toBe('vulkan_enable_f16_on_nvidia');
    expect(withF16Toggle(['backend=vulkan'])).toEqual(['backend=vulkan', 'enable-dawn-features=vulkan_enable_f16_on_nvidia']);
    expect(withF16Toggle(['enable-dawn-features=dump_shaders', 'x=1'])).toEqual(['enable-dawn-features=dump_shaders,vulkan_enable_f16_on_nvidia', 'x=1']);
    expect(withF16Toggle(['enable-dawn-features=vulkan_enable_f16_on_nvidia'])).toEqual(['enable-dawn-features=vulkan_enable_f16_on_nvidia']);
  });

  it('the report records the features the device was granted, and why others were not', async () => {
    const g = await gpu();
    const r = g.report;
    expect(r.shaderF16).toBe(g.device.features.has('shader-f16'));
    expect(r.subgroups).toBe(g.device.features.has('subgroups'));
    if (!r.shaderF16) expect(r.featureNotes.some((n) => n.startsWith('shader-f16 not '))).toBe(true);
    if (!r.subgroups) expect(r.featureNotes.some((n) => n.startsWith('subgroups not '))).toBe(true);
    if (r.subgroupMinSize !== undefined) expect(r.subgroupMaxSize).toBeGreaterThanOrEqual(r.subgroupMinSize);
  });
});

describe('pipeline errors name the kernel and the backend', () => {
  it('a shader that fails to compile', async () => {
    const g = await gpu();
    const err = await g.pipeline('matmul_broken_probe', 'fn main() -> { let x = ; }').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    const msg = (err as KernelError).message;
    expect(msg.startsWith(`matmul_broken_probe: shader failed to compile on ${g.backendLabel}:\n  line 1:`)).toBe(true);
    expect(g.backendLabel).toContain(`${g.report.backend}/${g.report.featureLevel}`);
    // the failed compile is not cached: asking again compiles (and fails) again
    await expect(g.pipeline('matmul_broken_probe', 'fn main() -> { let x = ; }')).rejects.toThrow(KernelError);
  });

  it('a module that compiles but whose pipeline cannot be created (missing entry point)', async () => {
    const g = await gpu();
    const code = '@compute @workgroup_size(1) fn main() {}';
    await expect(g.pipeline('entry_probe', code, {}, 'nope')).rejects.toThrow(new RegExp(`^entry_probe: pipeline creation failed on ${g.backendLabel.replace(/[()./]/g, '\\$&')}`));
  });
});
