// The sensitivity locator (STV's "where"): a head is sensitive when its last-token output changes a lot
// between the query with its in-context examples and the same query alone. Score = mean over rounds
// of ||icl - zero-shot||_2 per head (locators/round-stats.ts); the top K heads are kept. No rollouts
// beyond the K grid's validation pass.
import type { RoundStats } from './round-stats.js';
import { rankByScore } from './k-choice.js';

export function sensitivityRanking(stats: RoundStats): { scores: Float64Array; ranking: number[] } {
  const scores = stats.scores();
  return { scores, ranking: rankByScore(scores) };
}
