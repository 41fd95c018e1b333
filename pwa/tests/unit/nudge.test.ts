/** Keyboard moves (`nudgeBlock`): each press is one saved, undoable step, like a drag. */
import { beforeEach, describe, expect, it } from "vitest";
import { nudgeBlock, NUDGE_FAST_CELLS } from "../../src/editor/commands";
import { openInEditor, redo, undo, useEditor } from "../../src/editor/store";
import { GRID_SIZE } from "../../src/model/graph";
import { TEMPLATES } from "../../src/model/templates";

const position = (id: string) => useEditor.getState().design!.components.find((component) => component.id === id)!.position;

beforeEach(() => {
  const design = structuredClone(TEMPLATES.find((t) => t.id === "tiny-dense")!);
  const placed = design.components.map((component) => (component.id === "hidden1" ? { ...component, position: { x: 48, y: 256 } } : component));
  openInEditor({ ...design, components: placed });
});

describe("nudgeBlock", () => {
  it("moves a block by whole grid cells, one undo step per press", () => {
    expect(nudgeBlock("hidden1", { x: 1, y: 0 })).toBe(true);
    expect(nudgeBlock("hidden1", { x: 0, y: -NUDGE_FAST_CELLS })).toBe(true);
    expect(position("hidden1")).toEqual({ x: 48 + GRID_SIZE, y: 256 - NUDGE_FAST_CELLS * GRID_SIZE });
    expect(useEditor.getState().past.map((step) => step.label)).toEqual(["Move", "Move"]);
    expect(useEditor.getState().lastChange).toBe("edit");
    undo();
    expect(position("hidden1")).toEqual({ x: 48 + GRID_SIZE, y: 256 });
    undo();
    expect(position("hidden1")).toEqual({ x: 48, y: 256 });
    redo();
    expect(position("hidden1")).toEqual({ x: 48 + GRID_SIZE, y: 256 });
  });

  it("lands an off-grid block on the grid, as a drag does", () => {
    const design = useEditor.getState().design!;
    const placed = design.components.map((component) => (component.id === "hidden1" ? { ...component, position: { x: 50, y: 250 } } : component));
    openInEditor({ ...design, components: placed });
    nudgeBlock("hidden1", { x: 1, y: 0 });
    const { x, y } = position("hidden1");
    expect([x % GRID_SIZE, y % GRID_SIZE]).toEqual([0, 0]);
  });

  it("records nothing for a block that is not there", () => {
    expect(nudgeBlock("nowhere", { x: 1, y: 0 })).toBe(false);
    expect(useEditor.getState().past).toEqual([]);
  });
});
