// The training loop: packed batches from the episode stream, AdamW with linear warmup + cosine
// decay and global-norm clipping, held-out few-shot accuracy as it goes, periodic checkpoints.
import { Gpu, Tensor, adam, gradNorm, type Recorder } from '@mtv/kernels';
import type { LlavaConfig } from '@mtv/model';
import { TASK_FAMILIES } from '../tasks/families/index.js';
import type { FamilyName } from '../tasks/types.js';
import { DEMO_ARCH, demoLlavaConfig, type DemoArch } from '../model/config.js';
import { EpisodeStream, evalEpisodeSeed, packSequences, promptOnly, tokeniseEpisode, type PackedBatch, type TokenisedSequence } from './data.js';
import { LlavaTrainer, type TargetResults } from './model.js';
import { TrainOps } from './ops.js';
import { ParamStore } from './params.js';

export interface OptimOptions {
  lr: number;
  minLrFraction: number;
  warmup: number;
  steps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  clip: number;
}

export const DEFAULT_OPTIM: OptimOptions = { lr: 2e-3, minLrFraction: 0.1, warmup: 100, steps: 2000, weightDecay: 0.05, beta1: 0.9, beta2: 0.95, eps: 1e-8, clip: 1 };

/**
 * Linear warmup to lr, then cosine to lr·minLrFraction at `steps`. `step` counts from 1. With a
 * time budget, `timeFraction` (elapsed / budget) advances the cosine when it is ahead of the step
 * count, so a slow (shared) machine still ends the run with a decayed learning rate.
 */
export function learningRate(step: number, o: OptimOptions, timeFraction = 0): number {
  if (step <= o.warmup) return (o.lr * step) / Math.max(1, o.warmup);
  const t = Math.min(1, Math.max((step - o.warmup) / Math.max(1, o.steps - o.warmup), timeFraction));
  return o.lr * (o.minLrFraction + (1 - o.minLrFraction) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

export interface StepResult {
  lr: number;
  /** Mean cross-entropy over the step's answer tokens. */
  loss: number;
  /** Mean cross-entropy of the query answers only. */
  queryLoss: number;
  /** Argmax accuracy over the answer tokens. */
  accuracy: number;
  gradNorm: number;
  tokens: number;
  sequences: number;
  targets: number;
}

export class TrainSession {
  readonly ops: TrainOps;
  readonly trainer: LlavaTrainer;
  step = 0;
  /** Host zeros written over the gradients before each step (they accumulate). */
  private readonly zeroGrads: Float32Array;

  constructor(readonly gpu: Gpu, readonly params: ParamStore, readonly config: LlavaConfig, readonly arch: DemoArch) {
    this.ops = new TrainOps(gpu);
    this.trainer = new LlavaTrainer(this.ops, params, config);
    this.zeroGrads = new Float32Array(params.total);
  }

  static async create(opts: { arch?: DemoArch; seed?: number; gpu?: Gpu } = {}): Promise<TrainSession> {
    const arch = opts.arch ?? DEMO_ARCH;
    const gpu = opts.gpu ?? (await Gpu.create());
    const config = demoLlavaConfig(arch);
    const params = ParamStore.create(gpu, config, opts.seed ?? 0);
    return new TrainSession(gpu, params, config, arch);
  }

  pack(seqs: readonly TokenisedSequence[], tokens?: number): PackedBatch {
    return packSequences(seqs, this.arch.patchSize, this.arch.imageSize, tokens);
  }

  /** Forward + backward only (grads zeroed first); returns the loss rows [R, 2] (loss, correct). */
  async lossAndGrads(batch: PackedBatch): Promise<Float32Array> {
    const rec = this.gpu.recorder('train.grads');
    this.gpu.write(this.params.g, this.zeroGrads); // queued before this recorder's submit
    const tape = await this.trainer.forward(rec, batch);
    const rows = this.readTargets(rec, await this.trainer.backward(rec, tape), batch);
    this.ops.releaseTemps(rec);
    await rec.submit();
    return await rows;
  }

  /**
   * Schedules the reads of the backward's per-target loss and prediction (call before submit);
   * resolves to [R, 2] rows (loss, 1 if correct) once the recorder has run.
   */
  private async readTargets(rec: Recorder, r: TargetResults, batch: PackedBatch): Promise<Float32Array> {
    const [lossR, predR] = [rec.read(r.loss), rec.read(r.pred)];
    const loss = (await lossR) as Float32Array;
    const pred = (await predR) as Int32Array;
    const rows = new Float32Array(2 * loss.length);
    for (let i = 0; i < loss.length; i++) {
      rows[2 * i] = loss[i]!;
      rows[2 * i + 1] = pred[i] === batch.targetIds[i] ? 1 : 0;
    }
    return rows;
  }

  /**
   * One optimiser step on a packed batch. `scheduleStep` (default: the global step) is where the
   * lr schedule stands, so a resumed run can restart its warm-up and cosine; `timeFraction` see learningRate.
   */
  async trainStep(batch: PackedBatch, optim: OptimOptions, sched: { timeFraction?: number; scheduleStep?: number } = {}): Promise<StepResult> {
    this.step++;
    const lr = learningRate(sched.scheduleStep ?? this.step, optim, sched.timeFraction ?? 0);
    const rec = this.gpu.recorder('train.step');
    const p = this.params;
    this.gpu.write(p.g, this.zeroGrads);
    const tape = await this.trainer.forward(rec, batch);
    const targets = await this.trainer.backward(rec, tape);
    // global-norm clipping (torch clip_grad_norm_) folded into AdamW through gradScale
    const norm = await gradNorm(rec, [p.g], optim.clip);
    const view = (t: Tensor, off: number, count: number): Tensor => new Tensor(t.buffer, [count], 'f32', null, t.byteOffset + off * 4);
    const h = { lr, beta1: optim.beta1, beta2: optim.beta2, eps: optim.eps, step: this.step, gradScale: norm.scale };
    // matrices (the first decayCount slots) get weight decay; norms, biases and embeddings do not
    for (const [off, count, wd] of [[0, p.decayCount, optim.weightDecay], [p.decayCount, p.total - p.decayCount, 0]] as const) {
      if (count > 0) await adam(rec, view(p.w, off, count), view(p.g, off, count), view(p.m, off, count), view(p.v, off, count), { ...h, weightDecay: wd });
    }
    const rowsP = this.readTargets(rec, targets, batch);
    const sqR = rec.read(norm.sumSquares);
    rec.releaseAfterSubmit(norm.sumSquares, norm.scale);
    this.ops.releaseTemps(rec);
    await rec.submit();
    const rows = await rowsP;
    const sq = (await sqR) as Float32Array;
    let loss = 0;
    let acc = 0;
    let ql = 0;
    let nq = 0;
    batch.targetInfo.forEach((t, i) => {
      loss += rows[2 * i]!;
      acc += rows[2 * i + 1]!;
      if (t.query) {
        ql += rows[2 * i]!;
        nq++;
      }
    });
    const r = batch.targetInfo.length;
    return { lr, loss: loss / r, queryLoss: ql / Math.max(1, nq), accuracy: acc / r, gradNorm: Math.sqrt(sq[0]!), tokens: batch.n, sequences: batch.sequences.length, targets: r };
  }

  /** Greedy answers (argmax over the vocabulary at the query's "Answer:") for prompt-only sequences. */
  async predict(seqs: readonly TokenisedSequence[], tokenBudget = 4096): Promise<number[]> {
    const out: number[] = [];
    let i = 0;
    while (i < seqs.length) {
      const chunk: TokenisedSequence[] = [];
      let used = 0;
      while (i < seqs.length && (chunk.length === 0 || used + seqs[i]!.ids.length <= tokenBudget)) {
        used += seqs[i]!.ids.length;
        chunk.push(seqs[i++]!);
      }
      const batch = this.pack(chunk);
      const rec = this.gpu.recorder('train.predict');
      const tape = await this.trainer.forward(rec, batch);
      const read = rec.read(tape.logits);
      this.ops.releaseTemps(rec);
      await rec.submit();
      const logits = (await read) as Float32Array;
      const vocab = this.config.text.vocabSize;
      for (let r = 0; r < batch.targetInfo.length; r++) {
        let best = 0;
        for (let v = 1; v < vocab; v++) if (logits[r * vocab + v]! > logits[r * vocab + best]!) best = v;
        out.push(best);
      }
    }
    return out;
  }
}

/** Held-out prompts of one family at one shot count (same queries at every k), prompt-only, with answers. */
export function heldOutSet(seed: number, family: FamilyName, shots: number, n: number, imageTokens: number): { seqs: TokenisedSequence[]; answers: number[] } {
  const seqs: TokenisedSequence[] = [];
  const answers: number[] = [];
  for (let i = 0; i < n; i++) {
    const full = tokeniseEpisode(TASK_FAMILIES[family].episode(evalEpisodeSeed(seed, family, i), shots), imageTokens);
    answers.push(full.ids[full.ids.length - 1]!);
    seqs.push(promptOnly(full));
  }
  return { seqs, answers };
}

export { EpisodeStream };
