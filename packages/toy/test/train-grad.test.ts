// The training forward/backward (@mtv/kernels ops, f32) against the float64 reference forward of
// @mtv/model: the loss must match, and sampled gradient entries must match central finite
// differences of the reference loss. Tiny architecture, two packed sequences plus padding.
import { afterAll, describe, expect, it } from 'vitest';
import { Gpu } from '@mtv/kernels';
import { referenceForward, type ReferenceModel } from '@mtv/model';
import { TASK_FAMILIES } from '../src/tasks/families/index.js';
import { Rng } from '../src/tasks/rng.js';
import { TINY_TRAIN_ARCH } from '../src/model/config.js';
import { CLIP_MEAN, CLIP_STD, tokeniseEpisode, type PackedBatch, type TokenisedSequence } from '../src/train/data.js';
import { TrainSession } from '../src/train/trainer.js';

let gpu: Gpu | null = null;
afterAll(() => gpu?.destroy());

/** [3, S, S] float64 pixels normalised like the trainer's patches. */
function pixels(s: TokenisedSequence, k: number): Float64Array {
  const img = s.images[k]!;
  const S = img.width;
  const out = new Float64Array(3 * S * S);
  for (let c = 0; c < 3; c++) for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) out[(c * S + y) * S + x] = (img.data[(y * S + x) * 3 + c]! / 255 - CLIP_MEAN[c]!) / CLIP_STD[c]!;
  return out;
}

/** The batch loss in float64: Σ_targets w · CE(logits[row], id), one reference forward per sequence. */
function referenceLoss(model: ReferenceModel, batch: PackedBatch): number {
  let loss = 0;
  let t = 0;
  for (const s of batch.sequences) {
    const out = referenceForward(model, { inputIds: s.ids, images: s.images.map((_, k) => pixels(s, k)) });
    const V = out.vocabSize;
    for (const tg of s.targets) {
      const row = out.logits.subarray(tg.row * V, (tg.row + 1) * V);
      let m = -Infinity;
      for (const z of row) m = Math.max(m, z);
      let se = 0;
      for (const z of row) se += Math.exp(z - m);
      loss += batch.targetWeights[t++]! * (m + Math.log(se) - row[tg.id]!);
    }
  }
  return loss;
}

describe('demo trainer gradients', () => {
  it('matches the float64 reference loss and finite differences', async () => {
    gpu = await Gpu.create();
    const session = await TrainSession.create({ arch: TINY_TRAIN_ARCH, seed: 3, gpu });
    const it4 = session.config.imageSeqLength;
    const seqs = [
      tokeniseEpisode(TASK_FAMILIES['task-inference'].episode(11, 2), it4),
      tokeniseEpisode(TASK_FAMILIES['two-way'].episode(12, 1), it4),
    ];
    const used = seqs.reduce((a, s) => a + s.ids.length, 0);
    const batch = session.pack(seqs, used + 5); // 5 rows of padding, each its own segment
    const rows = await session.lossAndGrads(batch);
    const gpuLoss = batch.targetInfo.reduce((a, _, i) => a + rows[2 * i]! * batch.targetWeights[i]!, 0);

    const flat = Float64Array.from(await session.params.readFlat('w'));
    const grads = await session.params.readFlat('g');
    const specs = session.params.specs;
    const model = (): ReferenceModel => ({
      config: session.config,
      tensors: new Map(specs.map((s) => [s.name, flat.slice(s.offset, s.offset + s.size)])),
    });
    const ref = referenceLoss(model(), batch);
    // f32 kernels vs float64: the loss agrees to ~1e-5 relative.
    expect(Math.abs(gpuLoss - ref)).toBeLessThan(1e-4 * Math.max(1, ref));

    // Sample entries from every kind of tensor (vision, projector, decoder, embeddings, head).
    const r = new Rng(5);
    const picks = [
      'embeddings.patch_embedding.weight', 'embeddings.class_embedding', 'embeddings.position_embedding.weight', 'pre_layrnorm.weight',
      'encoder.layers.0.self_attn.q_proj.weight', 'encoder.layers.0.self_attn.v_proj.bias', 'encoder.layers.0.mlp.fc1.weight', 'encoder.layers.0.layer_norm2.bias',
      'linear_1.weight', 'linear_2.bias', 'embed_tokens.weight', 'layers.0.self_attn.k_proj.weight', 'layers.1.self_attn.q_proj.weight',
      'layers.1.mlp.gate_proj.weight', 'layers.0.input_layernorm.weight', 'layers.1.post_attention_layernorm.weight', 'language_model.norm.weight', 'lm_head.weight',
    ];
    const eps = 1e-3;
    let checked = 0;
    for (const suffix of picks) {
      const spec = specs.find((s) => s.name.endsWith(suffix));
      expect(spec, suffix).toBeDefined();
      for (let n = 0; n < 2; n++) {
        let i = spec!.offset + r.int(0, spec!.size - 1);
        if (suffix === 'embed_tokens.weight') i = spec!.offset + seqs[0]!.ids[5]! * session.config.text.hiddenSize + n; // a row that is used
        const orig = flat[i]!;
        flat[i] = orig + eps;
        const up = referenceLoss(model(), batch);
        flat[i] = orig - eps;
        const down = referenceLoss(model(), batch);
        flat[i] = orig;
        const fd = (up - down) / (2 * eps);
        // central differences are exact to O(eps²); the GPU runs in f32 (observed agreement ~1e-8).
        expect(Math.abs(grads[i]! - fd), `${spec!.name}[${i - spec!.offset}] gpu ${grads[i]} fd ${fd}`).toBeLessThan(1e-5 + 1e-3 * Math.abs(fd));
        checked++;
      }
    }
    expect(checked).toBe(picks.length * 2);
  });
});
