// Runs one shard on one device: the work of a worker thread (or of a test, in-process).
//   extract:  per round, the ICL prompt rendered from the shard's own examples, one forward with the
//             head tap at the last prompt token, float64 sums added in round order from zero (the
//             shard rule of @mtv/mtv's activations), so the coordinator's in-order merge is exact;
//             with zeroShot, also the query alone (sensitivity / STV locators, @mtv/mtv RoundStats);
//   rollouts: per query, the zero-shot prompt prefilled once and its last token run as one row per
//             mask (model.prefixBatch), cross-entropy of the first answer token per row;
//   eval:     greedy generation, with the MTV patched in for the mtv modes.
import { ActivationSums, RoundStats, firstAnswerToken, type Prompt, type RoundStatsData } from '@mtv/mtv';
import { DeviceLostError, Gpu } from '@mtv/kernels';
import { loadModel, type VisionLanguageModel, NonFiniteError, type PreparedPrompt } from '@mtv/model';
import {
  renderWirePrompt,
  type Capabilities, type EvalResult, type EvalShard, type ExtractResult, type ExtractShard, type RolloutsResult, type RolloutsShard,
  type Shard, type ShardErrorCode, type ShardResult, type WireExample,
} from '@mtv/coordinator';

const statsFields = (d: RoundStatsData, kept: boolean): Pick<ExtractResult, 'sensitivity' | 'kept'> => ({
  sensitivity: Float64Array.from(d.sensitivity), ...(kept ? { kept: { rounds: [...d.rounds], taps: Float32Array.from(d.taps) } } : {}),
});

/** A shard that cannot be completed here, with the protocol's error code. */
export class ShardFailure extends Error {
  constructor(readonly code: ShardErrorCode, message: string, readonly retryable: boolean) {
    super(message);
    this.name = 'ShardFailure';
  }
}

export type RunOutcome =
  | { readonly ok: true; readonly result: ShardResult }
  | { readonly ok: false; readonly code: ShardErrorCode; readonly message: string; readonly retryable: boolean };

export type ProgressFn = (done: number, total: number) => void;

export interface RunnerInfo {
  readonly modelHash: string;
  readonly adapter: Capabilities['adapter'];
  readonly backend: string;
  readonly headShape: readonly [number, number, number];
}

export interface RunnerOptions {
  /** Largest batch of masks per prefixBatch call; default 32. */
  readonly maxBatch?: number;
}

export class ShardRunner {
  readonly maxBatch: number;
  private constructor(readonly model: VisionLanguageModel, readonly modelHash: string, opts: RunnerOptions) {
    this.maxBatch = opts.maxBatch ?? 32;
  }

  /** Acquires a device and loads the model (hashing its files once). */
  static async load(modelDir: string, opts: RunnerOptions & { gpu?: Gpu } = {}): Promise<ShardRunner> {
    const model = await loadModel(modelDir, opts.gpu ? { gpu: opts.gpu } : {});
    return new ShardRunner(model, await model.hash(), opts);
  }

  info(): RunnerInfo {
    const r = this.model.gpu.report;
    return {
      modelHash: this.modelHash,
      adapter: { vendor: r.vendor, architecture: r.architecture, device: r.device, description: r.description, cpu: r.cpuAdapter },
      backend: String(r.backend),
      headShape: this.model.headShape,
    };
  }

  /** Runs a shard; failures come back as data (they cross a thread boundary). */
  async run(shard: Shard, onProgress?: ProgressFn): Promise<RunOutcome> {
    try {
      this.check(shard);
      const result = shard.kind === 'extract' ? await this.extract(shard, onProgress) : shard.kind === 'rollouts' ? await this.rollouts(shard, onProgress) : await this.eval(shard, onProgress);
      return { ok: true, result };
    } catch (e) {
      const where = `${shard.kind} shard ${shard.shardId} of job ${shard.jobId}`;
      if (e instanceof ShardFailure) return { ok: false, code: e.code, message: `${where}: ${e.message}`, retryable: e.retryable };
      if (e instanceof DeviceLostError) return { ok: false, code: 'device-lost', message: `${where}: ${e.message}`, retryable: true };
      // Deterministic: the same weights and inputs overflow again on any worker.
      if (e instanceof NonFiniteError) return { ok: false, code: 'internal', message: `${where}: ${e.message}`, retryable: false };
      const msg = e instanceof Error ? e.message : String(e);
      const oom = /out of memory|allocation failed|exceeds.*(limit|maxBufferSize)/i.test(msg);
      return { ok: false, code: oom ? 'out-of-memory' : 'internal', message: `${where}: ${msg}`, retryable: true };
    }
  }

  async close(): Promise<void> {
    await this.model.close();
  }

  private check(shard: Shard): void {
    if (shard.modelHash !== this.modelHash) {
      throw new ShardFailure('model-mismatch', `the shard is for model ${shard.modelHash}, this worker holds ${this.modelHash} (${this.model.dir})`, false);
    }
    const [L, H, D] = this.model.headShape;
    const g = shard.geometry;
    if (g.layers !== L || g.heads !== H || g.headDim !== D) {
      throw new ShardFailure('invalid-shard', `shard geometry [${g.layers}, ${g.heads}, ${g.headDim}] differs from the model's heads [${L}, ${H}, ${D}]`, false);
    }
  }

  private async prepare(format: Shard['format'], shots: readonly WireExample[], query: WireExample): Promise<{ prepared: PreparedPrompt; prompt: Prompt }> {
    const r = renderWirePrompt(format, shots, query);
    const prepared = await this.model.prepare({ text: r.text, images: r.images.map((i) => i.bytes) });
    const prompt: Prompt = { text: r.text, images: [], answer: query.answer, continuation: r.continuation, exampleId: query.id };
    return { prepared, prompt };
  }

  private async extract(s: ExtractShard, onProgress?: ProgressFn): Promise<ExtractResult> {
    const t0 = performance.now();
    const sums = new ActivationSums(this.model.headShape);
    // Sensitivity / STV: the zero-shot tap of each round's query and the bank's kept ICL taps.
    const stats = s.zeroShot ? new RoundStats(this.model.headShape) : null;
    const keep = new Set(s.keep ?? []);
    const n = s.r1 - s.r0;
    for (let i = 0; i < n; i++) {
      const round = s.rounds[i]!;
      const { prepared } = await this.prepare(s.format, round.shots.map((k) => s.examples[k]!), s.examples[round.query]!);
      const { tap } = await this.model.forward(prepared, { tap: true });
      if (!tap) throw new ShardFailure('internal', `round ${round.r}: the model returned no tap`, true);
      try {
        sums.add(tap);
        if (stats) {
          const zs = (await this.model.forward((await this.prepare(s.format, [], s.examples[round.query]!)).prepared, { tap: true })).tap;
          if (!zs) throw new ShardFailure('internal', `round ${round.r}: the model returned no zero-shot tap`, true);
          stats.add(round.r, tap, zs, keep.has(round.r));
        }
      } catch (e) {
        if (e instanceof ShardFailure) throw e;
        throw new ShardFailure('internal', `round ${round.r} (query ${s.examples[round.query]!.id}): ${(e as Error).message}`, true);
      }
      onProgress?.(i + 1, n);
    }
    const [L, H, D] = sums.shape;
    return {
      kind: 'extract', jobId: s.jobId, shardId: s.shardId, elapsedMs: performance.now() - t0, r0: s.r0, r1: s.r1, count: sums.count,
      shape: [L, H, D], sum: Float64Array.from(sums.sum), sumsq: s.sumsq ? Float64Array.from(sums.sumSq) : null,
      ...(stats ? statsFields(stats.toData(), keep.size > 0) : {}),
    };
  }

  private async rollouts(s: RolloutsShard, onProgress?: ProgressFn): Promise<RolloutsResult> {
    const t0 = performance.now();
    const LH = s.geometry.layers * s.geometry.heads;
    const masks = Array.from({ length: s.nMasks }, (_, k) => s.masks.subarray(k * LH, (k + 1) * LH));
    const losses = new Float64Array(s.queries.length * s.nMasks);
    for (let q = 0; q < s.queries.length; q++) {
      const { prepared, prompt } = await this.prepare(s.format, [], s.queries[q]!);
      const target = firstAnswerToken(this.model, prompt);
      for (let a = 0; a < s.nMasks; a += this.maxBatch) {
        const batch = masks.slice(a, a + this.maxBatch);
        const ce = await this.model.prefixBatch(prepared, s.means, batch, { target });
        if (ce.length !== batch.length) throw new ShardFailure('internal', `prefixBatch returned ${ce.length} losses for ${batch.length} masks`, true);
        for (let k = 0; k < batch.length; k++) losses[q * s.nMasks + a + k] = ce[k]!;
      }
      onProgress?.(q + 1, s.queries.length);
    }
    return { kind: 'rollouts', jobId: s.jobId, shardId: s.shardId, elapsedMs: performance.now() - t0, step: s.step, nQueries: s.queries.length, nMasks: s.nMasks, losses };
  }

  /**
   * Generation stops at eos and at any id the tokenizer cannot decode: a checkpoint whose embedding
   * rows are padded past the tokenizer's vocabulary (common in HF checkpoints) can otherwise pick
   * one, and decoding it would fail the shard.
   */
  private stopTokens(): number[] {
    const tok = this.model.tokenizer;
    const V = this.model.config.text.vocabSize;
    const stops = [...tok.eosTokenIds];
    for (let id = tok.vocabSize; id < V; id++) stops.push(id);
    return stops;
  }

  private async eval(s: EvalShard, onProgress?: ProgressFn): Promise<EvalResult> {
    const t0 = performance.now();
    const stopTokens = this.stopTokens();
    const outputs: EvalResult['outputs'] = [];
    for (let i = 0; i < s.items.length; i++) {
      const item = s.items[i]!;
      const query = s.examples[item.query]!;
      const { prepared } = await this.prepare(s.format, item.shots.map((k) => s.examples[k]!), query);
      const gen = await this.model.generate(prepared, { maxNewTokens: s.maxNewTokens, minNewTokens: s.minNewTokens ?? 1, stopTokens, ...(s.mtv ? { patch: { values: s.mtv.means, mask: s.mtv.heads } } : {}) });
      outputs.push({ exampleId: query.id, text: gen.text, tokens: Int32Array.from(gen.ids), firstTokenLoss: null });
      onProgress?.(i + 1, s.items.length);
    }
    return { kind: 'eval', jobId: s.jobId, shardId: s.shardId, elapsedMs: performance.now() - t0, outputs };
  }
}
