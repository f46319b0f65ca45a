// extract + locate -> artifact, and the provenance that goes with it.
import path from 'node:path';
import type { VisionLanguageModel } from '@mtv/model';
import type { ActivationSums } from '../activations/sums.js';
import { MTV_CODE_VERSION } from '../artifact/io.js';
import type { MtvArtifact, RunRecord } from '../artifact/types.js';
import { extract, type ExtractOptions } from '../extract/extract.js';
import type { LocatorResult } from '../locate/run.js';
import type { Located } from '../locators/types.js';
import { locate, type LocateOptions } from '../rollouts/locate.js';
import { PipelineError, type TaskData } from './prompts.js';

/** Artifact of sums without heads (after `extract`). */
export async function sumsArtifact(model: VisionLanguageModel, sums: ActivationSums, run: RunRecord): Promise<MtvArtifact> {
  if (sums.count !== run.rounds) throw new PipelineError(`artifact: sums hold ${sums.count} rounds but the run record says ${run.rounds}`);
  return {
    sums, logits: null, heads: null,
    provenance: { modelId: path.basename(path.resolve(model.dir)), modelHash: await model.hash(), codeVersion: MTV_CODE_VERSION, runs: [run], heads: 'none' },
  };
}

/** The artifact with located heads and the locator's settings in the notes. */
export function withLocatedHeads(a: MtvArtifact, r: LocatorResult, mode: string): MtvArtifact {
  const c = r.state.config;
  return {
    ...a,
    logits: Float32Array.from(r.state.logits),
    heads: r.heads,
    provenance: {
      ...a.provenance,
      heads: 'located',
      notes: {
        ...(a.provenance.notes ?? {}),
        locatorSeed: String(c.seed), steps: c.steps, samplesPerStep: c.samplesPerStep, lr: c.lr, initLogit: c.initLogit,
        finalSamples: c.finalSamples, selectionLoss: r.selectionLoss, rollouts: mode, heads: r.heads.reduce((s, v) => s + v, 0),
      },
    },
  };
}

/**
 * The artifact with heads from any locator. REINFORCE writes exactly what withLocatedHeads wrote
 * before the locators existed (no locator tensors); the others record their locations, for STV the
 * bank and the chosen centres, and their settings and search cost in the notes.
 */
export function withLocated(a: MtvArtifact, r: Located, mode: string, settings: Readonly<Record<string, string | number | boolean>> = {}): MtvArtifact {
  if (r.locator === 'reinforce') {
    if (!r.reinforce) throw new PipelineError('withLocated: a reinforce result without its REINFORCE state');
    return withLocatedHeads(a, r.reinforce, mode);
  }
  const { forwardPasses, seconds } = r.cost;
  return {
    ...a,
    logits: null,
    heads: r.heads,
    locator: { kind: r.locator, locations: r.locations, bank: r.bank },
    provenance: {
      ...a.provenance,
      heads: 'located',
      notes: {
        ...(a.provenance.notes ?? {}),
        ...settings,
        locator: r.locator, k: r.k, heads: r.locations.length, searchForwardPasses: forwardPasses, searchSeconds: Number(seconds.toFixed(3)),
        ...(r.kGrid.length > 0 ? { kGrid: r.kGrid.map((g) => `${g.k}:${g.loss.toFixed(4)}`).join(' ') } : {}),
        ...(r.bank ? { clusters: r.bank.clusters } : {}),
      },
    },
  };
}

export const runRecord = (data: TaskData, o: { seed: number | string; shots: number; rounds: number; shardSize: number; firstRound?: number }): RunRecord => ({
  datasetHash: data.hash ?? 'unknown', shots: o.shots, firstRound: o.firstRound ?? 0, rounds: o.rounds, seed: o.seed, shardSize: o.shardSize,
});

export interface RunMtvOptions {
  readonly extract: ExtractOptions;
  readonly locate: LocateOptions;
}

/** The whole method: mean activations, then heads located on those means. */
export async function runMtv(model: VisionLanguageModel, data: TaskData, opts: RunMtvOptions): Promise<{ artifact: MtvArtifact; result: LocatorResult }> {
  const sums = await extract(model, data, opts.extract);
  const base = await sumsArtifact(model, sums, runRecord(data, opts.extract));
  const result = await locate(model, data, sums.means(), opts.locate);
  return { artifact: withLocatedHeads(base, result, opts.locate.mode ?? 'prefix'), result };
}
