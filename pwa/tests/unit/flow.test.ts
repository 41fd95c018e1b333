import { describe, expect, it } from "vitest";
import { blockName, syncNodes, toFlowEdges, type NodeInputs } from "../../src/editor/flow";
import { setProp } from "../../src/model/graph";
import { TEMPLATES } from "../../src/model/templates";

const tinyDense = structuredClone(TEMPLATES.find((t) => t.id === "tiny-dense")!);
const inputs = (overrides: Partial<NodeInputs> = {}): NodeInputs => ({
  design: tinyDense,
  selection: null,
  offending: new Set(),
  connectFrom: null,
  ...overrides,
});

describe("syncNodes", () => {
  it("makes one named block node per component", () => {
    const nodes = syncNodes([], inputs());
    expect(nodes.map((n) => n.ariaLabel)).toEqual(["board_input board", "embedding embed", "dense hidden1", "dense hidden2", "action_output policy"]);
    expect(nodes[2].data).toMatchObject({ label: "Dense", summary: "units 256", hasInput: true, hasOutput: true, hasError: false });
    expect(nodes[0].data.hasInput).toBe(false);
    expect(nodes[4].data.hasOutput).toBe(false);
  });

  it("reuses every node whose look has not changed", () => {
    const first = syncNodes([], inputs());
    const edited = setProp(tinyDense, "hidden1", "units", 64);
    const second = syncNodes(first, inputs({ design: edited, offending: new Set(["hidden2"]) }));
    expect(second[0]).toBe(first[0]);
    expect(second[1]).toBe(first[1]);
    expect(second[2]).not.toBe(first[2]);
    expect(second[2].data.summary).toBe("units 64");
    expect(second[3].data.hasError).toBe(true);
    expect(second[4]).toBe(first[4]);
  });

  it("keeps measured sizes, and a dragged node's position until the drag commits", () => {
    const first = syncNodes([], inputs());
    const dragging = first.map((n) => (n.id === "hidden1" ? { ...n, dragging: true, position: { x: 99, y: 99 }, measured: { width: 176, height: 64 } } : n));
    const second = syncNodes(dragging, inputs({ selection: { kind: "block", id: "hidden1" } }));
    expect(second[2].position).toEqual({ x: 99, y: 99 });
    expect(second[2].measured).toEqual({ width: 176, height: 64 });
    expect(second[2].selected).toBe(true);
  });

  it("marks the block a wire is pending from", () => {
    expect(syncNodes([], inputs({ connectFrom: "embed" }))[1].data.connecting).toBe(true);
  });
});

describe("toFlowEdges", () => {
  it("names each wire and marks the selected one", () => {
    const edges = toFlowEdges(tinyDense.edges, { kind: "edge", edge: ["embed", "hidden1"] });
    expect(edges.map((e) => e.ariaLabel)).toContain("Wire from board to embed");
    expect(edges.filter((e) => e.selected).map((e) => e.id)).toEqual(["embed->hidden1"]);
  });
});

describe("blockName", () => {
  it("is the type and the id", () => {
    expect(blockName({ type: "transformer_layer", id: "layer1" })).toBe("transformer_layer layer1");
  });
});
