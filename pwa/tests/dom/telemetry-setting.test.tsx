/** The telemetry off switch: a labelled toggle that reflects, changes and remembers the setting. */
import { IDBFactory } from "fake-indexeddb";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TelemetrySetting } from "../../src/telemetry/TelemetrySetting";
import { createTelemetryRecorder, type TelemetryRecorder } from "../../src/telemetry/track";

let container: HTMLDivElement;
let root: Root;
let recorder: TelemetryRecorder;

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
  recorder = createTelemetryRecorder();
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
});

afterEach(() => {
  act(() => root.unmount());
  container.remove();
});

async function settle(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
    });
  }
}

const toggle = () => container.querySelector<HTMLInputElement>('input[role="switch"]')!;

describe("TelemetrySetting", () => {
  it("is a labelled switch, on by default, counting what waits to be sent", async () => {
    await recorder.track("compile_success", { time_ms: 1 });
    await recorder.track("train_started", {});
    act(() => root.render(<TelemetrySetting recorder={recorder} />));
    await settle(() => !toggle().disabled);
    const label = container.querySelector(`label[for="${toggle().id}"]`);
    expect(label?.textContent).toBe("Usage statistics");
    expect(toggle().checked).toBe(true);
    expect(container.textContent).toContain("sent only to your paired server. 2 events wait to be sent.");
  });

  it("switched off, deletes what is stored and records nothing more, across a reload", async () => {
    await recorder.track("compile_success", { time_ms: 1 });
    act(() => root.render(<TelemetrySetting recorder={recorder} />));
    await settle(() => !toggle().disabled);
    act(() => toggle().click());
    await settle(() => container.textContent!.includes("Off: nothing is recorded"));
    expect(toggle().checked).toBe(false);
    await settle(() => recorder.state.getState().stored === 0);
    expect(await (await recorder.store()).count()).toBe(0);

    const reloaded = createTelemetryRecorder();
    act(() => root.render(<TelemetrySetting recorder={reloaded} />));
    await settle(() => !toggle().disabled && reloaded.state.getState().loaded);
    expect(toggle().checked).toBe(false);
    await act(() => reloaded.track("compile_success", {}));
    expect(await (await reloaded.store()).count()).toBe(0);

    act(() => toggle().click());
    await settle(() => toggle().checked);
    await act(() => reloaded.track("compile_success", {}));
    expect(await (await reloaded.store()).count()).toBe(1);
  });
});
