/**
 * The MoE heat map: one small cell per expert, coloured by its share of the tokens in the shown
 * run's latest update (see heat.ts). On the canvas it sits inside the MoE block; the numbers are
 * in the block's accessible name, its tooltip, and `ExpertUsageList` (for the props sheet and the
 * Train panel).
 */
import type { CSSProperties } from "react";
import type { RunRecord } from "./runStore";
import { useExpertUsage } from "./runStore";
import { heatColour, percent, usageSummary } from "./heat";

/** The row of cells inside a MoE block. Decorative for pointers: taps go to the block and its ports. */
export function ExpertHeatRow({ usage }: { usage: readonly number[] }) {
  const summary = `Expert usage: ${usageSummary(usage)}`;
  return (
    <span className="block__heat" role="img" aria-label={summary} title={summary} data-testid="expert-heat">
      {usage.map((fraction, index) => (
        <span key={index} className="block__heat-cell" style={{ background: heatColour(fraction, usage.length) } as CSSProperties} />
      ))}
    </span>
  );
}

/** Each expert's share as a labelled bar: "expert 3: 31%". */
export function ExpertBars({ usage }: { usage: readonly number[] }) {
  return (
    <ol className="expert-bars">
      {usage.map((fraction, index) => (
        <li key={index} className="expert-bars__row">
          <span className="expert-bars__label">expert {index + 1}</span>
          <span className="expert-bars__track">
            <span className="expert-bars__fill" style={{ width: `${Math.min(100, Math.max(0, fraction * 100))}%`, background: heatColour(fraction, usage.length) }} />
          </span>
          <span className="expert-bars__value">{percent(fraction)}</span>
        </li>
      ))}
    </ol>
  );
}

/** For the props sheet of a MoE block: its experts' shares in the design's shown run, if any. */
export function ExpertUsageList({ designId, blockId }: { designId: string; blockId: string }) {
  const usage = useExpertUsage(designId, blockId);
  if (!usage) return null;
  return (
    <section aria-label={`Expert usage of ${blockId}`}>
      <h3 className="sheet__section">Expert usage (latest update)</h3>
      <ExpertBars usage={usage} />
    </section>
  );
}

/** For the Train panel: every MoE block of the run, in forward order. */
export function RunExpertUsage({ record }: { record: RunRecord }) {
  const layers = record.layers.filter((layer) => record.usageByBlock[layer.id]);
  if (record.expertUsage && record.expertUsage.length > 0 && layers.length === 0) {
    return <p className="sheet__empty">This run's MoE layers no longer match the design's blocks, so the canvas shows no heat map.</p>;
  }
  if (layers.length === 0) return null;
  return (
    <>
      <h3 className="sheet__section">Expert usage</h3>
      {layers.map((layer) => (
        <section key={layer.id} className="expert-layer" aria-label={`Expert usage of ${layer.id}`}>
          <h4 className="expert-layer__title">{layer.id}</h4>
          <ExpertBars usage={record.usageByBlock[layer.id]} />
        </section>
      ))}
    </>
  );
}
