// Device acquisition: the platform GPU backend at core feature level first; otherwise Dawn's
// OpenGL ES backend over Mesa llvmpipe in compatibility mode (DESIGN.md section 4).
import { isMainThread } from 'node:worker_threads';
import { create, globals } from 'webgpu';
import { chooseFeatures, withF16Toggle, type OptionalFeature } from './device-features.js';

export type BackendChoice = 'vulkan' | 'metal' | 'd3d12' | 'opengles' | 'opengl' | 'null';

export interface AdapterReport {
  backend: BackendChoice | 'default';
  featureLevel: 'core' | 'compatibility';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for software rasterisers (llvmpipe, SwiftShader, lavapipe): kernels pick CPU-friendly variants. */
  cpuAdapter: boolean;
  shaderF16: boolean;
  /** The `subgroups` feature was granted (matmul's gemv reduces with subgroupAdd). */
  subgroups: boolean;
  /** The adapter's subgroup size range, where it reports one (with or without the feature). */
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  /** Why a wanted optional feature was not requested (one line each; see device-features.ts). */
  featureNotes: string[];
  limits: DeviceLimits;
}

export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupSizeY: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBuffersPerShaderStage: number;
  minStorageBufferOffsetAlignment: number;
  minUniformBufferOffsetAlignment: number;
}

interface Attempt {
  backend: BackendChoice | 'default';
  featureLevel: 'core' | 'compatibility';
}

export interface AcquireOptions {
  /** Force a backend; defaults to env MTV_GPU_BACKEND, else platform GPU then opengles. */
  backend?: BackendChoice | 'auto';
  /** Extra Dawn toggles passed to create(), e.g. 'enable-dawn-features=...'. */
  dawnFlags?: string[];
  /**
   * Optional features to request when the adapter offers them (default shader-f16 and subgroups).
   * Those named here that the adapter lacks are logged (one line each); the defaults are only noted
   * in the report.
   */
  features?: OptionalFeature[];
}

export interface AcquiredDevice {
  device: GPUDevice;
  report: AdapterReport;
  /** Resolves when the device is lost; never rejects. */
  lost: Promise<GPUDeviceLostInfo>;
  /** Releases the device and the Dawn instance so the process can exit. */
  destroy(): void;
}

/**
 * Makes headless EGL (Dawn's OpenGL ES backend over Mesa) work from a plain shell: sets
 * `EGL_PLATFORM=surfaceless` in the real process environment when it is unset on Linux. Only the main
 * thread can do this: a worker thread's `process.env` is a private copy that native `getenv` (Mesa)
 * never sees. So every main-thread entry point calls it before it spawns threads that open devices;
 * importing this module on the main thread calls it too. Returns whether the variable is in effect.
 */
let eglSetHere = false;
export function prepareGpuEnvironment(): boolean {
  if (process.platform !== 'linux') return false;
  if (process.env.EGL_PLATFORM) return true;
  if (!isMainThread) return false;
  process.env.EGL_PLATFORM = 'surfaceless'; // headless EGL: no X or Wayland display needed
  eglSetHere = true;
  return true;
}
prepareGpuEnvironment();

let globalsInstalled = false;
function installGlobals(): void {
  if (globalsInstalled) return;
  // GPUBufferUsage, GPUMapMode, ... are needed as globals by WebGPU code.
  for (const [k, v] of Object.entries(globals as Record<string, unknown>)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  globalsInstalled = true;
}

const SOFTWARE = /llvmpipe|swiftshader|lavapipe|softpipe|software|microsoft basic render/i;

function attemptsFor(choice: BackendChoice | 'auto'): Attempt[] {
  if (choice !== 'auto') return [{ backend: choice, featureLevel: choice === 'opengles' || choice === 'opengl' ? 'compatibility' : 'core' }];
  return [
    { backend: 'default', featureLevel: 'core' },
    { backend: 'opengles', featureLevel: 'compatibility' },
  ];
}

function readLimits(l: GPUSupportedLimits): DeviceLimits {
  return {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
    minUniformBufferOffsetAlignment: l.minUniformBufferOffsetAlignment,
  };
}

/** GPUAdapterInfo.subgroupMinSize/MaxSize where this Dawn reports them (0 or absent: unknown). */
function readSubgroupRange(info: GPUAdapterInfo): { subgroupMinSize?: number; subgroupMaxSize?: number } {
  const i = info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  return i.subgroupMinSize && i.subgroupMaxSize ? { subgroupMinSize: i.subgroupMinSize, subgroupMaxSize: i.subgroupMaxSize } : {};
}

/** The limits the kernels need, requested up to what the adapter offers. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
] as const;

export async function acquireDevice(opts: AcquireOptions = {}): Promise<AcquiredDevice> {
  installGlobals();
  const envChoice = process.env.MTV_GPU_BACKEND as BackendChoice | 'auto' | undefined;
  const choice = opts.backend ?? envChoice ?? 'auto';
  const valid = ['auto', 'vulkan', 'metal', 'd3d12', 'opengles', 'opengl', 'null'];
  if (!valid.includes(choice)) {
    throw new Error(`MTV_GPU_BACKEND=${choice} is not a backend; use one of ${valid.join(', ')}`);
  }
  const tried: string[] = [];
  for (const attempt of attemptsFor(choice)) {
    if (attempt.backend === 'opengles' || attempt.backend === 'opengl') prepareGpuEnvironment();
    const flags = withF16Toggle([...(attempt.backend === 'default' ? [] : [`backend=${attempt.backend}`]), ...(opts.dawnFlags ?? [])]);
    let gpu: GPU | undefined = create(flags);
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await gpu.requestAdapter({ featureLevel: attempt.featureLevel, powerPreference: 'high-performance' });
    } catch (e) {
      tried.push(`${attempt.backend}/${attempt.featureLevel}: ${(e as Error).message}`);
    }
    if (!adapter) {
      if (tried.length === 0 || !tried[tried.length - 1]!.startsWith(attempt.backend)) tried.push(`${attempt.backend}/${attempt.featureLevel}: no adapter`);
      gpu = undefined;
      continue;
    }
    const info = adapter.info;
    const requiredLimits: Record<string, number> = {};
    for (const k of WANTED_LIMITS) requiredLimits[k] = adapter.limits[k];
    const features = chooseFeatures(adapter.features, attempt.featureLevel, opts.features);
    if (opts.features) for (const note of features.notes) console.warn(`mtv device: ${note}`);
    const device = await adapter.requestDevice({
      requiredLimits,
      requiredFeatures: features.request,
      label: 'mtv',
    });
    const subgroupRange = readSubgroupRange(info);
    const desc = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
    const report: AdapterReport = {
      backend: attempt.backend,
      featureLevel: attempt.featureLevel,
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      cpuAdapter: SOFTWARE.test(desc) || attempt.backend === 'opengles' && /mesa/i.test(desc) && /llvm/i.test(desc),
      shaderF16: device.features.has('shader-f16'),
      subgroups: device.features.has('subgroups'),
      ...subgroupRange,
      featureNotes: features.notes,
      limits: readLimits(device.limits),
    };
    let destroyed = false;
    const lost = device.lost;
    return {
      device,
      report,
      lost,
      destroy: () => {
        if (destroyed) return;
        destroyed = true;
        device.destroy();
        gpu = undefined; // drop the Dawn instance so Node can exit
      },
    };
  }
  throw new Error(
    [
      'No WebGPU adapter found. Tried:',
      ...tried.map((t) => `  - ${t}`),
      'To fix:',
      '  - on a GPU host, install the Vulkan loader and driver (Debian: apt-get install libvulkan1 mesa-vulkan-drivers, or the vendor driver);',
      '  - on a CPU-only host, install Mesa EGL/GLES: apt-get install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri,',
      ...(process.platform === 'linux' && !process.env.EGL_PLATFORM && !isMainThread
        ? ['    and start the process with EGL_PLATFORM=surfaceless in its environment (this device was requested in a worker thread,',
           '    whose copy of the environment native code never sees; call prepareGpuEnvironment() on the main thread before spawning it);']
        : [`    which the auto choice falls back to (EGL_PLATFORM=${process.env.EGL_PLATFORM ?? '<unset>'}${eglSetHere ? ', set by this process' : ''}; headless hosts need surfaceless);`]),
      '  - MTV_GPU_BACKEND=<vulkan|metal|d3d12|opengles|opengl> forces one backend.',
    ].join('\n'),
  );
}
