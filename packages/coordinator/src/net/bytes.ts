import type { RawData } from 'ws';

/** ws hands a binary message over as a Buffer, an ArrayBuffer or fragments, depending on binaryType. */
export function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
