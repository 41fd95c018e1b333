/**
 * Follow a run's event stream over `fetch` (EventSource cannot send the bearer token), resuming
 * from the last event received whenever the connection drops, the phone comes back online, or the
 * page becomes visible again after the phone slept. Each reconnect sends `Last-Event-ID`, so the
 * server replays exactly what was missed: no event is skipped or delivered twice. It ends on the
 * `done` event.
 *
 * No React and no store: `runStore.ts` turns the callbacks into state.
 */
import { apiFetch, NotPairedError } from "../api/client";
import type { RunStatus, TrainingDone, TrainingUpdate } from "../api/types";
import { SseParser } from "./sse";

/** One event of a run, with its `seq` (the SSE id). */
export type RunEvent =
  | { seq: number; type: "training_update"; data: TrainingUpdate }
  | { seq: number; type: "done"; data: TrainingDone };

export type StreamState =
  | { phase: "connecting"; attempt: number }
  | { phase: "live" }
  /** A reconnect is scheduled in `delayMs`; `reason` says why, for people. */
  | { phase: "waiting"; delayMs: number; reason: string }
  | { phase: "ended"; end: FollowEnd };

/**
 * How following ended. "done": the `done` event arrived. "finished": the server has no more
 * events and says the run is over, but sent no `done`. "stopped": `stop()` was called.
 * "failed": the server refused in a way retrying cannot fix (not paired, no such run).
 */
export type FollowEnd =
  | { reason: "done" | "finished" | "stopped"; lastEventId: number }
  | { reason: "failed"; lastEventId: number; message: string };

export type WakeReason = "online" | "visible";
/** Subscribes `wake` to the moments a dead connection is worth retrying at once; returns an unsubscribe. */
export type WakeSource = (wake: (reason: WakeReason) => void) => () => void;

export type Fetcher = (path: string, init: RequestInit) => Promise<Response>;

export interface FollowOptions {
  /** Resume after this event; 0 (the default) replays the run from its start. */
  lastEventId?: number;
  onEvent: (event: RunEvent) => void;
  onState?: (state: StreamState) => void;
  /** Defaults to `apiFetch`, which adds the bearer token. */
  fetcher?: Fetcher;
  /** Defaults to the browser's `online` and `visibilitychange` events. */
  wake?: WakeSource;
  /** First reconnect delay until the server sends `retry:`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** With no byte for this long (the server pings every 15 s), the connection is taken as dead. */
  stallTimeoutMs?: number;
  /** On waking, a connection silent for this long is replaced at once instead of trusted. */
  staleAfterMs?: number;
}

export interface RunFollower {
  stop(): void;
  readonly finished: Promise<FollowEnd>;
}

export const DEFAULT_INITIAL_DELAY_MS = 1000;
export const DEFAULT_MAX_DELAY_MS = 30_000;
/** Two missed pings (the server sends one every 15 s) and a margin. */
export const DEFAULT_STALL_TIMEOUT_MS = 40_000;
/** Longer than one ping interval: a live stream always has a byte this recent. */
export const DEFAULT_STALE_AFTER_MS = 20_000;

const ACTIVE_STATUSES: ReadonlySet<string> = new Set(["queued", "running"]);

/** Status codes worth retrying: the server is busy, restarting, or behind a proxy that is. */
function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export const browserWake: WakeSource = (wake) => {
  if (typeof window === "undefined" || typeof document === "undefined") return () => {};
  const online = () => wake("online");
  const visible = () => {
    if (document.visibilityState === "visible") wake("visible");
  };
  window.addEventListener("online", online);
  document.addEventListener("visibilitychange", visible);
  return () => {
    window.removeEventListener("online", online);
    document.removeEventListener("visibilitychange", visible);
  };
};

/** The delay before reconnect attempt `attempt` (1-based): the base, doubling, capped. */
export function reconnectDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/** The message of a refused request, from its `{error: {message}}` body when it has one. */
async function refusal(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: { message?: unknown } };
    if (typeof body.error?.message === "string") return body.error.message;
  } catch {
    // not JSON: fall through to the status line
  }
  return `The server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ""}.`;
}

/** The event a message carries, or null when it is not one the run stream defines. */
function toRunEvent(type: string, seq: number, data: string): RunEvent | null {
  if (type !== "training_update" && type !== "done") return null;
  let body: unknown;
  try {
    body = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof body !== "object" || body === null) return null;
  if (type === "done") return typeof (body as TrainingDone).status === "string" ? { seq, type, data: body as TrainingDone } : null;
  const update = body as TrainingUpdate;
  const wellFormed = typeof update.env_steps === "number" && typeof update.episodes === "object" && typeof update.losses === "object" && typeof update.moe === "object";
  return wellFormed ? { seq, type, data: update } : null;
}

export function followRun(runId: string, options: FollowOptions): RunFollower {
  const fetcher = options.fetcher ?? apiFetch;
  const initialDelayMs = options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const eventsPath = `/api/runs/${encodeURIComponent(runId)}/events`;
  const statusPath = `/api/runs/${encodeURIComponent(runId)}`;

  let lastEventId = options.lastEventId ?? 0;
  let serverRetryMs: number | null = null;
  let stopped = false;
  let live = false;
  let lastByteAt = 0;
  let connection: AbortController | null = null;
  let cutWait: (() => void) | null = null;
  /** The page woke with a silent connection, which was dropped to reconnect at once. */
  let replaceNow = false;

  const stopController = new AbortController();
  const setState = (state: StreamState) => options.onState?.(state);

  const unsubscribeWake = (options.wake ?? browserWake)(() => {
    if (stopped) return;
    if (cutWait) cutWait();
    else if (live && Date.now() - lastByteAt > staleAfterMs) {
      replaceNow = true; // a phone that slept often keeps a dead socket that never errors
      connection?.abort();
    }
  });

  /** Wait `ms`, or less if woken or stopped. */
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        cutWait = null;
        stopController.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      cutWait = done;
      stopController.signal.addEventListener("abort", done);
    });

  type Attempt = { kind: "done" } | { kind: "closed"; received: number } | { kind: "dropped"; received: number; reason: string } | { kind: "failed"; message: string };

  /** Read one connection's events until it ends. */
  async function readStream(response: Response, controller: AbortController): Promise<Attempt> {
    if (!response.body) return { kind: "dropped", received: 0, reason: "The server sent no stream." };
    const reader = response.body.getReader();
    // A fetch body errors on abort; cancelling as well ends the read whatever the body does.
    const cancelOnAbort = () => void reader.cancel().catch(() => {});
    controller.signal.addEventListener("abort", cancelOnAbort);
    const parser = new SseParser();
    let received = 0;
    let stall: ReturnType<typeof setTimeout> | undefined;
    const armStall = () => {
      clearTimeout(stall);
      stall = setTimeout(() => controller.abort(), stallTimeoutMs);
    };
    try {
      armStall();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return controller.signal.aborted ? { kind: "dropped", received, reason: "The stream went silent." } : { kind: "closed", received };
        lastByteAt = Date.now();
        armStall();
        const messages = parser.push(value);
        if (parser.retryMs !== null) serverRetryMs = parser.retryMs;
        for (const message of messages) {
          const seq = Number(message.lastEventId);
          // Defensive: an event at or before the last one was already delivered.
          if (!Number.isSafeInteger(seq) || seq <= lastEventId) continue;
          lastEventId = seq;
          const event = toRunEvent(message.event, seq, message.data);
          if (!event) continue; // not a run event this app knows: skipped, but never replayed
          received++;
          options.onEvent(event);
          if (event.type === "done") return { kind: "done" };
        }
      }
    } catch {
      return { kind: "dropped", received, reason: controller.signal.aborted ? "The stream went silent." : "The connection dropped." };
    } finally {
      clearTimeout(stall);
      controller.signal.removeEventListener("abort", cancelOnAbort);
      parser.end();
      reader.cancel().catch(() => {});
    }
  }

  /** One connection: open it, read it, and say how it ended. */
  async function connectOnce(): Promise<Attempt> {
    const controller = new AbortController();
    connection = controller;
    const abortOnStop = () => controller.abort();
    stopController.signal.addEventListener("abort", abortOnStop);
    try {
      let response: Response;
      try {
        response = await fetcher(eventsPath, {
          headers: { Accept: "text/event-stream", "Last-Event-ID": String(lastEventId) },
          cache: "no-store",
          signal: controller.signal,
        });
      } catch (error) {
        if (error instanceof NotPairedError) return { kind: "failed", message: "This app is not paired with a server." };
        return { kind: "dropped", received: 0, reason: "The server is unreachable." };
      }
      if (!response.ok) {
        const message = await refusal(response);
        return retryable(response.status) ? { kind: "dropped", received: 0, reason: message } : { kind: "failed", message };
      }
      live = true;
      lastByteAt = Date.now();
      setState({ phase: "live" });
      return await readStream(response, controller);
    } finally {
      live = false;
      connection = null;
      stopController.signal.removeEventListener("abort", abortOnStop);
    }
  }

  /** After a clean close with nothing new: is the run over? (Then reconnecting would loop.) */
  async function runIsOver(): Promise<boolean> {
    try {
      const response = await fetcher(statusPath, { headers: { Accept: "application/json" }, cache: "no-store", signal: stopController.signal });
      if (!response.ok) return false;
      const status = (await response.json()) as RunStatus;
      return !ACTIVE_STATUSES.has(status.status) && status.last_seq <= lastEventId;
    } catch {
      return false;
    }
  }

  async function run(): Promise<FollowEnd> {
    let attempt = 0;
    while (!stopped) {
      attempt++;
      setState({ phase: "connecting", attempt });
      const outcome = await connectOnce();
      if (stopped) break;
      if (outcome.kind === "done") return { reason: "done", lastEventId };
      if (outcome.kind === "failed") return { reason: "failed", lastEventId, message: outcome.message };
      if (outcome.received > 0) attempt = 1; // it worked: start the backoff over
      if (outcome.kind === "closed" && outcome.received === 0 && (await runIsOver())) return { reason: "finished", lastEventId };
      if (stopped) break;
      if (replaceNow) {
        replaceNow = false;
        continue;
      }
      const delayMs = reconnectDelay(attempt, serverRetryMs ?? initialDelayMs, maxDelayMs);
      const reason = outcome.kind === "closed" ? "The server closed the stream." : outcome.reason;
      setState({ phase: "waiting", delayMs, reason });
      await wait(delayMs);
    }
    return { reason: "stopped", lastEventId };
  }

  const finished = run().then((end) => {
    unsubscribeWake();
    setState({ phase: "ended", end });
    return end;
  });

  return {
    stop() {
      if (stopped) return;
      stopped = true;
      stopController.abort();
    },
    finished,
  };
}
