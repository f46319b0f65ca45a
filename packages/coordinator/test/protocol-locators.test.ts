// Issue 14: the extract shard's zeroShot / keep fields and the result's sensitivity sums and kept taps
// cross the wire codec intact (typed arrays as the same class), and inconsistent ones are refused.
import { describe, expect, it } from 'vitest';
import { ProtocolError, decodeMessage, encodeMessage, type Message, type PromptFormat, type WireExample } from '../src/index.js';

const g = { layers: 2, heads: 3, headDim: 4 };
const LH = g.layers * g.heads;
const LHD = LH * g.headDim;
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 7, 7]);
const ex = (id: string): WireExample => ({ id, images: [{ mime: 'image/png', bytes: png }], text: `is ${id} red?`, answer: 'yes' });
const format: PromptFormat = { id: 'vizwiz', instruction: '', shot: '<image>{text} Answer: {answer}', query: '<image>{text} Answer:', separator: '\n' };
const shard = (keep: number[]): Message => ({
  type: 'assign',
  shard: {
    kind: 'extract', jobId: 'j', shardId: 0, modelHash: 'sha256:x', format, geometry: g, seed: 1, shots: 1, r0: 10, r1: 12, sumsq: true,
    rounds: [{ r: 10, shots: [0], query: 1 }, { r: 11, shots: [1], query: 0 }], examples: [ex('a'), ex('b')], zeroShot: true, keep,
  },
});
const result = (taps: number): Message => ({
  type: 'result',
  result: {
    kind: 'extract', jobId: 'j', shardId: 0, elapsedMs: 1, r0: 10, r1: 12, count: 2, shape: [2, 3, 4],
    sum: Float64Array.from({ length: LHD }, (_, i) => i / 3), sumsq: null,
    sensitivity: Float64Array.from({ length: LH }, (_, i) => i + 0.25), kept: { rounds: [11], taps: Float32Array.from({ length: taps }, (_, i) => i / 7) },
  },
});

describe('protocol: locator fields of extract', () => {
  it('round-trip, typed arrays as the same class', () => {
    for (const m of [shard([11]), result(LHD)]) expect(decodeMessage(encodeMessage(m))).toEqual(m);
    const back = decodeMessage(encodeMessage(result(LHD))) as Extract<Message, { type: 'result' }>;
    if (back.result.kind !== 'extract') throw new Error('not extract');
    expect(back.result.sensitivity).toBeInstanceOf(Float64Array);
    expect(back.result.kept!.taps).toBeInstanceOf(Float32Array);
  });
  it('refuse a kept round outside the shard and kept taps of the wrong length', () => {
    expect(() => decodeMessage(encodeMessage(shard([12])))).toThrow(ProtocolError);
    expect(() => decodeMessage(encodeMessage(shard([12])))).toThrow(/round 12 is outside the shard's \[10, 12\)/);
    expect(() => decodeMessage(encodeMessage(result(LHD - 1)))).toThrow(/kept/);
  });
});
