// A vision-language model of any supported family, loaded from a Hugging Face directory and run on
// @mtv/kernels: prompts with interleaved images, logits at the last prompt token, head tap and patch,
// prefix-shared batches, and greedy generation. The family supplies the processor and the image
// features; everything after the input embeddings is the shared decoder.
import { Gpu, argmax, crossEntropy, embedding, scatterRows, type Recorder, type Tensor } from '@mtv/kernels';
import type { ModelConfig } from '../families/registry.js';
import type { ModelFamily, PreparedPrompt, Processor, PromptInput } from '../families/types.js';
import { loadTokenizer, type TextTokenizer } from '../tokenizer/index.js';
import { openCheckpoint, type Checkpoint } from '../weights/index.js';
import { decoderPass, type PassPatch, type PassTap } from './decoder.js';
import { KvCache } from './kv-cache.js';
import { temp } from './layers.js';
import { uploadWeights, type ModelWeights, type WeightDtype } from './weights.js';

export interface LoadOptions {
  /** Device to run on; acquired (and owned by the model) when omitted. */
  gpu?: Gpu;
  /** Matmul weights kept as packed f16 (default, half the memory) or converted to f32. */
  weightDtype?: WeightDtype;
  /**
   * Most prompt tokens one prefill pass runs (default: as many as fit the device's storage-binding
   * limit in the widest activation row). Longer prompts run in chunks that append to the KV cache.
   */
  maxPrefillChunk?: number;
}

export type { ImageInput, PixelBatch, PreparedPrompt, PromptInput } from '../families/types.js';

/** Head outputs to write at the patched positions: values [L, Hq, D] where mask [L * Hq] is 1. */
export interface HeadPatch {
  values: Float32Array;
  mask: Uint8Array;
}

export interface ForwardResult {
  /** Logits at the last prompt token [V]. */
  logits: Float32Array;
  /** Per-head o_proj inputs at the last prompt token [L, Hq, D], when tap was asked. */
  tap?: Float32Array;
}

export interface GenerateOptions {
  /** Default: generation_config.json's max_new_tokens, else 16. */
  maxNewTokens?: number;
  /** Stop tokens are not taken before this many new tokens (Hugging Face min_new_tokens; default 0). */
  minNewTokens?: number;
  /** Token ids that end generation (default: the tokenizer's eos ids). */
  stopTokens?: readonly number[];
  /** MTV: patch these heads at the last prompt token and at every generated token. */
  patch?: HeadPatch;
}

export interface GenerateResult {
  ids: number[];
  text: string;
  /** 'stop' when a stop token was produced (it is not included), else 'length'. */
  finish: 'stop' | 'length';
}

/** Loads the model in `dir`, whichever supported family its config.json names. */
export const loadModel = (dir: string, opts: LoadOptions = {}): Promise<VisionLanguageModel> => VisionLanguageModel.load(dir, opts);

export class VisionLanguageModel {
  private constructor(
    readonly dir: string,
    readonly gpu: Gpu,
    private readonly ownsGpu: boolean,
    readonly checkpoint: Checkpoint,
    readonly weights: ModelWeights,
    readonly tokenizer: TextTokenizer,
    readonly processor: Processor,
    private readonly maxPrefillChunk: number | undefined,
  ) {}

  static async load(dir: string, opts: LoadOptions = {}): Promise<VisionLanguageModel> {
    const checkpoint = await openCheckpoint(dir);
    const gpu = opts.gpu ?? (await Gpu.create());
    try {
      const tokenizer = await loadTokenizer(checkpoint.tokenizerDir);
      const processor = await checkpoint.family.loadProcessor(dir, checkpoint.config, tokenizer);
      const weights = await uploadWeights(gpu, checkpoint, opts.weightDtype ?? 'f16');
      if (opts.maxPrefillChunk !== undefined && (!Number.isInteger(opts.maxPrefillChunk) || opts.maxPrefillChunk < 1)) {
        throw new Error(`maxPrefillChunk must be a positive integer, got ${opts.maxPrefillChunk}`);
      }
      return new VisionLanguageModel(dir, gpu, !opts.gpu, checkpoint, weights, tokenizer, processor, opts.maxPrefillChunk);
    } catch (e) {
      await checkpoint.close();
      if (!opts.gpu) gpu.destroy();
      throw e;
    }
  }

  get config(): ModelConfig {
    return this.weights.config;
  }

  get family(): ModelFamily<ModelConfig> {
    return this.checkpoint.family;
  }

  /** [layers, heads, headDim] of the tap / patch tensors. */
  get headShape(): [number, number, number] {
    const t = this.config.text;
    return [t.numLayers, t.numHeads, t.headDim];
  }

  /** sha256 of config + weights (for MTV artifact provenance). */
  private hashPromise: Promise<string> | null = null;
  hash(): Promise<string> {
    return (this.hashPromise ??= this.checkpoint.hash());
  }

  /** Tokenises text, expands each `<image>` to the model's image tokens, decodes and preprocesses the images (the family's processor). */
  prepare(input: PromptInput): Promise<PreparedPrompt> {
    return this.processor.prepare(input);
  }

  /**
   * Prompt tokens per prefill pass: every activation of a pass is [tokens, width] f32 and must fit one
   * storage binding (12k-token many-shot prompts exceed it on every device), so longer prompts run
   * in chunks that append to the KV cache; causal attention over the cache makes that exact.
   */
  get prefillChunk(): number {
    const t = this.config.text;
    const width = Math.max(t.hiddenSize, t.intermediateSize, t.numHeads * t.headDim, 2 * t.numKvHeads * t.headDim);
    const fit = Math.max(1, Math.floor(this.gpu.maxBinding / (4 * width)));
    return Math.min(fit, this.maxPrefillChunk ?? fit);
  }

  /** Image features [image tokens, H] of the prompt (the caller owns them), or null without images. */
  private async features(rec: Recorder, p: PreparedPrompt): Promise<Tensor | null> {
    const n = p.imagePositions.reduce((a, pos) => a + pos.length, 0);
    if (n === 0) return null;
    if (!p.pixels) throw new Error('prompt has image tokens but no pixel values');
    const feats = await this.family.imageFeatures(rec, this.weights.vision, this.config, p.pixels);
    if (feats.shape[0] !== n) {
      feats.release();
      throw new Error(`the images give ${feats.shape[0]} feature rows but the prompt has ${n} image tokens`);
    }
    return feats;
  }

  /** Input embeddings of prompt tokens [start, start + n) [n, H]: token rows, with the image features of the image tokens among them. */
  private async embed(rec: Recorder, p: PreparedPrompt, feats: Tensor | null, start: number, n: number): Promise<Tensor> {
    const c = this.config;
    const V = c.text.vocabSize;
    const ids = Int32Array.from(p.ids.subarray(start, start + n), (id, k) => {
      if (id === c.imageTokenIndex) return 0; // its row is overwritten by image features below
      if (id < 0 || id >= V) throw new Error(`token id ${id} at position ${start + k} is outside the vocabulary [0, ${V})`);
      return id;
    });
    const x = temp(rec, await embedding(rec, this.weights.text.embed, ids));
    if (feats) {
      // image-token positions in order; feature row k belongs to the k-th image token of the prompt
      const rows: number[] = [];
      const at: number[] = [];
      let k = 0;
      for (const pos of p.imagePositions) for (const q of pos) {
        if (q >= start && q < start + n) {
          rows.push(k);
          at.push(q - start);
        }
        k++;
      }
      if (rows.length > 0) {
        const chunk = rows.length === feats.shape[0] ? feats : temp(rec, await embedding(rec, feats, Int32Array.from(rows)));
        await scatterRows(rec, x, chunk, Int32Array.from(at));
      }
    }
    return x;
  }

  /**
   * Runs prompt tokens [0, T) of `p` through the decoder into `cache`, in chunks of prefillChunk
   * tokens (each but the last submitted on its own recorder); `last` describes the final chunk's
   * tap and patch (positions within the prompt) and is recorded on `rec`. Returns its logits.
   */
  private async prefill(rec: Recorder, p: PreparedPrompt, T: number, cache: KvCache, last: { tap?: Tensor; patch?: { values: Tensor; mask: Tensor } } = {}): Promise<Tensor> {
    const C = this.prefillChunk;
    let feats: Tensor | null = null;
    try {
      if (T <= C) {
        const f = await this.features(rec, p);
        if (f) temp(rec, f); // released with this recorder's other temporaries
        const x = await this.embed(rec, p, f, 0, T);
        return await decoderPass(rec, this.weights, { x, rows: 1, tokens: T, cache, ...passHeads(last, T - 1), ...ropeSlice(p, 0, T) });
      }
      // The features outlive the chunks' recorders: computed once, released at the end.
      const fr = this.gpu.recorder('image features');
      feats = await this.features(fr, p);
      await fr.submit();
      for (let start = 0; ; start += C) {
        const n = Math.min(C, T - start);
        if (start + n === T) {
          const f = feats;
          feats = null;
          if (f) temp(rec, f);
          const x = await this.embed(rec, p, f, start, n);
          return await decoderPass(rec, this.weights, { x, rows: 1, tokens: n, cache, ...passHeads(last, n - 1), ...ropeSlice(p, start, n) });
        }
        const r = this.gpu.recorder('prefill chunk');
        const x = await this.embed(r, p, feats, start, n);
        temp(r, await decoderPass(r, this.weights, { x, rows: 1, tokens: n, cache, ...ropeSlice(p, start, n) }));
        await r.submit();
      }
    } finally {
      feats?.release();
    }
  }

  /** Patch values [L, Hq, D] on the device (the caller releases it). */
  private headsTensor(values: Float32Array): Tensor {
    const [L, Hq, D] = this.headShape;
    if (values.length !== L * Hq * D) throw new Error(`patch values have ${values.length} elements; this model needs [${L}, ${Hq}, ${D}] = ${L * Hq * D}`);
    const bad = firstNonFiniteOf(values, values.length);
    if (bad >= 0) {
      const l = Math.floor(bad / (Hq * D));
      throw new NonFiniteError(`patch values: element ${bad} (layer ${l}, head ${Math.floor(bad / D) % Hq}) is ${values[bad]}; patch values must be finite`, l);
    }
    return this.gpu.upload(values, [L, Hq, D], 'f32', { label: 'patch values' });
  }

  /** Per-row head masks [B, L, Hq] u32 on the device (the caller releases it). */
  private masksTensor(masks: readonly Uint8Array[]): Tensor {
    const [L, Hq] = this.headShape;
    const data = new Uint32Array(masks.length * L * Hq);
    masks.forEach((m, b) => {
      if (m.length !== L * Hq) throw new Error(`patch mask ${b} has ${m.length} entries; this model has ${L} layers x ${Hq} heads = ${L * Hq}`);
      for (let i = 0; i < m.length; i++) data[b * L * Hq + i] = m[i] ? 1 : 0;
    });
    return this.gpu.upload(data, [masks.length, L, Hq], 'u32', { label: 'patch masks' });
  }

  private checkLength(n: number): void {
    if (n === 0) throw new Error('empty prompt');
    const max = this.config.text.maxPositionEmbeddings;
    if (n > max) throw new Error(`${n} tokens exceed the model's context of ${max} positions`);
    // We run full attention: it equals Mistral's sliding window only up to the window.
    const window = this.config.text.slidingWindow;
    if (window !== null && n > window) throw new Error(`${n} tokens exceed the sliding window of ${window} (text_config.sliding_window); sliding-window attention is not implemented, so longer sequences are refused`);
  }

  /** One prompt: logits at its last token, with optional tap and patch there. */
  async forward(p: PreparedPrompt, opts: { tap?: boolean; patch?: HeadPatch } = {}): Promise<ForwardResult> {
    const T = p.ids.length;
    this.checkLength(T);
    const [L, Hq, D] = this.headShape;
    const rec = this.gpu.recorder('forward');
    const cache = KvCache.create(this.gpu, this.config.text, 1, T);
    try {
      const tap = opts.tap ? temp(rec, this.gpu.empty([1, 1, L, Hq, D], 'f32', 'tap')) : undefined;
      const patch = opts.patch ? { values: temp(rec, this.headsTensor(opts.patch.values)), mask: temp(rec, this.masksTensor([opts.patch.mask])) } : undefined;
      const logits = temp(rec, await this.prefill(rec, p, T, cache, { ...(tap ? { tap } : {}), ...(patch ? { patch } : {}) }));
      const outL = rec.read(logits);
      const outT = tap ? rec.read(tap) : null;
      await rec.submit();
      return { logits: (await outL) as Float32Array, ...(outT ? { tap: (await outT) as Float32Array } : {}) };
    } finally {
      cache.release();
    }
  }

  /**
   * Prefix-shared batch (DESIGN.md section 2): the prompt minus its last token is prefilled once;
   * the last token then runs as B rows sharing that prefix cache, row b patched with masks[b].
   * Returns per-row logits [B, V], or per-row cross-entropies of `target` when given.
   */
  async prefixBatch(p: PreparedPrompt, values: Float32Array, masks: readonly Uint8Array[], opts: { target?: number } = {}): Promise<Float32Array> {
    const T = p.ids.length;
    this.checkLength(T);
    if (T < 2) throw new Error('prefixBatch needs a prompt of at least 2 tokens');
    if (masks.length === 0) throw new Error('prefixBatch needs at least one mask');
    const B = masks.length;
    const c = this.config;
    const last = p.ids[T - 1]!;
    if (last === c.imageTokenIndex) throw new Error('prefixBatch: the last prompt token is an image token; end the prompt with text');
    const rec = this.gpu.recorder('prefix batch');
    const prefix = KvCache.create(this.gpu, c.text, 1, T - 1);
    const rows = KvCache.create(this.gpu, c.text, B, 1);
    try {
      // The prefix's logits are not needed; the LM head runs on one row only.
      temp(rec, await this.prefill(rec, p, T - 1, prefix));
      const xb = temp(rec, await embedding(rec, this.weights.text.embed, new Int32Array(B).fill(last)));
      const patch: PassPatch = { values: temp(rec, this.headsTensor(values)), mask: temp(rec, this.masksTensor(masks)), positions: [0] };
      const logits = temp(rec, await decoderPass(rec, this.weights, { x: xb, rows: B, tokens: 1, cache: rows, prefix, patch, ...ropeSlice(p, T - 1, 1) }));
      let out: Promise<unknown>;
      if (opts.target !== undefined) {
        const rowsIdx = Array.from({ length: B }, (_, b) => b);
        out = rec.read(temp(rec, await crossEntropy(rec, logits, rowsIdx, new Array<number>(B).fill(opts.target))));
      } else out = rec.read(logits);
      await rec.submit();
      return (await out) as Float32Array;
    } finally {
      prefix.release();
      rows.release();
    }
  }

  /** Greedy generation; deterministic. With `patch`, the MTV heads are patched at the last prompt token and every generated token. */
  async generate(p: PreparedPrompt, opts: GenerateOptions = {}): Promise<GenerateResult> {
    const maxNew = opts.maxNewTokens ?? this.tokenizer.generationMaxNewTokens ?? 16;
    const minNew = opts.minNewTokens ?? 0;
    if (!Number.isInteger(maxNew) || maxNew < 1) throw new Error(`maxNewTokens must be a positive integer, got ${maxNew}`);
    const T = p.ids.length;
    this.checkLength(T + maxNew);
    const stop = new Set(opts.stopTokens ?? this.tokenizer.eosTokenIds);
    const cache = KvCache.create(this.gpu, this.config.text, 1, T + maxNew);
    const out: number[] = [];
    let finish: GenerateResult['finish'] = 'length';
    let values: Tensor | null = null;
    let mask: Tensor | null = null;
    try {
      let rec = this.gpu.recorder('prefill');
      if (opts.patch) {
        // uploaded once, kept for every step (released in finally)
        values = this.headsTensor(opts.patch.values);
        mask = this.masksTensor([opts.patch.mask]);
      }
      const patchAt = (pos: number): PassPatch | undefined => (values && mask ? { values, mask, positions: [pos] } : undefined);
      let logits = temp(rec, await this.prefill(rec, p, T, cache, values && mask ? { patch: { values, mask } } : {}));
      // M-RoPE: generated tokens continue at cache position + rope delta (transformers' rope_deltas).
      const positionOffset = p.ropePositions ? ropeDeltaOf(p) : 0;
      // Padded vocabulary rows (e.g. llava-1.5's 32064 rows for 32002 tokens) have no token to
      // decode; the argmax runs over the tokenizer's ids only (a view of the first columns).
      const V = this.config.text.vocabSize;
      const nTok = Math.min(V, this.tokenizer.vocabSize);
      for (let step = 0; step < maxNew; step++) {
        // A NaN or Inf logit makes every later token meaningless (the argmax of garbage): the argmax
        // flags it as -1 on the device, and we stop and find the layer it came from.
        const next = temp(rec, await argmax(rec, logits.reshape([V, 1]).rows(0, nTok).reshape([1, nTok]), { flagNonFinite: true }));
        const read = rec.read(next);
        // min_new_tokens needs the logits while a stop token may still be refused; otherwise only the id is read back.
        const readLogits = step < minNew ? rec.read(logits) : null;
        await rec.submit();
        let id = (await read)[0]!;
        if (id < 0) throw await this.nonFiniteLogits(p, out, opts.patch, step, nTok);
        if (readLogits && stop.has(id)) {
          // min_new_tokens: the best token that is not a stop token (first index on ties, as argmax).
          const stepLogits = (await readLogits) as Float32Array;
          let best = -1;
          for (let v = 0; v < nTok; v++) if (!stop.has(v) && (best < 0 || stepLogits[v]! > stepLogits[best]!)) best = v;
          if (best >= 0) id = best;
        }
        if (stop.has(id)) {
          finish = 'stop';
          break;
        }
        out.push(id);
        if (step === maxNew - 1) break;
        rec = this.gpu.recorder('decode');
        const x = temp(rec, await embedding(rec, this.weights.text.embed, [id]));
        logits = temp(rec, await decoderPass(rec, this.weights, { x, rows: 1, tokens: 1, cache, ...optPatch(patchAt(0)), ...(positionOffset !== 0 ? { positionOffset } : {}) }));
      }
      return { ids: out, text: this.tokenizer.decode(out, { skipSpecialTokens: true }), finish };
    } finally {
      cache.release();
      values?.release();
      mask?.release();
    }
  }

  /**
   * The error for non-finite logits at generation step `step` (flagged by the argmax): reruns the sequence
   * so far with the head tap, names the first non-finite logit, and the first layer whose attention-head outputs at the last token are not finite (the
   * residual stream entering that layer, or its attention, went non-finite), else says it arose after
   * the last layer's attention.
   */
  private async nonFiniteLogits(p: PreparedPrompt, generated: readonly number[], patch: HeadPatch | undefined, step: number, nTok: number): Promise<NonFiniteError> {
    let what = `generation step ${step}: a logit is not finite`;
    let layer: number | null = null;
    let where = 'the layer could not be determined';
    try {
      const ids = new Int32Array(p.ids.length + generated.length);
      ids.set(p.ids);
      ids.set(generated, p.ids.length);
      const { logits, tap } = await this.forward({ ids, imagePositions: p.imagePositions, pixels: p.pixels, ...(p.ropePositions ? { ropePositions: extendRopePositions(p, generated.length) } : {}) }, { tap: true, ...(patch ? { patch } : {}) });
      const index = firstNonFiniteOf(logits, nTok);
      if (index >= 0) what = `generation step ${step}: logit ${index} (and maybe others) is not finite`;
      const [L, Hq, D] = this.headShape;
      for (let l = 0; l < L && layer === null; l++) {
        for (let i = l * Hq * D; i < (l + 1) * Hq * D; i++) {
          if (!Number.isFinite(tap![i]!)) {
            layer = l;
            break;
          }
        }
      }
      where = layer === null
        ? `every layer's attention heads are finite at the last token: it arose after layer ${L - 1}'s attention (its MLP, the final norm or the LM head)`
        : `first at layer ${layer}'s attention heads (its input from layer ${layer === 0 ? 'embeddings' : layer - 1} or its attention overflowed)`;
    } catch (e) {
      where = `the layer could not be determined (${(e as Error).message})`;
    }
    return new NonFiniteError(`${this.dir}: ${what}; ${where}`, layer);
  }

  /** Bytes of weights on the device. */
  get deviceBytes(): number {
    return this.weights.deviceBytes;
  }

  async close(): Promise<void> {
    await this.checkpoint.close();
    if (this.ownsGpu) this.gpu.destroy();
  }
}

const optPatch = (p: PassPatch | undefined): { patch?: PassPatch } => (p ? { patch: p } : {});

/** The M-RoPE positions [3, n] of prompt tokens [start, start + n), when the prompt has them. */
function ropeSlice(p: PreparedPrompt, start: number, n: number): { ropePositions?: Int32Array } {
  const r = p.ropePositions;
  if (!r) return {};
  const T = p.ids.length;
  if (r.length !== 3 * T) throw new Error(`prompt has ${T} tokens but ${r.length} M-RoPE positions; [3, ${T}] needs ${3 * T}`);
  const out = new Int32Array(3 * n);
  for (let row = 0; row < 3; row++) out.set(r.subarray(row * T + start, row * T + start + n), row * n);
  return { ropePositions: out };
}

/** transformers' rope_deltas: the largest M-RoPE position + 1 - T. */
function ropeDeltaOf(p: PreparedPrompt): number {
  let max = -1;
  for (const v of p.ropePositions!) max = Math.max(max, v);
  return max + 1 - p.ids.length;
}

/** The prompt's M-RoPE positions followed by `k` generated tokens at max + 1, max + 2, ... on every row. */
function extendRopePositions(p: PreparedPrompt, k: number): Int32Array {
  const T = p.ids.length;
  const r = p.ropePositions!;
  const start = T + ropeDeltaOf(p);
  const out = new Int32Array(3 * (T + k));
  for (let row = 0; row < 3; row++) {
    out.set(r.subarray(row * T, (row + 1) * T), row * (T + k));
    for (let j = 0; j < k; j++) out[row * (T + k) + T + j] = start + j;
  }
  return out;
}

/** The tap and patch of a prefill's final pass, at query index `at` of that pass. */
function passHeads(last: { tap?: Tensor; patch?: { values: Tensor; mask: Tensor } }, at: number): { tap?: PassTap; patch?: PassPatch } {
  return {
    ...(last.tap ? { tap: { buffer: last.tap, positions: [at] } } : {}),
    ...(last.patch ? { patch: { ...last.patch, positions: [at] } } : {}),
  };
}

/** Non-finite activations or logits; `layer` is the first decoder layer found non-finite, when known. */
export class NonFiniteError extends Error {
  constructor(message: string, readonly layer: number | null) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

function firstNonFiniteOf(logits: Float32Array, n: number): number {
  for (let i = 0; i < n; i++) if (!Number.isFinite(logits[i]!)) return i;
  return -1;
}
