/**
 * The chart's series, derived from a run's `training_update` events: env steps on x against
 * scores, the largest tile and the losses. Pure: no React, no uPlot.
 *
 * The arrays are append-only and grow in place, one entry per update, so a week-long run with
 * 100,000 updates costs one push per event, not a copy of every array.
 */
import type { TrainingUpdate } from "../api/types";

export interface MetricSeries {
  /** Board moves since the run began (x); strictly increasing within a run. */
  steps: number[];
  /** Null where no game finished during that update. */
  meanScore: (number | null)[];
  maxScore: (number | null)[];
  maxTile: (number | null)[];
  policyLoss: number[];
  valueLoss: number[];
  entropy: number[];
  approxKl: number[];
  clipFraction: number[];
  lbLoss: number[];
  auxLoss: number[];
}

export function emptySeries(): MetricSeries {
  return { steps: [], meanScore: [], maxScore: [], maxTile: [], policyLoss: [], valueLoss: [], entropy: [], approxKl: [], clipFraction: [], lbLoss: [], auxLoss: [] };
}

/** The largest tile that any finished game of the update ended with, or null when none finished. */
export function largestTile(maxTile: Readonly<Record<string, number>>): number | null {
  let largest: number | null = null;
  for (const [tile, count] of Object.entries(maxTile)) {
    const value = Number(tile);
    if (count > 0 && Number.isFinite(value) && (largest === null || value > largest)) largest = value;
  }
  return largest;
}

const finiteOrNull = (value: number | null | undefined): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);
/** Losses are plotted as numbers; a NaN or infinite one (a diverged update) becomes a gap. */
const finiteOrNaN = (value: number): number => (Number.isFinite(value) ? value : NaN);

/** Append one update's point to every series. */
export function appendUpdate(series: MetricSeries, update: TrainingUpdate): void {
  const { episodes, losses } = update;
  series.steps.push(update.env_steps);
  series.meanScore.push(episodes.count > 0 ? finiteOrNull(episodes.mean_score) : null);
  series.maxScore.push(episodes.count > 0 ? finiteOrNull(episodes.max_score) : null);
  series.maxTile.push(largestTile(episodes.max_tile));
  series.policyLoss.push(finiteOrNaN(losses.policy_loss));
  series.valueLoss.push(finiteOrNaN(losses.value_loss));
  series.entropy.push(finiteOrNaN(losses.entropy));
  series.approxKl.push(finiteOrNaN(losses.approx_kl));
  series.clipFraction.push(finiteOrNaN(losses.clip_fraction));
  series.lbLoss.push(finiteOrNaN(losses.lb_loss));
  series.auxLoss.push(finiteOrNaN(losses.aux_loss));
}

export function seriesOf(updates: readonly TrainingUpdate[]): MetricSeries {
  const series = emptySeries();
  for (const update of updates) appendUpdate(series, update);
  return series;
}

/** The best score any game reached so far, or null before the first game ends. */
export function bestScore(series: MetricSeries): number | null {
  let best: number | null = null;
  for (const score of series.maxScore) if (score !== null && (best === null || score > best)) best = score;
  return best;
}

/** uPlot's data for the score chart: x, then mean score, max score and max tile. */
export type ScoreData = [number[], (number | null)[], (number | null)[], (number | null)[]];
/** uPlot's data for the loss chart: x, then policy, value, lb and aux loss, entropy, KL, clip fraction. */
export type LossData = [number[], number[], number[], number[], number[], number[], number[], number[]];

export function scoreData(series: MetricSeries): ScoreData {
  return [series.steps, series.meanScore, series.maxScore, series.maxTile];
}

export function lossData(series: MetricSeries): LossData {
  return [series.steps, series.policyLoss, series.valueLoss, series.lbLoss, series.auxLoss, series.entropy, series.approxKl, series.clipFraction];
}
