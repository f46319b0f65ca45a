// The two ways to answer ICL prompts: through @mtv/model's VisionLanguageModel runtime (the normal loader and
// inference path, used by default) or through the trainer's own forward (a cross-check, and the
// fallback when the runtime cannot run).
import type { Gpu } from '@mtv/kernels';
import { openCheckpoint, type LlavaConfig, type VisionLanguageModel } from '@mtv/model';
import type { DemoArch } from '../model/config.js';
import { TOY_VOCAB } from '../tasks/vocab.js';
import { promptOnly, tokeniseEpisode } from '../train/data.js';
import { paramSpecs } from '../train/params.js';
import { TrainSession } from '../train/trainer.js';
import type { EvalItem, Predictor } from './icl.js';

export const wordOfId = (id: number): string => TOY_VOCAB[id] ?? `<id ${id}>`;

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

/** Greedy first answer token from the runtime: prepare (tokenizer + image processor) then forward. */
export function runtimePredictor(model: VisionLanguageModel): Predictor {
  return async (items: readonly EvalItem[]) => {
    const out: string[] = [];
    for (const it of items) {
      const images = it.prompt.images.map((img, k) => ({ width: img.width, height: img.height, data: img.data, source: `episode ${it.episode.seed} image ${k}` }));
      const p = await model.prepare({ text: it.prompt.prompt, images });
      const { logits } = await model.forward(p);
      out.push(wordOfId(argmax(logits)));
    }
    return out;
  };
}

/** The architecture fields of a (demo-shaped) LLaVA config. */
export function archOfConfig(c: LlavaConfig): DemoArch {
  return {
    imageSize: c.vision.imageSize,
    patchSize: c.vision.patchSize,
    visionHidden: c.vision.hiddenSize,
    visionIntermediate: c.vision.intermediateSize,
    visionLayers: c.vision.numLayers,
    visionHeads: c.vision.numHeads,
    textHidden: c.text.hiddenSize,
    textIntermediate: c.text.intermediateSize,
    textLayers: c.text.numLayers,
    textHeads: c.text.numHeads,
    ropeTheta: c.text.rope.theta,
    vocabSize: c.text.vocabSize,
  };
}

/** A training session holding the weights of a saved demo checkpoint directory. */
export async function sessionFromCheckpoint(dir: string, gpu?: Gpu): Promise<TrainSession> {
  const ckpt = await openCheckpoint(dir);
  try {
    if (ckpt.config.family !== 'llava') throw new Error(`sessionFromCheckpoint: ${dir} is a ${ckpt.config.family} checkpoint; the trainer runs LLaVA-shaped demo models only`);
    const session = await TrainSession.create({ arch: archOfConfig(ckpt.config), ...(gpu ? { gpu } : {}) });
    const { specs, total } = paramSpecs(session.config);
    const flat = new Float32Array(total);
    for (const s of specs) {
      if (!ckpt.has(s.name)) throw new Error(`sessionFromCheckpoint: ${dir} has no tensor ${s.name}`);
      flat.set(await ckpt.readF32(s.name), s.offset);
    }
    session.params.load(flat);
    return session;
  } finally {
    await ckpt.close();
  }
}

/** Greedy answers from the trainer's packed forward (many prompts per submit). */
export function trainPredictor(session: TrainSession): Predictor {
  return async (items: readonly EvalItem[]) => {
    const seqs = items.map((it) => promptOnly(tokeniseEpisode(it.episode, session.config.imageSeqLength)));
    const ids = await session.predict(seqs);
    return ids.map(wordOfId);
  };
}
