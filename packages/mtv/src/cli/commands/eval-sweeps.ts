// `mtv eval --sweep` (MTV: shots compressed into the means) and `--icl-sweep` (ICL: shots in the
// prompt), alone or together, with `--plot` drawing both curves. The ICL counts are checked against
// the model's context before any generation; counts that do not fit are skipped with a note.
import type { VisionLanguageModel } from '@mtv/model';
import type { MtvArtifact } from '../../artifact/types.js';
import { taskVector } from '../../apply/apply.js';
import { evaluate, formatSummaryTable, type EvaluateOptions, type ModeSummary } from '../../evaluate/harness.js';
import { iclFitCheck, iclSweep, type IclSweepResult } from '../../evaluate/icl-sweep.js';
import { describeScoring, type ScoreOptions } from '../../evaluate/score.js';
import { shotSweep, type SweepPoint } from '../../evaluate/sweep.js';
import { writeFileAtomic } from '../../io/output-path.js';
import { shotsPerRound, type TaskData } from '../../pipeline/prompts.js';
import type { PromptOptions } from '../../prompts/formats.js';
import { curvesSvg, type CurvePoint } from '../../report/curves-svg.js';
import { svgToPng } from '../../report/png.js';
import { CliError, progressBar, writeJson, writeLine, type CliIo } from '../io.js';

export interface SweepFlags {
  readonly sweep?: readonly number[];
  readonly iclSweep?: readonly number[];
  readonly plot?: string;
  readonly artifact?: string;
  readonly trainData?: string;
  readonly shardSize: number;
  readonly seed: number | string;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

export interface SweepInputs {
  readonly model: VisionLanguageModel;
  readonly data: TaskData;
  readonly train: TaskData;
  readonly art: MtvArtifact | null;
  /** Shots per extraction round of the MTV sweep. */
  readonly shots: number;
  readonly common: Omit<EvaluateOptions, 'modes' | 'vector' | 'onRecord' | 'train'>;
  readonly prompt?: PromptOptions;
  readonly scoring: Required<ScoreOptions>;
}

const point = (x: number, s: ModeSummary): CurvePoint => ({ x, accuracy: s.accuracy, lower: s.lower, upper: s.upper });

export async function runEvalSweeps(io: CliIo, f: SweepFlags, v: SweepInputs): Promise<void> {
  const quiet = f.quiet ?? false;
  const { model, data, train } = v;
  let icl: IclSweepResult | null = null;
  const iclOpts = { ...v.common, counts: f.iclSweep ?? [], ...(f.trainData ? { train } : {}) };
  // The fit check first: which counts fit is known (and printed) before any generation.
  const checked = f.iclSweep ? await iclFitCheck(model, data, iclOpts) : null;
  if (checked) {
    const c = checked.context;
    const most = c.maxShots === null ? 'every count the shot source allows fits' : c.maxShots < 0 ? 'not even the zero-shot prompt fits' : `at most ${c.maxShots} shots fit`;
    writeLine(io.stderr, `mtv eval: --icl-sweep: context ${c.positions} positions, ${c.newTokens} generated token(s) per query: ${most}`);
    for (const s of checked.fits) if (!s.fits) writeLine(io.stderr, `mtv eval: --icl-sweep: skipping ${s.shots} shots: ${s.reason}`);
  }

  let mtv: SweepPoint[] | null = null;
  if (f.sweep) {
    if (!v.art) throw new CliError('--sweep needs --artifact (its heads are held fixed while the means grow)');
    const per = Math.max(shotsPerRound(data.format, v.shots), 1);
    const rounds = f.sweep.map((x) => Math.ceil(x / per));
    const bar = progressBar(io, 'sweep', rounds[rounds.length - 1]!, quiet);
    let base = 0;
    mtv = await shotSweep(model, train, data, {
      seed: f.seed, shots: v.shots, rounds, shardSize: f.shardSize, heads: taskVector(v.art, f.artifact).heads, eval: v.common, ...(v.prompt ? { prompt: v.prompt } : {}),
      onRound: (d) => bar.update(base + d),
      onPoint: (p) => { base = p.rounds; },
    });
    bar.stop();
  }

  if (checked) {
    const n = Math.min(v.common.n ?? data.examples.length, data.examples.length);
    const bar = progressBar(io, 'icl sweep', Math.max(1, n * checked.fits.filter((s) => s.fits).length), quiet);
    let base = 0;
    icl = await iclSweep(model, data, { ...iclOpts, onProgress: (d) => bar.update(base + d), onPoint: () => { base += n; } }, checked);
    bar.stop();
  }

  // Zero-shot: the plot's reference line; measured here when the ICL sweep did not include 0.
  let zeroShot: ModeSummary | null = icl?.points.find((p) => p.shots === 0)?.summary ?? null;
  if (!zeroShot && f.plot) zeroShot = (await evaluate(model, data, { ...v.common, modes: ['zero-shot'] })).summaries[0]!;

  if (f.plot) {
    const svg = curvesSvg({
      title: `${data.file ? data.file.split('/').pop() : data.format}: accuracy against shots (n = ${zeroShot?.n ?? '?'})`,
      mtv: (mtv ?? []).map((p) => point(p.shotsCompressed, p.summary)),
      icl: (icl?.points ?? []).filter((p) => p.shots > 0).map((p) => point(p.shots, p.summary)),
      zeroShot: zeroShot ? point(0, zeroShot) : null,
      contextShots: icl && icl.context.maxShots !== null && icl.context.maxShots > 0 ? icl.context.maxShots : null,
      ...(icl ? { contextPositions: icl.context.positions } : {}),
    });
    await writeFileAtomic(f.plot, svgToPng(svg));
    writeLine(io.stderr, `mtv eval: wrote --plot ${f.plot}`);
  }

  if (f.json) {
    return writeJson(io, {
      scoring: v.scoring, sweep: mtv,
      ...(icl ? { iclSweep: icl } : {}), ...(zeroShot && !icl?.points.some((p) => p.shots === 0) ? { zeroShot } : {}), ...(f.plot ? { plot: f.plot } : {}),
    });
  }
  const rows = [
    ...(icl?.points ?? []).map((p) => ({ ...p.summary, label: p.shots === 0 ? 'zero-shot' : `icl @ ${p.shots} shot${p.shots === 1 ? '' : 's'} in context` })),
    ...(mtv ?? []).map((p) => ({ ...p.summary, label: `mtv @ ${p.shotsCompressed} shots compressed (${p.rounds} rounds)` })),
  ];
  writeLine(io.stdout, formatSummaryTable(rows));
  if (icl) {
    for (const s of icl.skipped) writeLine(io.stdout, `icl @ ${s.shots} shots: skipped (${s.reason})`);
    const most = icl.context.maxShots;
    if (most !== null && most >= 0) writeLine(io.stdout, `context: ${icl.context.positions} positions; at most ${most} shots in context fit`);
  }
  writeLine(io.stdout, describeScoring(v.scoring));
}
