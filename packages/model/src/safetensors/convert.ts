// Raw little-endian tensor bytes -> typed arrays. Every function takes bytes that start on an
// 8-byte-aligned offset of their ArrayBuffer (the reader allocates a fresh buffer per tensor).
import { f16BitsToF32, packF16, packF16Bits } from '@mtv/kernels';
import { endianness } from 'node:os';
import type { FloatDType, SafetensorsDType } from './dtype.js';

// safetensors is little-endian; typed-array views below assume a little-endian host (x86, arm64).
if (endianness() !== 'LE') throw new Error('@mtv/model safetensors: a little-endian host is required');

export type TypedTensorData =
  | Float32Array
  | Float64Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

const view = <T>(ctor: { new (b: ArrayBufferLike, o: number, n: number): T; BYTES_PER_ELEMENT: number }, bytes: Uint8Array): T => {
  if (bytes.byteOffset % ctor.BYTES_PER_ELEMENT !== 0) bytes = bytes.slice(); // realign (copy)
  return new ctor(bytes.buffer, bytes.byteOffset, bytes.byteLength / ctor.BYTES_PER_ELEMENT);
};

/** A view of the bytes in the dtype's natural array type (F16/BF16 as raw Uint16 bits, BOOL/F8 as bytes). */
export function typedView(dtype: SafetensorsDType, bytes: Uint8Array): TypedTensorData {
  switch (dtype) {
    case 'F32': return view(Float32Array, bytes);
    case 'F64': return view(Float64Array, bytes);
    case 'F16': case 'BF16': case 'U16': return view(Uint16Array, bytes);
    case 'I16': return view(Int16Array, bytes);
    case 'I32': return view(Int32Array, bytes);
    case 'U32': return view(Uint32Array, bytes);
    case 'I64': return view(BigInt64Array, bytes);
    case 'U64': return view(BigUint64Array, bytes);
    case 'I8': return view(Int8Array, bytes);
    case 'U8': case 'BOOL': case 'F8_E4M3': case 'F8_E5M2': return view(Uint8Array, bytes);
  }
}

/** f16 bits -> f32 through a 65536-entry table (built once, 256 KiB): converting GBs of weights is a lookup per element. */
let f16Table: Float32Array | null = null;
function f16ToF32Table(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = f16BitsToF32(h);
  return (f16Table = t);
}

/** Float tensor bytes -> Float32Array (F64 rounds to nearest f32). */
export function toFloat32(dtype: FloatDType, bytes: Uint8Array): Float32Array {
  switch (dtype) {
    case 'F32': return view(Float32Array, bytes);
    case 'F64': return Float32Array.from(view(Float64Array, bytes));
    case 'F16': {
      const bits = view(Uint16Array, bytes);
      const table = f16ToF32Table();
      const out = new Float32Array(bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
      return out;
    }
    case 'BF16': {
      // bf16 is the top half of an f32: shift the bits up 16 (same as bf16BitsToF32, vectorised).
      const bits = view(Uint16Array, bytes);
      const out = new Uint32Array(bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = bits[i]! << 16;
      return new Float32Array(out.buffer);
    }
  }
}

/** Float tensor bytes -> Float64Array (exact for every float dtype). */
export function toFloat64(dtype: FloatDType, bytes: Uint8Array): Float64Array {
  return dtype === 'F64' ? view(Float64Array, bytes) : Float64Array.from(toFloat32(dtype, bytes));
}

/**
 * Float tensor bytes -> IEEE halves packed two per u32 (element i in word i>>1, low half first), the
 * layout the f16 kernels read. F16 passes its bits through untouched; other dtypes round to nearest even.
 */
export function toF16Packed(dtype: FloatDType, bytes: Uint8Array): Uint32Array {
  if (dtype === 'F16') return packF16Bits(view(Uint16Array, bytes));
  return packF16(toFloat32(dtype, bytes));
}

/**
 * Index of the first NaN or ±Inf in `a`, or -1: one branch-free pass over the exponent bits per block of
 * 4096 (exponent all ones sets the carry bit), run once per tensor as it is converted for the device;
 * on this 2-core machine about 2 ms per million f32 elements, less than reading them.
 */
export function firstNonFinite(a: Float32Array | Float64Array): number {
  if (a instanceof Float64Array) {
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
    return -1;
  }
  const bits = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const n = bits.length;
  for (let s = 0; s < n; s += SCAN_BLOCK) {
    const e = Math.min(n, s + SCAN_BLOCK);
    let acc = 0;
    for (let i = s; i < e; i++) acc |= ((bits[i]! & 0x7f800000) >>> 1) + 0x00400000;
    if (acc & 0x40000000) for (let i = s; i < e; i++) if ((bits[i]! & 0x7f800000) === 0x7f800000) return i;
  }
  return -1;
}

const SCAN_BLOCK = 4096;

/** Index (element, not word) of the first NaN or ±Inf half in packed f16 words, or -1; `n` is the element count. */
export function firstNonFiniteF16Packed(words: Uint32Array, n: number): number {
  for (let s = 0; s < words.length; s += SCAN_BLOCK) {
    const e = Math.min(words.length, s + SCAN_BLOCK);
    let acc = 0;
    // Both halves at once: a half's exponent all ones carries into its top bit.
    for (let w = s; w < e; w++) acc |= ((words[w]! & 0x7c007c00) >>> 1) + 0x02000200;
    if ((acc & 0x40004000) === 0) continue;
    for (let w = s; w < e; w++) {
      const x = words[w]!;
      if ((x & 0x7c00) === 0x7c00 && 2 * w < n) return 2 * w;
      if ((x & 0x7c000000) === 0x7c000000 && 2 * w + 1 < n) return 2 * w + 1;
    }
  }
  return -1;
}
