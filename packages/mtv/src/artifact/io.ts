// One .safetensors file, readable by Python's safetensors (standard header, standard dtypes):
//   means  F32 [L, H, D]   sum / count, what inference patches in
//   sums   F64 [L, H, D]   exact float64 sums (activations/sums.ts)
//   sumsq  F64 [L, H, D]
//   logits F32 [L, H]      optional
//   heads  U8  [L, H]      optional, 0/1
//   locations I32 [K]      optional (written by every locator), the ones of `heads`
//   bank   F32 [K, C, D]   stv only: C k-means centres per location
//   choice I32 [K]         stv only: the chosen centre per location
// __metadata__ (strings only): format = "mtv-artifact", version = "1", shape = "[L,H,D]",
// count = "<taps>", provenance = JSON of MtvProvenance, locator = "reinforce|sensitivity|stv|random"
// (absent on older artifacts: REINFORCE).
import { readFileSync } from 'node:fs';
import { SafetensorsError, SafetensorsFile, writeSafetensors, type TensorInput } from '@mtv/model';
import { ActivationSums, type SumsShape } from '../activations/sums.js';
import { withAtomicFile } from '../io/output-path.js';
import { ArtifactError, type ArtifactLocator, type MtvArtifact, type MtvProvenance } from './types.js';

export const ARTIFACT_FORMAT = 'mtv-artifact';
export const ARTIFACT_VERSION = '1';
/**
 * Artifacts with a `locator` (sensitivity / stv / random) are version 2, so a build that predates the
 * locators refuses them instead of patching the means where an STV bank centre belongs. REINFORCE
 * artifacts stay version 1, byte for byte as before.
 */
export const ARTIFACT_VERSION_LOCATOR = '2';
const READABLE_VERSIONS = [ARTIFACT_VERSION, ARTIFACT_VERSION_LOCATOR];

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
  if (a.locator) checkLocator(file, a, L, H, D);
}

function checkLocator(file: string, a: MtvArtifact, L: number, H: number, D: number): void {
  const loc = a.locator!;
  if (!a.heads) throw new ArtifactError(file, `locator '${loc.kind}' is recorded but the artifact has no heads mask`);
  const fromMask = Array.from(a.heads).flatMap((v, i) => (v ? [i] : []));
  if (fromMask.length !== loc.locations.length || fromMask.some((v, i) => v !== loc.locations[i])) {
    throw new ArtifactError(file, `tensor 'locations' [${Array.from(loc.locations).join(', ')}] disagrees with the heads mask's ones [${fromMask.join(', ')}]`);
  }
  const bad = loc.locations.findIndex((v) => !(v >= 0 && v < L * H));
  if (bad >= 0) throw new ArtifactError(file, `location ${loc.locations[bad]} is outside layers x heads = ${L} x ${H}`);
  if ((loc.kind === 'stv') !== (loc.bank !== null)) throw new ArtifactError(file, `locator '${loc.kind}' ${loc.bank ? 'must not carry' : 'needs'} a bank of centres`);
  if (loc.bank) {
    const { clusters: C, centres, choice } = loc.bank;
    const K = loc.locations.length;
    if (!Number.isInteger(C) || C <= 0) throw new ArtifactError(file, `bank clusters ${C} is not a positive integer`);
    if (centres.length !== K * C * D) throw new ArtifactError(file, `tensor 'bank' has ${centres.length} values; locations x clusters x headDim = ${K} x ${C} x ${D} = ${K * C * D}`);
    if (choice.length !== K) throw new ArtifactError(file, `tensor 'choice' has ${choice.length} entries for ${K} locations`);
    const c = choice.findIndex((v) => !(v >= 0 && v < C));
    if (c >= 0) throw new ArtifactError(file, `chosen centre ${choice[c]} of location ${loc.locations[c]} is outside [0, ${C})`);
    const f = centres.findIndex((v) => !Number.isFinite(v));
    if (f >= 0) throw new ArtifactError(file, `tensor 'bank' has the non-finite value ${centres[f]} at index ${f}`);
  }
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
  const loc = a.locator ?? null;
  if (loc) {
    // safetensors refuses zero-sized tensors in some readers; K >= 1 whenever heads are located.
    tensors.locations = { dtype: 'I32', shape: [loc.locations.length], data: loc.locations };
    if (loc.bank) {
      tensors.bank = { dtype: 'F32', shape: [loc.locations.length, loc.bank.clusters, D], data: loc.bank.centres };
      tensors.choice = { dtype: 'I32', shape: [loc.locations.length], data: loc.bank.choice };
    }
  }
  // Atomic: a temp file in the same directory renamed over `file`, so a failed write never leaves a
  // half-written artifact or destroys the previous one (issue 11 item 4).
  await withAtomicFile(file, (tmp) => writeSafetensors(tmp, tensors, {
    format: ARTIFACT_FORMAT,
    version: loc ? ARTIFACT_VERSION_LOCATOR : ARTIFACT_VERSION,
    shape: JSON.stringify([L, H, D]),
    count: String(a.sums.count),
    provenance: JSON.stringify(a.provenance),
    ...(loc ? { locator: loc.kind } : {}),
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
  if (!READABLE_VERSIONS.includes(meta.version ?? '')) throw new ArtifactError(file, `artifact version ${JSON.stringify(meta.version)} is not supported (this build reads versions ${READABLE_VERSIONS.join(' and ')})`);
  if (meta.version === ARTIFACT_VERSION && meta.locator !== undefined) throw new ArtifactError(file, `version ${ARTIFACT_VERSION} artifacts carry no locator, but __metadata__.locator is ${JSON.stringify(meta.locator)}`);
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

const LOCATOR_NAMES = ['reinforce', 'sensitivity', 'stv', 'random'] as const;

async function readLocator(file: string, st: SafetensorsFile, D: number, want: (name: string, dtype: string, s: number[]) => void): Promise<ArtifactLocator | null> {
  const kind = st.metadata?.locator;
  if (kind === undefined) {
    if (st.has('bank') || st.has('locations')) throw new ArtifactError(file, `has tensor '${st.has('bank') ? 'bank' : 'locations'}' but no __metadata__.locator`);
    return null;
  }
  if (!(LOCATOR_NAMES as readonly string[]).includes(kind)) throw new ArtifactError(file, `__metadata__.locator ${JSON.stringify(kind)} is not one of ${LOCATOR_NAMES.join(', ')}`);
  if (!st.has('locations')) throw new ArtifactError(file, `locator '${kind}' without tensor 'locations'`);
  const K = st.info('locations').shape[0] ?? 0;
  want('locations', 'I32', [K]);
  const locations = (await st.read('locations')) as Int32Array;
  let bank: ArtifactLocator['bank'] = null;
  if (kind === 'stv') {
    if (!st.has('bank') || !st.has('choice')) throw new ArtifactError(file, `locator 'stv' needs tensors 'bank' and 'choice'`);
    const C = st.info('bank').shape[1] ?? 0;
    want('bank', 'F32', [K, C, D]);
    want('choice', 'I32', [K]);
    bank = { clusters: C, centres: (await st.read('bank')) as Float32Array, choice: (await st.read('choice')) as Int32Array };
  }
  return { kind: kind as ArtifactLocator['kind'], locations, bank };
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
    const locator = await readLocator(file, st, D, want);
    const a: MtvArtifact = { sums, logits, heads, provenance, ...(locator ? { locator } : {}) };
    checkArtifact(file, a);
    return a;
  } finally {
    await st.close();
  }
}
