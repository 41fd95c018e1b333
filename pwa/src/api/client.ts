/**
 * The one way the app talks to the server: same-origin `/api/...` paths, the paired bearer
 * token added to every call, and failures sorted into three kinds a caller can act on:
 * `NotPairedError` (pair first), `OfflineError` (the server cannot be reached: keep working
 * locally, try later) and `ApiError` (the server answered with an error: show its message).
 *
 * Every answer is also reported to `onApiStatus` listeners (the sync status badge), so a 401 on
 * any call shows "pair again" without each caller having to say so.
 */
import { getToken } from "../sync/pairing";
import type { ProblemDetail } from "./types";

/** No token is stored: this device has not been paired with a server. */
export class NotPairedError extends Error {
  constructor() {
    super("This device is not paired with a server: open the pairing link or scan the server's QR code.");
    this.name = "NotPairedError";
  }
}

/** The request never got an answer: no network, the server is down, or it took too long. */
export class OfflineError extends Error {
  constructor(cause?: unknown) {
    super("The server cannot be reached: your work is kept on this device.", { cause });
    this.name = "OfflineError";
  }
}

/** The server answered with a non-2xx status; `problem` is its error body when it sent one. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: ProblemDetail | null;
  readonly body: unknown;

  constructor(status: number, body: unknown) {
    const problem = problemOf(body);
    super(problem?.message ?? `The server answered ${status}.`);
    this.name = "ApiError";
    this.status = status;
    this.code = problem?.code ?? `http_${status}`;
    this.problem = problem;
    this.body = body;
  }
}

/** The `error` of a `{"error": {"code", "message", ...}}` body, or null for any other body. */
export function problemOf(body: unknown): ProblemDetail | null {
  if (typeof body !== "object" || body === null || !("error" in body)) return null;
  const detail = (body as { error: unknown }).error;
  if (typeof detail !== "object" || detail === null) return null;
  const { code, message } = detail as Record<string, unknown>;
  return typeof code === "string" && typeof message === "string" ? (detail as ProblemDetail) : null;
}

/** What a call's outcome says about the server, for the status badge. */
export type ApiSignal = "online" | "offline" | "unauthorized";

const listeners = new Set<(signal: ApiSignal) => void>();

/** Be told how each call went; returns the unsubscribe function. */
export function onApiStatus(listener: (signal: ApiSignal) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function report(signal: ApiSignal): void {
  for (const listener of listeners) listener(signal);
}

/** Where requests go and with what: the browser's same-origin fetch by default. */
export interface ApiTransport {
  /** Prefix for paths: "" in the app (same origin); `http://127.0.0.1:<port>` in tests. */
  baseUrl: string;
  fetch: typeof fetch;
  getToken: () => Promise<string | null>;
}

const defaultTransport = (): ApiTransport => ({ baseUrl: "", fetch: (input, init) => globalThis.fetch(input, init), getToken });
let transport: ApiTransport = defaultTransport();

/** Replace parts of the transport (tests, or a server on another origin); returns the undo. */
export function configureApi(overrides: Partial<ApiTransport>): () => void {
  const previous = transport;
  transport = { ...transport, ...overrides };
  return () => {
    transport = previous;
  };
}

/** Give up waiting for the response headers after this long (a phone on the wrong Wi-Fi can hang). */
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface ApiInit extends RequestInit {
  /** Milliseconds to wait for the response headers (not the body: streams may run long); 0: forever. */
  timeoutMs?: number;
}

/**
 * `fetch` of a same-origin API path with the bearer token. Resolves with the Response for ANY
 * status (callers decide); throws NotPairedError without a token, OfflineError when no answer
 * came, and rethrows the caller's own abort.
 */
export async function apiFetch(path: string, init: ApiInit = {}): Promise<Response> {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, ...request } = init;
  const token = await transport.getToken();
  if (!token) throw new NotPairedError();
  const headers = new Headers(request.headers);
  headers.set("Authorization", `Bearer ${token}`);

  const timeout = new AbortController();
  const timer = timeoutMs > 0 ? setTimeout(() => timeout.abort(), timeoutMs) : undefined;
  const signal = request.signal ? AbortSignal.any([request.signal, timeout.signal]) : timeout.signal;
  let response: Response;
  try {
    response = await transport.fetch(`${transport.baseUrl}${path}`, { ...request, headers, signal });
  } catch (error) {
    if (request.signal?.aborted) throw error; // the caller cancelled: not a connectivity problem
    report("offline");
    throw new OfflineError(error);
  } finally {
    clearTimeout(timer);
  }
  report(response.status === 401 ? "unauthorized" : "online");
  return response;
}

/** The body as JSON, or as text when it is not JSON, or null when empty. */
async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * A JSON call: `json` (if given) is sent as the body, the answer is parsed and returned for a
 * 2xx (undefined for 204), and any other status throws ApiError with the server's Problem.
 */
export async function apiJson<T>(path: string, init: ApiInit & { json?: unknown } = {}): Promise<T> {
  const { json, ...request } = init;
  const headers = new Headers(request.headers);
  headers.set("Accept", "application/json");
  if (json !== undefined) headers.set("Content-Type", "application/json");
  const response = await apiFetch(path, { ...request, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
  let body: unknown;
  try {
    body = await readBody(response);
  } catch (error) {
    throw new OfflineError(error); // the connection dropped mid-body
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return (response.status === 204 ? undefined : body) as T;
}

/** Wait this long for the health check; a reachable server answers in milliseconds. */
export const HEALTH_TIMEOUT_MS = 5_000;

/**
 * `GET /api/health`, which needs no token: whether the server can be reached at all. Not
 * reported to `onApiStatus` listeners (it says nothing about the token). Never throws.
 */
export async function serverAnswers(timeoutMs: number = HEALTH_TIMEOUT_MS): Promise<boolean> {
  try {
    const response = await transport.fetch(`${transport.baseUrl}/api/health`, {
      headers: { Accept: "application/json" },
      cache: "no-store",
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
