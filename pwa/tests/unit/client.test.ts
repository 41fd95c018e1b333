/**
 * The validation client's timing and revision rules. The worker is replaced by an in-process port
 * that runs the real validator, so replies can be released in any order.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import smallTransformer from "@schema/templates/small-transformer.json";
import tinyDense from "@schema/templates/tiny-dense.json";
import type { ValidationResult } from "../../src/model/types";
import { validateDesign } from "../../src/model/validate";
import { createValidationClient, VALIDATION_DEBOUNCE_MS, type ValidationPort, type ValidationReply, type ValidationRequest } from "../../src/validation/client";

class InProcessPort implements ValidationPort {
  onmessage: ((event: MessageEvent<ValidationReply>) => void) | null = null;
  onerror: ((event: ErrorEvent) => void) | null = null;
  onmessageerror: ((event: MessageEvent) => void) | null = null;
  requests: ValidationRequest[] = [];
  terminated = false;

  postMessage(request: ValidationRequest): void {
    this.requests.push(request);
  }

  terminate(): void {
    this.terminated = true;
  }

  /** Answer the request at `index`, as the worker would. */
  answer(index: number): void {
    const { revision, design } = this.requests[index];
    this.onmessage?.({ data: { revision, result: validateDesign(design) } } as MessageEvent<ValidationReply>);
  }

  /** Fail as a worker does when its script throws or does not load (Node has no ErrorEvent). */
  crash(message: string): void {
    this.onerror?.({ type: "error", message, filename: "worker.js", lineno: 7 } as ErrorEvent);
  }
}

describe("createValidationClient", () => {
  let port: InProcessPort;
  let delivered: Array<[ValidationResult, number]>;
  let failures: string[];
  let client: ReturnType<typeof createValidationClient>;

  beforeEach(() => {
    vi.useFakeTimers();
    vi.spyOn(console, "error").mockImplementation(() => undefined); // failures are logged; keep the output clean
    port = new InProcessPort();
    delivered = [];
    failures = [];
    client = createValidationClient((result, revision) => delivered.push([result, revision]), {
      createPort: () => port,
      onFailure: (reason) => failures.push(reason),
    });
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("waits for a pause in editing, then sends only the latest design", () => {
    client.post({ draft: 1 });
    vi.advanceTimersByTime(VALIDATION_DEBOUNCE_MS - 1);
    client.post({ draft: 2 });
    client.post(tinyDense);
    vi.advanceTimersByTime(VALIDATION_DEBOUNCE_MS - 1);
    expect(port.requests).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(port.requests).toEqual([{ revision: 1, design: tinyDense }]);
    port.answer(0);
    expect(delivered).toEqual([[validateDesign(tinyDense), 1]]);
  });

  it("sends at once on flush, and nothing when no design is waiting", () => {
    client.post(tinyDense);
    client.flush();
    client.flush();
    vi.advanceTimersByTime(VALIDATION_DEBOUNCE_MS * 2);
    expect(port.requests.map((request) => request.revision)).toEqual([1]);
  });

  it("drops a reply once a newer request has been sent", () => {
    client.post(tinyDense);
    client.flush();
    client.post(smallTransformer);
    client.flush();
    port.answer(1);
    port.answer(0);
    expect(delivered).toEqual([[validateDesign(smallTransformer), 2]]);
  });

  it("delivers nothing after dispose, and stops the worker", () => {
    client.post(tinyDense);
    client.flush();
    client.post(smallTransformer);
    client.dispose();
    port.answer(0);
    vi.advanceTimersByTime(VALIDATION_DEBOUNCE_MS);
    client.post(tinyDense);
    client.flush();
    expect(port.terminated).toBe(true);
    expect(port.requests).toHaveLength(1);
    expect(delivered).toEqual([]);
  });

  it("reports a worker that errors once, stops it, and delivers nothing more", () => {
    client.post(tinyDense);
    client.flush();
    port.crash("Uncaught TypeError: boom");
    port.crash("Uncaught TypeError: again");
    expect(failures).toEqual(["Uncaught TypeError: boom (worker.js:7)"]);
    expect(port.terminated).toBe(true);
    port.answer(0);
    client.post(smallTransformer);
    client.flush();
    expect(port.requests).toHaveLength(1);
    expect(delivered).toEqual([]);
  });

  it("reports a reply that cannot be read", () => {
    port.onmessageerror?.({ type: "messageerror", data: null } as MessageEvent);
    expect(failures).toEqual(["a reply from the validation worker could not be read"]);
    expect(port.terminated).toBe(true);
  });

  it("reports a worker that cannot be created, without throwing", () => {
    const reasons: string[] = [];
    const broken = createValidationClient(() => undefined, {
      createPort: () => {
        throw new DOMException("Workers are blocked", "SecurityError");
      },
      onFailure: (reason) => reasons.push(reason),
    });
    broken.post(tinyDense);
    broken.flush();
    expect(reasons).toEqual(["the validation worker could not start: Workers are blocked"]);
  });

  it("reports nothing after dispose", () => {
    client.dispose();
    port.crash("late");
    expect(failures).toEqual([]);
  });
});
