import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import {
  CoordinatorServer,
  PROTOCOL_VERSION,
  ProtocolError,
  WorkerConnection,
  decodeMessage,
  encodeMessage,
  silentLogger,
  type Capabilities,
  type CoordinatorAppMessage,
  type Message,
  type PromptFormat,
  type WireExample,
  type WorkerAppMessage,
} from '../src/index.js';

// A packer like the codec's, for hand-made (including invalid) frames.
const raw = new Packr({ moreTypes: true, useRecords: false });
const g = { layers: 2, heads: 3, headDim: 4 };
const LH = g.layers * g.heads;
const LHD = LH * g.headDim;
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 7, 7]);
const ex = (id: string, answer = 'yes'): WireExample => ({ id, images: [{ mime: 'image/png', bytes: png }], text: `is ${id} red?`, answer });
const format: PromptFormat = { id: 'vizwiz', instruction: 'Answer the question.', shot: '<image>{text} Answer: {answer}', query: '<image>{text} Answer:', separator: '\n' };
const capabilities: Capabilities = {
  adapter: { vendor: 'mesa', architecture: 'llvmpipe', device: '', description: 'llvmpipe (LLVM 15, 256 bits)', cpu: true },
  backend: 'opengles',
  threads: 2,
  modelHash: 'sha256:0123abcd',
  maxBatch: 32,
  kinds: ['extract', 'rollouts', 'eval'],
};
const ramp = <T extends Float32Array | Float64Array>(a: T): T => {
  for (let i = 0; i < a.length; i++) a[i] = Math.sin(i + 1) * 1e3 + 1 / 3;
  return a;
};
const header = { jobId: 'job-1', shardId: 3, modelHash: 'sha256:0123abcd', format, geometry: g };

/** Coordinator -> worker application messages, one per type and shard kind. */
function coordinatorSamples(): CoordinatorAppMessage[] {
  return [
    {
      type: 'assign',
      shard: {
        kind: 'extract', ...header, seed: 42, shots: 2, r0: 10, r1: 12, sumsq: true,
        rounds: [{ r: 10, shots: [0, 1], query: 2 }, { r: 11, shots: [2, 0], query: 1 }],
        examples: [ex('a'), ex('b', 'no'), ex('c')],
      },
    },
    {
      type: 'assign',
      shard: {
        kind: 'rollouts', ...header, step: 17, purpose: 'train', queries: [ex('q')], nMasks: 2,
        masks: Uint8Array.from({ length: 2 * LH }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0),
        means: ramp(new Float32Array(LHD)),
      },
    },
    {
      type: 'assign',
      shard: {
        kind: 'eval', ...header, mode: 'mtv+icl', examples: [ex('a'), ex('b')], items: [{ query: 1, shots: [0] }],
        mtv: { heads: Uint8Array.from({ length: LH }, (_, i) => i % 2), means: ramp(new Float32Array(LHD)) },
        maxNewTokens: 8,
      },
    },
    { type: 'cancel', jobId: 'job-1', shardId: null, reason: 'job aborted' },
    { type: 'shutdown', reason: 'maintenance', reconnect: true },
  ];
}

/** Worker -> coordinator application messages, one per type and result kind. */
function workerSamples(): WorkerAppMessage[] {
  return [
    { type: 'progress', jobId: 'job-1', shardId: 3, done: 1, total: 2 },
    {
      type: 'result',
      result: { kind: 'extract', jobId: 'job-1', shardId: 3, elapsedMs: 12.5, r0: 10, r1: 12, count: 2, shape: [2, 3, 4], sum: ramp(new Float64Array(LHD)), sumsq: ramp(new Float64Array(LHD)) },
    },
    { type: 'result', result: { kind: 'rollouts', jobId: 'job-1', shardId: 4, elapsedMs: 1, step: 17, nQueries: 1, nMasks: 2, losses: Float64Array.of(2.5, Math.PI) } },
    {
      type: 'result',
      result: { kind: 'eval', jobId: 'job-1', shardId: 5, elapsedMs: 3, outputs: [{ exampleId: 'b', text: 'no', tokens: Int32Array.of(5, -1, 2 ** 31 - 1), firstTokenLoss: 0.25 }] },
    },
    { type: 'shard-error', jobId: 'job-1', shardId: 6, code: 'out-of-memory', message: 'buffer of 2 GiB exceeds the device limit', retryable: true },
  ];
}

function allSamples(): Message[] {
  return [
    { type: 'hello', token: 't'.repeat(32), workerId: 'w-1', name: 'gpu box 1', capabilities },
    { type: 'welcome', peerId: 'w-1', sessionId: 's-1', heartbeatMs: 5000, heartbeatMisses: 3, maxPayload: 1 << 20, t: Date.now() },
    { type: 'reject', reason: 'bad-token', message: 'wrong token' },
    { type: 'ping', seq: 1, t: Date.now() },
    { type: 'pong', seq: 1, t: Date.now() - 5, at: Date.now() },
    ...coordinatorSamples(),
    ...workerSamples(),
  ];
}

/** Decode expecting failure; returns the ProtocolError. */
function decodeError(bytes: Uint8Array, opts = {}): ProtocolError {
  try {
    decodeMessage(bytes, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return e as ProtocolError;
  }
  throw new Error('decodeMessage accepted the frame');
}
const frame = (o: Record<string, unknown>): Uint8Array => raw.pack({ v: PROTOCOL_VERSION, ...o });

/** Every typed array in a message tree, with its path. */
function typedArrays(v: unknown, path = ''): [string, ArrayBufferView][] {
  if (ArrayBuffer.isView(v)) return [[path, v]];
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => typedArrays(x, `${path}.${k}`));
  return [];
}

describe('protocol codec', () => {
  it('round-trips every message type, typed arrays as the same class', () => {
    for (const msg of allSamples()) {
      const back = decodeMessage(encodeMessage(msg));
      expect(back).toEqual(msg);
      const before = typedArrays(msg);
      const after = new Map(typedArrays(back));
      for (const [path, arr] of before) {
        expect(after.get(path)?.constructor, `${msg.type}${path}`).toBe(arr.constructor);
      }
    }
  });

  it('carries typed arrays as raw binary, not as msgpack number arrays', () => {
    const losses = ramp(new Float64Array(1000));
    const bytes = encodeMessage({ type: 'result', result: { kind: 'rollouts', jobId: 'j', shardId: 0, elapsedMs: 0, step: 0, nQueries: 10, nMasks: 100, losses } });
    // 8000 payload bytes plus a small header; a msgpack float array would be 9 bytes per element.
    expect(bytes.length).toBeLessThan(8000 + 200);
    expect(Buffer.from(bytes).includes(Buffer.from(losses.buffer))).toBe(true);
  });

  it('round-trips typed-array views at an offset and empty arrays', () => {
    const backing = ramp(new Float32Array(LHD + 5));
    const means = backing.subarray(5);
    const msg: Message = { type: 'assign', shard: { kind: 'rollouts', ...header, step: 0, purpose: 'select', queries: [ex('q')], nMasks: 1, masks: new Uint8Array(LH), means } };
    const back = decodeMessage(encodeMessage(msg));
    expect(back.type === 'assign' && back.shard.kind === 'rollouts' && Array.from(back.shard.means)).toEqual(Array.from(means));
    const evalOut: Message = { type: 'result', result: { kind: 'eval', jobId: 'j', shardId: 0, elapsedMs: 0, outputs: [{ exampleId: 'x', text: '', tokens: new Int32Array(0), firstTokenLoss: null }] } };
    expect(decodeMessage(encodeMessage(evalOut))).toEqual(evalOut);
  });

  it('round-trips random geometries and values bit-exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 4 }),
        fc.array(fc.double(), { minLength: 1, maxLength: 64 }),
        (layers, heads, headDim, nMasks, values) => {
          const n = layers * heads * headDim;
          const means = Float32Array.from({ length: n }, (_, i) => values[i % values.length]);
          const sum = Float64Array.from({ length: n }, (_, i) => values[(i * 3) % values.length]);
          const masks = Uint8Array.from({ length: nMasks * layers * heads }, (_, i) => (i * 5 + nMasks) % 2);
          const geometry = { layers, heads, headDim };
          const a: Message = { type: 'assign', shard: { kind: 'rollouts', ...header, geometry, step: 1, purpose: 'validate', queries: [ex('q')], nMasks, masks, means } };
          const r: Message = { type: 'result', result: { kind: 'extract', jobId: 'j', shardId: 1, elapsedMs: 0, r0: 0, r1: 1, count: 1, shape: [layers, heads, headDim], sum, sumsq: null } };
          const a2 = decodeMessage(encodeMessage(a));
          const r2 = decodeMessage(encodeMessage(r));
          // Compare bytes: NaN payloads and -0 must survive too.
          expect(a2.type === 'assign' && Buffer.from(a2.shard.kind === 'rollouts' ? a2.shard.means.buffer : new ArrayBuffer(0))).toEqual(Buffer.from(means.buffer));
          expect(r2.type === 'result' && r2.result.kind === 'extract' && Buffer.from(r2.result.sum.buffer)).toEqual(Buffer.from(sum.buffer));
          expect(a2).toEqual(a);
        },
      ),
      { numRuns: 10 },
    );
  });

  it('refuses frames over maxBytes before parsing', () => {
    const bytes = encodeMessage(workerSamples()[1]);
    const e = decodeError(bytes, { maxBytes: bytes.length - 1 });
    expect(e.reason).toBe('too-large');
    expect(e.message).toContain(`${bytes.length} bytes`);
    expect(decodeMessage(bytes, { maxBytes: bytes.length }).type).toBe('result');
  });

  it('refuses bytes that are not msgpack, or not a typed map', () => {
    expect(decodeError(Buffer.from('hello, this is not msgpack')).reason).toBe('not-msgpack');
    expect(decodeError(Uint8Array.of(0x93, 0x01)).reason).toBe('not-msgpack'); // truncated array
    expect(decodeError(Uint8Array.of(0xc7, 7, 0x74, 8, 1, 2, 3, 4, 5, 6, 7)).reason).toBe('not-msgpack'); // f64 ext of 7 bytes
    expect(decodeError(raw.pack(12)).reason).toBe('not-object');
    expect(decodeError(raw.pack([1, 2])).reason).toBe('not-object');
    expect(decodeError(raw.pack({ v: 1, kind: 'hello' })).reason).toBe('not-object');
  });

  it('refuses unknown types and types from the wrong side', () => {
    const e = decodeError(frame({ type: 'steal-weights' }));
    expect([e.reason, e.messageType]).toEqual(['unknown-type', 'steal-weights']);
    const assign = encodeMessage(coordinatorSamples()[0]);
    expect(decodeError(assign, { from: 'worker' }).reason).toBe('unexpected-type');
    expect(decodeMessage(assign, { from: 'coordinator' }).type).toBe('assign');
    expect(decodeError(encodeMessage(workerSamples()[0]), { from: 'coordinator' }).reason).toBe('unexpected-type');
  });

  it('refuses other protocol versions, but reads a reject at any version', () => {
    const hello = allSamples()[0];
    const e = decodeError(raw.pack({ ...hello, v: PROTOCOL_VERSION + 1 }));
    expect(e.reason).toBe('version-mismatch');
    expect(e.message).toContain(`version ${PROTOCOL_VERSION + 1}`);
    expect(decodeError(raw.pack({ ...hello })).reason).toBe('version-mismatch'); // no v at all
    const reject = decodeMessage(raw.pack({ v: 99, type: 'reject', reason: 'version-mismatch', message: 'speak v1' }));
    expect(reject).toEqual({ type: 'reject', reason: 'version-mismatch', message: 'speak v1' });
  });

  it('reports schema violations with their paths', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [];
    const [extract, rollouts, evalShard] = coordinatorSamples().map((m) => structuredClone(m) as Extract<Message, { type: 'assign' }>);
    const ro = rollouts.shard as Record<string, unknown>;
    ro.masks = new Uint8Array(2 * LH - 1);
    cases.push([rollouts, 'shard.masks', /expected length 12 \(nMasks 2 x layers 2 x heads 3\), got 11/]);
    const ro2 = structuredClone(coordinatorSamples()[1]) as Extract<Message, { type: 'assign' }>;
    (ro2.shard as { masks: Uint8Array }).masks[4] = 2;
    cases.push([ro2, 'shard.masks', /0 or 1; element 4 is 2/]);
    const ro3 = structuredClone(coordinatorSamples()[1]) as Extract<Message, { type: 'assign' }>;
    (ro3.shard as Record<string, unknown>).means = new Float64Array(LHD);
    cases.push([ro3, 'shard.means', /expected Float32Array, got Float64Array/]);
    const ext = extract.shard as { rounds: { r: number; shots: number[]; query: number }[] };
    ext.rounds[1].query = 9;
    cases.push([extract, 'shard.rounds[1].query', /index 9 out of range: the shard carries 3 examples/]);
    (evalShard.shard as Record<string, unknown>).mtv = null;
    cases.push([evalShard, 'shard.mtv', /mode 'mtv\+icl' needs an mtv/]);
    const res = structuredClone(workerSamples()[1]) as Record<string, unknown> & { result: Record<string, unknown> };
    res.result.sum = new Float32Array(LHD);
    cases.push([res, 'result.sum', /expected Float64Array, got Float32Array/]);
    cases.push([{ ...workerSamples()[0], done: 5 }, 'done', /done exceeds total/]);
    cases.push([{ ...workerSamples()[0], extra: 1 }, '', /Unrecognized key/]);
    cases.push([{ ...allSamples()[0], capabilities: { ...capabilities, threads: 1.5 } }, 'capabilities.threads', /int/]);
    cases.push([{ type: 'assign', shard: { kind: 'train' } }, 'shard.kind', /Expected/]);

    for (const [msg, path, text] of cases) {
      const e = decodeError(frame(msg));
      expect(e.reason, path).toBe('schema');
      const hit = e.issues.find((i) => i.path === path);
      expect(hit, `${path} in ${JSON.stringify(e.issues)}`).toBeDefined();
      expect(hit!.message).toMatch(text);
      expect(e.message).toContain(path);
    }
  });

  it('validates on encode too, so a sender finds its own bug', () => {
    const bad = { type: 'result', result: { kind: 'rollouts', jobId: 'j', shardId: 0, elapsedMs: 0, step: 0, nQueries: 2, nMasks: 2, losses: new Float64Array(3) } } as const;
    expect(() => encodeMessage(bad)).toThrow(/result\.losses: expected length 4 \(nQueries 2 x nMasks 2\), got 3/);
    expect(() => encodeMessage({ type: 'nope' } as unknown as Message)).toThrow(ProtocolError);
  });
});

describe('protocol over a real WebSocket', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  it('carries every application message both ways with typed arrays intact', async () => {
    const server = new CoordinatorServer({ logger: silentLogger });
    const { port } = await server.start();
    cleanup.push(() => server.close());
    const worker = new WorkerConnection({ url: `ws://127.0.0.1:${port}`, workerId: 'w-1', capabilities, logger: silentLogger }).start();
    cleanup.push(() => worker.close());
    const [peer] = await server.next('peer');
    expect(peer.capabilities).toEqual(capabilities);
    await worker.ready();

    const toWorker = coordinatorSamples();
    const gotByWorker: Message[] = [];
    const allInWorker = new Promise<void>((resolve) => worker.on('message', (m) => gotByWorker.push(m) === toWorker.length && resolve()));
    for (const m of toWorker) await server.send('w-1', m);
    await allInWorker;
    expect(gotByWorker).toEqual(toWorker);

    const toServer = workerSamples();
    const gotByServer: Message[] = [];
    const allInServer = new Promise<void>((resolve) => server.on('message', (m) => gotByServer.push(m) === toServer.length && resolve()));
    const results: string[] = [];
    server.on('result', (m, p) => results.push(`${p.id}:${m.result.kind}`));
    for (const m of toServer) await worker.send(m);
    await allInServer;
    expect(gotByServer).toEqual(toServer);
    expect(results).toEqual(['w-1:extract', 'w-1:rollouts', 'w-1:eval']);
    for (const [path, arr] of typedArrays(gotByServer)) expect(arr.constructor.name, path).not.toBe('Buffer');
  });
});
