/**
 * The MoE heat map on the real canvas (React Flow in happy-dom): the shown run's latest expert
 * usage colours the cells of the matching MoE block, and nothing else.
 */
import { ReactFlowProvider, useReactFlow, type ReactFlowInstance } from "@xyflow/react";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Canvas } from "../../src/editor/Canvas";
import { openInEditor } from "../../src/editor/store";
import { TEMPLATES } from "../../src/model/templates";
import { heatColour } from "../../src/train/heat";
import { moeLayerBlocks } from "../../src/train/layers";
import { hideRun, recordEvent, resetRuns, watchRun } from "../../src/train/runStore";
import { trainingUpdate } from "../unit/support/training";

// happy-dom lays nothing out: give elements a phone-sized box so React Flow draws the nodes.
const PHONE = { offsetWidth: 412, offsetHeight: 915 };
const originals = Object.fromEntries(Object.keys(PHONE).map((key) => [key, Object.getOwnPropertyDescriptor(HTMLElement.prototype, key)]));
beforeAll(() => {
  for (const [key, value] of Object.entries(PHONE)) Object.defineProperty(HTMLElement.prototype, key, { configurable: true, get: () => value });
});
afterAll(() => {
  for (const [key, descriptor] of Object.entries(originals)) if (descriptor) Object.defineProperty(HTMLElement.prototype, key, descriptor);
});

const design = structuredClone(TEMPLATES.find((t) => t.id === "moe-router")!);
const never = { fetcher: () => new Promise<Response>(() => {}), wake: () => () => {} };

let container: HTMLDivElement;
let root: Root;
let flow: ReactFlowInstance | null = null;

function GrabFlow() {
  flow = useReactFlow();
  return null;
}

beforeEach(async () => {
  openInEditor(design);
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
  await act(async () => {
    root.render(
      <ReactFlowProvider>
        <Canvas />
        <GrabFlow />
      </ReactFlowProvider>,
    );
  });
});

afterEach(async () => {
  await act(async () => root.unmount());
  container.remove();
  resetRuns();
});

const heatOf = (id: string) => container.querySelector<HTMLElement>(`.react-flow__node[data-id="${id}"] [data-testid="expert-heat"]`);

describe("the MoE heat map", () => {
  it("colours the MoE block's experts by the shown run's latest usage", async () => {
    expect(container.querySelector(`.react-flow__node[data-id="experts"]`)).not.toBeNull();
    expect(heatOf("experts")).toBeNull(); // no run, no heat map
    await act(async () => watchRun("run-1", { designId: design.id, layers: moeLayerBlocks(design), follow: never }));
    expect(heatOf("experts")).toBeNull(); // no update yet
    await act(async () => recordEvent("run-1", { seq: 1, type: "training_update", data: trainingUpdate(1, { expertUsage: [[0.5, 0.01, 0.09, 0.4]] }) }));
    const heat = heatOf("experts")!;
    const cells = [...heat.querySelectorAll<HTMLElement>(".block__heat-cell")];
    expect(cells).toHaveLength(4);
    expect(cells.map((cell) => cell.style.background)).toEqual([0.5, 0.01, 0.09, 0.4].map((fraction) => heatColour(fraction, 4)));
    expect(heat.getAttribute("aria-label")).toBe("Expert usage: expert 1: 50%, expert 2: 1%, expert 3: 9%, expert 4: 40%");
    expect(container.querySelectorAll('[data-testid="expert-heat"]')).toHaveLength(1); // only the MoE block

    await act(async () => recordEvent("run-1", { seq: 2, type: "training_update", data: trainingUpdate(2, { expertUsage: [[0.25, 0.25, 0.25, 0.25]] }) }));
    expect(heatOf("experts")!.getAttribute("aria-label")).toBe("Expert usage: expert 1: 25%, expert 2: 25%, expert 3: 25%, expert 4: 25%");

    await act(async () => hideRun(design.id));
    expect(heatOf("experts")).toBeNull();
  });

  it("draws no heat map for a run whose layers do not match the design", async () => {
    await act(async () => watchRun("run-1", { designId: design.id, layers: moeLayerBlocks(design), follow: never }));
    await act(async () => recordEvent("run-1", { seq: 1, type: "training_update", data: trainingUpdate(1, { expertUsage: [[0.5, 0.5]] }) }));
    expect(heatOf("experts")).toBeNull();
  });

  it("zoomed far out, the block is a plain rectangle without its heat map", async () => {
    await act(async () => watchRun("run-1", { designId: design.id, layers: moeLayerBlocks(design), follow: never }));
    await act(async () => recordEvent("run-1", { seq: 1, type: "training_update", data: trainingUpdate(1, { expertUsage: [[0.25, 0.25, 0.25, 0.25]] }) }));
    expect(heatOf("experts")).not.toBeNull();
    await act(async () => void flow!.setViewport({ x: 0, y: 0, zoom: 0.3 }));
    expect(container.querySelector(`.react-flow__node[data-id="experts"] .block--far`)).not.toBeNull();
    expect(heatOf("experts")).toBeNull();
  });
});
