// What the dashboard shows, kept up to date from the server's peer events, the scheduler's per-worker
// stats and the pipeline's events; `snapshot()` is the JSON the page renders (sent whole on every push).
import { shotsPerRound } from '@mtv/mtv';
import { MODE_LABEL } from '../cli/table.js';
import type { Phase, PipelineEvent, PipelineResult } from '../jobs/index.js';
import type { JobSpec } from '../jobs/spec.js';
import type { CoordinatorServer, PeerInfo } from '../net/index.js';
import type { Scheduler } from '../scheduler/index.js';

export type JobStatus = 'waiting' | 'running' | 'done' | 'failed';

export interface PhaseProgress {
  readonly done: number;
  readonly total: number;
  readonly unit: string;
  readonly ms: number | null;
}

export interface ResultRow {
  readonly method: string;
  readonly mode: string;
  readonly accuracy: number;
  readonly lower: number;
  readonly upper: number;
  readonly n: number;
  readonly metric: string;
}

export interface JobView {
  readonly jobId: string;
  status: JobStatus;
  phase: Phase | 'done' | 'waiting';
  resumedFrom: Phase | 'done' | null;
  readonly geometry: { readonly layers: number; readonly heads: number };
  readonly shotsCompressed: number;
  readonly progress: Partial<Record<Phase, PhaseProgress>>;
  /** REINFORCE curves: one point per step (mean and policy loss), validation every few steps. */
  readonly curves: { step: number[]; meanLoss: number[]; policyLoss: number[]; validation: { step: number; loss: number }[] };
  /** Bernoulli probabilities [layer * heads + head] after `probabilitiesStep`. */
  probabilities: number[] | null;
  probabilitiesStep: number | null;
  /** The chosen heads (0/1, [layer * heads + head]) once located. */
  heads: number[] | null;
  selectionLoss: number | null;
  table: ResultRow[] | null;
  artifact: string | null;
  error: string | null;
  checkpoints: number;
}

export interface WorkerView {
  readonly id: string;
  readonly name: string;
  readonly adapter: string;
  readonly backend: string;
  readonly threads: number;
  readonly connected: boolean;
  readonly shardsDone: number;
  /** Accepted shards per minute since the worker first joined this coordinator. */
  readonly shardsPerMinute: number;
  readonly busyMs: number;
  readonly lastHeartbeatAt: number | null;
  readonly rttMs: number | null;
  readonly reconnects: number;
  readonly remote: string;
}

export interface DashboardSnapshot {
  /** `closed`: the coordinator has stopped serving (the job ended, or it was stopped; a restart reconnects the page). */
  readonly coordinator: { readonly sessionId: string; readonly startedAt: number; readonly now: number; readonly closed: boolean };
  readonly jobs: readonly JobView[];
  readonly workers: readonly WorkerView[];
}

interface WorkerRecord {
  peer: PeerInfo;
  connected: boolean;
  firstSeen: number;
  joins: number;
}

/** Curves longer than this are thinned (every other point dropped), so a push stays small. */
const MAX_CURVE_POINTS = 4000;

const round = (x: number, digits = 4): number => Number(x.toFixed(digits));

export class DashboardState {
  readonly #server: CoordinatorServer;
  readonly #scheduler: () => Scheduler | null;
  readonly #jobs = new Map<string, JobView>();
  readonly #workers = new Map<string, WorkerRecord>();
  readonly #listeners = new Set<() => void>();
  readonly #startedAt = Date.now();
  #closed = false;

  constructor(server: CoordinatorServer, scheduler: () => Scheduler | null) {
    this.#server = server;
    this.#scheduler = scheduler;
    server.on('peer', (p) => {
      const w = this.#workers.get(p.id);
      if (w) Object.assign(w, { peer: p, connected: true, joins: w.joins + 1 });
      else this.#workers.set(p.id, { peer: p, connected: true, firstSeen: Date.now(), joins: 1 });
      this.#changed();
    });
    server.on('peer-lost', (id) => {
      const w = this.#workers.get(id);
      if (w) w.connected = false;
      this.#changed();
    });
    // Shard completions move the workers' counts.
    server.on('result', () => this.#changed());
  }

  /** Called (synchronously) after every change; the event stream throttles. */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #changed(): void {
    for (const fn of this.#listeners) fn();
  }

  /** The job's curves (for the history file beside the checkpoint). */
  curves(jobId: string): JobView['curves'] | null {
    return this.#jobs.get(jobId)?.curves ?? null;
  }

  /** `history`: curves saved by an earlier session of this job (--resume); cut to the resumed step when it arrives. */
  jobStarted(spec: JobSpec, history: JobView['curves'] | null = null): void {
    const g = spec.model.geometry;
    this.#jobs.set(spec.jobId, {
      jobId: spec.jobId, status: 'waiting', phase: 'waiting', resumedFrom: null, geometry: { layers: g.layers, heads: g.heads },
      shotsCompressed: spec.extract.rounds * shotsPerRound(spec.data.format, spec.extract.shots),
      progress: {
        extract: { done: 0, total: spec.extract.rounds, unit: 'rounds', ms: null },
        ...(spec.locate ? { locate: { done: 0, total: spec.locate.steps, unit: 'steps', ms: null } } : {}),
      },
      curves: history ?? { step: [], meanLoss: [], policyLoss: [], validation: [] }, probabilities: null, probabilitiesStep: null,
      heads: null, selectionLoss: null, table: null, artifact: null, error: null, checkpoints: 0,
    });
    this.#changed();
  }

  onEvent(jobId: string, e: PipelineEvent): void {
    const j = this.#jobs.get(jobId);
    if (!j) return;
    const progress = (phase: Phase, done: number, total: number, unit: string): void => {
      j.progress[phase] = { done, total, unit, ms: j.progress[phase]?.ms ?? null };
    };
    switch (e.kind) {
      case 'phase-start':
        j.status = 'running';
        j.phase = e.phase;
        break;
      case 'phase-done':
        j.progress[e.phase] = { ...(j.progress[e.phase] ?? { done: 1, total: 1, unit: '' }), ms: e.ms };
        break;
      case 'resumed': {
        j.resumedFrom = e.phase;
        // The phases before the resumed one are complete.
        const order: (Phase | 'done')[] = ['extract', 'locate', 'eval', 'done'];
        for (const p of ['extract', 'locate'] as const) {
          const pr = j.progress[p];
          if (pr && order.indexOf(p) < order.indexOf(e.phase)) j.progress[p] = { ...pr, done: pr.total };
        }
        const lp = j.progress.locate;
        if (lp && e.locateStep !== undefined && e.phase === 'locate') j.progress.locate = { ...lp, done: e.locateStep };
        if (e.probabilities) {
          j.probabilities = Array.from(e.probabilities, (p) => round(p));
          j.probabilitiesStep = e.locateStep ?? null;
        }
        if (e.validation) j.curves.validation = e.validation.map((v) => ({ step: v.step, loss: round(v.loss, 5) }));
        {
          // Saved curve points past the checkpoint's step are redone by this session: drop them.
          const c = j.curves;
          const upTo = e.phase === 'extract' ? 0 : e.phase === 'locate' ? (e.locateStep ?? 0) : Infinity;
          const keep = c.step.findIndex((s) => s > upTo);
          if (keep >= 0) for (const k of ['step', 'meanLoss', 'policyLoss'] as const) c[k] = c[k].slice(0, keep);
        }
        break;
      }
      case 'extract-progress':
        progress('extract', e.rounds, e.total, 'rounds');
        break;
      case 'locate-step': {
        progress('locate', e.step, e.steps, 'steps');
        const c = j.curves;
        c.step.push(e.step);
        c.meanLoss.push(round(e.meanLoss, 5));
        c.policyLoss.push(round(e.policyLoss ?? Number.NaN, 5));
        if (c.step.length > MAX_CURVE_POINTS) {
          for (const k of ['step', 'meanLoss', 'policyLoss'] as const) c[k] = c[k].filter((_, i) => i % 2 === 0);
        }
        if (e.probabilities) {
          j.probabilities = Array.from(e.probabilities, (p) => round(p));
          j.probabilitiesStep = e.step;
        }
        break;
      }
      case 'locate-validation':
        j.curves.validation.push({ step: e.step, loss: round(e.loss, 5) });
        break;
      case 'locate-done':
        j.heads = Array.from(e.heads);
        j.selectionLoss = e.selectionLoss;
        j.probabilities = Array.from(e.probabilities, (p) => round(p));
        break;
      case 'eval-progress':
        progress('eval', e.done, e.total, 'shards');
        break;
      case 'checkpoint-written':
        j.checkpoints++;
        break;
      default:
        break;
    }
    this.#changed();
  }

  jobFinished(r: PipelineResult): void {
    const j = this.#jobs.get(r.spec.jobId);
    if (!j) return;
    j.status = 'done';
    j.phase = 'done';
    j.artifact = r.artifact;
    if (r.located) j.heads = Array.from(r.located.heads);
    j.table = r.summaries.map((s) => ({
      method: MODE_LABEL[s.mode]?.(s.shots) ?? s.mode, mode: s.mode, accuracy: s.accuracy, lower: s.lower, upper: s.upper, n: s.n, metric: s.metric,
    }));
    for (const [phase, ms] of Object.entries(r.timings) as [Phase, number][]) {
      j.progress[phase] = { ...(j.progress[phase] ?? { done: 1, total: 1, unit: '' }), ms };
    }
    this.#changed();
  }

  jobFailed(jobId: string, error: Error): void {
    const j = this.#jobs.get(jobId);
    if (!j) return;
    j.status = 'failed';
    j.error = error.message;
    this.#changed();
  }

  /** The coordinator is closing: the last push says so. */
  markClosed(): void {
    this.#closed = true;
  }

  snapshot(): DashboardSnapshot {
    const now = Date.now();
    const stats = this.#scheduler()?.stats;
    const workers = [...this.#workers.values()].map((w): WorkerView => {
      const s = stats?.get(w.peer.id);
      const a = w.peer.capabilities.adapter;
      const minutes = Math.max(1 / 60, (now - w.firstSeen) / 60_000);
      return {
        id: w.peer.id, name: w.peer.name, adapter: a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unknown',
        backend: w.peer.capabilities.backend, threads: w.peer.capabilities.threads, connected: w.connected && !this.#closed,
        shardsDone: s?.shards ?? 0, shardsPerMinute: round((s?.shards ?? 0) / minutes, 2), busyMs: s?.busyMs ?? 0,
        lastHeartbeatAt: w.peer.lastPongAt, rttMs: w.peer.rttMs, reconnects: w.joins - 1, remote: w.peer.remote,
      };
    });
    return { coordinator: { sessionId: this.#server.sessionId, startedAt: this.#startedAt, now, closed: this.#closed }, jobs: [...this.#jobs.values()], workers };
  }
}
