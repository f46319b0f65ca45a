import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { embedding, randomF32, rng, roundToF16 } from '../src/index.js';
import { refEmbedding } from '../src/reference/index.js';
import { useGpu } from './setup.js';

const gpu = useGpu();

function ids(n: number, v: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * v));
}

// A gather is a copy: f32 results equal the table exactly; f16 tables equal the f16-rounded values.
describe('embedding vs reference', () => {
  it('f32 and f16 tables on odd shapes, host and tensor ids', async () => {
    const g = await gpu();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 67 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 1e6 }), async (v, h, n, seed) => {
        const table = randomF32(v * h, seed, -3, 3);
        const half = Float32Array.from(table, roundToF16);
        const id = ids(n, v, seed + 1);
        const rec = g.recorder();
        const a = rec.read(await embedding(rec, g.upload(table, [v, h]), id));
        const b = rec.read(await embedding(rec, g.upload(table, [v, h], 'f16'), g.upload(id, [n], 'i32')));
        await rec.submit();
        expect(Array.from(await a)).toEqual(Array.from(refEmbedding(table, h, id)));
        expect(Array.from(await b)).toEqual(Array.from(refEmbedding(half, h, id)));
      }),
      { numRuns: 8 },
    );
  });

  it('a table split into row chunks (small binding limit), f32 and odd-width f16', async () => {
    const g = await gpu();
    for (const [dtype, h] of [['f32', 48], ['f16', 37]] as const) {
      const v = 1000;
      const table = randomF32(v * h, h, -2, 2);
      const vals = dtype === 'f16' ? Float32Array.from(table, roundToF16) : table;
      const id = ids(500, v, 3);
      id[0] = 0;
      id[1] = v - 1;
      const rec = g.recorder();
      const out = rec.read(await embedding(rec, g.upload(table, [v, h], dtype), id, { maxBindingBytes: 16 * 1024 }));
      expect(rec.dispatchCount).toBeGreaterThan(4); // 192 KB (f32) / 74 KB (f16) over 16 KiB chunks
      await rec.submit();
      expect(Array.from(await out)).toEqual(Array.from(refEmbedding(vals, h, id)));
    }
  });

  it('out-of-range ids: host ids throw naming the id and position; tensor ids give NaN rows', async () => {
    const g = await gpu();
    const rec = g.recorder();
    const table = g.upload(randomF32(4096 * 2, 1), [4096, 2]);
    await expect(embedding(rec, table, [1, 2, 3, 5000])).rejects.toThrow(/embedding: id 5000 at position 3 is outside the vocabulary \[0, 4096\)/);
    await expect(embedding(rec, table, [-1])).rejects.toThrow(/embedding: id -1 at position 0 is outside the vocabulary/);
    await expect(embedding(rec, table, g.upload([1], [1], 'f32'))).rejects.toThrow(/embedding: tensor \[1\] has dtype f32; expected i32/);
    await expect(embedding(rec, g.upload([1, 2], [2], 'f32'), [0])).rejects.toThrow(/embedding: tensor \[2\] has rank 1; expected rank 2/);
    await expect(embedding(rec, table, [0], { out: g.empty([1, 3]) })).rejects.toThrow(/embedding: output for 1 ids from table \[4096, 2\] has shape \[1, 3\]; expected \[1, 2\]/);
    const small = randomF32(10 * 3, 2);
    const out = rec.read(await embedding(rec, g.upload(small, [10, 3]), g.upload([2, 10, -3, 9], [4], 'i32'), { maxBindingBytes: 256 }));
    await rec.submit();
    const got = Array.from(await out);
    expect(got.slice(0, 3)).toEqual(Array.from(small.slice(6, 9)));
    expect(got.slice(3, 9).every(Number.isNaN)).toBe(true);
    expect(got.slice(9, 12)).toEqual(Array.from(small.slice(27, 30)));
  });
});
