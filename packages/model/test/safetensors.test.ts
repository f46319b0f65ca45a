import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bf16BitsToF32, f16BitsToF32, randomF32, roundToF16, unpackF16 } from '@mtv/kernels';
import { SafetensorsError, SafetensorsFile, encodeFloats, encodeSafetensors, f32ToBf16Bits, writeSafetensors, type TensorInput } from '../src/index.js';
import { useTempDir } from './temp-dir.js';

let dir: string;
useTempDir('mtv-st-', (d) => (dir = d));

const f32 = (values: number[], shape: number[]): TensorInput => ({ dtype: 'F32', shape, data: Float32Array.from(values) });

/** Writes `bytes` to a fresh file and opens it, returning the error message (or null). */
async function openError(name: string, bytes: Uint8Array): Promise<string | null> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  try {
    const f = await SafetensorsFile.open(path);
    await f.close();
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return (e as Error).message;
  }
}

/** A file with a hand-written header (padded to 8) followed by `dataBytes` zero bytes. */
function rawFile(header: unknown, dataBytes: number): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const n = Math.ceil(text.length / 8) * 8;
  const out = new Uint8Array(8 + n + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.fill(0x20, 8, 8 + n);
  out.set(text, 8);
  return out;
}

describe('safetensors writer', () => {
  it('pads the header to a multiple of 8, sorts by alignment then name, offsets relative to the data region', () => {
    const bytes = encodeSafetensors(
      { b: f32([1, 2], [2]), a: { dtype: 'F16', shape: [3], data: new Uint16Array([1, 2, 3]) }, c: { dtype: 'F64', shape: [], data: new Float64Array([7]) } },
      { format: 'pt' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(Object.keys(header)).toEqual(['__metadata__', 'c', 'b', 'a']); // F64, F32, F16
    expect(header.c.data_offsets).toEqual([0, 8]);
    expect(header.b.data_offsets).toEqual([8, 16]);
    expect(header.a.data_offsets).toEqual([16, 22]);
    expect(bytes.length).toBe(8 + n + 22);
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + n)).trimEnd()).toBe(JSON.stringify(header)); // padding is spaces only
  });

  it('rejects data whose size does not match shape x dtype', () => {
    expect(() => encodeSafetensors({ w: f32([1, 2, 3], [2, 2]) })).toThrow(/tensor 'w': shape \[2, 2\] x F32 needs 16 bytes, data has 12/);
  });
});

describe('safetensors round trip', () => {
  it('every dtype, metadata, 0-dim and empty tensors read back bit-exact', async () => {
    const tensors: Record<string, TensorInput> = {
      f32: { dtype: 'F32', shape: [2, 3], data: randomF32(6, 1) },
      f64: { dtype: 'F64', shape: [3], data: new Float64Array([1e-300, -2.5, Math.PI]) },
      f16: { dtype: 'F16', shape: [5], data: new Uint16Array([0, 0x3c00, 0xc000, 0x7bff, 0x0001]) },
      bf16: { dtype: 'BF16', shape: [1, 3], data: new Uint16Array([0x3f80, 0xc049, 0x0000]) },
      i32: { dtype: 'I32', shape: [2], data: new Int32Array([-5, 2 ** 31 - 1]) },
      i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-1n, 2n ** 62n]) },
      u8: { dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) },
      bool: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
      scalar: { dtype: 'F32', shape: [], data: new Float32Array([42]) },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    };
    const path = join(dir, 'all.safetensors');
    await writeSafetensors(path, tensors, { format: 'pt', note: 'héllo' });
    const f = await SafetensorsFile.open(path);
    try {
      expect(f.metadata).toEqual({ format: 'pt', note: 'héllo' });
      expect(f.names().sort()).toEqual(Object.keys(tensors).sort());
      for (const [name, t] of Object.entries(tensors)) {
        expect(f.info(name).dtype).toBe(t.dtype);
        expect(f.info(name).shape).toEqual(t.shape);
        expect(Array.from(await f.read(name))).toEqual(Array.from(t.data));
      }
      expect(Array.from(await f.readF32('f16'))).toEqual([0, 1, -2, 65504, 2 ** -24]);
      expect(Array.from(await f.readF32('bf16'))).toEqual([1, bf16BitsToF32(0xc049), 0]);
      expect(Array.from(await f.readF64('f64'))).toEqual([1e-300, -2.5, Math.PI]);
      expect(Array.from(await f.readF32('scalar'))).toEqual([42]);
      await expect(f.readF32('i32')).rejects.toThrow(/all\.safetensors: tensor 'i32': dtype I32 is not a float dtype/);
      await expect(f.readF32('nope')).rejects.toThrow(/tensor 'nope': no such tensor/);
    } finally {
      await f.close();
    }
  });

  it('F16 passes through to packed halves bit-exact; F32/BF16/F64 round to nearest even', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 33 }), fc.integer({ min: 0, max: 1e6 }), async (n, seed) => {
        const values = randomF32(n, seed, -70000, 70000); // includes values that overflow f16 to inf
        const bits = new Uint16Array(n).map((_, i) => (seed * 31 + i * 2654435761) & 0xffff);
        const path = join(dir, `pack-${n}-${seed}.safetensors`);
        await writeSafetensors(path, {
          h: { dtype: 'F16', shape: [n], data: bits },
          f: { dtype: 'F32', shape: [n], data: values },
          b: { dtype: 'BF16', shape: [n], data: encodeFloats(values, 'BF16') },
          d: { dtype: 'F64', shape: [n], data: Float64Array.from(values) },
        });
        const f = await SafetensorsFile.open(path);
        try {
          const packed = await f.readF16Packed('h');
          for (let i = 0; i < n; i++) expect((packed[i >> 1]! >>> ((i & 1) * 16)) & 0xffff).toBe(bits[i]);
          const expectedF = Array.from(values, roundToF16);
          expect(Array.from(unpackF16(await f.readF16Packed('f'), n))).toEqual(expectedF);
          expect(Array.from(unpackF16(await f.readF16Packed('d'), n))).toEqual(expectedF);
          const bf = Array.from(values, (v) => roundToF16(bf16BitsToF32(f32ToBf16Bits(v))));
          expect(Array.from(unpackF16(await f.readF16Packed('b'), n))).toEqual(bf);
          expect(Array.from(await f.readF32('h')).map((v) => (Number.isNaN(v) ? 'nan' : v))).toEqual(Array.from(bits, (b) => (Number.isNaN(f16BitsToF32(b)) ? 'nan' : f16BitsToF32(b))));
        } finally {
          await f.close();
        }
      }),
      { numRuns: 6 },
    );
  });

  it('bf16 encoding rounds to nearest even', () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(bf16BitsToF32(0x3f80) + 2 ** -8)).toBe(0x3f80); // exactly half an ulp, even stays
    expect(f32ToBf16Bits(bf16BitsToF32(0x3f81) + 2 ** -8)).toBe(0x3f82); // half an ulp, odd rounds up
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN)))).toBe(true);
  });
});

describe('safetensors corruption is reported with the file and tensor', () => {
  const good = (): Uint8Array => encodeSafetensors({ a: f32([1, 2, 3, 4], [2, 2]), b: f32([5, 6], [2]) });

  it('file shorter than 8 bytes', async () => {
    expect(await openError('short.safetensors', new Uint8Array(5))).toMatch(/short\.safetensors: file is 5 bytes, shorter than the 8-byte header length prefix/);
  });

  it('header length larger than the file', async () => {
    const bytes = good();
    new DataView(bytes.buffer).setBigUint64(0, BigInt(bytes.length), true);
    expect(await openError('biglen.safetensors', bytes)).toMatch(/biglen\.safetensors: header length \d+ is larger than the \d+ bytes after the length prefix/);
  });

  it('header not JSON, and JSON that is not an object', async () => {
    expect(await openError('notjson.safetensors', rawFile('{"a": [1, 2', 0))).toMatch(/notjson\.safetensors: header \(\d+ bytes\) is not valid UTF-8 JSON/);
    expect(await openError('array.safetensors', rawFile([1, 2], 0))).toMatch(/array\.safetensors: header is not a JSON object \(got array\)/);
  });

  it('unknown dtype', async () => {
    expect(await openError('dtype.safetensors', rawFile({ w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, 16))).toMatch(/dtype\.safetensors: tensor 'w': unknown dtype "F128"/);
  });

  it('shape x dtype size disagrees with the byte range', async () => {
    expect(await openError('size.safetensors', rawFile({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, 20))).toMatch(
      /size\.safetensors: tensor 'w': shape \[2, 3\] x F32 \(4 B\) = 24 bytes, but data_offsets \[0, 20\] span 20 bytes/,
    );
  });

  it('offsets out of range, overlapping, leaving a gap, or leaving trailing bytes', async () => {
    expect(await openError('range.safetensors', rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 8))).toMatch(
      /range\.safetensors: tensor 'w': data_offsets \[8, 16\] run past the end of the 8-byte data region/,
    );
    const overlap = rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12);
    expect(await openError('overlap.safetensors', overlap)).toMatch(/overlap\.safetensors: tensor 'b': data_offsets \[4, 12\] overlap tensor 'a' \[0, 8\]/);
    const gap = rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12);
    expect(await openError('gap.safetensors', gap)).toMatch(/gap\.safetensors: tensor 'b': gap in the data region: bytes \[4, 8\) belong to no tensor/);
    const trailing = rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 12);
    expect(await openError('trailing.safetensors', trailing)).toMatch(/trailing\.safetensors: tensors cover 4 bytes but the data region is 12 bytes/);
  });

  it('truncated file', async () => {
    const bytes = good();
    expect(await openError('trunc.safetensors', bytes.subarray(0, bytes.length - 3))).toMatch(
      /trunc\.safetensors: tensor '(a|b)': data_offsets \[\d+, \d+\] run past the end of the \d+-byte data region \(file truncated/,
    );
  });

  it('bad metadata and malformed entries', async () => {
    expect(await openError('meta.safetensors', rawFile({ __metadata__: { format: 1 } }, 0))).toMatch(/meta\.safetensors: __metadata__\['format'\] is not a string/);
    expect(await openError('offs.safetensors', rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 4))).toMatch(/offs\.safetensors: tensor 'w': data_offsets \[4,0\] is not \[begin, end\]/);
    expect(await openError('shape.safetensors', rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4))).toMatch(/shape\.safetensors: tensor 'w': shape \[-1\] is not a list of non-negative integers/);
  });

  it('a good file opens and the corruption cases were not vacuous', async () => {
    expect(await openError('good.safetensors', good())).toBeNull();
    const path = join(dir, 'good.safetensors');
    expect((await readFile(path)).length).toBe(good().length);
  });
});

// Interop with the reference implementation, when Python's safetensors is installed (it is not a project dependency).
const hasPython = ((): boolean => {
  try {
    execFileSync('python3', ['-c', 'import safetensors.numpy, numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasPython)('interop with Python safetensors', () => {
  it('Python reads our file and its file reads back here', async () => {
    const ours = join(dir, 'ours.safetensors');
    const theirs = join(dir, 'theirs.safetensors');
    await writeSafetensors(ours, { w: f32([1.5, -2, 3, 4, 5, 6], [2, 3]), h: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) }, e: { dtype: 'I64', shape: [0], data: new BigInt64Array(0) } }, { format: 'pt' });
    // Python: load ours, check values, save a copy with one more tensor.
    const script = [
      'import sys, numpy as np',
      'from safetensors.numpy import load_file, save_file',
      'from safetensors import safe_open',
      'd = load_file(sys.argv[1])',
      'assert d["w"].shape == (2, 3) and d["w"].tolist() == [[1.5, -2, 3], [4, 5, 6]], d["w"]',
      'assert d["h"].dtype == np.float16 and d["h"].tolist() == [1.0, -2.0]',
      'assert d["e"].shape == (0,)',
      'assert safe_open(sys.argv[1], "np").metadata() == {"format": "pt"}',
      'd["x"] = np.arange(5, dtype=np.float64)',
      'save_file(d, sys.argv[2], metadata={"by": "python"})',
    ].join('\n');
    execFileSync('python3', ['-c', script, ours, theirs]);
    const f = await SafetensorsFile.open(theirs);
    try {
      expect(f.metadata).toEqual({ by: 'python' });
      expect(Array.from(await f.readF32('w'))).toEqual([1.5, -2, 3, 4, 5, 6]);
      expect(Array.from(await f.readF32('h'))).toEqual([1, -2]);
      expect(Array.from(await f.readF64('x'))).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await f.close();
    }
  });
});
