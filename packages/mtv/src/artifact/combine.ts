// Growing and combining artifacts of the same model. Sums add (in argument order: a's sums, then
// b's, one f64 addition per element), counts add, means are recomputed from the sums.
// Heads: a mask was located against the old means; after the means change it is kept from one input
// ('a' by default) and marked 'inherited' in the provenance, or dropped ('none') so the caller
// re-runs the locator on the new means (the paper's method).
import { ActivationSums } from '../activations/sums.js';
import { ArtifactError, type MtvArtifact, type RunRecord } from './types.js';

export interface CombineOptions {
  readonly heads?: 'a' | 'b' | 'none';
}

const sameModel = (a: MtvArtifact, b: MtvArtifact, what: string): void => {
  if (a.provenance.modelHash !== b.provenance.modelHash) {
    throw new ArtifactError(what, `cannot combine artifacts of different models: ${a.provenance.modelId} (${a.provenance.modelHash.slice(0, 16)}...) and ${b.provenance.modelId} (${b.provenance.modelHash.slice(0, 16)}...)`);
  }
  const [x, y] = [a.sums.shape, b.sums.shape];
  if (x[0] !== y[0] || x[1] !== y[1] || x[2] !== y[2]) throw new ArtifactError(what, `activation shapes differ: [${x.join(', ')}] vs [${y.join(', ')}]`);
};

function withHeads(base: MtvArtifact, sums: ActivationSums, runs: readonly RunRecord[], from: MtvArtifact | null): MtvArtifact {
  return {
    sums,
    logits: from?.logits ?? null,
    heads: from?.heads ?? null,
    ...(from?.heads && from.locator ? { locator: from.locator } : {}),
    provenance: { ...base.provenance, runs, heads: from?.heads ? 'inherited' : 'none' },
  };
}

export function mergeArtifacts(a: MtvArtifact, b: MtvArtifact, opts: CombineOptions = {}): MtvArtifact {
  sameModel(a, b, 'merge');
  const sums = ActivationSums.fromData(a.sums.toData()).merge(b.sums);
  const pick = opts.heads ?? 'a';
  return withHeads(a, sums, [...a.provenance.runs, ...b.provenance.runs], pick === 'a' ? a : pick === 'b' ? b : null);
}

/** Adds the sums of more rounds (e.g. rounds [prev, prev + n) of the same seed) to an artifact. */
export function extendArtifact(a: MtvArtifact, more: ActivationSums, run: RunRecord, opts: { heads?: 'keep' | 'none' } = {}): MtvArtifact {
  const s = a.sums.shape;
  if (s[0] !== more.shape[0] || s[1] !== more.shape[1] || s[2] !== more.shape[2]) {
    throw new ArtifactError('extend', `new sums have shape [${more.shape.join(', ')}], the artifact [${s.join(', ')}]`);
  }
  if (more.count !== run.rounds) throw new ArtifactError('extend', `the new sums hold ${more.count} taps but the run record says ${run.rounds} rounds`);
  const overlap = a.provenance.runs.find(
    (r) => String(r.seed) === String(run.seed) && r.datasetHash === run.datasetHash && r.shots === run.shots &&
      run.firstRound < r.firstRound + r.rounds && r.firstRound < run.firstRound + run.rounds,
  );
  if (overlap) {
    throw new ArtifactError('extend', `rounds [${run.firstRound}, ${run.firstRound + run.rounds}) of seed ${run.seed} overlap rounds [${overlap.firstRound}, ${overlap.firstRound + overlap.rounds}) already in the artifact (they would repeat the same prompts)`);
  }
  const sums = ActivationSums.fromData(a.sums.toData()).merge(more);
  return withHeads(a, sums, [...a.provenance.runs, run], (opts.heads ?? 'keep') === 'keep' ? a : null);
}
