import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeSafetensors } from '@mtv/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ActivationSums, Prng, accumulateRounds, extendArtifact, mergeArtifacts, readArtifact, writeArtifact, MTV_CODE_VERSION,
  type MtvArtifact, type RunRecord,
} from '@mtv/mtv';

const shape = [3, 2, 4] as const;
const tap = (seed: number): Float32Array => {
  const r = Prng.derive(seed);
  return Float32Array.from({ length: 24 }, () => r.nextFloat() * 2 - 1);
};
const run = (firstRound: number, rounds: number): RunRecord => ({ datasetHash: 'd'.repeat(64), shots: 4, firstRound, rounds, seed: 1, shardSize: 2 });

function artifact(rounds: number[], modelHash = 'a'.repeat(64)): MtvArtifact {
  const sums = new ActivationSums(shape);
  rounds.forEach((r) => sums.add(tap(r)));
  return {
    sums,
    logits: Float32Array.from({ length: 6 }, (_, i) => i - 3),
    heads: Uint8Array.from([1, 0, 0, 1, 1, 0]),
    provenance: { modelId: 'tiny-llava', modelHash, codeVersion: MTV_CODE_VERSION, runs: [run(rounds[0], rounds.length)], heads: 'located' },
  };
}

let dir: string;
beforeAll(() => void (dir = mkdtempSync(path.join(tmpdir(), 'mtv-art-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('MTV artifact', () => {
  it('round-trips sums bit for bit, logits, heads and provenance', async () => {
    const a = artifact([0, 1, 2]);
    const f = path.join(dir, 'a.safetensors');
    await writeArtifact(f, a);
    const b = await readArtifact(f, { modelHash: 'a'.repeat(64), shape: [3, 2, 4] });
    expect(Buffer.from(b.sums.sum.buffer).equals(Buffer.from(a.sums.sum.buffer))).toBe(true);
    expect(Buffer.from(b.sums.sumSq.buffer).equals(Buffer.from(a.sums.sumSq.buffer))).toBe(true);
    expect(b.sums.count).toBe(3);
    expect(Array.from(b.sums.means())).toEqual(Array.from(a.sums.means()));
    expect(Array.from(b.logits!)).toEqual([-3, -2, -1, 0, 1, 2]);
    expect(Array.from(b.heads!)).toEqual([1, 0, 0, 1, 1, 0]);
    expect(b.provenance).toEqual(a.provenance);
  });

  it('is a standard safetensors file (parsed by Python with json + numpy)', async (ctx) => {
    const f = path.join(dir, 'py.safetensors');
    const a = artifact([5, 6]);
    await writeArtifact(f, a);
    const py = `
import json, struct, sys
import numpy as np
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
dt = {'F32': '<f4', 'F64': '<f8', 'U8': 'u1'}
out = {'meta': h['__metadata__']}
for k, v in h.items():
    if k == '__metadata__': continue
    s, e = v['data_offsets']
    out[k] = np.frombuffer(b[8 + n + s: 8 + n + e], dtype=dt[v['dtype']]).reshape(v['shape']).tolist()
print(json.dumps(out))`;
    let text: string;
    try {
      text = execFileSync('python3', ['-c', py, f], { encoding: 'utf8' });
    } catch (e) {
      ctx.skip(`python3 with numpy unavailable: ${(e as Error).message.split('\n')[0]}`);
      return;
    }
    const o = JSON.parse(text) as Record<string, unknown> & { meta: Record<string, string>; means: number[][][]; sums: number[][][]; heads: number[][] };
    expect(o.meta.format).toBe('mtv-artifact');
    expect(Number(o.meta.count)).toBe(2);
    expect(o.means.flat(2)).toEqual(Array.from(a.sums.means()));
    expect(o.sums.flat(2)).toEqual(Array.from(a.sums.sum));
    expect(o.heads).toEqual([[1, 0], [0, 1], [1, 0]]);
  });

  it('refuses another model, other shapes, corrupt headers and foreign files', async () => {
    const f = path.join(dir, 'b.safetensors');
    await writeArtifact(f, artifact([0]));
    await expect(readArtifact(f, { modelHash: 'b'.repeat(64) })).rejects.toThrow(/was built for model tiny-llava \(hash aaaaaaaaaaaaaaaa\.\.\.\), not for this model \(hash bbbbbbbbbbbbbbbb/);
    await expect(readArtifact(f, { shape: [3, 2, 8] })).rejects.toThrow(/activation shape \[3, 2, 4\] does not match the model's \[layers, heads, headDim\] = \[3, 2, 8\]/);

    const bytes = readFileSync(f);
    const corrupt = path.join(dir, 'corrupt.safetensors');
    writeFileSync(corrupt, Buffer.concat([bytes.subarray(0, 8), Buffer.from('{"means": oops'), bytes.subarray(22)]));
    await expect(readArtifact(corrupt)).rejects.toThrow(/MTV artifact .*corrupt\.safetensors: unreadable safetensors: .*not valid UTF-8 JSON/);
    writeFileSync(corrupt, bytes.subarray(0, 100));
    await expect(readArtifact(corrupt)).rejects.toThrow(/unreadable safetensors/);

    const foreign = path.join(dir, 'foreign.safetensors');
    writeFileSync(foreign, encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array(2) } }));
    await expect(readArtifact(foreign)).rejects.toThrow(/not an MTV artifact \(__metadata__\.format is null/);

    // a tensor with the wrong shape, and means that do not belong to the sums
    const a = artifact([0]);
    const meta = { format: 'mtv-artifact', version: '1', shape: '[3,2,4]', count: '1', provenance: JSON.stringify(a.provenance) };
    const base = {
      means: { dtype: 'F32' as const, shape: [3, 2, 4], data: a.sums.means() },
      sums: { dtype: 'F64' as const, shape: [3, 2, 4], data: a.sums.sum },
      sumsq: { dtype: 'F64' as const, shape: [3, 2, 4], data: a.sums.sumSq },
      heads: { dtype: 'U8' as const, shape: [3, 2], data: a.heads! },
    };
    writeFileSync(foreign, encodeSafetensors({ ...base, sums: { dtype: 'F64', shape: [3, 8], data: a.sums.sum } }, meta));
    await expect(readArtifact(foreign)).rejects.toThrow(/tensor 'sums' is F64 \[3, 8\], expected F64 \[3, 2, 4\]/);
    writeFileSync(foreign, encodeSafetensors({ ...base, means: { dtype: 'F32', shape: [3, 2, 4], data: new Float32Array(24) } }, meta));
    await expect(readArtifact(foreign)).rejects.toThrow(/tensor 'means' disagrees with sums\/count at index 0/);
    writeFileSync(foreign, encodeSafetensors({ ...base, heads: { dtype: 'U8', shape: [3, 2], data: new Uint8Array(6).fill(2) } }, meta));
    await expect(readArtifact(foreign)).rejects.toThrow(/heads mask has values other than 0\/1/);
  });

  it('refuses NaN or Inf means in a chosen head, on read and on write, naming the tensor and the head (issue 11 item 6)', async () => {
    const a = artifact([0, 1]);
    const meta = { format: 'mtv-artifact', version: '1', shape: '[3,2,4]', count: '2', provenance: JSON.stringify(a.provenance) };
    // Layer 1, head 1 (chosen in the heads mask), dim 2: index (1 * 2 + 1) * 4 + 2 = 14. The stored means
    // agree with the sums, so only a finiteness check can catch it.
    const sum = Float64Array.from(a.sums.sum);
    sum[14] = NaN;
    const nan = ActivationSums.fromData({ shape, sum, sumSq: a.sums.sumSq, count: 2 });
    const f = path.join(dir, 'nan.safetensors');
    writeFileSync(f, encodeSafetensors({
      means: { dtype: 'F32', shape: [3, 2, 4], data: nan.means() },
      sums: { dtype: 'F64', shape: [3, 2, 4], data: sum },
      sumsq: { dtype: 'F64', shape: [3, 2, 4], data: a.sums.sumSq },
      logits: { dtype: 'F32', shape: [3, 2], data: a.logits! },
      heads: { dtype: 'U8', shape: [3, 2], data: a.heads! },
    }, meta));
    await expect(readArtifact(f)).rejects.toThrow(/nan\.safetensors: tensor 'sums' has the non-finite value NaN at index 14 \(layer 1, head 1, dim 2\)/);
    const inf = ActivationSums.fromData({ shape, sum: Float64Array.from(a.sums.sum, (v, i) => (i === 3 ? Infinity : v)), sumSq: a.sums.sumSq, count: 2 });
    await expect(writeArtifact(path.join(dir, 'inf.safetensors'), { ...a, sums: inf })).rejects.toThrow(/tensor 'sums' has the non-finite value Infinity at index 3 \(layer 0, head 0, dim 3\)/);
    await expect(writeArtifact(path.join(dir, 'nanlogit.safetensors'), { ...a, logits: Float32Array.from([0, 0, 0, NaN, 0, 0]) }))
      .rejects.toThrow(/tensor 'logits' has the non-finite value NaN at index 3 \(layer 1, head 1\)/);
  });

  it('merge adds sums in argument order and recomputes the means; heads are inherited or dropped', () => {
    const a = artifact([0, 1]);
    const b = artifact([2, 3, 4]);
    const m = mergeArtifacts(a, b);
    const expected = new ActivationSums(shape).merge(a.sums).merge(b.sums);
    expect(Array.from(m.sums.sum)).toEqual(Array.from(expected.sum));
    expect(m.sums.count).toBe(5);
    expect(m.provenance.heads).toBe('inherited');
    expect(m.provenance.runs).toHaveLength(2);
    expect(a.sums.count).toBe(2); // inputs untouched
    expect(mergeArtifacts(a, b, { heads: 'none' }).heads).toBeNull();
    expect(() => mergeArtifacts(a, artifact([9], 'c'.repeat(64)))).toThrow(/cannot combine artifacts of different models/);
  });

  it('extend adds new rounds and refuses rounds it already holds', () => {
    const a = artifact([0, 1]);
    const more = new ActivationSums(shape).add(tap(2)).add(tap(3));
    const e = extendArtifact(a, more, run(2, 2));
    expect(e.sums.count).toBe(4);
    // two shards of 2 rounds merged in order: the same bits as a single run with shardSize 2
    const single = accumulateRounds([0, 1, 2, 3].map(tap), shape, 2);
    expect(Array.from(e.sums.sum)).toEqual(Array.from(single.sum));
    expect(() => extendArtifact(a, more, run(1, 2))).toThrow(/rounds \[1, 3\) of seed 1 overlap rounds \[0, 2\)/);
    expect(() => extendArtifact(a, more, run(2, 3))).toThrow(/hold 2 taps but the run record says 3 rounds/);
  });
});
