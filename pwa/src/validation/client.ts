/**
 * The editor's handle on the validation worker. Edits arrive faster than validation is useful,
 * so `post` waits for a pause in typing or dragging before it sends; every request carries an
 * increasing revision, and a reply for anything but the latest request is dropped, so a slow
 * answer about an old design never overwrites the answer about the current one.
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
}

const createWorker = (): ValidationPort => new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });

export function createValidationClient(
  onResult: (result: ValidationResult, revision: number) => void,
  { createPort = createWorker, debounceMs = VALIDATION_DEBOUNCE_MS }: ValidationClientOptions = {},
): ValidationClient {
  const port = createPort();
  let waiting: { design: unknown } | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let latestRevision = 0;
  let disposed = false;

  port.onmessage = ({ data }) => {
    if (!disposed && data.revision === latestRevision) onResult(data.result, data.revision);
  };

  const send = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (waiting === null || disposed) return;
    latestRevision += 1;
    port.postMessage({ revision: latestRevision, design: waiting.design });
    waiting = null;
  };

  return {
    post(design) {
      if (disposed) return;
      waiting = { design };
      clearTimeout(timer);
      timer = setTimeout(send, debounceMs);
    },
    flush: send,
    dispose() {
      disposed = true;
      clearTimeout(timer);
      waiting = null;
      port.terminate();
    },
  };
}
