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
}

describe("createValidationClient", () => {
  let port: InProcessPort;
  let delivered: Array<[ValidationResult, number]>;
  let client: ReturnType<typeof createValidationClient>;

  beforeEach(() => {
    vi.useFakeTimers();
    port = new InProcessPort();
    delivered = [];
    client = createValidationClient((result, revision) => delivered.push([result, revision]), { createPort: () => port });
  });

  afterEach(() => {
    vi.useRealTimers();
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
});
