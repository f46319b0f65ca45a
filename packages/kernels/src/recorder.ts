// Records a sequence of kernel dispatches into one command encoder / compute pass and submits
// them at once. Nothing is read back unless read() is asked for.
import { DeviceLostError, KernelError, fmtShape } from './errors.js';
import type { Gpu, HostArray, PipelineEntry } from './gpu.js';
import { unpackF16 } from './half.js';
import type { Tensor } from './tensor.js';

const PAGE_BYTES = 1 << 16;
const SLOT_ALIGN = 256;

interface PendingRead {
  staging: GPUBuffer;
  tensor: Tensor;
  resolve: (a: HostArray) => void;
  reject: (e: Error) => void;
}

interface UniformPage {
  buffer: GPUBuffer;
  data: Uint8Array;
  used: number;
}

/** Workgroup counts for n items of `perGroup` each, folded into 2-D when over the 65535 cap. */
export function grid1d(n: number, perGroup: number, maxPerDim = 65535): [number, number] {
  const groups = Math.max(1, Math.ceil(n / perGroup));
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}

export class Recorder {
  private encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder | null = null;
  private readonly pages: UniformPage[] = [];
  private readonly reads: PendingRead[] = [];
  private readonly scopeChecks: Promise<string | null>[] = [];
  private readonly kernels: string[] = [];
  private readonly deferred: Tensor[] = [];
  private submitted = false;
  /** Dispatches recorded so far (for tests and profiling). */
  dispatchCount = 0;

  constructor(readonly gpu: Gpu, readonly label: string) {
    this.encoder = gpu.device.createCommandEncoder({ label });
  }

  private uniformSlot(bytes: ArrayBufferView): GPUBufferBinding {
    const n = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
    if (n > PAGE_BYTES) throw new KernelError('recorder', `uniform block of ${n} bytes is too large`);
    let page = this.pages[this.pages.length - 1];
    if (!page || page.used + n > PAGE_BYTES) {
      page = { buffer: this.gpu.takeUniformPage(PAGE_BYTES), data: new Uint8Array(PAGE_BYTES), used: 0 };
      this.pages.push(page);
    }
    const offset = page.used;
    page.data.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset);
    page.used = Math.ceil((offset + n) / SLOT_ALIGN) * SLOT_ALIGN;
    return { buffer: page.buffer, offset, size: n };
  }

  private assertOpen(): void {
    if (this.submitted) throw new KernelError('recorder', `recorder '${this.label}' was already submitted`);
  }

  /**
   * Records one dispatch. Binding 0 is the uniform `params` block; bindings 1.. are `tensors`
   * in order; the last `outputs` of them are written by the kernel. Every tensor must fit one
   * storage binding (split larger ones with rowChunks()), and a written tensor may not overlap
   * any other binding (WebGPU forbids read-write aliasing inside one dispatch).
   */
  dispatch(entry: PipelineEntry, params: ArrayBufferView, tensors: readonly Tensor[], workgroups: readonly number[], outputs = 1): void {
    this.assertOpen();
    this.gpu.assertAlive();
    const lim = this.gpu.limits;
    for (const t of tensors) {
      if (t.isReleased) throw new KernelError(entry.name, `a released tensor ${fmtShape(t.shape)} was bound`);
      if (t.byteLength > lim.maxStorageBufferBindingSize) {
        throw new KernelError(entry.name, `tensor ${fmtShape(t.shape)} ${t.dtype} is ${t.byteLength} bytes, over the binding limit ${lim.maxStorageBufferBindingSize}; split it with rowChunks()`);
      }
      if (t.byteOffset % lim.minStorageBufferOffsetAlignment !== 0) {
        throw new KernelError(entry.name, `tensor view ${fmtShape(t.shape)} starts at byte ${t.byteOffset}, not a multiple of ${lim.minStorageBufferOffsetAlignment}`);
      }
    }
    for (let w = tensors.length - outputs; w < tensors.length; w++) {
      const out = tensors[w]!;
      for (let k = 0; k < tensors.length; k++) {
        const o = tensors[k]!;
        if (k === w || o.buffer !== out.buffer) continue;
        if (o.byteOffset < out.byteOffset + out.byteLength && out.byteOffset < o.byteOffset + o.byteLength) {
          throw new KernelError(entry.name, `output ${fmtShape(out.shape)} overlaps input ${fmtShape(o.shape)} (binding ${k + 1}); in-place use is not supported`);
        }
      }
    }
    if (tensors.length > lim.maxStorageBuffersPerShaderStage) {
      throw new KernelError(entry.name, `${tensors.length} storage bindings exceed the device limit ${lim.maxStorageBuffersPerShaderStage}`);
    }
    const [x = 1, y = 1, z = 1] = workgroups;
    for (const w of [x, y, z]) {
      if (!Number.isInteger(w) || w < 0 || w > lim.maxComputeWorkgroupsPerDimension) {
        throw new KernelError(entry.name, `workgroup count ${workgroups.join('x')} exceeds ${lim.maxComputeWorkgroupsPerDimension} per dimension`);
      }
    }
    if (x * y * z === 0) return;
    const device = this.gpu.device;
    device.pushErrorScope('validation');
    const bindGroup = device.createBindGroup({
      layout: entry.pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: this.uniformSlot(params) },
        ...tensors.map((t, i) => ({ binding: i + 1, resource: t.binding() })),
      ],
    });
    const name = entry.name;
    const shapes = tensors.map((t) => fmtShape(t.shape)).join(', ');
    this.scopeChecks.push(device.popErrorScope().then((e) => (e ? `${name} (${shapes}): ${e.message}` : null)));
    if (!this.pass) this.pass = this.encoder.beginComputePass({ label: this.label });
    this.pass.setPipeline(entry.pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    this.dispatchCount++;
    if (this.kernels[this.kernels.length - 1] !== name) this.kernels.push(name);
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Copies src into dst (same byte length, or a byte range). */
  copy(src: Tensor, dst: Tensor, bytes = src.byteLength, srcOffset = 0, dstOffset = 0): void {
    this.assertOpen();
    if (srcOffset + bytes > src.byteLength || dstOffset + bytes > dst.byteLength) {
      throw new KernelError('copy', `copying ${bytes} bytes from ${fmtShape(src.shape)} to ${fmtShape(dst.shape)} is out of range`);
    }
    this.endPass();
    const b = Math.ceil(bytes / 4) * 4;
    if (b > 0) this.encoder.copyBufferToBuffer(src.buffer, src.byteOffset + srcOffset, dst.buffer, dst.byteOffset + dstOffset, b);
  }

  /**
   * Returns tensors to the pool once this recorder has been submitted. Intermediates recorded here
   * must be released this way, not with Tensor.release(): an upload is written to the queue at
   * once, so a pooled buffer released before submit could be refilled before the work that reads it.
   */
  releaseAfterSubmit(...tensors: Tensor[]): void {
    this.deferred.push(...tensors);
  }

  /** Schedules a readback of t; the promise resolves after submit(). */
  read(t: Tensor): Promise<HostArray> {
    this.assertOpen();
    this.endPass();
    const size = Math.max(4, Math.ceil(t.byteLength / 4) * 4);
    const staging = this.gpu.device.createBuffer({ size, usage: 0x01 /* MAP_READ */ | 0x08 /* COPY_DST */, label: 'readback' });
    this.encoder.copyBufferToBuffer(t.buffer, t.byteOffset, staging, 0, size);
    return new Promise<HostArray>((resolve, reject) => this.reads.push({ staging, tensor: t, resolve, reject }));
  }

  /** Submits everything recorded, waits for the GPU, and resolves pending reads. */
  async submit(): Promise<void> {
    this.assertOpen();
    this.submitted = true;
    this.endPass();
    const device = this.gpu.device;
    try {
      this.gpu.assertAlive();
      for (const p of this.pages) device.queue.writeBuffer(p.buffer, 0, p.data.buffer, 0, p.used);
      device.pushErrorScope('out-of-memory');
      device.pushErrorScope('validation');
      device.queue.submit([this.encoder.finish()]);
      const validation = device.popErrorScope();
      const oom = device.popErrorScope();
      const [v, o, ...bind] = await this.gpu.guard(Promise.all([validation, oom, ...this.scopeChecks]), `submit of ${this.label}`);
      const problems = [...bind.filter((b): b is string => b !== null), ...(v ? [v.message] : []), ...(o ? [`out of memory: ${o.message}`] : [])];
      if (problems.length > 0) {
        throw new KernelError(this.kernels.join('+') || this.label, `the GPU rejected the work:\n  ${problems.join('\n  ')}`);
      }
      await this.gpu.guard(Promise.all(this.reads.map((r) => r.staging.mapAsync(0x01 /* READ */))), `readback in ${this.label}`);
      for (const r of this.reads) {
        const bytes = r.staging.getMappedRange().slice(0);
        r.staging.unmap();
        r.staging.destroy();
        const t = r.tensor;
        let out: HostArray;
        if (t.dtype === 'f32') out = new Float32Array(bytes, 0, t.size);
        else if (t.dtype === 'i32') out = new Int32Array(bytes, 0, t.size);
        else if (t.dtype === 'u32') out = new Uint32Array(bytes, 0, t.size);
        else out = unpackF16(new Uint32Array(bytes), t.size);
        r.resolve(out);
      }
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      for (const r of this.reads) {
        r.reject(err);
        try {
          r.staging.destroy();
        } catch {
          /* already gone with the device */
        }
      }
      if (!(e instanceof DeviceLostError) && !(e instanceof KernelError)) throw err;
      throw e;
    } finally {
      // submit() has waited for the GPU (or failed), so the pages can serve the next recorder
      this.gpu.returnUniformPages(this.pages.map((p) => p.buffer));
      for (const t of this.deferred) t.release();
    }
  }
}
