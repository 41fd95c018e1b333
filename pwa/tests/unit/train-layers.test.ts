/** Which canvas block each MoE layer of a run is: the server's forward order, mirrored. */
import moeRouter from "@schema/templates/moe-router.json";
import { describe, expect, it } from "vitest";
import type { ModelArchitecture } from "../../src/model/types";
import { moeLayerBlocks, usageByBlock } from "../../src/train/layers";

const component = (id: string, type: string, props: Record<string, number> = {}) => ({ id, type, props, position: { x: 0, y: 0 } });

/**
 * Components listed out of forward order, with two branches. The Python side builds this
 * design's MoE layers as early (5 experts), side (3), late (2): `codegen.generate(...).config
 * ["moe_layers"]` and the order of `MoELayer`s in the compiled model's `modules()` both say so.
 */
const THREE_MOE: ModelArchitecture = {
  schemaVersion: 1,
  id: "three-moe",
  name: "Three MoE",
  description: "",
  meta: { d_model: 32, n_heads: 4 },
  components: [
    component("policy", "action_output"),
    component("late", "moe_layer", { n_experts: 2 }),
    component("side", "moe_layer", { n_experts: 3 }),
    component("policy2", "action_output"),
    component("early", "moe_layer", { n_experts: 5 }),
    component("embed", "embedding"),
    component("board", "board_input"),
  ],
  edges: [
    ["board", "embed"],
    ["embed", "early"],
    ["early", "late"],
    ["embed", "side"],
    ["side", "policy2"],
    ["late", "policy"],
  ],
};

describe("moeLayerBlocks", () => {
  it("lists MoE blocks in the server's forward order, not the order they were added", () => {
    expect(moeLayerBlocks(THREE_MOE)).toEqual([
      { id: "early", nExperts: 5 },
      { id: "side", nExperts: 3 },
      { id: "late", nExperts: 2 },
    ]);
  });

  it("reads a template's expert count, and is empty without MoE", () => {
    expect(moeLayerBlocks(moeRouter as ModelArchitecture)).toEqual([{ id: "experts", nExperts: 4 }]);
    const noMoe = { ...THREE_MOE, components: THREE_MOE.components.filter((c) => c.type !== "moe_layer"), edges: [] };
    expect(moeLayerBlocks(noMoe)).toEqual([]);
  });

  it("resolves an unset n_experts to the catalogue default", () => {
    const design = { ...THREE_MOE, components: THREE_MOE.components.map((c) => (c.id === "side" ? component("side", "moe_layer") : c)) };
    expect(moeLayerBlocks(design)[1]).toEqual({ id: "side", nExperts: 4 });
  });
});

describe("usageByBlock", () => {
  const layers = moeLayerBlocks(THREE_MOE);
  const usage = [
    [0.2, 0.2, 0.2, 0.2, 0.2],
    [0.5, 0.25, 0.25],
    [0.9, 0.1],
  ];

  it("maps layer i to the i-th block in forward order", () => {
    expect(usageByBlock(layers, usage)).toEqual({ early: usage[0], side: usage[1], late: usage[2] });
  });

  it("colours nothing when the run has a different number of MoE layers than the design", () => {
    expect(usageByBlock(layers, usage.slice(0, 2))).toEqual({});
    expect(usageByBlock(layers, [])).toEqual({});
  });

  it("leaves out a block whose expert count no longer matches", () => {
    expect(usageByBlock(layers, [usage[0], [0.5, 0.5], usage[2]])).toEqual({ early: usage[0], late: usage[2] });
  });
});
