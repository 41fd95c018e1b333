/**
 * Sending stored telemetry to the paired server, `POST /api/telemetry`, and nowhere else.
 *
 * Batches of at most 100 events, oldest first. Events are deleted only once the server answers
 * 202, so a failure, a closed tab or a lost connection loses nothing (at worst, a batch whose 202
 * never arrived is sent again). A 429 waits its `Retry-After`; errors back off from 5 s to 10 min.
 * A batch the server refuses as malformed (400, 413, 422) is dropped instead: it would be refused
 * forever and hold back every event after it. One tab sends at a time (Web Locks, where present).
 */
import { apiFetch, NotPairedError, OfflineError } from "../api/client";
import type { TelemetryBatch } from "../api/types";
import type { Service } from "../app/service";
import { MAX_BATCH_EVENTS, retryAfterMs } from "./events";
import { telemetry as appTelemetry, type TelemetryRecorder } from "./track";

/** Between sends while all is well; a full batch is followed by the next at once. */
export const SEND_INTERVAL_MS = 60_000;
export const FIRST_BACKOFF_MS = 5_000;
export const MAX_BACKOFF_MS = 10 * 60_000;
/** A 429 without a readable Retry-After waits this long. */
export const DEFAULT_RETRY_AFTER_MS = 60_000;
const SEND_LOCK = "model-studio-telemetry-send";
const REFUSED_STATUSES = new Set([400, 413, 422]);

export type SendOutcome =
  | { kind: "sent"; count: number; more: boolean }
  | { kind: "nothing" }
  | { kind: "disabled" }
  | { kind: "offline" }
  | { kind: "unpaired" }
  | { kind: "busy" }
  | { kind: "rate_limited"; waitMs: number }
  | { kind: "refused"; status: number; dropped: number }
  | { kind: "failed"; status: number | null; message: string };

export interface SendOptions {
  recorder?: TelemetryRecorder;
  isOnline?: () => boolean;
  signal?: AbortSignal;
}

const browserOnline = () => typeof navigator === "undefined" || navigator.onLine !== false;

/** Send one batch: the oldest stored events, deleted on 202. */
export async function sendTelemetryBatch({ recorder = appTelemetry, isOnline = browserOnline, signal }: SendOptions = {}): Promise<SendOutcome> {
  if (!(await recorder.isEnabled())) return { kind: "disabled" };
  if (!isOnline()) return { kind: "offline" };
  const db = await recorder.store();
  const batch = await db.oldest(MAX_BATCH_EVENTS);
  if (batch.length === 0) return { kind: "nothing" };
  const body: TelemetryBatch = { events: batch.map(({ event }) => event) as TelemetryBatch["events"], client_id: await recorder.clientId() };
  const keys = batch.map(({ key }) => key);

  let response: Response;
  try {
    response = await apiFetch("/api/telemetry", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal });
  } catch (error) {
    if (error instanceof NotPairedError) return { kind: "unpaired" };
    if (error instanceof OfflineError) return { kind: "offline" };
    throw error; // the caller's abort
  }
  await response.body?.cancel().catch(() => undefined);

  if (response.status === 202) {
    await db.remove(keys);
    await recorder.refresh();
    return { kind: "sent", count: keys.length, more: batch.length === MAX_BATCH_EVENTS && (await db.count()) > 0 };
  }
  if (response.status === 429) return { kind: "rate_limited", waitMs: retryAfterMs(response.headers.get("retry-after"), DEFAULT_RETRY_AFTER_MS) };
  if (REFUSED_STATUSES.has(response.status)) {
    console.warn(`Telemetry: the server refused a batch of ${keys.length} events (${response.status}); dropping it.`);
    await db.remove(keys);
    await recorder.refresh();
    return { kind: "refused", status: response.status, dropped: keys.length };
  }
  return { kind: "failed", status: response.status, message: `The server answered ${response.status}.` };
}

/** `sendTelemetryBatch` in the one tab that holds the send lock; "busy" in the others. */
function sendAlone(options: SendOptions): Promise<SendOutcome> {
  const locks = typeof navigator === "undefined" ? undefined : navigator.locks;
  if (!locks) return sendTelemetryBatch(options);
  return locks.request(SEND_LOCK, { ifAvailable: true }, (lock) => (lock ? sendTelemetryBatch(options) : { kind: "busy" as const }));
}

export interface TelemetryServiceOptions {
  recorder?: TelemetryRecorder;
  isOnline?: () => boolean;
  intervalMs?: number;
  /** Where `online` events come from: `window` in the app. */
  events?: EventTarget;
}

export interface TelemetryService extends Service {
  /** Send a batch now (or join the send in progress). */
  sendNow(): Promise<SendOutcome>;
}

/** How long to wait after `outcome`, given the current back-off. */
export function nextDelay(outcome: SendOutcome, backoffMs: number, intervalMs: number): number {
  switch (outcome.kind) {
    case "sent":
    case "refused":
      return outcome.kind === "sent" && !outcome.more ? intervalMs : 0;
    case "rate_limited":
      return outcome.waitMs;
    case "failed":
      return backoffMs;
    default:
      return intervalMs;
  }
}

/** Sends on start, then every `intervalMs`, at once when the browser comes back online, and after each full batch. */
export function createTelemetryService({
  recorder = appTelemetry,
  isOnline = browserOnline,
  intervalMs = SEND_INTERVAL_MS,
  events = typeof window === "undefined" ? undefined : window,
}: TelemetryServiceOptions = {}): TelemetryService {
  let running = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let abort = new AbortController();
  let inFlight: Promise<SendOutcome> | null = null;
  let backoffMs = FIRST_BACKOFF_MS;

  const schedule = (ms: number) => {
    clearTimeout(timer);
    if (running) timer = setTimeout(() => void tick(), ms);
  };

  async function tick(): Promise<void> {
    let outcome: SendOutcome;
    try {
      outcome = await sendNow();
    } catch (error) {
      if (!running) return; // stopped mid-send
      outcome = { kind: "failed", status: null, message: error instanceof Error ? error.message : String(error) };
    }
    const delay = nextDelay(outcome, backoffMs, intervalMs);
    backoffMs = outcome.kind === "failed" ? Math.min(backoffMs * 2, MAX_BACKOFF_MS) : FIRST_BACKOFF_MS;
    schedule(delay);
  }

  function sendNow(): Promise<SendOutcome> {
    inFlight ??= sendAlone({ recorder, isOnline, signal: abort.signal }).finally(() => (inFlight = null));
    return inFlight;
  }

  const onOnline = () => schedule(0);

  return {
    start() {
      if (running) return;
      running = true;
      abort = new AbortController();
      events?.addEventListener("online", onOnline);
      schedule(0);
    },
    async stop() {
      if (!running) return;
      running = false;
      clearTimeout(timer);
      events?.removeEventListener("online", onOnline);
      abort.abort();
      await inFlight?.catch(() => undefined);
    },
    sendNow,
  };
}
