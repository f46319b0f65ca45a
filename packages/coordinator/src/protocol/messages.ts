// The fleet's wire contract: every message type, its zod schema and its TypeScript type live here and
// nowhere else. A frame on the wire is a msgpack map `{ v: PROTOCOL_VERSION, type, ...fields }` (see
// codec.ts); the `v` field is framing, so the message types below do not carry it.
import { z } from 'zod';

/** Bumped on any incompatible change to a schema below; peers must match exactly. */
export const PROTOCOL_VERSION = 1;

/** Bounds enforced by the schemas (sizes in elements or characters, not bytes). */
export const LIMITS = {
  /** Default frame size limit in bytes (ws `maxPayload` and `decodeMessage` maxBytes). */
  maxPayload: 64 * 1024 * 1024,
  idChars: 128,
  tokenChars: 4096,
  textChars: 64 * 1024,
  examplesPerShard: 65_536,
  imagesPerExample: 16,
  shotsPerRound: 1024,
  roundsPerShard: 1_000_000,
  masksPerShard: 4096,
  geometryDim: 65_536,
  maxNewTokens: 4096,
} as const;

// ---------------------------------------------------------------------------------------------
// Building blocks

/** Short human-readable description of a received value, for schema error messages. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as { length?: number }).length ?? v.byteLength})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  return typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}

type TypedArrayCtor<T> = { new (length: number): T; readonly name: string };

/** A typed array of exactly this class (Buffer passes as Uint8Array: it is one). */
function typed<T>(ctor: TypedArrayCtor<T>) {
  return z.custom<T>((v) => v instanceof ctor, { error: (iss) => `expected ${ctor.name}, got ${describe(iss.input)}` });
}
const f64 = typed(Float64Array);
const f32 = typed(Float32Array);
const u8 = typed(Uint8Array);
const i32 = typed(Int32Array);

const id = z.string().min(1).max(LIMITS.idChars);
const text = z.string().max(LIMITS.textChars);
const count = z.int().min(0);
const dim = z.int().min(1).max(LIMITS.geometryDim);
/** Wall-clock milliseconds since the epoch (Date.now()) of the sender. */
const timestamp = z.number().nonnegative();
/** Identifies model weights; workers refuse shards for a model they do not hold. */
const modelHash = z.string().regex(/^[A-Za-z0-9:._-]{1,256}$/, 'expected a model hash of [A-Za-z0-9:._-], 1 to 256 characters');

export const ShardKindSchema = z.enum(['extract', 'rollouts', 'eval']);
export type ShardKind = z.infer<typeof ShardKindSchema>;

/** Decoder geometry the shard's tensors are laid out in: `[layers, heads, headDim]`. */
export const GeometrySchema = z.strictObject({ layers: dim, heads: dim, headDim: dim });
export type Geometry = z.infer<typeof GeometrySchema>;

/** An encoded image (PNG/JPEG/...) exactly as read from disk; the worker decodes and preprocesses it. */
export const ImageSchema = z.strictObject({
  mime: z.string().min(1).max(64),
  bytes: u8.refine((b) => b.length > 0, 'image bytes are empty'),
});
export type WireImage = z.infer<typeof ImageSchema>;

/** One dataset example: its images, its text (question / prompt) and its answer (empty for a bare query). */
export const ExampleSchema = z.strictObject({
  id,
  images: z.array(ImageSchema).max(LIMITS.imagesPerExample),
  text,
  answer: text,
});
export type WireExample = z.infer<typeof ExampleSchema>;

/**
 * How shots and the query are rendered into a prompt (the reference repo's per-dataset formats):
 * `instruction`, then each shot rendered with `shot`, then the query with `query`, joined by
 * `separator`. Templates use `<image>`, `{text}` and `{answer}` placeholders; @mtv/model renders them.
 */
export const PromptFormatSchema = z.strictObject({
  id,
  instruction: text,
  shot: text,
  query: text,
  separator: text,
});
export type PromptFormat = z.infer<typeof PromptFormatSchema>;

/** Fields every shard carries. `shardId` orders the merge of results (DESIGN.md section 2). */
const shardHeader = {
  jobId: id,
  shardId: count,
  modelHash,
  format: PromptFormatSchema,
  geometry: GeometrySchema,
};

type Ctx = z.core.$RefinementCtx;
const issue = (ctx: Ctx, path: (string | number)[], message: string): void => {
  ctx.addIssue({ code: 'custom', path, message });
};
function expectLength(ctx: Ctx, path: (string | number)[], got: { length: number }, want: number, formula: string): void {
  if (got.length !== want) issue(ctx, path, `expected length ${want} (${formula}), got ${got.length}`);
}
function checkIndex(ctx: Ctx, path: (string | number)[], k: number, n: number): void {
  if (k >= n) issue(ctx, path, `example index ${k} out of range: the shard carries ${n} examples`);
}
function checkIndices(ctx: Ctx, path: (string | number)[], idx: readonly number[], n: number): void {
  idx.forEach((k, j) => checkIndex(ctx, [...path, j], k, n));
}
function checkBinary(ctx: Ctx, path: (string | number)[], a: Uint8Array): void {
  const bad = a.findIndex((x) => x > 1);
  if (bad >= 0) issue(ctx, path, `mask entries must be 0 or 1; element ${bad} is ${a[bad]}`);
}
const geomFormula = (g: Geometry): string => `layers ${g.layers} x heads ${g.heads}`;
const geomDFormula = (g: Geometry): string => `layers ${g.layers} x heads ${g.heads} x headDim ${g.headDim}`;

// ---------------------------------------------------------------------------------------------
// Shards (coordinator -> worker, inside `assign`)

/**
 * Mean-activation extraction for rounds [r0, r1): round r builds the ICL prompt from
 * `examples[rounds[i].shots]` followed by the query `examples[rounds[i].query]`, runs one forward pass
 * and taps the o_proj input of every head at the last prompt token. The coordinator drew the examples
 * from PRNG(seed, r); `seed` travels for the record and cross-checks. Examples used by several rounds
 * travel once.
 */
export const ExtractShardSchema = z
  .strictObject({
    kind: z.literal('extract'),
    ...shardHeader,
    seed: z.int().min(0),
    shots: z.int().min(0).max(LIMITS.shotsPerRound),
    r0: count,
    r1: count,
    rounds: z.array(z.strictObject({ r: count, shots: z.array(count), query: count })).max(LIMITS.roundsPerShard),
    examples: z.array(ExampleSchema).max(LIMITS.examplesPerShard),
    /** Also return float64 sums of squares. */
    sumsq: z.boolean(),
    /**
     * Sensitivity / STV locators: also run each round's query zero-shot (no shots, same variant), tap it,
     * and return the per-head sum of ||icl - zero-shot||_2; and return the ICL taps of the rounds in `keep`.
     */
    zeroShot: z.boolean().optional(),
    keep: z.array(count).max(LIMITS.roundsPerShard).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.r1 <= s.r0) return issue(ctx, ['r1'], `round range [${s.r0}, ${s.r1}) is empty`);
    s.keep?.forEach((r, i) => {
      if (r < s.r0 || r >= s.r1) issue(ctx, ['keep', i], `round ${r} is outside the shard's [${s.r0}, ${s.r1})`);
    });
    if (s.keep && s.keep.length > 0 && !s.zeroShot) issue(ctx, ['keep'], 'keep needs zeroShot');
    expectLength(ctx, ['rounds'], s.rounds, s.r1 - s.r0, `r1 ${s.r1} - r0 ${s.r0}`);
    s.rounds.forEach((round, i) => {
      if (round.r !== s.r0 + i) issue(ctx, ['rounds', i, 'r'], `expected round ${s.r0 + i}, got ${round.r}`);
      expectLength(ctx, ['rounds', i, 'shots'], round.shots, s.shots, 'shots');
      checkIndices(ctx, ['rounds', i, 'shots'], round.shots, s.examples.length);
      checkIndex(ctx, ['rounds', i, 'query'], round.query, s.examples.length);
    });
  });
export type ExtractShard = z.infer<typeof ExtractShardSchema>;

/**
 * One REINFORCE step's rollouts (also used for validation and final-mask selection): for each zero-shot
 * query and each of `nMasks` masks, run the query with the masked heads' last-token outputs replaced by
 * `means`, and return the cross-entropy of the first answer token.
 * `masks` is row-major `[nMasks, layers * heads]`, entries 0/1; `means` is `[layers, heads, headDim]`.
 */
export const RolloutsShardSchema = z
  .strictObject({
    kind: z.literal('rollouts'),
    ...shardHeader,
    step: count,
    purpose: z.enum(['train', 'validate', 'select']),
    queries: z.array(ExampleSchema).min(1).max(LIMITS.examplesPerShard),
    nMasks: z.int().min(1).max(LIMITS.masksPerShard),
    masks: u8,
    means: f32,
  })
  .superRefine((s, ctx) => {
    const g = s.geometry;
    expectLength(ctx, ['masks'], s.masks, s.nMasks * g.layers * g.heads, `nMasks ${s.nMasks} x ${geomFormula(g)}`);
    checkBinary(ctx, ['masks'], s.masks);
    expectLength(ctx, ['means'], s.means, g.layers * g.heads * g.headDim, geomDFormula(g));
  });
export type RolloutsShard = z.infer<typeof RolloutsShardSchema>;

export const EvalModeSchema = z.enum(['zero-shot', 'icl', 'mtv', 'mtv+icl']);
export type EvalMode = z.infer<typeof EvalModeSchema>;

/** A Multimodal Task Vector as applied at inference: head mask `[layers, heads]` and means `[layers, heads, headDim]`. */
export const WireMtvSchema = z.strictObject({ heads: u8, means: f32 });
export type WireMtv = z.infer<typeof WireMtvSchema>;

/**
 * Evaluation: each item is a query (`examples[query]`) with its ICL shots (`examples[shots]`, empty for
 * zero-shot / mtv); the worker generates up to `maxNewTokens` greedily, patching with `mtv` in the mtv modes.
 */
export const EvalShardSchema = z
  .strictObject({
    kind: z.literal('eval'),
    ...shardHeader,
    mode: EvalModeSchema,
    examples: z.array(ExampleSchema).max(LIMITS.examplesPerShard),
    items: z.array(z.strictObject({ query: count, shots: z.array(count).max(LIMITS.shotsPerRound) })).min(1),
    mtv: WireMtvSchema.nullable(),
    maxNewTokens: z.int().min(1).max(LIMITS.maxNewTokens),
    /** End tokens are refused before this many new tokens (absent: 1, the reference's min_new_tokens). */
    minNewTokens: z.int().min(0).max(LIMITS.maxNewTokens).optional(),
  })
  .superRefine((s, ctx) => {
    const g = s.geometry;
    const usesMtv = s.mode === 'mtv' || s.mode === 'mtv+icl';
    const usesShots = s.mode === 'icl' || s.mode === 'mtv+icl';
    if (usesMtv && s.mtv === null) issue(ctx, ['mtv'], `mode '${s.mode}' needs an mtv`);
    if (!usesMtv && s.mtv !== null) issue(ctx, ['mtv'], `mode '${s.mode}' must not carry an mtv (send null)`);
    if (s.mtv) {
      expectLength(ctx, ['mtv', 'heads'], s.mtv.heads, g.layers * g.heads, geomFormula(g));
      checkBinary(ctx, ['mtv', 'heads'], s.mtv.heads);
      expectLength(ctx, ['mtv', 'means'], s.mtv.means, g.layers * g.heads * g.headDim, geomDFormula(g));
    }
    s.items.forEach((item, i) => {
      if (usesShots && item.shots.length === 0) issue(ctx, ['items', i, 'shots'], `mode '${s.mode}' needs at least one shot`);
      if (!usesShots && item.shots.length > 0) issue(ctx, ['items', i, 'shots'], `mode '${s.mode}' takes no shots`);
      checkIndices(ctx, ['items', i, 'shots'], item.shots, s.examples.length);
      checkIndex(ctx, ['items', i, 'query'], item.query, s.examples.length);
    });
  });
export type EvalShard = z.infer<typeof EvalShardSchema>;

export const ShardSchema = z.discriminatedUnion('kind', [ExtractShardSchema, RolloutsShardSchema, EvalShardSchema]);
export type Shard = z.infer<typeof ShardSchema>;

// ---------------------------------------------------------------------------------------------
// Results (worker -> coordinator, inside `result`)

const resultHeader = { jobId: id, shardId: count, elapsedMs: z.number().nonnegative() };

/** Float64 sums over rounds [r0, r1) of the tapped activations, `shape` = [layers, heads, headDim]. */
export const ExtractResultSchema = z
  .strictObject({
    kind: z.literal('extract'),
    ...resultHeader,
    r0: count,
    r1: count,
    count,
    shape: z.tuple([dim, dim, dim]),
    sum: f64,
    sumsq: f64.nullable(),
    /** With the shard's zeroShot: per-head sum of ||icl - zero-shot||_2 over its rounds [layers * heads]. */
    sensitivity: f64.optional(),
    /** With the shard's keep: the kept rounds (ascending) and their ICL taps [rounds, layers, heads, headDim]. */
    kept: z.strictObject({ rounds: z.array(count), taps: f32 }).optional(),
  })
  .superRefine((s, ctx) => {
    const n = s.shape[0] * s.shape[1] * s.shape[2];
    const formula = `shape [${s.shape.join(', ')}]`;
    if (s.r1 <= s.r0) issue(ctx, ['r1'], `round range [${s.r0}, ${s.r1}) is empty`);
    expectLength(ctx, ['sum'], s.sum, n, formula);
    if (s.sumsq) expectLength(ctx, ['sumsq'], s.sumsq, n, formula);
    if (s.sensitivity) expectLength(ctx, ['sensitivity'], s.sensitivity, s.shape[0] * s.shape[1], `layers x heads of ${formula}`);
    if (s.kept) expectLength(ctx, ['kept', 'taps'], s.kept.taps, s.kept.rounds.length * n, `${s.kept.rounds.length} kept rounds x ${formula}`);
  });
export type ExtractResult = z.infer<typeof ExtractResultSchema>;

/** Losses row-major `[nQueries, nMasks]`, in the order of the shard's queries and masks. */
export const RolloutsResultSchema = z
  .strictObject({
    kind: z.literal('rollouts'),
    ...resultHeader,
    step: count,
    nQueries: z.int().min(1),
    nMasks: z.int().min(1),
    losses: f64,
  })
  .superRefine((s, ctx) => {
    expectLength(ctx, ['losses'], s.losses, s.nQueries * s.nMasks, `nQueries ${s.nQueries} x nMasks ${s.nMasks}`);
  });
export type RolloutsResult = z.infer<typeof RolloutsResultSchema>;

/** One output per shard item, in item order: decoded text, generated token ids, first-answer-token CE when known. */
export const EvalResultSchema = z.strictObject({
  kind: z.literal('eval'),
  ...resultHeader,
  outputs: z.array(
    z.strictObject({ exampleId: id, text, tokens: i32, firstTokenLoss: z.number().nullable() }),
  ),
});
export type EvalResult = z.infer<typeof EvalResultSchema>;

export const ShardResultSchema = z.discriminatedUnion('kind', [ExtractResultSchema, RolloutsResultSchema, EvalResultSchema]);
export type ShardResult = z.infer<typeof ShardResultSchema>;

// ---------------------------------------------------------------------------------------------
// Messages

export const CapabilitiesSchema = z.strictObject({
  /** GPUAdapterInfo as reported by Dawn, plus whether it is a CPU rasteriser (llvmpipe, SwiftShader). */
  adapter: z.strictObject({
    vendor: z.string().max(256),
    architecture: z.string().max(256),
    device: z.string().max(256),
    description: z.string().max(1024),
    cpu: z.boolean(),
  }),
  /** Dawn backend in use, e.g. 'opengles', 'vulkan', 'metal', 'd3d12'. */
  backend: z.string().min(1).max(64),
  threads: z.int().min(1).max(4096),
  modelHash,
  /** Largest rollout batch (rows sharing one prefix cache) the worker runs at once. */
  maxBatch: z.int().min(1).max(LIMITS.masksPerShard),
  kinds: z.array(ShardKindSchema).min(1),
});
export type Capabilities = z.infer<typeof CapabilitiesSchema>;

/** worker -> coordinator, first frame. The protocol version is the frame's `v`. An unset server token accepts any `token`. */
export const HelloSchema = z.strictObject({
  type: z.literal('hello'),
  token: z.string().max(LIMITS.tokenChars),
  workerId: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'expected a worker id of [A-Za-z0-9._:-], 1 to 64 characters'),
  name: z.string().max(256),
  capabilities: CapabilitiesSchema,
});

/** coordinator -> worker, handshake accepted; the worker adopts the heartbeat settings to detect a dead coordinator. */
export const WelcomeSchema = z.strictObject({
  type: z.literal('welcome'),
  peerId: id,
  sessionId: id,
  heartbeatMs: z.int().min(1),
  heartbeatMisses: z.int().min(1),
  maxPayload: z.int().min(1),
  t: timestamp,
});

export const RejectReasonSchema = z.enum(['bad-token', 'version-mismatch', 'refused', 'shutting-down']);
export type RejectReason = z.infer<typeof RejectReasonSchema>;
/**
 * coordinator -> worker, handshake refused, then the connection closes. FROZEN: this schema never
 * changes, and decodeMessage accepts it at any `v`, so a peer of another version can read why.
 */
export const RejectSchema = z.strictObject({
  type: z.literal('reject'),
  reason: RejectReasonSchema,
  message: z.string().max(4096),
});

/** coordinator -> worker every heartbeatMs; `t` is the coordinator's clock. */
export const PingSchema = z.strictObject({ type: z.literal('ping'), seq: count, t: timestamp });
/** worker -> coordinator; echoes `seq` and `t` (so the coordinator measures RTT on its own clock); `at` is the worker's clock. */
export const PongSchema = z.strictObject({ type: z.literal('pong'), seq: count, t: timestamp, at: timestamp });

export const AssignSchema = z.strictObject({ type: z.literal('assign'), shard: ShardSchema });

export const ProgressSchema = z
  .strictObject({ type: z.literal('progress'), jobId: id, shardId: count, done: count, total: count })
  .refine((p) => p.done <= p.total, { path: ['done'], message: 'done exceeds total' });

export const ResultSchema = z.strictObject({ type: z.literal('result'), result: ShardResultSchema });

export const ShardErrorCodeSchema = z.enum(['model-mismatch', 'invalid-shard', 'out-of-memory', 'device-lost', 'cancelled', 'internal']);
export type ShardErrorCode = z.infer<typeof ShardErrorCodeSchema>;
/** worker -> coordinator: the shard failed; `retryable` says whether another attempt (here or elsewhere) can succeed. */
export const ShardErrorSchema = z.strictObject({
  type: z.literal('shard-error'),
  jobId: id,
  shardId: count,
  code: ShardErrorCodeSchema,
  message: z.string().max(LIMITS.textChars),
  retryable: z.boolean(),
});

/** coordinator -> worker: stop a shard (`shardId`) or every shard of the job (`shardId: null`); no result is expected. */
export const CancelSchema = z.strictObject({ type: z.literal('cancel'), jobId: id, shardId: count.nullable(), reason: z.string().max(4096) });

/** coordinator -> worker: the coordinator is going away; `reconnect` says whether it will be back (restart/resume). */
export const ShutdownSchema = z.strictObject({ type: z.literal('shutdown'), reason: z.string().max(4096), reconnect: z.boolean() });
/**
 * A `shutdown { reconnect: false }` whose reason starts with this says the job was aborted, not
 * finished: the worker exits non-zero (the schema is unchanged, so v1 peers still read it).
 */
export const JOB_FAILED = 'job failed:';

/** Schema of every message type, by `type`. */
export const MESSAGE_SCHEMAS = {
  hello: HelloSchema,
  welcome: WelcomeSchema,
  reject: RejectSchema,
  ping: PingSchema,
  pong: PongSchema,
  assign: AssignSchema,
  progress: ProgressSchema,
  result: ResultSchema,
  'shard-error': ShardErrorSchema,
  cancel: CancelSchema,
  shutdown: ShutdownSchema,
} as const;

export type MessageType = keyof typeof MESSAGE_SCHEMAS;
export type MessageOf<T extends MessageType> = z.infer<(typeof MESSAGE_SCHEMAS)[T]>;
export type Hello = MessageOf<'hello'>;
export type Welcome = MessageOf<'welcome'>;
export type Reject = MessageOf<'reject'>;
export type Ping = MessageOf<'ping'>;
export type Pong = MessageOf<'pong'>;
export type Assign = MessageOf<'assign'>;
export type Progress = MessageOf<'progress'>;
export type Result = MessageOf<'result'>;
export type ShardError = MessageOf<'shard-error'>;
export type Cancel = MessageOf<'cancel'>;
export type Shutdown = MessageOf<'shutdown'>;

/** Who may send which type. */
export const WORKER_MESSAGE_TYPES = ['hello', 'pong', 'progress', 'result', 'shard-error'] as const;
export const COORDINATOR_MESSAGE_TYPES = ['welcome', 'reject', 'ping', 'assign', 'cancel', 'shutdown'] as const;
export type WorkerMessageType = (typeof WORKER_MESSAGE_TYPES)[number];
export type CoordinatorMessageType = (typeof COORDINATOR_MESSAGE_TYPES)[number];
export type WorkerMessage = MessageOf<WorkerMessageType>;
export type CoordinatorMessage = MessageOf<CoordinatorMessageType>;
export type Message = WorkerMessage | CoordinatorMessage;
export type Sender = 'worker' | 'coordinator';

export const isMessageType = (t: unknown): t is MessageType => typeof t === 'string' && Object.hasOwn(MESSAGE_SCHEMAS, t);
export function senderOf(t: MessageType): Sender {
  return (WORKER_MESSAGE_TYPES as readonly string[]).includes(t) ? 'worker' : 'coordinator';
}

/** What the worker's job layer sends once connected (hello and pong belong to the connection layer). */
export type WorkerAppMessage = Exclude<WorkerMessage, { type: 'hello' | 'pong' }>;
/** What the coordinator's scheduler sends once a worker is connected (welcome, reject, ping belong to the connection layer). */
export type CoordinatorAppMessage = Exclude<CoordinatorMessage, { type: 'welcome' | 'reject' | 'ping' }>;
