// safetensors writer, laid out as the reference writer does: tensors sorted by alignment (largest
// element first) then name, data_offsets relative to the data region, header JSON padded with spaces
// so the data region starts on an 8-byte boundary.
import { open } from 'node:fs/promises';
import { f32ToF16Bits } from '@mtv/kernels';
import { SafetensorsError } from './errors.js';
import { dtypeSize, type FloatDType, type SafetensorsDType } from './dtype.js';
import type { TypedTensorData } from './convert.js';

export interface TensorInput {
  dtype: SafetensorsDType;
  shape: readonly number[];
  /** Little-endian element bytes; a typed array is taken as its raw bytes. */
  data: Uint8Array | TypedTensorData;
}

export type TensorMap = Record<string, TensorInput> | ReadonlyMap<string, TensorInput>;

const asBytes = (d: Uint8Array | TypedTensorData): Uint8Array => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

interface Layout {
  header: Uint8Array;
  order: Array<[string, TensorInput]>;
}

function layout(file: string, tensors: TensorMap, metadata: Record<string, string> | undefined): Layout {
  const entries: Array<[string, TensorInput]> = tensors instanceof Map ? [...(tensors as ReadonlyMap<string, TensorInput>).entries()] : Object.entries(tensors as Record<string, TensorInput>);
  const order = entries.sort(([na, a], [nb, b]) => dtypeSize(b.dtype) - dtypeSize(a.dtype) || (na < nb ? -1 : na > nb ? 1 : 0));
  const json: Record<string, unknown> = {};
  if (metadata) json['__metadata__'] = { ...metadata };
  let offset = 0;
  for (const [name, t] of order) {
    if (name === '__metadata__') throw new SafetensorsError(file, name, 'tensor name is reserved for metadata');
    const bytes = t.shape.reduce((a, b) => a * b, 1) * dtypeSize(t.dtype);
    if (t.data.byteLength !== bytes) {
      throw new SafetensorsError(file, name, `shape [${t.shape.join(', ')}] x ${t.dtype} needs ${bytes} bytes, data has ${t.data.byteLength}`);
    }
    json[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const text = new TextEncoder().encode(JSON.stringify(json));
  const padded = Math.ceil((8 + text.length) / 8) * 8 - 8; // N with 8 + N a multiple of 8
  const header = new Uint8Array(8 + padded).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(text, 8);
  return { header, order };
}

/** The whole file in memory (for small files and tests). */
export function encodeSafetensors(tensors: TensorMap, metadata?: Record<string, string>): Uint8Array {
  const { header, order } = layout('<memory>', tensors, metadata);
  const total = header.length + order.reduce((a, [, t]) => a + t.data.byteLength, 0);
  const out = new Uint8Array(total);
  out.set(header, 0);
  let pos = header.length;
  for (const [, t] of order) {
    out.set(asBytes(t.data), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** Writes a safetensors file, streaming each tensor's bytes. */
export async function writeSafetensors(path: string, tensors: TensorMap, metadata?: Record<string, string>): Promise<void> {
  const { header, order } = layout(path, tensors, metadata);
  const fh = await open(path, 'w');
  try {
    await fh.write(header);
    for (const [, t] of order) await fh.write(asBytes(t.data));
  } finally {
    await fh.close();
  }
}

/** f32 -> bf16 bits, round to nearest even (what torch's .to(bfloat16) does); NaN stays NaN. */
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

export function f32ToBf16Bits(v: number): number {
  scratchF32[0] = v;
  const u = scratchU32[0]!;
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff) !== 0) return (u >>> 16) | 0x40;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Float values -> little-endian bytes of a float dtype (F16/BF16 round to nearest even). */
export function encodeFloats(values: ArrayLike<number>, dtype: FloatDType): Uint8Array {
  const n = values.length;
  switch (dtype) {
    case 'F32': return asBytes(Float32Array.from(values));
    case 'F64': return asBytes(Float64Array.from(values));
    case 'F16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f32ToF16Bits(values[i]!);
      return asBytes(out);
    }
    case 'BF16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f32ToBf16Bits(values[i]!);
      return asBytes(out);
    }
  }
}
