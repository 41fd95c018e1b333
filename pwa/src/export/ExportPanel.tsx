/**
 * Download the design's model as `.onnx`, `.pt` or `.py`. Each download syncs the design first
 * (so the server exports what is on screen), then saves the file and shows whose weights it
 * holds. An `.onnx` is then checked on this device: the same bytes run in onnxruntime-web and
 * must match the server's answer on a few boards.
 */
import { useEffect, useRef, useState } from "react";
import { ApiError } from "../api/client";
import type { SyncCheck } from "../sync/check";
import { track } from "../telemetry/track";
import { BottomSheet } from "../ui/BottomSheet";
import { EXPORT_FORMATS, fetchExport, FORMAT_LABELS, saveFile, type DownloadedExport, type ExportFormat } from "./download";
import { checkOnnxExport, type OnnxCheck } from "./onnxCheck";

/** What the sync step says: go on, or stop with a reason (a conflict to resolve, no server...). */
export type { SyncCheck } from "../sync/check";

export interface ExportPanelProps {
  designId: string;
  /** Push the design to the server before exporting; anything but `{ok: true}` (or a throw) stops the export. */
  sync: (designId: string) => Promise<SyncCheck>;
  /** Export this run's checkpoint instead of the latest one that fits the design. */
  run?: string;
  /** How a downloaded `.onnx` is checked: on this device against the server (the default). */
  checkOnnx?: (designId: string, file: DownloadedExport) => Promise<OnnxCheck>;
}

type Activity =
  | { kind: "idle" }
  | { kind: "syncing" | "downloading"; fmt: ExportFormat }
  | { kind: "saved"; fmt: ExportFormat; filename: string; bytes: number }
  | { kind: "failed"; fmt: ExportFormat; message: string };

type CheckState = { state: "idle" } | { state: "running" } | OnnxCheck;

const BUSY = new Set<Activity["kind"]>(["syncing", "downloading"]);

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function activityText(activity: Activity): string {
  switch (activity.kind) {
    case "idle":
      return "The server builds each file from the design as it is now.";
    case "syncing":
      return "Syncing the design…";
    case "downloading":
      return activity.fmt === "onnx" ? "Exporting .onnx (the server checks it first; this takes a few seconds)…" : `Exporting .${activity.fmt}…`;
    case "saved":
      return `Saved ${activity.filename} (${sizeText(activity.bytes)}).`;
    case "failed":
      return `Could not export .${activity.fmt}: ${activity.message}`;
  }
}

function checkText(check: CheckState): string {
  switch (check.state) {
    case "idle":
      return "Download the .onnx to check that it runs on this device.";
    case "running":
      return "Checking the .onnx in onnxruntime on this device…";
    default:
      return check.message;
  }
}

export function ExportPanel({ designId, sync, run, checkOnnx = checkOnnxExport }: ExportPanelProps) {
  const [activity, setActivity] = useState<Activity>({ kind: "idle" });
  const [weights, setWeights] = useState<string | null>(null);
  const [check, setCheck] = useState<CheckState>({ state: "idle" });
  const lastOnnx = useRef<DownloadedExport | null>(null);
  const alive = useRef<AbortController | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    alive.current = controller;
    return () => controller.abort();
  }, []);

  // A design switch starts over: another design's weights and check would mislead.
  useEffect(() => {
    setActivity({ kind: "idle" });
    setWeights(null);
    setCheck({ state: "idle" });
    lastOnnx.current = null;
  }, [designId, run]);

  const busy = BUSY.has(activity.kind) || check.state === "running";

  async function verify(file: DownloadedExport): Promise<void> {
    setCheck({ state: "running" });
    let outcome: OnnxCheck;
    try {
      outcome = await checkOnnx(designId, file);
    } catch (error) {
      outcome = { state: "failed", stage: "load", message: `The check could not run: ${messageOf(error)}` };
    }
    if (!alive.current?.signal.aborted) setCheck(outcome);
  }

  async function download(fmt: ExportFormat): Promise<void> {
    const signal = alive.current?.signal;
    const started = performance.now();
    setActivity({ kind: "syncing", fmt });
    try {
      const synced = await sync(designId);
      if (!synced.ok) {
        setActivity({ kind: "failed", fmt, message: synced.message });
        return;
      }
      setActivity({ kind: "downloading", fmt });
      const file = await fetchExport(designId, fmt, { run, signal });
      if (signal?.aborted) return;
      saveFile(file);
      setActivity({ kind: "saved", fmt, filename: file.filename, bytes: file.bytes.length });
      setWeights(file.weights);
      void track("export_done", { designId, fmt, time_ms: Math.round(performance.now() - started), bytes: file.bytes.length });
      if (fmt === "onnx") {
        lastOnnx.current = file;
        await verify(file);
      }
    } catch (error) {
      if (signal?.aborted) return;
      setActivity({ kind: "failed", fmt, message: messageOf(error) });
      void track("export_failed", { designId, fmt, code: error instanceof ApiError ? error.code : error instanceof Error ? error.name : "unknown" });
    }
  }

  const checkState = check.state;
  const maxDiff = "comparison" in check && check.comparison ? check.comparison.maxDiff : null;
  return (
    <div className="export-panel">
      <div className="export-panel__formats">
        {EXPORT_FORMATS.map((fmt) => (
          <button
            key={fmt}
            type="button"
            className={`button export-format${fmt === "onnx" ? " button--primary" : ""}`}
            disabled={busy}
            onClick={() => void download(fmt)}
          >
            <span className="export-format__ext">.{fmt}</span>
            <span className="export-format__label">{FORMAT_LABELS[fmt]}</span>
          </button>
        ))}
      </div>
      <p className={`export-panel__status${activity.kind === "failed" ? " export-panel__status--failed" : ""}`} role="status" data-testid="export-status">
        {activityText(activity)}
      </p>
      {weights !== null && (
        <p className="export-panel__weights" data-testid="export-weights">
          Weights: {weights}
        </p>
      )}
      <div className={`onnx-check onnx-check--${checkState}`} data-testid="onnx-check" data-state={checkState} data-max-diff={maxDiff === null ? undefined : String(maxDiff)} aria-live="polite">
        <p className="onnx-check__text">{checkText(check)}</p>
        {(checkState === "ok" || checkState === "failed") && lastOnnx.current && (
          <button type="button" className="button button--quiet" disabled={busy} onClick={() => lastOnnx.current && void verify(lastOnnx.current)}>
            Check again
          </button>
        )}
      </div>
    </div>
  );
}

/** The panel in a bottom sheet, for the toolbar's Export action. */
export function ExportSheet({ designName, onClose, ...panel }: ExportPanelProps & { designName: string; onClose: () => void }) {
  return (
    <BottomSheet title="Export" subtitle={designName} onClose={onClose}>
      <ExportPanel {...panel} />
    </BottomSheet>
  );
}
