/**
 * The Train tab: pick a budget, start a run (after syncing the design), and watch it live: the
 * score chart (losses a tap away), a status line, Stop, the MoE experts' shares, and the design's
 * earlier runs, any of which can be reopened.
 */
import { Tabs } from "../ui/Tabs";
import { useCallback, useEffect, useRef, useState } from "react";
import type { RunStatus } from "../api/types";
import type { ModelArchitecture } from "../model/types";
import { describeFailure, getRun, listRuns, startTraining, stopRun, syncFirst, type Failure, type SyncDesign } from "./api";
import { BUDGETS, budgetByKey, DEFAULT_BUDGET } from "./budgets";
import type { ChartKind } from "./chartOptions";
import { RunExpertUsage } from "./ExpertHeat";
import { FailureNotice } from "./FailureNotice";
import { formatCount, formatDuration, formatWhen } from "./format";
import { moeLayerBlocks } from "./layers";
import { MetricChart } from "./MetricChart";
import { RunHistory } from "./RunHistory";
import { markStopping, runPhase, shownRun, useRuns, watchRun, type RunPhase, type RunRecord } from "./runStore";

export interface TrainPanelProps {
  /** The open design. */
  design: ModelArchitecture;
  /** Pushes the design to the server first; a refusal (e.g. a conflict) stops the start. */
  sync: SyncDesign;
  onShowBlock?: (blockId: string) => void;
}

const ACTIVE_PHASES: ReadonlySet<RunPhase> = new Set(["connecting", "live", "reconnecting", "stopping"]);
const ACTIVE_STATUSES: ReadonlySet<string> = new Set(["queued", "running"]);

type History = { kind: "loading" } | { kind: "loaded"; runs: RunStatus[] } | { kind: "failed"; failure: Failure };

function phaseText(record: RunRecord): string {
  const phase = runPhase(record);
  switch (phase) {
    case "connecting":
      return "connecting…";
    case "live":
      return "live";
    case "reconnecting":
      return record.stream?.phase === "waiting" ? `reconnecting in ${formatDuration(record.stream.delayMs / 1000)}` : "reconnecting";
    case "stopping":
      return "stopping…";
    case "failed":
      return record.stream?.phase === "ended" && record.stream.end.reason === "failed" ? record.stream.end.message : "failed";
    case "ended":
      return "not following";
    default:
      return phase;
  }
}

/** "update 12 · 196,608 steps · live": what arrived, and how the stream stands. */
export function statusLine(record: RunRecord): string {
  const updates = record.series.steps.length;
  const steps = record.latestUpdate?.env_steps ?? record.done?.env_steps ?? 0;
  return `update ${updates} · ${formatCount(steps)} steps · ${phaseText(record)}`;
}

function DoneSummary({ record }: { record: RunRecord }) {
  const done = record.done;
  if (!done) return null;
  const { summary } = done;
  const reach = Object.entries(summary.reach)
    .filter(([, fraction]) => fraction > 0)
    .sort(([a], [b]) => Number(b) - Number(a))[0];
  return (
    <p className="run-summary" data-testid="run-summary">
      <strong>{done.status[0].toUpperCase() + done.status.slice(1)}</strong> after {formatDuration(done.elapsed_s)}
      {summary.mean_score !== null && ` · mean score ${formatCount(summary.mean_score)} over ${formatCount(summary.games)} games`}
      {summary.max_score !== null && ` · best ${formatCount(summary.max_score)}`}
      {reach && ` · ${reach[0]} tile in ${Math.round(reach[1] * 100)}% of games`}
      {done.message && <span className="run-summary__message"> {done.message}</span>}
    </p>
  );
}

function ChartTabs({ record }: { record: RunRecord }) {
  const [kind, setKind] = useState<ChartKind>("score");
  return (
    <Tabs label="Charts" tabs={CHART_TABS} selected={kind} onSelect={setKind}>
      <MetricChart key={`${record.runId}:${kind}`} kind={kind} series={record.series} revision={record.revision} />
    </Tabs>
  );
}

const CHART_TABS: readonly { key: ChartKind; text: string }[] = [
  { key: "score", text: "Score" },
  { key: "losses", text: "Losses" },
];

export function TrainPanel({ design, sync, onShowBlock }: TrainPanelProps) {
  const designId = design.id;
  const record = useRuns((state) => shownRun(state, designId));
  const [budget, setBudget] = useState(DEFAULT_BUDGET);
  const [step, setStep] = useState<string | null>(null);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [history, setHistory] = useState<History>({ kind: "loading" });
  const designRef = useRef(design);
  designRef.current = design;

  /** Show a run of this design, mapping its MoE layers onto the design as it is now. */
  const watch = useCallback((runId: string) => watchRun(runId, { designId, layers: moeLayerBlocks(designRef.current) }), [designId]);

  const refreshHistory = useCallback(async () => {
    try {
      const runs = await listRuns(designId);
      setHistory({ kind: "loaded", runs });
      return runs;
    } catch (error) {
      setHistory({ kind: "failed", failure: describeFailure(error) });
      return null;
    }
  }, [designId]);

  // On opening, and when the shown run ends: list the runs, and pick up one still training.
  const doneSeq = record?.done ? record.lastSeq : 0;
  useEffect(() => {
    let cancelled = false;
    void refreshHistory().then((runs) => {
      const active = runs?.find((run) => ACTIVE_STATUSES.has(run.status));
      if (!cancelled && active && !shownRun(useRuns.getState(), designId)) watch(active.id);
    });
    return () => {
      cancelled = true;
    };
  }, [refreshHistory, designId, doneSeq, watch]);

  const active = record !== null && ACTIVE_PHASES.has(runPhase(record));

  const start = async () => {
    setFailure(null);
    setStep("Syncing the design…");
    const refused = await syncFirst(sync, designId);
    if (refused) {
      setStep(null);
      setFailure(refused);
      return;
    }
    setStep("Starting…");
    try {
      const accepted = await startTraining(designId, budgetByKey(budget).request);
      watch(accepted.run_id);
      void refreshHistory();
    } catch (error) {
      setFailure(describeFailure(error));
    } finally {
      setStep(null);
    }
  };

  const stop = async (runId: string) => {
    markStopping(runId, true);
    try {
      await stopRun(runId);
    } catch (error) {
      markStopping(runId, false);
      setFailure(describeFailure(error));
    }
  };

  /** A 409 named the active run: watch it when it is this design's; otherwise say whose it is. */
  const watchBusy = async (runId: string) => {
    try {
      const run = await getRun(runId);
      if (run.design_id === designId) {
        setFailure(null);
        watch(runId);
      } else {
        setFailure({ kind: "server", message: `The server is training design ${run.design_id} (run ${runId}, started ${formatWhen(run.created_at)}). Open that design to watch or stop it.` });
      }
    } catch (error) {
      setFailure(describeFailure(error));
    }
  };

  return (
    <div className="train-panel" aria-busy={step !== null}>
      <fieldset className="budget-picker" disabled={active || step !== null}>
        <legend className="sheet__section">Budget</legend>
        <div className="budget-picker__choices">
          {BUDGETS.map((choice) => (
            <label key={choice.key} className="chip">
              <input type="radio" name="train-budget" value={choice.key} checked={budget === choice.key} onChange={() => setBudget(choice.key)} />
              <span>{choice.label}</span>
            </label>
          ))}
        </div>
      </fieldset>
      <div className="sheet__actions">
        {active && record ? (
          <button type="button" className="button button--danger" onClick={() => void stop(record.runId)} disabled={record.stopping}>
            {record.stopping ? "Stopping…" : "Stop"}
          </button>
        ) : (
          <button type="button" className="button button--primary" onClick={() => void start()} disabled={step !== null}>
            Start training
          </button>
        )}
        {step && (
          <span className="compile-panel__step" role="status">
            {step}
          </span>
        )}
      </div>
      {failure && <FailureNotice failure={failure} onShowBlock={onShowBlock} onWatch={(runId) => void watchBusy(runId)} />}
      {record && (
        <>
          <p className="run-status-line" role="status" data-testid="run-status" data-events={record.events.length}>
            <span className="run-status-line__id">{record.runId}</span> {statusLine(record)}
          </p>
          <ChartTabs record={record} />
          <DoneSummary record={record} />
          <RunExpertUsage record={record} />
        </>
      )}
      <h3 className="sheet__section">Earlier runs</h3>
      {history.kind === "loading" && <p className="sheet__empty">Loading runs…</p>}
      {history.kind === "failed" && <FailureNotice failure={history.failure} />}
      {history.kind === "loaded" && <RunHistory runs={history.runs} shownRunId={record?.runId ?? null} onOpen={(run) => watch(run.id)} />}
      {history.kind !== "loading" && (
        <div className="sheet__actions">
          <button type="button" className="button button--quiet" onClick={() => void refreshHistory()}>
            Refresh runs
          </button>
        </div>
      )}
    </div>
  );
}
