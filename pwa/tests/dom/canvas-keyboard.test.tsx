/**
 * Arrow keys on a block in the real canvas (React Flow in happy-dom): each press moves the
 * selected block through the command stack, so it is saved and undone like a drag, and React
 * Flow's own keyboard move (which changed the screen only) never runs.
 */
import { ReactFlowProvider } from "@xyflow/react";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Canvas } from "../../src/editor/Canvas";
import { NUDGE_FAST_CELLS } from "../../src/editor/commands";
import { openInEditor, select, undo, useEditor } from "../../src/editor/store";
import { GRID_SIZE, snapToGrid } from "../../src/model/graph";
import { TEMPLATES } from "../../src/model/templates";

// happy-dom lays nothing out, so every element measures 0 x 0 and React Flow would draw no
// nodes: give elements a phone-sized box for the length of this file.
const PHONE = { offsetWidth: 412, offsetHeight: 915 };
const originals = Object.fromEntries(Object.keys(PHONE).map((key) => [key, Object.getOwnPropertyDescriptor(HTMLElement.prototype, key)]));

beforeAll(() => {
  for (const [key, value] of Object.entries(PHONE)) Object.defineProperty(HTMLElement.prototype, key, { configurable: true, get: () => value });
});

afterAll(() => {
  for (const [key, descriptor] of Object.entries(originals)) if (descriptor) Object.defineProperty(HTMLElement.prototype, key, descriptor);
});

const position = (id: string) => useEditor.getState().design!.components.find((component) => component.id === id)!.position;

let container: HTMLDivElement;
let root: Root;

/** tiny-dense with its blocks on the grid, so a move is exactly the keys' cells (moves snap). */
function onGrid() {
  const design = structuredClone(TEMPLATES.find((t) => t.id === "tiny-dense")!);
  return { ...design, components: design.components.map((component) => ({ ...component, position: snapToGrid(component.position) })) };
}

beforeEach(async () => {
  openInEditor(onGrid());
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
  await act(async () => {
    root.render(
      <ReactFlowProvider>
        <Canvas />
      </ReactFlowProvider>,
    );
  });
});

afterEach(async () => {
  await act(async () => root.unmount());
  container.remove();
});

function nodeOf(id: string): HTMLElement {
  const node = container.querySelector<HTMLElement>(`.react-flow__node[data-id="${id}"]`);
  if (!node) throw new Error(`no node for ${id} on the canvas`);
  return node;
}

async function press(target: HTMLElement, key: string, shiftKey = false): Promise<void> {
  await act(async () => {
    target.dispatchEvent(new KeyboardEvent("keydown", { key, shiftKey, bubbles: true, cancelable: true }));
  });
}

describe("arrow keys on the canvas", () => {
  it("move the selected block one grid cell per press, each press one undo step", async () => {
    await act(async () => select({ kind: "block", id: "hidden1" }));
    const start = position("hidden1");
    await press(nodeOf("hidden1"), "ArrowRight");
    await press(nodeOf("hidden1"), "ArrowDown");
    expect(position("hidden1")).toEqual({ x: start.x + GRID_SIZE, y: start.y + GRID_SIZE });
    expect(useEditor.getState().past.map((step) => step.label)).toEqual(["Move", "Move"]);
    expect(useEditor.getState().lastChange).toBe("edit"); // so the autosaver stores it
    await act(async () => void undo());
    expect(position("hidden1")).toEqual({ x: start.x + GRID_SIZE, y: start.y });
  });

  it("move further with Shift, and from a port inside the block too", async () => {
    await act(async () => select({ kind: "block", id: "hidden1" }));
    const start = position("hidden1");
    const port = nodeOf("hidden1").querySelector<HTMLElement>(".port--out")!;
    await press(port, "ArrowLeft", true);
    expect(position("hidden1")).toEqual({ x: start.x - NUDGE_FAST_CELLS * GRID_SIZE, y: start.y });
  });

  it("do nothing to a block that is not selected, on screen or in the design", async () => {
    const start = position("hidden1");
    const before = nodeOf("hidden1").style.transform;
    await press(nodeOf("hidden1"), "ArrowRight");
    expect(position("hidden1")).toEqual(start);
    expect(useEditor.getState().past).toEqual([]);
    expect(nodeOf("hidden1").style.transform).toBe(before);
  });

  it("show the block where the design has it: the node follows the command", async () => {
    await act(async () => select({ kind: "block", id: "hidden1" }));
    await press(nodeOf("hidden1"), "ArrowRight");
    const { x, y } = position("hidden1");
    expect(nodeOf("hidden1").style.transform).toBe(`translate(${x}px,${y}px)`);
  });
});
