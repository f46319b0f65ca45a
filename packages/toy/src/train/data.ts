// Training and evaluation data: task episodes tokenised, images cut into CLIP patch vectors, and
// many sequences packed into one token stream per step (each attends only within itself).
import { attributeWord } from '../tasks/attributes.js';
import { TASK_FAMILIES } from '../tasks/families/index.js';
import { formatEpisode } from '../tasks/format.js';
import type { ToyImage } from '../tasks/image.js';
import { Rng, mixSeed } from '../tasks/rng.js';
import { FAMILIES, type Episode, type FamilyName } from '../tasks/types.js';
import { TOY_TOKEN_IDS, TOY_VOCAB, toyTokenIds } from '../tasks/vocab.js';

/** OpenAI CLIP normalisation (the demo preprocessor_config.json uses the same values). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

const ANSWER_ID = TOY_VOCAB.indexOf('Answer:');

export interface TokenisedSequence {
  /** BOS + prompt tokens, each image expanded to `imageTokens` image-token ids. */
  ids: number[];
  /** Positions whose next token is an answer (the "Answer:" tokens), with that answer id. */
  targets: { row: number; id: number; query: boolean }[];
  /** For each image, the positions of its image tokens. */
  imageRows: number[][];
  images: ToyImage[];
  family: FamilyName;
  shots: number;
}

/**
 * What a noisy-task-inference shot's "Answer:" is trained on. `shown`: the label the prompt shows
 * (next-token prediction, as for every other family). `asked`: the asked attribute of that shot's own
 * image (a denoised target), so every shot's "Answer:" is a query with the shots before it as context:
 * the signal that makes pooling pay (a shown noisy label gains at most 0.03 nats from pooling). The
 * prompt text shows the noisy labels either way; the query is always the asked attribute.
 */
export type NoisyTargets = 'shown' | 'asked';

/** Tokenises episode text (prompt + query answer) the way the runtime's word-level tokenizer does (BOS first). */
export function tokeniseEpisode(ep: Episode, imageTokens: number, noisyTargets: NoisyTargets = 'shown'): TokenisedSequence {
  const f = formatEpisode(ep);
  const words = toyTokenIds(f.text);
  const ids: number[] = [TOY_TOKEN_IDS.bos];
  const imageRows: number[][] = [];
  for (const id of words) {
    if (id === TOY_TOKEN_IDS.image) {
      const run: number[] = [];
      for (let k = 0; k < imageTokens; k++) {
        run.push(ids.length);
        ids.push(id);
      }
      imageRows.push(run);
    } else ids.push(id);
  }
  const targets: TokenisedSequence['targets'] = [];
  for (let p = 0; p + 1 < ids.length; p++) if (ids[p] === ANSWER_ID) targets.push({ row: p, id: ids[p + 1]!, query: false });
  if (targets.length !== ep.shots.length + 1) throw new Error(`tokeniseEpisode: ${targets.length} answer cues for ${ep.shots.length} shots + query (seed ${ep.seed})`);
  targets[targets.length - 1]!.query = true;
  if (noisyTargets === 'asked' && ep.latent.family === 'noisy-task-inference') {
    const asked = ep.latent.subTask;
    ep.shots.forEach((shot, j) => {
      targets[j]!.id = toyTokenIds(attributeWord(shot.image.scene, asked))[0]!;
    });
  }
  if (imageRows.length !== f.images.length) throw new Error(`tokeniseEpisode: ${imageRows.length} image placeholders for ${f.images.length} images`);
  return { ids, targets, imageRows, images: f.images, family: ep.family, shots: ep.shots.length };
}

/** Drops the query's answer token (the last id) so the sequence ends at the query's "Answer:". */
export function promptOnly(s: TokenisedSequence): TokenisedSequence {
  return { ...s, ids: s.ids.slice(0, -1), targets: s.targets.filter((t) => t.query) };
}

/** Patch vectors of one image, [patches, C·p·p] in the conv weight's (c, ky, kx) order, normalised. */
export function imagePatches(img: ToyImage, patch: number, out: Float32Array, offset: number): void {
  const g = img.width / patch;
  if (!Number.isInteger(g) || img.width !== img.height) throw new Error(`imagePatches: image ${img.width}x${img.height} is not a square multiple of patch ${patch}`);
  const per = 3 * patch * patch;
  for (let row = 0; row < g; row++) {
    for (let col = 0; col < g; col++) {
      const base = offset + (row * g + col) * per;
      for (let c = 0; c < 3; c++) {
        for (let ky = 0; ky < patch; ky++) {
          for (let kx = 0; kx < patch; kx++) {
            const px = img.data[((row * patch + ky) * img.width + col * patch + kx) * 3 + c]!;
            out[base + (c * patch + ky) * patch + kx] = (px / 255 - CLIP_MEAN[c]!) / CLIP_STD[c]!;
          }
        }
      }
    }
  }
}

export interface PackedBatch {
  /** Token rows in the step (the packed length, padding included). */
  n: number;
  ids: Int32Array;
  /** ids with image rows (and padding) set to -1: the embedding-gradient index. */
  gradIds: Int32Array;
  /** Position of each row inside its sequence (RoPE). */
  pos: Int32Array;
  /** [n, 2]: each row attends to rows [start, end) of its own sequence (causally). */
  seg: Int32Array;
  images: number;
  /** [images·patchesPerImage, 3·p·p]. */
  patches: Float32Array;
  /** Rows that receive the image features, image by image. */
  imageRows: Int32Array;
  targetRows: Int32Array;
  targetIds: Int32Array;
  targetWeights: Float32Array;
  /** Per target: [sequence index, is query]. */
  targetInfo: { seq: number; query: boolean; family: FamilyName; shots: number }[];
  sequences: TokenisedSequence[];
}

/** Packs sequences into one stream of length `n` (or exactly their total length when n is omitted). */
export function packSequences(seqs: readonly TokenisedSequence[], patch: number, imageSize: number, n?: number): PackedBatch {
  const used = seqs.reduce((a, s) => a + s.ids.length, 0);
  const total = n ?? used;
  if (used > total) throw new Error(`packSequences: ${used} tokens do not fit a packed length of ${total}`);
  const ids = new Int32Array(total).fill(TOY_TOKEN_IDS.pad);
  const gradIds = new Int32Array(total).fill(-1);
  const pos = new Int32Array(total);
  const seg = new Int32Array(2 * total);
  const nImages = seqs.reduce((a, s) => a + s.images.length, 0);
  const perImage = (imageSize / patch) ** 2;
  const patches = new Float32Array(nImages * perImage * 3 * patch * patch);
  const imageRows: number[] = [];
  const tRows: number[] = [];
  const tIds: number[] = [];
  const info: PackedBatch['targetInfo'] = [];
  let o = 0;
  let img = 0;
  seqs.forEach((s, si) => {
    const len = s.ids.length;
    for (let p = 0; p < len; p++) {
      const id = s.ids[p]!;
      ids[o + p] = id;
      gradIds[o + p] = id === TOY_TOKEN_IDS.image ? -1 : id;
      pos[o + p] = p;
      seg[2 * (o + p)] = o;
      seg[2 * (o + p) + 1] = o + len;
    }
    for (const [k, run] of s.imageRows.entries()) {
      if (run.length !== perImage) throw new Error(`packSequences: image ${k} of a sequence has ${run.length} tokens, the tower gives ${perImage}`);
      for (const r of run) imageRows.push(o + r);
      imagePatches(s.images[k]!, patch, patches, img * perImage * 3 * patch * patch);
      img++;
    }
    for (const t of s.targets) {
      tRows.push(o + t.row);
      tIds.push(t.id);
      info.push({ seq: si, query: t.query, family: s.family, shots: s.shots });
    }
    o += len;
  });
  for (let p = o; p < total; p++) {
    seg[2 * p] = p;
    seg[2 * p + 1] = p + 1;
  }
  const w = new Float32Array(tRows.length).fill(tRows.length > 0 ? 1 / tRows.length : 0);
  return {
    n: total, ids, gradIds, pos, seg, images: nImages, patches, imageRows: Int32Array.from(imageRows),
    targetRows: Int32Array.from(tRows), targetIds: Int32Array.from(tIds), targetWeights: w, targetInfo: info, sequences: [...seqs],
  };
}

export interface StreamOptions {
  seed: number;
  imageTokens: number;
  maxShots: number;
  families?: readonly FamilyName[];
  /** Relative sampling weight per family (default: uniform over `families`). */
  familyWeights?: Partial<Record<FamilyName, number>>;
  /** Per-family shot range [min, max] (inclusive), overriding 0..maxShots for that family. */
  shotRanges?: Partial<Record<FamilyName, readonly [number, number]>>;
  /** What noisy-task-inference shots are trained on (default `shown`; see NoisyTargets). */
  noisyTargets?: NoisyTargets;
}

/** The part of the stream's options a training phase may change (see TrainPlan). */
export type StreamMix = Pick<StreamOptions, 'familyWeights' | 'shotRanges' | 'noisyTargets'>;

/**
 * The endless training stream: sequence i is an episode of a random family with 0..maxShots shots,
 * all drawn from (seed, i). Deterministic: the same seed gives the same stream.
 */
export class EpisodeStream {
  private index = 0;
  // Sequences drawn but not yet batched, by length class: a long sequence (see batch) shares its step only with other long ones, so the padded attention batch [B, T] of a
  // step of short sequences is not stretched to T ≈ 500 by one long noisy-task-inference episode.
  private pending = { short: { seqs: [] as TokenisedSequence[], used: 0 }, long: { seqs: [] as TokenisedSequence[], used: 0 } };
  private opts: StreamOptions;
  constructor(opts: StreamOptions) {
    this.opts = opts;
  }

  /** Changes the family mix and shot ranges from the next sequence on (a new training phase). */
  setMix(mix: StreamMix): void {
    this.opts = { ...this.opts, familyWeights: mix.familyWeights, shotRanges: mix.shotRanges, noisyTargets: mix.noisyTargets };
  }

  get position(): number {
    return this.index;
  }

  /** Skips to sequence `index` (resuming from a checkpoint; sequences drawn but not batched are dropped). */
  seek(index: number): void {
    this.index = index;
    this.pending = { short: { seqs: [], used: 0 }, long: { seqs: [], used: 0 } };
  }

  next(): TokenisedSequence {
    const r = new Rng(mixSeed(this.opts.seed, 1, this.index));
    this.index++;
    const fams = this.opts.families ?? FAMILIES;
    const weights = fams.map((f) => this.opts.familyWeights?.[f] ?? (this.opts.familyWeights ? 0 : 1));
    const total = weights.reduce((a, b) => a + b, 0);
    if (!(total > 0)) throw new Error(`EpisodeStream: family weights ${JSON.stringify(this.opts.familyWeights)} select no family`);
    let u = r.next() * total;
    let fi = 0;
    while (fi < fams.length - 1 && u >= weights[fi]!) u -= weights[fi++]!;
    const family = fams[fi]!;
    const [lo, hi] = this.opts.shotRanges?.[family] ?? [0, this.opts.maxShots];
    const shots = r.int(lo, hi);
    const ep = TASK_FAMILIES[family].episode(mixSeed(this.opts.seed, 2, this.index), shots);
    return tokeniseEpisode(ep, this.opts.imageTokens, this.opts.noisyTargets);
  }

  /**
   * Whole sequences up to `tokens` rows, in stream order within each length class. Sequences
   * longer than tokens / 8 (256 of a 2048-row step) are batched only with each other: the step's
   * attention cost is B·T² with T its longest sequence, so 4 to 8 long sequences cost about what
   * 30 short ones at T ≈ 200 do, while one long sequence among short ones would double it.
   */
  batch(tokens: number): TokenisedSequence[] {
    for (;;) {
      const s = this.next();
      if (s.ids.length > tokens) throw new Error(`EpisodeStream: a sequence of ${s.ids.length} tokens exceeds the step budget ${tokens}`);
      const b = s.ids.length > tokens / 8 ? this.pending.long : this.pending.short;
      if (b.used + s.ids.length > tokens) {
        const out = b.seqs;
        b.seqs = [s];
        b.used = s.ids.length;
        return out;
      }
      b.seqs.push(s);
      b.used += s.ids.length;
    }
  }
}

/** Seed of held-out query i of a family (a stream the training data never draws from). */
export const evalEpisodeSeed = (seed: number, family: FamilyName, i: number): number => mixSeed(seed, 77, FAMILIES.indexOf(family), i);
