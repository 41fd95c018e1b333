/**
 * The sync protocol, one design at a time, over HTTP conditional requests (see the server's
 * design_routes.py): a design's server `version` is its ETag.
 *
 * - First push: `PUT /api/designs/{id}` with `If-None-Match: *` - 201 created, 200 the same
 *   body was already there, 412 the server holds a different design under this id.
 * - Later pushes: `If-Match: "<baseVersion>"` - 200 stored as the next version; 412 someone
 *   else wrote since (the body is the server's copy); 404 it was deleted there: create it again.
 * - A 412 whose server copy equals ours is a success: it is what a resend after a crash (between
 *   "sent" and "recorded") gets, so resending is always harmless.
 *
 * Pure protocol: no storage, no UI. Network failures surface as the client's OfflineError /
 * NotPairedError, thrown through.
 */
import { apiFetch, ApiError } from "../api/client";
import type { DesignRecord } from "../api/types";
import type { ModelArchitecture } from "../model/types";

/** The design's content as one string: keys sorted at every level, so equal designs read the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, node: unknown) => {
    if (node === null || typeof node !== "object" || Array.isArray(node)) return node;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(node).sort()) sorted[key] = (node as Record<string, unknown>)[key];
    return sorted;
  });
}

/**
 * A 64-bit hash of the canonical JSON (cyrb53's mixing, both lanes kept), as 16 hex digits:
 * enough to tell "changed since last sync", not a security check. Synchronous, fast on large
 * designs, and available without a secure context, unlike SubtleCrypto.
 */
export function contentHash(design: ModelArchitecture): string {
  const text = canonicalJson(design);
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, "0") + (h1 >>> 0).toString(16).padStart(8, "0");
}

/** What a PUT is conditional on: creating under our id, or writing over the version we hold. */
export type Precondition = { create: true } | { ifMatch: number };

export function preconditionHeaders(precondition: Precondition): Record<string, string> {
  return "create" in precondition ? { "If-None-Match": "*" } : { "If-Match": `"${precondition.ifMatch}"` };
}

export type PushResult =
  /** The server holds our design now, as `record.version`. */
  | { kind: "stored"; record: DesignRecord; created: boolean }
  /** The server holds a different design under this id: someone must choose. */
  | { kind: "conflict"; server: DesignRecord }
  /** Another answer: `retry` when trying later may work (5xx, 429, 401 after pairing again). */
  | { kind: "failed"; error: ApiError; retry: boolean };

const RETRYABLE = new Set([401, 408, 425, 429]);

export function isRetryable(status: number): boolean {
  return status >= 500 || RETRYABLE.has(status);
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

function isDesignRecord(body: unknown): body is DesignRecord {
  if (typeof body !== "object" || body === null) return false;
  const record = body as Partial<DesignRecord>;
  return typeof record.id === "string" && typeof record.version === "number" && typeof record.design === "object" && record.design !== null;
}

function unexpected(status: number, body: unknown): PushResult {
  return { kind: "failed", error: new ApiError(status, body), retry: isRetryable(status) };
}

/**
 * Push `design` over `baseVersion` (null: it was never stored on the server). `sameAsMine` says
 * whether a server copy (from a 412) holds exactly our content.
 */
export async function pushDesign(
  design: ModelArchitecture,
  baseVersion: number | null,
  sameAsMine: (server: DesignRecord) => boolean | Promise<boolean>,
): Promise<PushResult> {
  let precondition: Precondition = baseVersion === null ? { create: true } : { ifMatch: baseVersion };
  const path = `/api/designs/${encodeURIComponent(design.id)}`;
  for (;;) {
    const response = await apiFetch(path, {
      method: "PUT",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...preconditionHeaders(precondition) },
      body: JSON.stringify(design),
    });
    const body = await readJson(response);
    if (response.status === 200 || response.status === 201) {
      if (!isDesignRecord(body)) return unexpected(response.status, body);
      return { kind: "stored", record: body, created: response.status === 201 };
    }
    if (response.status === 412 && isDesignRecord(body)) {
      return (await sameAsMine(body)) ? { kind: "stored", record: body, created: false } : { kind: "conflict", server: body };
    }
    if (response.status === 404 && !("create" in precondition)) {
      precondition = { create: true }; // deleted on the server: store it again under its id
      continue;
    }
    return unexpected(response.status, body);
  }
}

export type CheckResult =
  /** The server still holds `baseVersion`. */
  | { kind: "current" }
  /** The server moved on: its copy. */
  | { kind: "newer"; record: DesignRecord }
  /** The server has no design with this id (deleted there). */
  | { kind: "missing" }
  | { kind: "failed"; error: ApiError; retry: boolean };

/** Is the server's copy still `baseVersion`? A conditional GET: 304 when it is, no body sent. */
export async function checkDesign(id: string, baseVersion: number): Promise<CheckResult> {
  const response = await apiFetch(`/api/designs/${encodeURIComponent(id)}`, {
    headers: { Accept: "application/json", "If-None-Match": `"${baseVersion}"` },
  });
  if (response.status === 304) return { kind: "current" };
  const body = await readJson(response);
  if (response.status === 200 && isDesignRecord(body)) return body.version === baseVersion ? { kind: "current" } : { kind: "newer", record: body };
  if (response.status === 404) return { kind: "missing" };
  return { kind: "failed", error: new ApiError(response.status, body), retry: isRetryable(response.status) };
}
