/**
 * A validation worker that fails is reported, not left silently stale: the validation service
 * records why, and the banner says to reload. The worker is an in-process port running the real
 * validator, so it can be made to fail on cue.
 */
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openInEditor } from "../../src/editor/store";
import { createValidationService, useValidation } from "../../src/editor/validation";
import { memoryExplanation, StatsOverlay, ValidationBanner } from "../../src/editor/ValidationBanner";
import { TEMPLATES } from "../../src/model/templates";
import { validateDesign } from "../../src/model/validate";
import type { ValidationPort, ValidationReply, ValidationRequest } from "../../src/validation/client";

class InProcessPort implements ValidationPort {
  onmessage: ((event: MessageEvent<ValidationReply>) => void) | null = null;
  onerror: ((event: ErrorEvent) => void) | null = null;
  onmessageerror: ((event: MessageEvent) => void) | null = null;
  terminated = false;

  postMessage({ revision, design }: ValidationRequest): void {
    queueMicrotask(() => this.onmessage?.(new MessageEvent("message", { data: { revision, result: validateDesign(design) } })));
  }

  terminate(): void {
    this.terminated = true;
  }

  crash(message: string): void {
    this.onerror?.(new ErrorEvent("error", { message, cancelable: true }));
  }
}

const tiny = () => structuredClone(TEMPLATES.find((t) => t.id === "tiny-dense")!);

let ports: InProcessPort[];
let service: ReturnType<typeof createValidationService>;
let container: HTMLDivElement;
let root: Root;
let reloads: number;

async function renderBanner(): Promise<void> {
  await act(async () => {
    root.render(
      <>
        <ValidationBanner onReload={() => (reloads += 1)} />
        <StatsOverlay />
      </>,
    );
  });
}

beforeEach(() => {
  vi.spyOn(console, "error").mockImplementation(() => undefined); // the failure is logged
  ports = [];
  reloads = 0;
  service = createValidationService({
    debounceMs: 0,
    createPort: () => {
      const port = new InProcessPort();
      ports.push(port);
      return port;
    },
  });
  openInEditor(tiny());
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
});

afterEach(async () => {
  service.stop();
  await act(async () => root.unmount());
  container.remove();
  openInEditor(null);
  vi.restoreAllMocks();
});

describe("a failed validation worker", () => {
  it("shows the banner's valid state while the worker answers", async () => {
    service.start();
    await vi.waitFor(() => expect(useValidation.getState().result?.valid).toBe(true));
    await renderBanner();
    expect(container.textContent).toContain("Valid design");
    expect(container.textContent).toContain("params");
  });

  it("replaces the stale result with 'Validation stopped: reload the app', and offers a reload", async () => {
    service.start();
    await vi.waitFor(() => expect(useValidation.getState().result).not.toBeNull());
    await act(async () => ports[0].crash("Uncaught RangeError: out of memory"));
    expect(ports[0].terminated).toBe(true);
    expect(useValidation.getState()).toMatchObject({ result: null, failure: "Uncaught RangeError: out of memory" });
    expect(useValidation.getState().offending.size).toBe(0);

    await renderBanner();
    const banner = container.querySelector('[role="alert"]');
    expect(banner?.textContent).toContain("Validation stopped: reload the app");
    expect(banner?.textContent).toContain("out of memory");
    expect(container.textContent).not.toContain("Valid design");
    expect(container.textContent).not.toContain("params"); // the size overlay was stale too

    const reload = [...container.querySelectorAll("button")].find((button) => button.textContent === "Reload");
    await act(async () => reload?.click());
    expect(reloads).toBe(1);
  });

  it("is reported when a reply cannot be read", async () => {
    service.start();
    await act(async () => ports[0].onmessageerror?.(new MessageEvent("messageerror")));
    expect(useValidation.getState().failure).toMatch(/could not be read/);
  });

  it("is reported when the worker cannot be created at all, without breaking start-up", async () => {
    const blocked = createValidationService({
      createPort: () => {
        throw new DOMException("Workers are not allowed", "SecurityError");
      },
    });
    expect(() => blocked.start()).not.toThrow();
    expect(useValidation.getState().failure).toMatch(/could not start: Workers are not allowed/);
    blocked.stop();
  });

  it("is forgotten when validation starts again with a new worker", async () => {
    service.start();
    await act(async () => ports[0].crash("boom"));
    service.stop();
    service.start();
    expect(ports).toHaveLength(2);
    expect(useValidation.getState().failure).toBeNull();
    await vi.waitFor(() => expect(useValidation.getState().result?.valid).toBe(true));
  });
});

describe("the size overlay", () => {
  it("says what the memory estimate covers and adds the training process's baseline", async () => {
    service.start();
    await vi.waitFor(() => expect(useValidation.getState().result?.valid).toBe(true));
    await renderBanner();
    const result = validateDesign(tiny());
    const { weightsAndOptimizer, activations, runtimeBaseline } = result.memoryBreakdown;
    expect(weightsAndOptimizer + activations - result.estimatedMemory).toBeOneOf([0, 1]); // each part rounded up
    expect(runtimeBaseline).toBe(340);
    const overlay = container.querySelector('output[aria-label="Model size"]')!;
    const memory = overlay.querySelector(".stats__memory")!;
    expect(memory.textContent).toBe(`≈ ${result.estimatedMemory} MiB to train (model, optimizer, activations)`);
    expect(overlay.textContent).toContain("+ ~340 MiB runtime");
    // The compact lines are hidden from screen readers, which read the full sentence instead.
    const explanation = memoryExplanation(result);
    expect(memory.getAttribute("title")).toBe(explanation);
    expect(memory.getAttribute("aria-hidden")).toBe("true");
    expect(overlay.querySelector(".visually-hidden")?.textContent).toBe(explanation);
    expect(explanation).toBe(
      `Training this design needs about ${result.estimatedMemory} MiB: ${weightsAndOptimizer} MiB for the model's weights, their gradients ` +
        `and the optimizer's state, and ${activations} MiB for one minibatch's activations (each rounded up). ` +
        "The training process itself (Python, torch, the game) takes about 340 MiB more.",
    );
  });
});
