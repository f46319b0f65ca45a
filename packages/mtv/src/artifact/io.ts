// One .safetensors file, readable by Python's safetensors (standard header, standard dtypes):
//   means  F32 [L, H, D]   sum / count, what inference patches in
//   sums   F64 [L, H, D]   exact float64 sums (activations/sums.ts)
//   sumsq  F64 [L, H, D]
//   logits F32 [L, H]      optional
//   heads  U8  [L, H]      optional, 0/1
// __metadata__ (strings only): format = "mtv-artifact", version = "1", shape = "[L,H,D]",
// count = "<taps>", provenance = JSON of MtvProvenance.
import { readFileSync } from 'node:fs';
import { SafetensorsError, SafetensorsFile, writeSafetensors, type TensorInput } from '@mtv/model';
import { ActivationSums, type SumsShape } from '../activations/sums.js';
import { withAtomicFile } from '../io/output-path.js';
import { ArtifactError, type MtvArtifact, type MtvProvenance } from './types.js';

export const ARTIFACT_FORMAT = 'mtv-artifact';
export const ARTIFACT_VERSION = '1';

/** The @mtv/mtv package version (same relative path from src/ and dist/). */
export const MTV_CODE_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

export function checkArtifact(file: string, a: MtvArtifact): void {
  const [L, H] = a.sums.shape;
  if (a.sums.count <= 0) throw new ArtifactError(file, 'has no activation rounds (count 0)');
  if (a.logits && a.logits.length !== L * H) throw new ArtifactError(file, `logits have ${a.logits.length} values, layers x heads = ${L} x ${H} = ${L * H}`);
  if (a.heads) {
    if (a.heads.length !== L * H) throw new ArtifactError(file, `heads mask has ${a.heads.length} values, layers x heads = ${L} x ${H} = ${L * H}`);
    if (a.heads.some((v) => v > 1)) throw new ArtifactError(file, 'heads mask has values other than 0/1');
  }
  if ((a.heads === null) !== (a.provenance.heads === 'none')) throw new ArtifactError(file, `provenance.heads is '${a.provenance.heads}' but the heads mask is ${a.heads ? 'set' : 'absent'}`);
  // A NaN or Inf mean would be patched into the model and silently wreck every answer.
  const [, , D] = a.sums.shape;
  const where = (i: number, perHead: number): string =>
    perHead === 1 ? `layer ${Math.floor(i / H)}, head ${i % H}` : `layer ${Math.floor(i / (H * perHead))}, head ${Math.floor(i / perHead) % H}, dim ${i % perHead}`;
  const finite = (name: string, v: ArrayLike<number>, perHead: number): void => {
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i]!)) throw new ArtifactError(file, `tensor '${name}' has the non-finite value ${v[i]} at index ${i} (${where(i, perHead)}); an artifact's values must be finite`);
    }
  };
  finite('sums', a.sums.sum, D);
  finite('sumsq', a.sums.sumSq, D);
  finite('means', a.sums.means(), D);
  if (a.logits) finite('logits', a.logits, 1);
}

export async function writeArtifact(file: string, a: MtvArtifact): Promise<void> {
  checkArtifact(file, a);
  const [L, H, D] = a.sums.shape;
  const tensors: Record<string, TensorInput> = {
    means: { dtype: 'F32', shape: [L, H, D], data: a.sums.means() },
    sums: { dtype: 'F64', shape: [L, H, D], data: a.sums.sum },
    sumsq: { dtype: 'F64', shape: [L, H, D], data: a.sums.sumSq },
  };
  if (a.logits) tensors.logits = { dtype: 'F32', shape: [L, H], data: a.logits };
  if (a.heads) tensors.heads = { dtype: 'U8', shape: [L, H], data: a.heads };
  // Atomic: a temp file in the same directory renamed over `file`, so a failed write never leaves a
  // half-written artifact or destroys the previous one (issue 11 item 4).
  await withAtomicFile(file, (tmp) => writeSafetensors(tmp, tensors, {
    format: ARTIFACT_FORMAT,
    version: ARTIFACT_VERSION,
    shape: JSON.stringify([L, H, D]),
    count: String(a.sums.count),
    provenance: JSON.stringify(a.provenance),
  }));
}

export interface ReadArtifactOptions {
  /** The model this artifact will be applied to: its Checkpoint.hash() must match. */
  readonly modelHash?: string;
  /** The model's [layers, heads, headDim]. */
  readonly shape?: SumsShape;
}

function parseMeta(file: string, meta: Readonly<Record<string, string>> | null): { shape: SumsShape; count: number; provenance: MtvProvenance } {
  if (!meta || meta.format !== ARTIFACT_FORMAT) throw new ArtifactError(file, `not an MTV artifact (__metadata__.format is ${JSON.stringify(meta?.format ?? null)}, expected "${ARTIFACT_FORMAT}")`);
  if (meta.version !== ARTIFACT_VERSION) throw new ArtifactError(file, `artifact version ${JSON.stringify(meta.version)} is not supported (this build reads version ${ARTIFACT_VERSION})`);
  let shape: unknown;
  let provenance: unknown;
  try {
    shape = JSON.parse(meta.shape ?? '');
    provenance = JSON.parse(meta.provenance ?? '');
  } catch (e) {
    throw new ArtifactError(file, `__metadata__ shape/provenance is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) throw new ArtifactError(file, `__metadata__.shape ${meta.shape} is not [layers, heads, headDim]`);
  const count = Number(meta.count);
  if (!Number.isSafeInteger(count) || count <= 0) throw new ArtifactError(file, `__metadata__.count ${JSON.stringify(meta.count)} is not a positive integer`);
  const p = provenance as Partial<MtvProvenance> | null;
  if (!p || typeof p.modelHash !== 'string' || typeof p.modelId !== 'string' || !Array.isArray(p.runs) || !['located', 'inherited', 'none'].includes(p.heads as string)) {
    throw new ArtifactError(file, '__metadata__.provenance lacks modelId, modelHash, runs or heads');
  }
  return { shape: shape as unknown as SumsShape, count, provenance: p as MtvProvenance };
}

export async function readArtifact(file: string, opts: ReadArtifactOptions = {}): Promise<MtvArtifact> {
  let st: SafetensorsFile;
  try {
    st = await SafetensorsFile.open(file);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new ArtifactError(file, `unreadable safetensors: ${e.message}`);
    throw new ArtifactError(file, `cannot open: ${(e as Error).message}`);
  }
  try {
    const { shape, count, provenance } = parseMeta(file, st.metadata);
    const [L, H, D] = shape;
    if (opts.modelHash !== undefined && opts.modelHash !== provenance.modelHash) {
      throw new ArtifactError(file, `was built for model ${provenance.modelId} (hash ${provenance.modelHash.slice(0, 16)}...), not for this model (hash ${opts.modelHash.slice(0, 16)}...)`);
    }
    if (opts.shape && (opts.shape[0] !== L || opts.shape[1] !== H || opts.shape[2] !== D)) {
      throw new ArtifactError(file, `activation shape ${fmt(shape)} does not match the model's [layers, heads, headDim] = ${fmt(opts.shape)}`);
    }
    const want = (name: string, dtype: string, s: number[]): void => {
      if (!st.has(name)) throw new ArtifactError(file, `missing tensor '${name}'`);
      const i = st.info(name);
      if (i.dtype !== dtype || fmt(i.shape) !== fmt(s)) throw new ArtifactError(file, `tensor '${name}' is ${i.dtype} ${fmt(i.shape)}, expected ${dtype} ${fmt(s)}`);
    };
    for (const n of ['means', 'sums', 'sumsq']) want(n, n === 'means' ? 'F32' : 'F64', [L, H, D]);
    const sums = ActivationSums.fromData({ shape, sum: (await st.read('sums')) as Float64Array, sumSq: (await st.read('sumsq')) as Float64Array, count });
    // The stored means must be the sums' means (catches a hand-edited or mixed-up file).
    const means = (await st.read('means')) as Float32Array;
    const recomputed = sums.means();
    const bad = recomputed.findIndex((v, i) => !Object.is(v, means[i]));
    if (bad >= 0) throw new ArtifactError(file, `tensor 'means' disagrees with sums/count at index ${bad} (${means[bad]} vs ${recomputed[bad]})`);
    let logits: Float32Array | null = null;
    let heads: Uint8Array | null = null;
    if (st.has('logits')) {
      want('logits', 'F32', [L, H]);
      logits = (await st.read('logits')) as Float32Array;
    }
    if (st.has('heads')) {
      want('heads', 'U8', [L, H]);
      heads = (await st.read('heads')) as Uint8Array;
    }
    const a: MtvArtifact = { sums, logits, heads, provenance };
    checkArtifact(file, a);
    return a;
  } finally {
    await st.close();
  }
}
