/**
 * Exports from the server (`GET /api/designs/{id}/export?fmt=onnx|pt|py[&run=ID]`) and saving
 * them as files on the device. The bytes are kept in memory: an `.onnx` is then checked on the
 * phone from exactly what was saved.
 */
import { ApiError, apiFetch, OfflineError } from "../api/client";

export const EXPORT_FORMATS = ["onnx", "pt", "py"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const FORMAT_LABELS: Record<ExportFormat, string> = {
  onnx: "ONNX, for onnxruntime",
  pt: "PyTorch weights",
  py: "PyTorch source",
};

/** The server traces and checks an ONNX export before answering: seconds, more for big models. */
export const EXPORT_TIMEOUT_MS = 180_000;
const FILENAME_LIMIT = 120;

export interface DownloadedExport {
  fmt: ExportFormat;
  bytes: Uint8Array;
  filename: string;
  contentType: string;
  /** `X-Model-Weights`: whose weights ("run <id>, update <n>" or "fresh, seed 0"). */
  weights: string | null;
}

/** A file name safe to save under: no folders, no control or reserved characters. */
export function safeFilename(name: string, fallback: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  const cleaned = base
    .replace(/[\u0000-\u001f\u007f<>:"|?*]+/g, "_")
    .replace(/^[.\s]+/, "")
    .trim()
    .slice(0, FILENAME_LIMIT);
  return cleaned || fallback;
}

/**
 * The file name a `Content-Disposition` header gives (RFC 6266: `filename*=UTF-8''…` wins over
 * `filename="…"`), made safe; `fallback` when it gives none.
 */
export function filenameFromDisposition(header: string | null, fallback: string): string {
  if (!header) return fallback;
  const extended = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (extended) {
    try {
      return safeFilename(decodeURIComponent(extended[2].trim()), fallback);
    } catch {
      // malformed percent-encoding: fall through to the plain parameter
    }
  }
  const quoted = /filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(header);
  if (quoted) return safeFilename(quoted[1].replace(/\\(.)/g, "$1"), fallback);
  const bare = /filename\s*=\s*([^;\s]+)/i.exec(header);
  return bare ? safeFilename(bare[1], fallback) : fallback;
}

async function errorBody(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => "");
  try {
    return JSON.parse(text);
  } catch {
    return text || null;
  }
}

/**
 * Download an export. Throws `NotPairedError` / `OfflineError` (from `apiFetch`), `ApiError`
 * with the server's problem for a non-2xx answer (404 no design or run, 409 no checkpoint yet,
 * 422 invalid design or a failed export check).
 */
export async function fetchExport(designId: string, fmt: ExportFormat, options: { run?: string; signal?: AbortSignal } = {}): Promise<DownloadedExport> {
  const query = new URLSearchParams({ fmt });
  if (options.run) query.set("run", options.run);
  const response = await apiFetch(`/api/designs/${encodeURIComponent(designId)}/export?${query}`, {
    signal: options.signal,
    timeoutMs: EXPORT_TIMEOUT_MS,
  });
  if (!response.ok) throw new ApiError(response.status, await errorBody(response));
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new OfflineError(error); // the connection dropped mid-file
  }
  return {
    fmt,
    bytes,
    filename: filenameFromDisposition(response.headers.get("content-disposition"), `${designId}.${fmt}`),
    contentType: response.headers.get("content-type") ?? "application/octet-stream",
    weights: response.headers.get("x-model-weights"),
  };
}

/** How long the object URL of a saved file stays alive: the browser reads it after the click returns. */
const REVOKE_AFTER_MS = 60_000;

/** Save bytes as a file: a Blob behind a temporary `<a download>`, clicked. */
export function saveFile(file: Pick<DownloadedExport, "bytes" | "filename" | "contentType">, doc: Document = document): void {
  const url = URL.createObjectURL(new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: file.contentType }));
  const link = doc.createElement("a");
  link.href = url;
  link.download = file.filename;
  link.rel = "noopener";
  link.style.display = "none";
  doc.body.append(link);
  try {
    link.click();
  } finally {
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
  }
}
