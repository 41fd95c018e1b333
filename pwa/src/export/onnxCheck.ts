/**
 * "Loads in onnxruntime", checked where the user is: the downloaded `.onnx` bytes run here on the
 * check boards, the server answers the same boards with torch (`POST /predict`, same weights as
 * the export), and the two must match to 1e-4.
 */
import { apiJson } from "../api/client";
import type { PredictRequest, PredictResult } from "../api/types";
import { track } from "../telemetry/track";
import { checkBoards, type CheckBoards } from "./boards";
import type { DownloadedExport } from "./download";
import { runOnnx, type WasmPaths } from "./onnxRuntime";
import { compareOutputs, describeComparison, MATCH_TOLERANCE, runOfWeights, type Comparison } from "./verify";

export type OnnxCheck =
  | { state: "ok"; comparison: Comparison; message: string; weights: string | null }
  | { state: "failed"; stage: "load" | "server" | "weights" | "match"; message: string; comparison?: Comparison };

export interface OnnxCheckOptions {
  boards?: CheckBoards;
  wasmPaths?: WasmPaths;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Run the check on `download` (an `.onnx` of design `designId`); never throws. */
export async function checkOnnxExport(designId: string, download: Pick<DownloadedExport, "bytes" | "weights">, options: OnnxCheckOptions = {}): Promise<OnnxCheck> {
  const input = options.boards ?? checkBoards();
  const outcome = await runCheck(designId, download, input, options.wasmPaths);
  const props = outcome.comparison ? { ok: outcome.state === "ok", max_diff: outcome.comparison.maxDiff } : { ok: false };
  void track("onnx_verified", { ...props, ...(outcome.state === "failed" ? { stage: outcome.stage } : {}) });
  return outcome;
}

async function runCheck(designId: string, download: Pick<DownloadedExport, "bytes" | "weights">, input: CheckBoards, wasmPaths?: WasmPaths): Promise<OnnxCheck> {
  let phone;
  try {
    phone = await runOnnx(download.bytes, input, wasmPaths);
  } catch (error) {
    return { state: "failed", stage: "load", message: `Does not run in onnxruntime on this device: ${messageOf(error)}` };
  }
  const run = runOfWeights(download.weights);
  const request: PredictRequest = { boards: input.boards as PredictRequest["boards"], masks: input.masks as PredictRequest["masks"], ...(run ? { run } : {}) };
  let server: PredictResult;
  try {
    server = await apiJson<PredictResult>(`/api/designs/${encodeURIComponent(designId)}/predict`, { method: "POST", json: request });
  } catch (error) {
    return { state: "failed", stage: "server", message: `Runs in onnxruntime, but the server's answer to compare with did not come: ${messageOf(error)}` };
  }
  if (download.weights !== null && server.weights !== download.weights) {
    return {
      state: "failed",
      stage: "weights",
      message: `The server's weights changed since this download (${download.weights}; now ${server.weights}): download it again to check.`,
    };
  }
  const comparison = compareOutputs(phone, server, input.masks, MATCH_TOLERANCE);
  const message = describeComparison(comparison, MATCH_TOLERANCE);
  return comparison.ok ? { state: "ok", comparison, message, weights: server.weights } : { state: "failed", stage: "match", message, comparison };
}
