// The per-head numbers an artifact report shows, each [layer * heads + head]: the chosen heads (0/1),
// the Bernoulli probabilities sigmoid(logit) (null before locating), and the L2 norm of each head's
// mean activation, ||mu[l, h, :]||.
import type { MtvArtifact } from '../artifact/types.js';

export interface HeadMaps {
  readonly layers: number;
  readonly heads: number;
  readonly headDim: number;
  readonly chosen: Float64Array | null;
  readonly probabilities: Float64Array | null;
  readonly meanNorms: Float64Array;
}

export function headMaps(a: MtvArtifact): HeadMaps {
  const [layers, heads, headDim] = a.sums.shape as readonly [number, number, number];
  const means = a.sums.means();
  const meanNorms = new Float64Array(layers * heads);
  for (let i = 0; i < meanNorms.length; i++) {
    let s = 0;
    for (let d = 0; d < headDim; d++) s += means[i * headDim + d]! ** 2;
    meanNorms[i] = Math.sqrt(s);
  }
  return {
    layers, heads, headDim, meanNorms,
    chosen: a.heads ? Float64Array.from(a.heads) : null,
    probabilities: a.logits ? Float64Array.from(a.logits, (x) => 1 / (1 + Math.exp(-x))) : null,
  };
}
