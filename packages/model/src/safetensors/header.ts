// Parse and validate a safetensors header (format: huggingface/safetensors README, tensor.rs):
//   [0, 8)      u64 LE N = header length
//   [8, 8+N)    JSON object {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}
//   [8+N, EOF)  data region; offsets are relative to its start and, sorted, must tile it exactly.
import { SafetensorsError } from './errors.js';
import { dtypeSize, isSafetensorsDType, type SafetensorsDType } from './dtype.js';

export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Byte range relative to the data region. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** Header JSON length N (the data region starts at 8 + N). */
  readonly headerLength: number;
  readonly dataStart: number;
  readonly dataLength: number;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>> | null;
}

/** The reference implementation refuses headers above 100 MB; so do we (a corrupt length must not allocate GBs). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Reads N from the first 8 bytes and checks it against the file size. */
export function parseHeaderLength(file: string, first8: Uint8Array, fileSize: number): number {
  if (fileSize < 8) throw new SafetensorsError(file, null, `file is ${fileSize} bytes, shorter than the 8-byte header length prefix`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) throw new SafetensorsError(file, null, `header length ${n} is larger than the ${fileSize - 8} bytes after the length prefix (file truncated or not safetensors)`);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(file, null, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2n) throw new SafetensorsError(file, null, `header length ${n} is too small to hold a JSON object`);
  return Number(n);
}

const isNonNegInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parses and validates the header JSON; `fileSize` fixes the data region length. */
export function parseHeader(file: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const headerLength = headerBytes.length;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw new SafetensorsError(file, null, `header (${headerLength} bytes) is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new SafetensorsError(file, null, `header is not a JSON object (got ${Array.isArray(json) ? 'array' : json === null ? 'null' : typeof json})`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = fileSize - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> | null = null;

  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new SafetensorsError(file, null, '__metadata__ is not a JSON object');
      metadata = {};
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new SafetensorsError(file, null, `__metadata__['${k}'] is not a string (got ${typeof v})`);
        metadata[k] = v;
      }
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new SafetensorsError(file, name, 'header entry is not an object');
    const { dtype, shape, data_offsets: offsets } = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !isSafetensorsDType(dtype)) throw new SafetensorsError(file, name, `unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) throw new SafetensorsError(file, name, `shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt) || offsets[0] > offsets[1]) {
      throw new SafetensorsError(file, name, `data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offsets as [number, number];
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = numel * dtypeSize(dtype);
    if (end - begin !== expected) {
      throw new SafetensorsError(file, name, `shape [${shape.join(', ')}] x ${dtype} (${dtypeSize(dtype)} B) = ${expected} bytes, but data_offsets [${begin}, ${end}] span ${end - begin} bytes`);
    }
    if (end > dataLength) {
      throw new SafetensorsError(file, name, `data_offsets [${begin}, ${end}] run past the end of the ${dataLength}-byte data region (file truncated or offsets out of range)`);
    }
    tensors.set(name, { name, dtype, shape: shape as number[], begin, end });
  }

  // The sorted byte ranges must tile [0, dataLength) exactly: no overlap, no gap, nothing after.
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev: TensorInfo | null = null;
  for (const t of sorted) {
    if (t.begin < cursor) throw new SafetensorsError(file, t.name, `data_offsets [${t.begin}, ${t.end}] overlap tensor '${prev!.name}' [${prev!.begin}, ${prev!.end}]`);
    if (t.begin > cursor) throw new SafetensorsError(file, t.name, `gap in the data region: bytes [${cursor}, ${t.begin}) belong to no tensor`);
    cursor = t.end;
    prev = t;
  }
  if (cursor !== dataLength) {
    throw new SafetensorsError(file, null, `tensors cover ${cursor} bytes but the data region is ${dataLength} bytes (${dataLength - cursor} trailing bytes belong to no tensor)`);
  }
  return { headerLength, dataStart, dataLength, tensors, metadata };
}
