import { describe, expect, it } from "vitest";
import {
  addComponent,
  addEdge,
  duplicateComponent,
  freeSpot,
  GRID_SIZE,
  moveComponents,
  removeElements,
  setProp,
  snapToGrid,
} from "../../src/model/graph";
import { TEMPLATES } from "../../src/model/templates";
import type { ModelArchitecture } from "../../src/model/types";

const tinyDense = (): ModelArchitecture => structuredClone(TEMPLATES.find((t) => t.id === "tiny-dense")!);
const SIZE = { width: 176, height: 64 };

describe("snapToGrid", () => {
  it("rounds each coordinate to the nearest grid line", () => {
    expect(snapToGrid({ x: 7, y: 9 })).toEqual({ x: 0, y: GRID_SIZE });
    expect(snapToGrid({ x: -9, y: 40 }, 10)).toEqual({ x: -10, y: 40 });
  });
});

describe("addComponent", () => {
  it("adds a block with no props set, named after its type, snapped", () => {
    const { design, id } = addComponent(tinyDense(), "layer_norm", { x: 101, y: 203 });
    expect(id).toBe("layer_norm");
    expect(design.components.at(-1)).toEqual({ id, type: "layer_norm", props: {}, position: { x: 96, y: 208 } });
  });

  it("never reuses an id", () => {
    const once = addComponent(tinyDense(), "dense", { x: 0, y: 0 });
    const twice = addComponent(once.design, "dense", { x: 0, y: 0 });
    expect([once.id, twice.id]).toEqual(["dense", "dense_2"]);
  });

  it("leaves the original design untouched", () => {
    const original = tinyDense();
    const copy = structuredClone(original);
    addComponent(original, "dense", { x: 0, y: 0 });
    expect(original).toEqual(copy);
  });
});

describe("removeElements", () => {
  it("removes a block together with every edge touching it", () => {
    const design = removeElements(tinyDense(), ["hidden1"]);
    expect(design.components.map((c) => c.id)).toEqual(["board", "embed", "hidden2", "policy"]);
    expect(design.edges).toEqual([
      ["board", "embed"],
      ["hidden2", "policy"],
    ]);
  });

  it("removes single edges and keeps the blocks", () => {
    const design = removeElements(tinyDense(), [], [["embed", "hidden1"]]);
    expect(design.components).toHaveLength(5);
    expect(design.edges).not.toContainEqual(["embed", "hidden1"]);
    expect(design.edges).toHaveLength(3);
  });
});

describe("moveComponents", () => {
  it("moves and snaps only the named blocks, keeping the others' identity", () => {
    const before = tinyDense();
    const after = moveComponents(before, new Map([["hidden1", { x: 333, y: 17 }]]));
    expect(after.components[2].position).toEqual({ x: 336, y: 16 });
    expect(after.components[0]).toBe(before.components[0]);
  });

  it("returns the same design when nothing actually moves", () => {
    const design = moveComponents(tinyDense(), new Map([["board", { x: 48, y: 48 }]]));
    expect(moveComponents(design, new Map([["board", { x: 48 + 3, y: 48 - 2 }]]))).toBe(design);
  });
});

describe("setProp", () => {
  it("sets a prop, and unsets it (back to default) with undefined", () => {
    const set = setProp(tinyDense(), "hidden1", "activation", "gelu");
    expect(set.components[2].props).toEqual({ units: 256, activation: "gelu" });
    const reset = setProp(set, "hidden1", "units", undefined);
    expect(reset.components[2].props).toEqual({ activation: "gelu" });
  });
});

describe("duplicateComponent", () => {
  it("copies type and props under a new id, without edges", () => {
    const result = duplicateComponent(tinyDense(), "hidden1", { x: 250, y: 260 });
    expect(result).not.toBeNull();
    const copy = result!.design.components.at(-1)!;
    expect(copy).toEqual({ id: "hidden1_2", type: "dense", props: { units: 256 }, position: { x: 256, y: 256 } });
    expect(result!.design.edges).toHaveLength(4);
    expect(copy.props).not.toBe(result!.design.components[2].props);
  });

  it("returns null for a block that does not exist", () => {
    expect(duplicateComponent(tinyDense(), "nope", { x: 0, y: 0 })).toBeNull();
  });
});

describe("addEdge", () => {
  it("appends the edge", () => {
    expect(addEdge(tinyDense(), ["embed", "hidden2"]).edges.at(-1)).toEqual(["embed", "hidden2"]);
  });
});

describe("freeSpot", () => {
  it("keeps the wanted spot when it is clear", () => {
    expect(freeSpot(tinyDense(), { x: 599, y: 601 }, SIZE, 32)).toEqual({ x: 592, y: 608 });
  });

  it("moves next to the blocks when the wanted spot overlaps one", () => {
    const design = tinyDense();
    const spot = freeSpot(design, { x: 40, y: 260 }, SIZE, 32);
    for (const { position } of design.components) {
      const apart = Math.abs(position.x - spot.x) >= SIZE.width + 32 || Math.abs(position.y - spot.y) >= SIZE.height + 32;
      expect(apart).toBe(true);
    }
    expect(spot.y).toBe(256); // the nearest clear spot is level with the wanted one, to the side
  });
});
