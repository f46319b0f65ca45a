// The execution context: one device, a buffer pool, a pipeline cache, uploads and readbacks.
import { acquireDevice, type AcquireOptions, type AcquiredDevice, type AdapterReport } from './device.js';
import { DeviceLostError, KernelError, fmtShape } from './errors.js';
import { packF16 } from './half.js';
import { Recorder } from './recorder.js';
import { Tensor, byteSize, numel, type DType, type TensorOwner } from './tensor.js';

export type HostArray = Float32Array | Int32Array | Uint32Array;

const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

/** Pool buckets: 256-byte steps below 1 MiB, then 1/16 of the next power of two (waste <= 6%). */
function bucket(bytes: number): number {
  const b = Math.max(256, bytes);
  if (b <= 1 << 20) return Math.ceil(b / 256) * 256;
  const step = 2 ** Math.floor(Math.log2(b)) / 16;
  return Math.ceil(b / step) * step;
}

export interface PipelineEntry {
  pipeline: GPUComputePipeline;
  name: string;
}

export class Gpu implements TensorOwner {
  readonly device: GPUDevice;
  readonly report: AdapterReport;
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly sizes = new WeakMap<GPUBuffer, number>();
  private readonly pipelines = new Map<string, Promise<PipelineEntry>>();
  private readonly pipelineLabels = new Map<string, string>();
  /** Uniform pages of finished recorders, reused so a decode step does not create buffers. */
  private readonly uniformPages: GPUBuffer[] = [];
  private lostInfo: GPUDeviceLostInfo | null = null;
  private destroyed = false;
  /** Validation / OOM errors raised by the device since the last check (drained by Recorder.submit). */
  readonly deviceErrors: string[] = [];
  /** Bytes currently allocated by this context (pooled buffers included). */
  allocatedBytes = 0;
  /** Bytes of tensors created with `persistent` (weights), for memory reports. */
  persistentBytes = 0;
  readonly lost: Promise<GPUDeviceLostInfo>;

  private constructor(private readonly acquired: AcquiredDevice) {
    this.device = acquired.device;
    this.report = acquired.report;
    this.lost = acquired.lost.then((info) => {
      this.lostInfo = info;
      return info;
    });
    this.device.addEventListener('uncapturederror', (ev) => {
      this.deviceErrors.push((ev as GPUUncapturedErrorEvent).error.message);
    });
  }

  static async create(opts: AcquireOptions = {}): Promise<Gpu> {
    return new Gpu(await acquireDevice(opts));
  }

  get limits(): AdapterReport['limits'] {
    return this.report.limits;
  }

  /** Largest byte size one storage binding may have. */
  get maxBinding(): number {
    return this.report.limits.maxStorageBufferBindingSize;
  }

  /** Throws if the device is gone, so callers fail fast instead of waiting on a dead queue. */
  assertAlive(): void {
    if (this.lostInfo) throw new DeviceLostError(this.lostInfo.reason, this.lostInfo.message || 'the device was lost');
    if (this.destroyed) throw new DeviceLostError('destroyed', 'this Gpu was destroyed');
  }

  /** Waits on p, but rejects with DeviceLostError if the device is lost first. */
  async guard<T>(p: Promise<T>, what: string): Promise<T> {
    this.assertAlive();
    const lost = this.lost.then((info) => {
      throw new DeviceLostError(info.reason, `${info.message || 'device lost'} while waiting for ${what}`);
    });
    return Promise.race([p, lost]);
  }

  // ---- buffers ------------------------------------------------------------------------------

  private allocBuffer(bytes: number, label: string): GPUBuffer {
    this.assertAlive();
    const size = bucket(bytes);
    if (size > this.limits.maxBufferSize) {
      throw new KernelError(label, `a buffer of ${bytes} bytes exceeds the device's maxBufferSize ${this.limits.maxBufferSize}`);
    }
    const list = this.free.get(size);
    const reused = list?.pop();
    if (reused) return reused;
    const buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
    this.sizes.set(buffer, size);
    this.allocatedBytes += size;
    return buffer;
  }

  releaseBuffer(buffer: GPUBuffer): void {
    const size = this.sizes.get(buffer);
    if (size === undefined) return;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
  }

  /** A uniform buffer of `bytes` for a recorder's params blocks (from the page pool when possible). */
  takeUniformPage(bytes: number): GPUBuffer {
    return this.uniformPages.pop() ?? this.device.createBuffer({ size: bytes, usage: 0x40 /* UNIFORM */ | 0x08 /* COPY_DST */, label: 'uniforms' });
  }

  /** Pages whose recorder has completed; kept for reuse (a few, the rest destroyed). */
  returnUniformPages(pages: GPUBuffer[]): void {
    for (const b of pages) {
      if (this.uniformPages.length < 16 && !this.destroyed) this.uniformPages.push(b);
      else b.destroy();
    }
  }

  /** Destroys every pooled buffer not in use. */
  trimPool(): void {
    for (const [size, list] of this.free) {
      for (const b of list) {
        b.destroy();
        this.allocatedBytes -= size;
      }
    }
    this.free.clear();
    for (const b of this.uniformPages) b.destroy();
    this.uniformPages.length = 0;
  }

  /** An uninitialised tensor from the pool (contents are whatever the last user left). */
  empty(shape: readonly number[], dtype: DType = 'f32', label = 'tensor'): Tensor {
    return new Tensor(this.allocBuffer(byteSize(dtype, numel(shape)), label), shape, dtype, this);
  }

  /** A zero-filled tensor. */
  zeros(shape: readonly number[], dtype: DType = 'f32', label = 'zeros'): Tensor {
    const t = this.empty(shape, dtype, label);
    this.device.queue.writeBuffer(t.buffer, 0, new Uint8Array(bucket(t.byteLength)));
    return t;
  }

  /**
   * Uploads host data. For dtype 'f16', pass either float values (packed here) or a Uint32Array
   * already packed two halves per word.
   */
  upload(data: HostArray | Float64Array | number[], shape: readonly number[], dtype: DType = 'f32', opts: { label?: string; persistent?: boolean } = {}): Tensor {
    const n = numel(shape);
    const label = opts.label ?? 'upload';
    let words: HostArray;
    if (dtype === 'f16') {
      if (data instanceof Uint32Array) {
        if (data.length !== Math.ceil(n / 2)) throw new KernelError(label, `packed f16 data has ${data.length} words; shape ${fmtShape(shape)} needs ${Math.ceil(n / 2)}`);
        words = data;
      } else {
        if (data.length !== n) throw new KernelError(label, `data has ${data.length} elements; shape ${fmtShape(shape)} needs ${n}`);
        words = packF16(data);
      }
    } else {
      if (data.length !== n) throw new KernelError(label, `data has ${data.length} elements; shape ${fmtShape(shape)} needs ${n}`);
      if (dtype === 'f32') words = data instanceof Float32Array ? data : Float32Array.from(data);
      else if (dtype === 'i32') words = data instanceof Int32Array ? data : Int32Array.from(data);
      else words = data instanceof Uint32Array ? data : Uint32Array.from(data);
    }
    const t = this.empty(shape, dtype, label);
    if (words.byteLength > 0) this.device.queue.writeBuffer(t.buffer, t.byteOffset, words.buffer, words.byteOffset, words.byteLength);
    if (opts.persistent) this.persistentBytes += t.byteLength;
    return t;
  }

  /** Overwrites a tensor's contents from the host. */
  write(t: Tensor, data: HostArray, elementOffset = 0): void {
    if (t.dtype === 'f16') throw new KernelError('write', 'write to packed f16 tensors with upload()');
    if (elementOffset + data.length > t.size) throw new KernelError('write', `${data.length} elements at ${elementOffset} overflow ${fmtShape(t.shape)}`);
    this.device.queue.writeBuffer(t.buffer, t.byteOffset + elementOffset * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  // ---- pipelines ----------------------------------------------------------------------------

  /**
   * A compute pipeline for WGSL `code` with override `constants`, cached by (code, constants,
   * entry point). Compile errors throw a KernelError naming the kernel, line and message.
   */
  pipeline(name: string, code: string, constants: Record<string, number> = {}, entryPoint = 'main'): Promise<PipelineEntry> {
    const key = `${entryPoint}\u0000${JSON.stringify(Object.entries(constants).sort())}\u0000${code}`;
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.compile(name, code, constants, entryPoint);
      this.pipelines.set(key, p);
      this.pipelineLabels.set(key, `${name}${entryPoint === 'main' ? '' : `:${entryPoint}`}${Object.keys(constants).length ? ` ${JSON.stringify(constants)}` : ''}`);
      p.catch(() => {
        this.pipelines.delete(key);
        this.pipelineLabels.delete(key);
      });
    }
    return p;
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /** The names of the pipelines compiled so far, one per distinct variant (bench: JIT variants of a run). */
  get pipelineNames(): string[] {
    return [...this.pipelineLabels.values()];
  }

  /** The backend a compile error happened on: the same WGSL can fail on one backend and not another. */
  get backendLabel(): string {
    const r = this.report;
    return `${r.backend}/${r.featureLevel} (${r.description || r.device || r.vendor})`;
  }

  private async compile(name: string, code: string, constants: Record<string, number>, entryPoint: string): Promise<PipelineEntry> {
    this.assertAlive();
    // A scope around the (synchronous) module creation keeps a bad shader's validation error from
    // also surfacing as an uncaptured device error; the compilation info below names it.
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label: name });
    const scoped = this.device.popErrorScope();
    const info = await this.guard(module.getCompilationInfo(), `compiling ${name}`);
    const errors = info.messages.filter((m) => m.type === 'error');
    const scopeError = await this.guard(scoped, `compiling ${name}`);
    if (errors.length === 0 && scopeError) errors.push({ type: 'error', lineNum: 0, linePos: 0, message: scopeError.message } as GPUCompilationMessage);
    if (errors.length > 0) {
      throw new KernelError(name, `shader failed to compile on ${this.backendLabel}:\n${errors.map((m) => `  line ${m.lineNum}:${m.linePos}: ${m.message}`).join('\n')}`);
    }
    try {
      const pipeline = await this.guard(
        this.device.createComputePipelineAsync({ layout: 'auto', label: name, compute: { module, entryPoint, constants } }),
        `creating pipeline ${name}`,
      );
      return { pipeline, name };
    } catch (e) {
      if (e instanceof DeviceLostError) throw e;
      throw new KernelError(name, `pipeline creation failed on ${this.backendLabel} (constants ${JSON.stringify(constants)}): ${(e as Error).message}`);
    }
  }

  // ---- execution ----------------------------------------------------------------------------

  /** A recorder batches many dispatches into one command encoder and one submit. */
  recorder(label = 'forward'): Recorder {
    this.assertAlive();
    return new Recorder(this, label);
  }

  /** Reads a tensor back to the host (one submit). Packed f16 comes back as float32 values. */
  async read(t: Tensor): Promise<HostArray> {
    const rec = this.recorder('read');
    const out = rec.read(t);
    await rec.submit();
    return out;
  }

  async readF32(t: Tensor): Promise<Float32Array> {
    const a = await this.read(t);
    if (!(a instanceof Float32Array)) throw new KernelError('readF32', `tensor is ${t.dtype}, not float`);
    return a;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.trimPool();
    this.destroyed = true;
    this.acquired.destroy();
  }
}
