/**
 * uPlot options and data for the two training charts, kept apart from the component so they can
 * be checked without a canvas. Scores share the left axis; the largest tile has its own log2 axis
 * on the right. Losses: the four losses on the left, entropy, KL and clip fraction on the right.
 */
import type uPlot from "uplot";
import { formatCompact, formatCount } from "./format";
import { lossData, scoreData, type MetricSeries } from "./series";

export type ChartKind = "score" | "losses";

/** Tall enough to read a trend, short enough to leave the phone's canvas in view. */
export const CHART_HEIGHT = 190;

const AXIS_STROKE = "#98a1b3";
const GRID_STROKE = "#2b3244";
const FONT = "11px system-ui, sans-serif";

type Formatter = (value: number | null | undefined) => string;
const orDash = (format: (value: number) => string): Formatter => (value) => (value == null || Number.isNaN(value) ? "–" : format(value));
const fixed = (digits: number) => orDash((value) => value.toFixed(digits));

function axis(scale: string, side: uPlot.Axis.Side, format: (value: number) => string, grid: boolean): uPlot.Axis {
  return {
    scale,
    side,
    stroke: AXIS_STROKE,
    font: FONT,
    size: 44,
    grid: { show: grid, stroke: GRID_STROKE, width: 1 },
    ticks: { show: false },
    values: (_chart, splits) => splits.map((value) => (value == null ? "" : format(value))),
  };
}

function line(label: string, scale: string, stroke: string, value: Formatter, extra: Partial<uPlot.Series> = {}): uPlot.Series {
  return { label, scale, stroke, width: 2, value: (_chart, raw) => value(raw), spanGaps: false, points: { show: false }, ...extra };
}

/** The log2 axis's range: whole powers of two around the tiles seen, at least one doubling wide. */
export function tileRange(min: number | null, max: number | null): [number, number] {
  const low = min != null && min > 0 ? 2 ** Math.floor(Math.log2(min)) : 2;
  const high = max != null && max > 0 ? 2 ** Math.ceil(Math.log2(max)) : 2048;
  return high > low ? [low, high] : [low, low * 2];
}

const stepsSeries: uPlot.Series = { label: "steps", value: (_chart, raw) => orDash(formatCount)(raw) };

export function chartOptions(kind: ChartKind, width: number, height = CHART_HEIGHT): uPlot.Options {
  const common = {
    width: Math.max(1, Math.floor(width)),
    height,
    cursor: { drag: { x: false, y: false } }, // a drag on a phone scrolls the sheet, it does not zoom
    legend: { show: true, live: true },
  };
  const x = axis("x", 2, formatCompact, true);
  if (kind === "score") {
    return {
      ...common,
      scales: {
        x: { time: false },
        score: { auto: true, range: (_chart, min, max) => [0, Math.max(max ?? 0, min ?? 0, 1) * 1.05] },
        tile: { distr: 3, log: 2, range: (_chart, min, max) => tileRange(min, max) },
      },
      axes: [x, axis("score", 3, formatCompact, true), axis("tile", 1, (value) => String(Math.round(value)), false)],
      series: [
        stepsSeries,
        line("mean score", "score", "#60a5fa", orDash(formatCount)),
        line("max score", "score", "#f59e0b", orDash(formatCount), { width: 1.5, dash: [6, 4] }),
        line("max tile", "tile", "#22c55e", orDash((value) => String(value)), { width: 1.5, points: { show: true, size: 4 } }),
      ],
    };
  }
  return {
    ...common,
    scales: { x: { time: false }, loss: { auto: true }, stat: { auto: true } },
    axes: [x, axis("loss", 3, formatCompact, true), axis("stat", 1, formatCompact, false)],
    series: [
      stepsSeries,
      line("policy", "loss", "#60a5fa", fixed(4)),
      line("value", "loss", "#f59e0b", fixed(4)),
      line("load balance", "loss", "#e879f9", fixed(4), { width: 1.5 }),
      line("aux", "loss", "#f87171", fixed(4), { width: 1.5 }),
      line("entropy", "stat", "#22c55e", fixed(3), { dash: [6, 4] }),
      line("approx KL", "stat", "#a3e635", fixed(4), { width: 1.5, dash: [2, 3] }),
      line("clip fraction", "stat", "#94a3b8", fixed(3), { width: 1.5, dash: [2, 3] }),
    ],
  };
}

/** What `setData` gets: the series' own arrays, so a redraw copies nothing. */
export function chartData(kind: ChartKind, series: MetricSeries): uPlot.AlignedData {
  return kind === "score" ? scoreData(series) : lossData(series);
}
