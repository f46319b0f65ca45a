// A safetensors file read through a file descriptor: the header is parsed on open, tensor bytes are
// read on demand, so a multi-GB shard is never loaded whole.
import { open, type FileHandle } from 'node:fs/promises';
import { SafetensorsError } from './errors.js';
import { isFloatDType, type FloatDType } from './dtype.js';
import { parseHeader, parseHeaderLength, type SafetensorsHeader, type TensorInfo } from './header.js';
import { toF16Packed, toFloat32, toFloat64, typedView, type TypedTensorData } from './convert.js';

/** Reads exactly `length` bytes at `position`, looping over short reads. */
export async function readExactly(fh: FileHandle, file: string, position: number, length: number, what: string): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, Math.min(length - done, 1 << 30), position + done);
    if (bytesRead === 0) throw new SafetensorsError(file, null, `unexpected end of file reading ${what}: got ${done} of ${length} bytes at offset ${position}`);
    done += bytesRead;
  }
  return out;
}

export class SafetensorsFile {
  private closed = false;

  private constructor(
    readonly path: string,
    readonly size: number,
    readonly header: SafetensorsHeader,
    private readonly fh: FileHandle,
  ) {}

  /** Opens and validates `path`; throws SafetensorsError naming the file (and tensor) on any inconsistency. */
  static async open(path: string): Promise<SafetensorsFile> {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      if (size < 8) throw new SafetensorsError(path, null, `file is ${size} bytes, shorter than the 8-byte header length prefix`);
      const n = parseHeaderLength(path, await readExactly(fh, path, 0, 8, 'the header length'), size);
      const header = parseHeader(path, await readExactly(fh, path, 8, n, 'the header'), size);
      return new SafetensorsFile(path, size, header, fh);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  get metadata(): Readonly<Record<string, string>> | null {
    return this.header.metadata;
  }

  /** Tensor names in header order. */
  names(): string[] {
    return [...this.header.tensors.keys()];
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.header.tensors.get(name);
    if (!t) throw new SafetensorsError(this.path, name, `no such tensor (the file has ${this.header.tensors.size})`);
    return t;
  }

  /** The tensor's raw little-endian bytes, in a fresh 8-byte-aligned buffer. */
  async readBytes(name: string): Promise<Uint8Array> {
    if (this.closed) throw new SafetensorsError(this.path, name, 'file is closed');
    const t = this.info(name);
    return readExactly(this.fh, this.path, this.header.dataStart + t.begin, t.end - t.begin, `tensor '${name}'`);
  }

  /** The tensor in its dtype's natural array type (F16/BF16 as raw bits in a Uint16Array). */
  async read(name: string): Promise<TypedTensorData> {
    return typedView(this.info(name).dtype, await this.readBytes(name));
  }

  async readF32(name: string): Promise<Float32Array> {
    return toFloat32(this.floatDType(name), await this.readBytes(name));
  }

  async readF64(name: string): Promise<Float64Array> {
    return toFloat64(this.floatDType(name), await this.readBytes(name));
  }

  /** Halves packed two per u32 (F16 bits pass through; F32/BF16/F64 round to nearest even). */
  async readF16Packed(name: string): Promise<Uint32Array> {
    return toF16Packed(this.floatDType(name), await this.readBytes(name));
  }

  /** Streams [0, size) of the file in chunks (used for hashing). */
  async *chunks(chunkBytes = 1 << 22): AsyncGenerator<Uint8Array> {
    for (let pos = 0; pos < this.size; pos += chunkBytes) {
      yield readExactly(this.fh, this.path, pos, Math.min(chunkBytes, this.size - pos), 'the file');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  private floatDType(name: string): FloatDType {
    const { dtype } = this.info(name);
    if (!isFloatDType(dtype)) throw new SafetensorsError(this.path, name, `dtype ${dtype} is not a float dtype (F32, F16, BF16, F64) and cannot convert to floats`);
    return dtype;
  }
}
