import { beforeEach, describe, expect, it } from "vitest";
import { addBlock, connect, deleteSelection, duplicateBlock, moveBlocks, renameDesign, setBlockProp } from "../../src/editor/commands";
import { commit, MAX_UNDO_STEPS, openInEditor, redo, replaceFromElsewhere, select, undo, useEditor } from "../../src/editor/store";
import { TEMPLATES } from "../../src/model/templates";

const state = () => useEditor.getState();
const design = () => state().design!;
const ids = () => design().components.map((c) => c.id);

beforeEach(() => openInEditor(structuredClone(TEMPLATES.find((t) => t.id === "tiny-dense")!)));

describe("the command stack", () => {
  it("records one step per action, and undo/redo walk it", () => {
    const start = design();
    addBlock("layer_norm", { x: 400, y: 400 });
    const added = design();
    expect(state().past.map((s) => s.label)).toEqual(["Add Layer norm"]);
    expect(undo()?.label).toBe("Add Layer norm");
    expect(design()).toBe(start);
    expect(redo()?.label).toBe("Add Layer norm");
    expect(design()).toBe(added);
  });

  it("deleting a block with its edges is one step", () => {
    select({ kind: "block", id: "hidden1" });
    expect(deleteSelection()).toBe(true);
    expect(ids()).not.toContain("hidden1");
    expect(design().edges).toHaveLength(2);
    expect(state().past).toHaveLength(1);
    expect(state().selection).toBeNull();
    undo();
    expect(ids()).toContain("hidden1");
    expect(design().edges).toHaveLength(4);
  });

  it("a drag of several blocks is one step", () => {
    moveBlocks(new Map([["hidden1", { x: 300, y: 300 }], ["hidden2", { x: 300, y: 420 }]]));
    expect(state().past).toHaveLength(1);
    undo();
    expect(design().components[2].position).toEqual({ x: 40, y: 260 });
    expect(design().components[3].position).toEqual({ x: 40, y: 370 });
  });

  it("records nothing for an action that changes nothing", () => {
    expect(setBlockProp("hidden1", "units", 256)).toBe(false);
    expect(renameDesign(design().name)).toBe(false);
    expect(commit("Nothing", () => null)).toBe(false);
    expect(state().past).toHaveLength(0);
  });

  it("a new action after an undo drops the redo steps", () => {
    setBlockProp("hidden1", "units", 64);
    undo();
    expect(state().future).toHaveLength(1);
    setBlockProp("hidden1", "units", 32);
    expect(state().future).toHaveLength(0);
    expect(redo()).toBeNull();
  });

  it("keeps at most MAX_UNDO_STEPS steps", () => {
    for (let i = 1; i <= MAX_UNDO_STEPS + 5; i++) setBlockProp("hidden1", "units", i);
    expect(state().past).toHaveLength(MAX_UNDO_STEPS);
  });

  it("drops a selection that an undo makes stale", () => {
    const copy = duplicateBlock("hidden1")!;
    select({ kind: "block", id: copy });
    undo();
    expect(state().selection).toBeNull();
  });

  it("marks edits for saving and loads as already stored", () => {
    expect(state().lastChange).toBe("load");
    setBlockProp("hidden1", "units", 64);
    expect(state().lastChange).toBe("edit");
    replaceFromElsewhere(design());
    expect(state().lastChange).toBe("load");
    expect(state().past).toHaveLength(0);
  });
});

describe("connect", () => {
  it("adds the edge as one step and selects it", () => {
    const aux = addBlock("aux_loss_head", { x: 400, y: 400 })!;
    expect(connect("hidden2", aux)).toBeNull();
    expect(design().edges).toContainEqual(["hidden2", aux]);
    expect(state().selection).toEqual({ kind: "edge", edge: ["hidden2", aux] });
    expect(state().past).toHaveLength(2);
  });

  it("refuses a bad edge without recording a step", () => {
    expect(connect("hidden2", "board")).toBe("Board input takes no input.");
    expect(state().past).toHaveLength(0);
  });
});

describe("deleteSelection", () => {
  it("deletes a selected edge and keeps its blocks", () => {
    select({ kind: "edge", edge: ["embed", "hidden1"] });
    expect(deleteSelection()).toBe(true);
    expect(design().edges).not.toContainEqual(["embed", "hidden1"]);
    expect(ids()).toHaveLength(5);
  });

  it("does nothing with nothing selected", () => {
    expect(deleteSelection()).toBe(false);
  });
});
