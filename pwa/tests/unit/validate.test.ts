/**
 * Focused rule tests for the TypeScript validator. The conformance vectors (cases.test.ts) pin
 * codes and numbers against the Python side; these pin what the vectors do not: hand-computed
 * sizes, the analysis the editor reads, hints, odd ids, scale, and that nothing throws.
 */
import { describe, expect, it } from "vitest";
import moeRouter from "@schema/templates/moe-router.json";
import smallTransformer from "@schema/templates/small-transformer.json";
import { catalogue } from "../../src/model/catalogue";
import { decodeDesign } from "../../src/model/schema";
import type { ModelArchitecture, PropValue, ValidationResult } from "../../src/model/types";
import { analyse, validateDesign } from "../../src/model/validate";

type Block = [id: string, type: string, props?: Record<string, PropValue>];

function design(blocks: Block[], edges: Array<[string, string]>, meta?: Partial<ModelArchitecture["meta"]>): Record<string, unknown> {
  return {
    id: "test",
    name: "Test",
    components: blocks.map(([id, type, props = {}]) => ({ id, type, props })),
    edges,
    ...(meta && { meta }),
  };
}

/** Blocks wired one after another. */
function chain(blocks: Block[], meta?: Partial<ModelArchitecture["meta"]>): Record<string, unknown> {
  return design(blocks, blocks.slice(1).map(([id], i) => [blocks[i][0], id]), meta);
}

/** board_input -> embedding -> ...middle -> action_output. */
const head = (middle: Block[], meta?: Partial<ModelArchitecture["meta"]>) =>
  chain([["in", "board_input"], ["emb", "embedding"], ...middle, ["out", "action_output"]], meta);

const pairs = ({ errors }: Pick<ValidationResult, "errors">) => errors.map(({ code, component }) => [code, component]);

function analysed(document: unknown) {
  const decoded = decodeDesign(document);
  if (!decoded.ok) throw new Error(decoded.error.message);
  return analyse(decoded.design);
}

describe("sizes", () => {
  it("counts parameters and memory as worked out by hand", () => {
    // embedding vocab*16 + 16*16, dense 256*64 + 64, action_output 64*5 + 5.
    const vocab = catalogue.constants.get("vocab")!;
    const params = vocab * 16 + 16 * 16 + (256 * 64 + 64) + (64 * 5 + 5);
    // Activations per board: embedding 16*16, dense 2*64, action_output 5; 512 boards a minibatch,
    // 4 floats of 4 bytes per parameter.
    const bytes = 4 * (params * 4 + 512 * (256 + 128 + 5));
    const result = validateDesign(head([["fc", "dense", { units: 64 }]], { d_model: 16 }));
    const estimatedMemory = Math.ceil(bytes / 2 ** 20);
    // The parts, each rounded up: the weights, gradients and Adam moments, and the activations;
    // and the training process's baseline beside them.
    const memoryBreakdown = { weightsAndOptimizer: Math.ceil((4 * params * 4) / 2 ** 20), activations: Math.ceil((4 * 512 * (256 + 128 + 5)) / 2 ** 20), runtimeBaseline: 340 };
    expect(result).toEqual({ valid: true, paramCount: params / 1e6, paramCountExact: params, estimatedMemory, memoryBreakdown, errors: [] });
  });

  it("rounds each part of the memory estimate up on its own", () => {
    // 16,779,685 parameters: the 8 tables' 16,777,216 train by SparseAdam at 3 floats (12 bytes) each,
    // the other 2,469 at 4 floats: 201,366,096 bytes, 192.04 MiB, so 193 rounded up;
    // 512 boards of 181 floats (ntuple 32 + 2*8, dense 128, heads 5): 370,688 bytes, 0.35 MiB, so 1.
    // Together 192.39 MiB, so 193: the parts add up to 1 MiB more than the estimate.
    const result = validateDesign(chain([["in", "board_input"], ["nt", "ntuple"], ["fc", "dense", { units: 64 }], ["out", "action_output"]]));
    expect(result.paramCountExact).toBe(16_779_685);
    expect(result.estimatedMemory).toBe(193);
    expect(result.memoryBreakdown).toEqual({ weightsAndOptimizer: 193, activations: 1, runtimeBaseline: 340 });
    expect(catalogue.doc.memory.runtime_baseline_mb).toBe(340);
    // A document that cannot be read has no model, but the process baseline still stands.
    expect(validateDesign("{ nope").memoryBreakdown).toEqual({ weightsAndOptimizer: 0, activations: 0, runtimeBaseline: 340 });
  });

  it("sizes a tuple network as worked out by hand", () => {
    // ntuple: one 16^4 = 65536-row table of 32 units per tuple, 8 tuples, plus a bias of 32;
    // dense 32*64 + 64; action_output 64*5 + 5.
    const params = 8 * 65536 * 32 + 32 + (32 * 64 + 64) + (64 * 5 + 5);
    expect(params).toBe(16_779_685);
    // The tables train by SparseAdam: 3 floats per table parameter, 4 for the rest.
    // Activations per board: ntuple its 32-wide output and 8 int64 indices (2 floats each), dense 2*64, action_output 5.
    const tables = 8 * 65536 * 32;
    const bytes = 4 * (tables * 3 + (params - tables) * 4 + 512 * (32 + 2 * 8 + 128 + 5));
    const analysis = analysed(chain([["in", "board_input"], ["nt", "ntuple", { n_tuples: 8, units: 32 }], ["fc", "dense", { units: 64 }], ["out", "action_output"]]));
    expect(analysis.errors).toEqual([]);
    expect(analysis.params.get("nt")).toBe(8 * 65536 * 32 + 32);
    expect(analysis.sparseParams.get("nt")).toBe(tables);
    expect(analysis.activations.get("nt")).toBe(32 + 2 * 8);
    expect(analysis.shapes.get("nt")).toEqual({ kind: "vector", width: 32, tokens: 0 });
    expect(analysis.paramTotal).toBe(params);
    expect(analysis.memoryMb).toBe(Math.ceil(bytes / 2 ** 20));
  });

  it("widens a tuple network's output, not its parameters, with each board symmetry", () => {
    // 8 tuples of 32 units on all 8 symmetries: the same 8 * 65536 * 32 + 32 table and bias parameters,
    // an output of 8 * 32 = 256 floats, and 8 * 8 int64 indices (2 floats each) kept per board.
    const analysis = analysed(chain([["in", "board_input"], ["nt", "ntuple", { n_tuples: 8, units: 32, symmetries: 8 }], ["out", "action_output"]]));
    expect(analysis.errors).toEqual([]);
    expect(analysis.params.get("nt")).toBe(8 * 65536 * 32 + 32);
    expect(analysis.shapes.get("nt")).toEqual({ kind: "vector", width: 256, tokens: 0 });
    expect(analysis.activations.get("nt")).toBe(256 + 2 * 8 * 8);
    expect(analysis.params.get("out")).toBe(256 * 5 + 5);
    const nine = validateDesign(chain([["in", "board_input"], ["nt", "ntuple", { symmetries: 9 }], ["out", "action_output"]]));
    expect(pairs(nine)).toEqual([["prop_out_of_range", "nt"]]);
  });

  it("gives a tuple network the board only, and every tuple at most once", () => {
    expect(pairs(validateDesign(head([["nt", "ntuple"]])))).toEqual([["incompatible_input", "nt"]]);
    const tooMany = validateDesign(chain([["in", "board_input"], ["nt", "ntuple", { n_tuples: 18 }], ["out", "action_output"]]));
    expect(pairs(tooMany)).toEqual([["prop_out_of_range", "nt"]]);
    expect(catalogue.blocks.get("ntuple")!.props.get("n_tuples")!.max).toBe(17);
  });

  it("sizes attention over tuple tokens by their count, not the board's 16 cells", () => {
    // tuple_embedding: 8 tables of 65536 rows of 64, plus one 64-wide vector per tuple; its output is 8 tokens, not 16.
    // A transformer layer on 8 tokens of 64 with ff_mult 4 (f = 256): LayerNorms 2*128, QKV 64*192 + 192, output 64*64 + 64,
    // feed-forward 64*256 + 256 and 256*64 + 64. The heads flatten 8 tokens: 512 features.
    const transformer = 2 * 128 + (64 * 192 + 192) + (64 * 64 + 64) + (64 * 256 + 256) + (256 * 64 + 64);
    const analysis = analysed(chain([["in", "board_input"], ["te", "tuple_embedding"], ["t", "transformer_layer"], ["out", "action_output"]]));
    expect(analysis.errors).toEqual([]);
    expect(analysis.shapes.get("te")).toEqual({ kind: "tokens", width: 64, tokens: 8 });
    expect(analysis.shapes.get("t")).toEqual({ kind: "tokens", width: 64, tokens: 8 });
    expect(analysis.params.get("te")).toBe(8 * 65536 * 64 + 8 * 64);
    expect(analysis.sparseParams.get("te")).toBe(8 * 65536 * 64);
    expect(analysis.params.get("t")).toBe(transformer);
    expect(analysis.params.get("out")).toBe(512 * 5 + 5);
    // Activations per board: the 8x64 tokens and 8 int64 indices (2 floats each); the layer's
    // 8*(10*64 + 2*4*64) + 2*4 heads*8*8 attention weights; the heads 5.
    expect(analysis.activations.get("te")).toBe(8 * 64 + 2 * 8);
    expect(analysis.activations.get("t")).toBe(8 * (10 * 64 + 2 * 4 * 64) + 2 * 4 * 8 * 8);
    // Cell tokens and tuple tokens of the same width are still different shapes.
    const mixed = validateDesign(
      design(
        [["in", "board_input"], ["te", "tuple_embedding"], ["emb", "embedding"], ["add", "residual_add"], ["out", "action_output"]],
        [["in", "te"], ["in", "emb"], ["te", "add"], ["emb", "add"], ["add", "out"]],
      ),
    );
    expect(mixed.errors).toEqual([
      expect.objectContaining({ code: "width_mismatch", component: "add", message: "residual_add 'add' joins inputs of different shapes: tokens[8x64], tokens[16x64]." }),
    ]);
  });

  it("keeps only the largest checkpointed block's activations, not their sum", () => {
    const checkpointed = analysed(head([["c1", "grad_checkpoint"], ["t1", "transformer_layer"], ["c2", "grad_checkpoint"], ["t2", "transformer_layer", { ff_mult: 2 }]]));
    expect(checkpointed.checkpointed).toEqual(new Set(["t1", "t2"]));
    const activations = Object.fromEntries(checkpointed.activations);
    const stored = activations.in + activations.emb + activations.c1 + activations.c2 + activations.out;
    const peak = Math.max(activations.t1, activations.t2);
    const bytes = 4 * (checkpointed.paramTotal * 4 + 512 * (stored + peak));
    expect(checkpointed.memoryMb).toBe(Math.ceil(bytes / 2 ** 20));
  });

  it("takes every default from the catalogue and meta when a design sets none", () => {
    const { props, shapes } = analysed(head([["t", "transformer_layer"]]));
    expect(props.get("emb")).toEqual({ d_model: catalogue.metaDefaults.d_model, positional: true });
    expect(props.get("t")).toEqual({ n_heads: catalogue.metaDefaults.n_heads, ff_mult: 4 });
    expect(shapes.get("t")).toEqual({ kind: "tokens", width: catalogue.metaDefaults.d_model, tokens: 16 });
  });
});

describe("analyse", () => {
  it("exposes order, shapes, routing and checkpointing for the editor", () => {
    const analysis = analysed(moeRouter);
    const position = new Map(analysis.order.map((cid, i) => [cid, i]));
    expect(analysis.order).toHaveLength(moeRouter.components.length);
    for (const [source, target] of moeRouter.edges) expect(position.get(source)!).toBeLessThan(position.get(target)!);
    expect(analysis.shapes.get("board")).toEqual({ kind: "board", width: 16, tokens: 0 });
    expect(analysis.shapes.get("router")).toEqual({ kind: "tokens", width: 64, tokens: 16 });
    expect(analysis.shapes.get("policy")).toBeNull();
    expect(analysis.routing).toEqual(new Map([["experts", { topK: 2, lbCoef: 0.01 }]]));
    expect(analysis.paramTotal).toBe([...analysis.params.values()].reduce((a, b) => a + b, 0));
  });

  it("routes an MoE layer with no router by the catalogue's unrouted default", () => {
    const { routing } = analysed(head([["moe", "moe_layer"]]));
    expect(routing.get("moe")).toEqual({ topK: catalogue.doc.unrouted.top_k, lbCoef: catalogue.doc.unrouted.lb_coef });
  });

  it("checkpoints the MoE layer behind a router, not the router", () => {
    const { checkpointed } = analysed(head([["c", "grad_checkpoint"], ["r", "load_balance_router"], ["moe", "moe_layer"]]));
    expect(checkpointed).toEqual(new Set(["moe"]));
  });

  it("leaves blocks in and after a cycle out of the order and unsized", () => {
    const analysis = analysed(
      design(
        [["in", "board_input"], ["emb", "embedding"], ["a", "layer_norm"], ["b", "layer_norm"], ["out", "action_output"]],
        [["in", "emb"], ["emb", "a"], ["a", "b"], ["b", "a"], ["b", "out"]],
      ),
    );
    expect(analysis.order).toEqual(["in", "emb"]);
    expect(analysis.params.has("out")).toBe(false);
    expect(pairs(analysis)).toEqual([["cycle", "a"], ["too_many_inputs", "a"]]);
  });
});

describe("hints", () => {
  it.each([
    [60, 64],
    [132, 136],
    [4, 8],
    [3, 8],
    [1, 8],
    [70, 72],
  ])("d_model %i suggests %i", (dModel, nearest) => {
    const [error] = validateDesign(head([], { d_model: dModel })).errors;
    expect(error).toMatchObject({ code: "d_model_not_multiple_of_8", component: "emb", hint: `Nearest valid d_model is ${nearest}.` });
  });

  it.each([
    [60, 7, 6],
    [64, 3, 2],
    [24, 5, 4],
    [40, 9, 8],
  ])("width %i with %i heads suggests %i", (width, heads, nearest) => {
    const result = validateDesign(head([["t", "transformer_layer", { n_heads: heads }]], { d_model: width }));
    const error = result.errors.find((e) => e.code === "n_heads_not_divisor");
    expect(error).toMatchObject({ component: "t", hint: `Nearest valid n_heads is ${nearest}.` });
  });
});

describe("props", () => {
  const denseProps = (props: Record<string, PropValue>) => pairs(validateDesign(head([["fc", "dense", props]], { d_model: 8 })));

  it("reads an integral number as an integer, however JSON spelt it", () => {
    expect(validateDesign('{"id":"x","name":"x","components":[{"id":"in","type":"board_input"},{"id":"emb","type":"embedding"},{"id":"t","type":"transformer_layer","props":{"n_heads":4.0}},{"id":"out","type":"action_output"}],"edges":[["in","emb"],["emb","t"],["t","out"]]}').valid).toBe(true);
  });

  it.each<[string, Record<string, PropValue>, string | null]>([
    ["an integer", { units: 32 }, null],
    ["a bool for an integer", { units: true }, "prop_type"],
    ["a fraction for an integer", { units: 2.5 }, "prop_type"],
    ["a string for an integer", { units: "32" }, "prop_type"],
    ["a number for an enum", { activation: 1 }, "prop_type"],
    ["an unknown choice", { activation: "swish" }, "prop_out_of_range"],
    ["an integer below min", { units: 0 }, "prop_out_of_range"],
    ["a prop named like an Object method", { constructor: 1 }, "unknown_prop"],
  ])("%s", (_what, props, code) => {
    expect(denseProps(props)).toEqual(code === null ? [] : [[code, "fc"]]);
  });

  it("takes an integer for a float and a bool only as a bool", () => {
    const aux = (props: Record<string, PropValue>) =>
      pairs(validateDesign(design([["in", "board_input"], ["emb", "embedding"], ["out", "action_output"], ["aux", "aux_loss_head", props]], [["in", "emb"], ["emb", "out"], ["emb", "aux"]])));
    expect(aux({ weight: 1 })).toEqual([]);
    expect(aux({ weight: true })).toEqual([["prop_type", "aux"]]);
    expect(pairs(validateDesign(chain([["in", "board_input"], ["emb", "embedding", { positional: 0 }], ["out", "action_output"]])))).toEqual([["prop_type", "emb"]]);
  });

  it("words messages as the server does", () => {
    const [typeError] = validateDesign(head([["fc", "dense", { units: "big" }]], { d_model: 8 })).errors;
    expect(typeError.message).toBe("Prop 'units' of 'fc' must be an integer, not 'big'.");
    const aux = design([["in", "board_input"], ["emb", "embedding"], ["out", "action_output"], ["aux", "aux_loss_head", { weight: -1 }]], [["in", "emb"], ["emb", "out"], ["emb", "aux"]]);
    expect(validateDesign(aux).errors[0]).toEqual({
      code: "prop_out_of_range",
      message: "Prop 'weight' of 'aux' is -1, outside [0.0, 10.0].",
      component: "aux",
      hint: "Use a value from 0.0 to 10.0.",
    });
    const limit = head(Array.from({ length: 3 }, (_, i): Block => [`t${i}`, "transformer_layer", { ff_mult: 8 }]), { d_model: 1024 });
    expect(validateDesign(limit).errors.find((e) => e.code === "param_limit")?.message).toMatch(/^The model has \d{2},\d{3},\d{3} parameters; the limit is 50,000,000\.$/);
  });
});

describe("ids and types that are special to JavaScript", () => {
  it("keeps design order for numeric ids and treats Object's names as plain ids", () => {
    const result = validateDesign(
      design(
        [["z", "board_input"], ["12", "board_input"], ["constructor", "board_input"], ["emb", "embedding"], ["out", "action_output"]],
        [["z", "emb"], ["emb", "out"]],
      ),
    );
    expect(pairs(result).filter(([code]) => code === "multiple_board_inputs")).toEqual([
      ["multiple_board_inputs", "12"],
      ["multiple_board_inputs", "constructor"],
    ]);
  });

  it.each(["constructor", "toString", "__proto__", "hasOwnProperty"])("block type %s is unknown", (type) => {
    expect(pairs(validateDesign(head([["x", type]])))).toEqual([["unknown_block_type", "x"]]);
  });
});

describe("errors come in the server's phase order", () => {
  it("components, edges, then shapes", () => {
    const result = validateDesign(
      design(
        [["in", "board_input"], ["emb", "embedding", { d_model: 60 }], ["t", "transformer_layer", { n_heads: 7 }], ["fc", "dense", { dropout: 0.5 }], ["out", "action_output"]],
        [["in", "emb"], ["emb", "t"], ["t", "fc"], ["fc", "out"], ["fc", "nowhere"]],
      ),
    );
    expect(result.errors.map((e) => e.code)).toEqual(["unknown_prop", "dangling_edge", "d_model_not_multiple_of_8", "n_heads_not_divisor"]);
  });
});

describe("scale", () => {
  const MAX_COMPONENTS = catalogue.limits.max_components;
  const norms = (count: number): Block[] => Array.from({ length: count }, (_, i): Block => [`n${i}`, "layer_norm"]);

  it(`validates a ${MAX_COMPONENTS}-block chain without recursion limits`, () => {
    const result = validateDesign(head(norms(MAX_COMPONENTS - 3), { d_model: 8 }));
    expect(result.errors).toEqual([]);
  });

  it(`reports a ${MAX_COMPONENTS - 3}-block ring as one cycle, blamed on its first block`, () => {
    const ring = head(norms(MAX_COMPONENTS - 3), { d_model: 8 }) as { edges: Array<[string, string]> };
    ring.edges.push([`n${MAX_COMPONENTS - 4}`, "n0"]);
    expect(pairs(validateDesign(ring)).filter(([code]) => code === "cycle")).toEqual([["cycle", "n0"]]);
  });
});

describe("robustness", () => {
  it.each([undefined, null, 0, Number.NaN, "", "{", "null", "[]", [], {}, { components: "x" }, new Date(0), () => 1, Symbol("x"), 10n])(
    "answers %s with an error, without throwing",
    (document) => {
      const result = validateDesign(document);
      expect(result.valid).toBe(false);
      expect(result.errors).toHaveLength(1);
      expect(["invalid_json", "schema_violation"]).toContain(result.errors[0].code);
    },
  );

  it("reports text that is not JSON as invalid_json", () => {
    expect(validateDesign("{oops").errors[0]).toMatchObject({ code: "invalid_json", component: null });
  });

  it("never changes the document it is given", () => {
    const document = structuredClone(smallTransformer);
    const frozen = (value: unknown): unknown => {
      if (typeof value === "object" && value !== null) for (const child of Object.values(value)) frozen(child);
      return Object.freeze(value);
    };
    frozen(document);
    expect(validateDesign(document).valid).toBe(true);
    expect(document).toEqual(smallTransformer);
  });

  it("survives thousands of random corruptions of a template", () => {
    // A small deterministic generator, so a failure reproduces.
    let seed = 20_48;
    const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const replacements: unknown[] = [null, "", "x", -1, 0, 2.5, 1e9, true, [], {}, ["a"], ["a", "b", "c"], { x: 1 }, "a b", "constructor"];
    const nodes = (value: unknown, found: Array<Record<string, unknown> | unknown[]> = []) => {
      if (typeof value === "object" && value !== null) {
        found.push(value as Record<string, unknown>);
        for (const child of Object.values(value)) nodes(child, found);
      }
      return found;
    };
    for (let round = 0; round < 3000; round++) {
      const document = structuredClone(pick([moeRouter, smallTransformer])) as unknown;
      for (let change = 0; change < 1 + Math.floor(random() * 3); change++) {
        const node = pick(nodes(document));
        const keys = Object.keys(node);
        const key = random() < 0.2 || keys.length === 0 ? pick(["extra", "props", "units", "id", "0"]) : pick(keys);
        (node as Record<string, unknown>)[key] = structuredClone(pick(replacements));
      }
      let result: ValidationResult | undefined;
      expect(() => (result = validateDesign(document))).not.toThrow();
      expect(typeof result!.valid).toBe("boolean");
      expect(result!.valid).toBe(result!.errors.length === 0);
    }
  });
});
