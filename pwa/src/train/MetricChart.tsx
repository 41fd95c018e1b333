/**
 * A live uPlot chart of a run. The chart is made once per run and kind; each new event only calls
 * `setData` with the series' own (growing) arrays, and a resize only `setSize`.
 */
import { useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { chartData, chartOptions, CHART_HEIGHT, type ChartKind } from "./chartOptions";
import type { MetricSeries } from "./series";

export interface MetricChartProps {
  kind: ChartKind;
  series: MetricSeries;
  /** Changes whenever `series` grew: the cue to redraw. */
  revision: number;
}

const LABELS: Record<ChartKind, string> = { score: "Score chart", losses: "Loss chart" };

export function MetricChart({ kind, series, revision }: MetricChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const [broken, setBroken] = useState(false);

  // One chart per series object (one run) and kind.
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    let plot: uPlot;
    try {
      plot = new uPlot(chartOptions(kind, element.clientWidth || 320), chartData(kind, series), element);
    } catch {
      setBroken(true); // no canvas (an old browser, a test DOM): the status line still reports
      return;
    }
    chart.current = plot;
    const resize = new ResizeObserver(([entry]) => {
      const width = Math.floor(entry.contentRect.width);
      if (width > 0 && width !== plot.width) plot.setSize({ width, height: CHART_HEIGHT });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
      chart.current = null;
    };
  }, [kind, series]);

  useEffect(() => {
    chart.current?.setData(chartData(kind, series));
  }, [kind, series, revision]);

  return (
    <div className="metric-chart" role="img" aria-label={LABELS[kind]} data-testid={`${kind}-chart`} data-points={series.steps.length}>
      <div ref={container} />
      {broken && <p className="sheet__empty">This browser cannot draw the chart.</p>}
    </div>
  );
}
