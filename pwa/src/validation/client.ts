/**
 * The editor's handle on the validation worker. Edits arrive faster than validation is useful,
 * so `post` waits for a pause in typing or dragging before it sends; every request carries an
 * increasing revision, and a reply for anything but the latest request is dropped, so a slow
 * answer about an old design never overwrites the answer about the current one.
 *
 * A worker that fails (its script does not load, it throws, or a reply cannot be read) would
 * leave the last answer standing for a design that has since changed, so the client stops and
 * says so through `onFailure` instead: the app then tells the user to reload.
 */
import type { ValidationResult } from "../model/types";

/** Quiet time after the last edit before the design is validated. */
export const VALIDATION_DEBOUNCE_MS = 300;

export interface ValidationRequest {
  revision: number;
  design: unknown;
}

export interface ValidationReply {
  revision: number;
  result: ValidationResult;
}

/** The part of a `Worker` the client uses. */
export interface ValidationPort {
  onmessage: ((event: MessageEvent<ValidationReply>) => void) | null;
  /** The worker's script failed to load or threw. */
  onerror: ((event: ErrorEvent) => void) | null;
  /** A reply arrived that could not be deserialised. */
  onmessageerror: ((event: MessageEvent) => void) | null;
  postMessage(message: ValidationRequest): void;
  terminate(): void;
}

export interface ValidationClient {
  /** Validate `design` once edits pause for the debounce time; replaces any design still waiting. */
  post(design: unknown): void;
  /** Send the waiting design now (before a sync, or when the user asks for the result). */
  flush(): void;
  /** Stop the worker; no result is delivered afterwards. */
  dispose(): void;
}

export interface ValidationClientOptions {
  createPort?: () => ValidationPort;
  debounceMs?: number;
  /**
   * Called once if the worker fails or cannot be started, with why; the client has then stopped
   * (as if disposed) and delivers no more results.
   */
  onFailure?: (reason: string) => void;
}

/** What a worker's `error` event says went wrong, as one line. */
function errorReason(event: ErrorEvent): string {
  const where = event.filename ? ` (${event.filename}${event.lineno ? `:${event.lineno}` : ""})` : "";
  return event.message ? `${event.message}${where}` : "the validation worker failed to load or crashed";
}

const createWorker = (): ValidationPort => new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });

export function createValidationClient(
  onResult: (result: ValidationResult, revision: number) => void,
  { createPort = createWorker, debounceMs = VALIDATION_DEBOUNCE_MS, onFailure }: ValidationClientOptions = {},
): ValidationClient {
  let port: ValidationPort | null = null;
  let waiting: { design: unknown } | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let latestRevision = 0;
  let disposed = false;

  const dispose = (): void => {
    disposed = true;
    clearTimeout(timer);
    waiting = null;
    port?.terminate();
  };

  const fail = (reason: string, cause?: unknown): void => {
    if (disposed) return;
    console.error(`validation stopped: ${reason}`, cause ?? "");
    dispose();
    onFailure?.(reason);
  };

  const send = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (waiting === null || disposed || !port) return;
    latestRevision += 1;
    try {
      port.postMessage({ revision: latestRevision, design: waiting.design });
    } catch (error) {
      // A design that cannot be cloned into the worker; nothing the user can fix by editing.
      fail(`could not send the design to the validation worker: ${error instanceof Error ? error.message : String(error)}`, error);
    }
    waiting = null;
  };

  try {
    port = createPort();
  } catch (error) {
    fail(`the validation worker could not start: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  if (port) {
    port.onmessage = ({ data }) => {
      if (!disposed && data.revision === latestRevision) onResult(data.result, data.revision);
    };
    port.onerror = (event) => {
      event.preventDefault?.(); // handled here; keep it off the console as "uncaught"
      fail(errorReason(event), event);
    };
    port.onmessageerror = (event) => fail("a reply from the validation worker could not be read", event);
  }

  return {
    post(design) {
      if (disposed) return;
      waiting = { design };
      clearTimeout(timer);
      timer = setTimeout(send, debounceMs);
    },
    flush: send,
    dispose,
  };
}
