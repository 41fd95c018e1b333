/**
 * The server calls behind Compile and Train, and what their failures mean for people. Every call
 * goes through the shared API client, so it carries the pairing token.
 */
import { ApiError, apiFetch, apiJson, NotPairedError, OfflineError } from "../api/client";
import type { CompileResult, DesignError, RunList, RunStatus, TrainAccepted, TrainRequest } from "../api/types";
import { NOT_PAIRED_MESSAGE, OFFLINE_MESSAGE, type SyncDesign } from "../sync/check";
import { track } from "../telemetry/track";

/**
 * Whether a design may go to the server: the caller's sync (push the latest local edits, stop on
 * a conflict) must say ok first. Injected, so this feature knows nothing of how sync works.
 */
export type { SyncCheck, SyncDesign } from "../sync/check";

const designPath = (designId: string) => `/api/designs/${encodeURIComponent(designId)}`;
const runPath = (runId: string) => `/api/runs/${encodeURIComponent(runId)}`;

export async function compileDesign(designId: string): Promise<CompileResult> {
  const started = performance.now();
  try {
    const result = await apiJson<CompileResult>(`${designPath(designId)}/compile`, { method: "POST" });
    void track("compile_success", { designId, paramCount: result.paramCountExact, time_ms: Math.round(performance.now() - started) });
    return result;
  } catch (error) {
    void track("compile_failed", { designId, code: error instanceof ApiError ? error.code : "offline" });
    throw error;
  }
}

/** The generated PyTorch source, as the `.py` export serves it. */
export async function fetchSource(designId: string): Promise<string> {
  const response = await apiFetch(`${designPath(designId)}/export?fmt=py`, { headers: { Accept: "text/x-python, application/json" } });
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new OfflineError(error);
  }
  if (!response.ok) {
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // a non-JSON error body is kept as text
    }
    throw new ApiError(response.status, body);
  }
  return text;
}

export async function startTraining(designId: string, request: TrainRequest): Promise<TrainAccepted> {
  const accepted = await apiJson<TrainAccepted>(`${designPath(designId)}/train`, { method: "POST", json: request });
  void track("train_started", { designId, run_id: accepted.run_id, max_minutes: request.max_minutes ?? null, max_env_steps: request.max_env_steps ?? null });
  return accepted;
}

/** Ask a run to stop: it checkpoints, then sends `done`. */
export async function stopRun(runId: string): Promise<RunStatus> {
  const status = await apiJson<RunStatus>(`${runPath(runId)}/stop`, { method: "POST" });
  void track("train_stopped", { designId: status.design_id, run_id: runId, status: status.status });
  return status;
}

export function getRun(runId: string): Promise<RunStatus> {
  return apiJson<RunStatus>(runPath(runId));
}

/** The design's runs, newest first. */
export async function listRuns(designId: string): Promise<RunStatus[]> {
  return (await apiJson<RunList>(`${designPath(designId)}/runs`)).runs;
}

export type Failure =
  | { kind: "not_paired" | "offline" | "server" | "sync"; message: string }
  | { kind: "invalid"; message: string; errors: DesignError[] }
  /** Another run is training (the server trains one at a time); it can be watched instead. */
  | { kind: "busy"; message: string; runId: string };


export function describeFailure(error: unknown): Failure {
  if (error instanceof NotPairedError) return { kind: "not_paired", message: NOT_PAIRED_MESSAGE };
  if (error instanceof OfflineError) return { kind: "offline", message: OFFLINE_MESSAGE };
  if (error instanceof ApiError) {
    const problem = error.problem;
    if (error.status === 422 && problem?.errors?.length) return { kind: "invalid", message: problem.message, errors: problem.errors };
    if (error.status === 409 && problem?.code === "run_active" && problem.run_id) return { kind: "busy", message: problem.message, runId: problem.run_id };
    if (error.status === 401) return { kind: "not_paired", message: "The server did not accept this phone's pairing. Pair again from the server's link." };
    return { kind: "server", message: error.message };
  }
  return { kind: "server", message: error instanceof Error ? error.message : String(error) };
}

/** Sync first; a refusal (a conflict, no connection) becomes a Failure and nothing is sent. */
export async function syncFirst(sync: SyncDesign, designId: string): Promise<Failure | null> {
  try {
    const check = await sync(designId);
    return check.ok ? null : { kind: "sync", message: check.message };
  } catch (error) {
    return describeFailure(error);
  }
}
