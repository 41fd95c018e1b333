/** The chart's series derived from training updates. */
import { describe, expect, it } from "vitest";
import { appendUpdate, bestScore, emptySeries, largestTile, lossData, scoreData, seriesOf } from "../../src/train/series";
import { trainingUpdate } from "./support/training";

describe("largestTile", () => {
  it("is the largest tile with a count, compared as numbers", () => {
    expect(largestTile({ "512": 2, "1024": 1, "64": 7 })).toBe(1024);
    expect(largestTile({ "2048": 0, "256": 1 })).toBe(256);
    expect(largestTile({})).toBeNull();
    expect(largestTile({ "4096": 0 })).toBeNull();
  });
});

describe("seriesOf", () => {
  it("puts each update's env steps against its scores, largest tile and losses", () => {
    const series = seriesOf([
      trainingUpdate(1, { episodes: { mean_score: 410.5, max_score: 900, max_tile: { "64": 2, "128": 1 } }, losses: { value_loss: 0.7 } }),
      trainingUpdate(2, { episodes: { mean_score: 800, max_score: 1500, max_tile: { "256": 1, "128": 3 } }, losses: { entropy: 1.1 } }),
    ]);
    expect(scoreData(series)).toEqual([[16384, 32768], [410.5, 800], [900, 1500], [128, 256]]);
    expect(series.valueLoss).toEqual([0.7, 0.5]);
    expect(series.entropy).toEqual([1.2, 1.1]);
    expect(lossData(series)).toEqual([[16384, 32768], [-0.01, -0.01], [0.7, 0.5], [0.02, 0.02], [0.03, 0.03], [1.2, 1.1], [0.01, 0.01], [0.1, 0.1]]);
  });

  it("leaves a gap where no game finished in an update", () => {
    const series = seriesOf([trainingUpdate(1, { episodes: { count: 0, mean_score: null, max_score: null, max_tile: {} } }), trainingUpdate(2)]);
    expect(series.meanScore).toEqual([null, 502]);
    expect(series.maxScore).toEqual([null, 1002]);
    expect(series.maxTile).toEqual([null, 128]);
    expect(series.steps).toHaveLength(2);
  });

  it("turns a non-finite loss into NaN (a gap), not a spike that wrecks the scale", () => {
    const series = seriesOf([trainingUpdate(1, { losses: { value_loss: Infinity } })]);
    expect(series.valueLoss[0]).toBeNaN();
  });

  it("appends in place, so the chart reuses the same arrays", () => {
    const series = emptySeries();
    const steps = series.steps;
    appendUpdate(series, trainingUpdate(1));
    appendUpdate(series, trainingUpdate(2));
    expect(series.steps).toBe(steps);
    expect(scoreData(series)[0]).toBe(steps);
    expect(steps).toEqual([16384, 32768]);
  });

  it("knows the best score so far", () => {
    expect(bestScore(emptySeries())).toBeNull();
    const series = seriesOf([trainingUpdate(1, { episodes: { max_score: 3000 } }), trainingUpdate(2, { episodes: { count: 0, max_score: null } }), trainingUpdate(3, { episodes: { max_score: 2500 } })]);
    expect(bestScore(series)).toBe(3000);
  });
});
