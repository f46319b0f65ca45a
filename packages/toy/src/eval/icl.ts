// The ICL curve: greedy accuracy of the query answer at several shot counts per family, on held-out
// episodes (the same queries at every k), with 95 % Wilson intervals. The model is abstracted as a
// Predictor so the same sweep runs on the @mtv/model runtime or on the trainer's forward.
import { TASK_FAMILIES } from '../tasks/families/index.js';
import { formatEpisode, type FormattedPrompt } from '../tasks/format.js';
import { UNANSWERABLE } from '../tasks/families/vqa.js';
import { FAMILIES, type Episode, type FamilyName } from '../tasks/types.js';
import { evalEpisodeSeed } from '../train/data.js';
import { wilson, type Proportion } from './wilson.js';

export interface EvalItem {
  episode: Episode;
  prompt: FormattedPrompt;
}

/** Greedy next word after each prompt's final "Answer:". */
export type Predictor = (items: readonly EvalItem[]) => Promise<string[]>;

export interface IclCell {
  family: FamilyName;
  shots: number;
  accuracy: Proportion;
  /** VQA: official VQA score (min(#annotators agreeing / 3, 1)), mean over queries. */
  vqaScore?: number;
  /** VQA: of the queries whose answer is "unanswerable", the fraction answered so. */
  unanswerableRecall?: Proportion;
  /** VQA: of the "unanswerable" predictions, the fraction that were right. */
  unanswerablePrecision?: Proportion;
}

export interface IclOptions {
  families?: readonly FamilyName[];
  shots?: readonly number[];
  /** Queries per (family, shots). */
  n: number;
  /** Seed of the held-out episodes (the training CLI evaluates on seed + 1 of the training seed). */
  seed: number;
  onCell?: (cell: IclCell) => void;
}

export function iclItems(family: FamilyName, shots: number, n: number, seed: number): EvalItem[] {
  return Array.from({ length: n }, (_, i) => {
    const episode = TASK_FAMILIES[family].episode(evalEpisodeSeed(seed, family, i), shots);
    return { episode, prompt: formatEpisode(episode) };
  });
}

export async function iclCurve(predict: Predictor, opts: IclOptions): Promise<IclCell[]> {
  const cells: IclCell[] = [];
  for (const family of opts.families ?? FAMILIES) {
    for (const shots of opts.shots ?? [0, 1, 2, 4, 8]) {
      const items = iclItems(family, shots, opts.n, opts.seed);
      const preds = await predict(items);
      const right = preds.filter((p, i) => p === items[i]!.episode.query.answer).length;
      const cell: IclCell = { family, shots, accuracy: wilson(right, items.length) };
      if (family === 'vqa') {
        let score = 0;
        let ua = 0;
        let uaRight = 0;
        let uaPred = 0;
        preds.forEach((p, i) => {
          const q = items[i]!.episode.query;
          score += Math.min(1, q.answers.filter((a) => a === p).length / 3);
          if (q.answer === UNANSWERABLE) {
            ua++;
            if (p === UNANSWERABLE) uaRight++;
          }
          if (p === UNANSWERABLE) uaPred++;
        });
        const precRight = preds.filter((p, i) => p === UNANSWERABLE && items[i]!.episode.query.answer === UNANSWERABLE).length;
        cell.vqaScore = score / items.length;
        cell.unanswerableRecall = wilson(uaRight, ua);
        cell.unanswerablePrecision = wilson(precRight, uaPred);
      }
      cells.push(cell);
      opts.onCell?.(cell);
    }
  }
  return cells;
}

const pct = (x: number): string => (Number.isNaN(x) ? '  -  ' : `${(100 * x).toFixed(1)}%`);
const ci = (p: Proportion): string => `${pct(p.p)} [${pct(p.lo)}, ${pct(p.hi)}] n=${p.n}`;

/** A markdown table of the curve: one row per family, one column per shot count. */
export function formatIclTable(cells: readonly IclCell[], chance: Readonly<Record<FamilyName, number>>): string {
  const shots = [...new Set(cells.map((c) => c.shots))].sort((a, b) => a - b);
  const fams = [...new Set(cells.map((c) => c.family))];
  const lines = [`| family (chance) | ${shots.map((k) => `${k}-shot`).join(' | ')} |`, `| --- | ${shots.map(() => '---').join(' | ')} |`];
  for (const f of fams) {
    const row = shots.map((k) => {
      const c = cells.find((x) => x.family === f && x.shots === k);
      return c ? ci(c.accuracy) : '';
    });
    lines.push(`| ${f} (${pct(chance[f])}) | ${row.join(' | ')} |`);
  }
  const vqa = cells.filter((c) => c.family === 'vqa');
  if (vqa.length > 0) {
    lines.push('', `| vqa extras | ${vqa.map((c) => `${c.shots}-shot`).join(' | ')} |`, `| --- | ${vqa.map(() => '---').join(' | ')} |`);
    lines.push(`| VQA score | ${vqa.map((c) => pct(c.vqaScore!)).join(' | ')} |`);
    lines.push(`| unanswerable recall | ${vqa.map((c) => ci(c.unanswerableRecall!)).join(' | ')} |`);
    lines.push(`| unanswerable precision | ${vqa.map((c) => ci(c.unanswerablePrecision!)).join(' | ')} |`);
  }
  return lines.join('\n');
}
