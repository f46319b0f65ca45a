#!/usr/bin/env node
// Trains the demo LMM from scratch on the synthetic task suite and writes it as a HF LLaVA directory.
//   node packages/toy/dist/cli/train.js [--out packages/toy/demo-model] [--state <out>.state]
//     [--steps 6000] [--minutes 55] [--tokens 2048] [--lr 2e-3] [--warmup 100] [--seed 0]
//     [--eval-every 200] [--ckpt-every 100] [--eval-n 64] [--resume [--restart-schedule]] [--arch demo|tiny]
//     [--mix task-inference=1,two-way=2,vqa=1] [--shots two-way=1-3] [--max-shots 8] [--plan demo|pool] [--init <model dir>]
// Without --mix/--shots the run follows --plan (default DEMO_PLAN, src/train/plan.ts, a three-phase
// curriculum); --init starts from a checkpoint's weights (fresh Adam state) instead of the seed's init.
import { isMainModule } from '@mtv/model';
import { parseArgs } from 'node:util';
import { exitOnBrokenPipe } from '@mtv/kernels';
import cliProgress from 'cli-progress';
import { DEMO_ARCH, TINY_TRAIN_ARCH } from '../model/config.js';
import { loadCheckpointWeights, loadTrainState, saveTrainState, writeDemoCheckpoint } from '../train/checkpoint.js';
import { EpisodeStream } from '../train/data.js';
import { DEFAULT_OPTIM, TrainSession, heldOutSet, type OptimOptions } from '../train/trainer.js';
import { FAMILIES, type FamilyName } from '../tasks/types.js';
import { NOISY_MAX_SHOTS, TRAIN_PLANS, phaseAt, singlePhasePlan, type TrainPhase } from '../train/plan.js';

const num = (flag: string, v: string | undefined, dflt: number): number => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag}: expected a non-negative number, got ${JSON.stringify(v)}`);
  return n;
};

export const TRAIN_USAGE = `usage: train [--out packages/toy/demo-model] [--state <out>.state] [--steps 6000] [--minutes 55]
  [--tokens 2048] [--lr 2e-3] [--warmup 100] [--seed 0] [--eval-every 200] [--ckpt-every 100] [--eval-n 64]
  [--resume [--restart-schedule]] [--arch demo|tiny] [--mix task-inference=1,two-way=2,vqa=1] [--shots two-way=1-3] [--max-shots 8] [--quiet]
  [--plan demo|pool] [--init <model dir>]
  Without --mix or --shots the run follows --plan: demo (default) is the curriculum from scratch (base, match,
  extend), pool the fine-tune that teaches pooling noisy shots; --init starts from a checkpoint's weights.`;

export async function runTrain(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(TRAIN_USAGE);
    return;
  }
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', default: 'packages/toy/demo-model' },
      state: { type: 'string' },
      steps: { type: 'string' },
      minutes: { type: 'string' },
      tokens: { type: 'string' },
      lr: { type: 'string' },
      warmup: { type: 'string' },
      seed: { type: 'string' },
      'eval-every': { type: 'string' },
      'ckpt-every': { type: 'string' },
      'eval-n': { type: 'string' },
      'max-shots': { type: 'string' },
      arch: { type: 'string', default: 'demo' },
      resume: { type: 'boolean', default: false },
      'restart-schedule': { type: 'boolean', default: false },
      mix: { type: 'string' },
      shots: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      plan: { type: 'string', default: 'demo' },
      init: { type: 'string' },
    },
    strict: true,
  });
  const arch = values.arch === 'tiny' ? TINY_TRAIN_ARCH : values.arch === 'demo' ? DEMO_ARCH : null;
  if (!arch) throw new Error(`--arch: expected demo or tiny, got ${values.arch}`);
  const out = values.out!;
  const stateDir = values.state ?? `${out.replace(/\/$/, '')}.state`;
  const seed = num('seed', values.seed, 0);
  const tokens = num('tokens', values.tokens, 2048);
  const optim: OptimOptions = { ...DEFAULT_OPTIM, steps: num('steps', values.steps, 6000), lr: num('lr', values.lr, DEFAULT_OPTIM.lr), warmup: num('warmup', values.warmup, 100) };
  const minutes = num('minutes', values.minutes, 45);
  const evalEvery = num('eval-every', values['eval-every'], 200);
  const ckptEvery = num('ckpt-every', values['ckpt-every'], 100);
  const evalN = num('eval-n', values['eval-n'], 64);
  const maxShots = num('max-shots', values['max-shots'], 8);

  const named = TRAIN_PLANS[values.plan!];
  if (!named) throw new Error(`--plan: expected one of ${Object.keys(TRAIN_PLANS).join(', ')}, got ${JSON.stringify(values.plan)}`);
  if (values.init && values.resume) throw new Error('--init and --resume both set the weights: give one');
  const session = await TrainSession.create({ arch, seed });
  const imageTokens = session.config.imageSeqLength;
  // --mix task-inference=1,two-way=2,vqa=1 (relative family weights) and --shots two-way=1-3 give a
  // one-phase plan; otherwise the demo curriculum
  const plan = values.mix || values.shots ? singlePhasePlan(values.mix, values.shots) : named;
  if (values.init) {
    session.params.load(await loadCheckpointWeights(values.init, session.params.specs, session.params.total));
    console.error(`initialised from ${values.init}`);
  }
  const stream = new EpisodeStream({ seed, imageTokens, maxShots });
  let secondsBefore = 0;
  let scheduleOrigin = 0;
  if (values.resume) {
    const st = await loadTrainState(stateDir);
    if (st.state.total !== session.params.total) throw new Error(`--resume: ${stateDir} holds ${st.state.total} parameters, this architecture has ${session.params.total}`);
    session.params.load(st.w, st.m, st.v);
    session.step = st.state.step;
    stream.seek(st.state.streamPosition);
    secondsBefore = st.state.seconds;
    if (values['restart-schedule']) scheduleOrigin = session.step;
    console.error(`resumed from ${stateDir} at step ${session.step}`);
  }
  console.error(`demo LMM: ${session.params.count} parameters, ${tokens} tokens/step, ${optim.steps} steps${minutes ? ` or ${minutes} min` : ''}, lr ${optim.lr}, seed ${seed}`);

  // noisy task inference needs many shots (DEMO_PLAN): 1, 16 and all 62 that fit in 512 positions
  const evalShots = (f: FamilyName): number[] => (f === 'noisy-task-inference' ? [1, 16, NOISY_MAX_SHOTS] : [0, 2, 4]);
  const evalSets = FAMILIES.flatMap((f) => evalShots(f).map((k) => ({ f, k, ...heldOutSet(seed + 1, f, k, evalN, imageTokens) })));
  const evaluate = async (): Promise<string> => {
    const parts: string[] = [];
    for (const s of evalSets) {
      const pred = await session.predict(s.seqs);
      const acc = pred.filter((p, i) => p === s.answers[i]).length / s.answers.length;
      parts.push(`${s.f}@${s.k}=${(100 * acc).toFixed(0)}%`);
    }
    return parts.join(' ');
  };
  const save = async (): Promise<void> => {
    const weights = await session.params.read();
    await writeDemoCheckpoint(out, weights, arch, { step: String(session.step), seed: String(seed) });
    const [w, m, v] = [await session.params.readFlat('w'), await session.params.readFlat('m'), await session.params.readFlat('v')];
    await saveTrainState(stateDir, { step: session.step, streamPosition: stream.position, seed, total: session.params.total, seconds: secondsBefore + (Date.now() - t0) / 1000 }, w, m, v);
  };

  const t0 = Date.now();
  const bar = values.quiet ? null : new cliProgress.SingleBar({ format: 'train [{bar}] {value}/{total} | {phase} | loss {loss} | q-loss {qloss} | acc {acc} | {rate} s/step | {elapsed}', stream: process.stderr }, cliProgress.Presets.shades_classic);
  bar?.start(scheduleOrigin + optim.steps, session.step, { phase: '-', loss: '-', qloss: '-', acc: '-', rate: '-', elapsed: '-' });
  let ema: { loss: number; q: number; acc: number } | null = null;
  const deadline = minutes > 0 ? t0 + minutes * 60_000 : Infinity;
  const tStart = t0;
  let stepsThisRun = 0;
  // with --restart-schedule, --steps counts the steps of this run (warm-up and cosine restart)
  const lastStep = scheduleOrigin + optim.steps;
  let phase: TrainPhase | null = null;
  while (session.step < lastStep && Date.now() < deadline) {
    // the cosine and the plan's phases follow the time budget when that runs out first (warm-up stays step-based)
    const timeFraction = minutes > 0 ? (Date.now() - tStart) / (deadline - tStart) : 0;
    const progress = Math.max(timeFraction, (session.step - scheduleOrigin) / optim.steps);
    const next = phaseAt(plan, progress);
    if (next !== phase) {
      phase = next;
      stream.setMix(phase.mix);
      if (plan.length > 1) console.log(`phase ${phase.name} from step ${session.step + 1}: ${JSON.stringify(phase.mix)}`);
    }
    const batch = session.pack(stream.batch(tokens), tokens);
    const r = await session.trainStep(batch, optim, { timeFraction, scheduleStep: session.step + 1 - scheduleOrigin });
    stepsThisRun++;
    ema = ema ? { loss: 0.95 * ema.loss + 0.05 * r.loss, q: 0.95 * ema.q + 0.05 * r.queryLoss, acc: 0.95 * ema.acc + 0.05 * r.accuracy } : { loss: r.loss, q: r.queryLoss, acc: r.accuracy };
    const rate = ((Date.now() - t0) / 1000 / stepsThisRun).toFixed(2);
    // with a time budget the run usually ends on time before the step count: show both
    const elapsed = `${((Date.now() - t0) / 60000).toFixed(1)}${minutes > 0 ? `/${minutes}` : ''} min`;
    bar?.update(session.step, { phase: phase?.name ?? '-', loss: ema.loss.toFixed(3), qloss: ema.q.toFixed(3), acc: ema.acc.toFixed(3), rate, elapsed });
    if (!Number.isFinite(r.loss)) throw new Error(`step ${session.step}: loss is ${r.loss} (grad norm ${r.gradNorm})`);
    const line = `step ${session.step} loss ${r.loss.toFixed(4)} ema ${ema.loss.toFixed(4)} q-loss ${ema.q.toFixed(4)} acc ${ema.acc.toFixed(3)} |g| ${r.gradNorm.toFixed(3)} lr ${r.lr.toExponential(2)} seqs ${r.sequences} t ${((Date.now() - t0) / 1000).toFixed(0)}s`;
    if (session.step % 20 === 0 || session.step === 1) console.log(line);
    if (evalEvery > 0 && session.step % evalEvery === 0) console.log(`eval step ${session.step}: ${await evaluate()}`);
    if (ckptEvery > 0 && session.step % ckptEvery === 0) await save();
  }
  bar?.stop();
  await save();
  console.log(`eval final step ${session.step}: ${await evaluate()}`);
  console.log(`trained ${stepsThisRun} steps in ${((Date.now() - t0) / 60000).toFixed(1)} min (total ${(secondsBefore / 60 + (Date.now() - t0) / 60000).toFixed(1)} min); wrote ${out}`);
  session.gpu.destroy();
}

const isMain = isMainModule(import.meta.url);
if (isMain) {
  exitOnBrokenPipe();
  runTrain(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: Error) => {
      // bad flags are usage errors: one line and the usage, no stack
      const usage = (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') || e.message.startsWith('--');
      console.error(usage ? `train: ${e.message}\n${TRAIN_USAGE}` : (e.stack ?? e.message));
      process.exit(usage ? 2 : 1);
    },
  );
}
