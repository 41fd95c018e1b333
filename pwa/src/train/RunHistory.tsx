/** A design's earlier runs, newest first; tapping one shows its metrics again. */
import type { RunStatus } from "../api/types";
import { formatCount, formatWhen, runBestScore } from "./format";

export interface RunHistoryProps {
  runs: readonly RunStatus[];
  /** The run the panel shows now, marked in the list. */
  shownRunId: string | null;
  onOpen: (run: RunStatus) => void;
}

const STATUS_WORDS: Record<RunStatus["status"], string> = {
  queued: "Queued",
  running: "Training",
  completed: "Completed",
  stopped: "Stopped",
  failed: "Failed",
  interrupted: "Interrupted",
};

/** "12 Mar, 14:05 · 1,234,567 steps · best 6,000". */
export function runLine(run: RunStatus): string {
  const parts = [formatWhen(run.started_at ?? run.created_at), `${formatCount(run.env_steps)} steps`];
  const best = runBestScore(run);
  if (best !== null) parts.push(`best ${formatCount(best)}`);
  return parts.join(" · ");
}

export function RunHistory({ runs, shownRunId, onOpen }: RunHistoryProps) {
  if (runs.length === 0) return <p className="sheet__empty">No runs yet: the first one will be listed here.</p>;
  return (
    <ul className="run-list" aria-label="Earlier runs">
      {runs.map((run) => (
        <li key={run.id} className={`run-row${run.id === shownRunId ? " run-row--shown" : ""}`}>
          <button type="button" className="run-row__open" onClick={() => onOpen(run)} aria-current={run.id === shownRunId ? "true" : undefined} data-testid="run-row">
            <span className="run-row__title">
              <span className={`run-status run-status--${run.status}`}>{STATUS_WORDS[run.status] ?? run.status}</span>
              <span className="run-row__id">{run.id}</span>
            </span>
            <span className="run-row__meta">{runLine(run)}</span>
          </button>
        </li>
      ))}
    </ul>
  );
}
