import { describe, expect, it } from "vitest";
import { connectionProblem, outputKind } from "../../src/model/connect";
import { addComponent, addEdge } from "../../src/model/graph";
import { TEMPLATES } from "../../src/model/templates";
import type { ModelArchitecture } from "../../src/model/types";

const template = (id: string): ModelArchitecture => structuredClone(TEMPLATES.find((t) => t.id === id)!);

function withBlock(design: ModelArchitecture, type: string): { design: ModelArchitecture; id: string } {
  return addComponent(design, type, { x: 0, y: 0 });
}

describe("connectionProblem", () => {
  it("accepts an edge that breaks no rule", () => {
    const { design, id } = withBlock(template("tiny-dense"), "aux_loss_head");
    expect(connectionProblem(design, ["hidden2", id])).toBeNull();
  });

  it("refuses a self-loop", () => {
    expect(connectionProblem(template("tiny-dense"), ["hidden1", "hidden1"])).toBe("A block cannot feed itself.");
  });

  it("refuses an edge out of a block with no output", () => {
    const { design, id } = withBlock(template("tiny-dense"), "dense");
    expect(connectionProblem(design, ["policy", id])).toBe("Action output has no output.");
  });

  it("refuses an edge into a block that takes no input", () => {
    expect(connectionProblem(template("tiny-dense"), ["hidden2", "board"])).toBe("Board input takes no input.");
  });

  it("refuses a duplicate edge", () => {
    expect(connectionProblem(template("tiny-dense"), ["hidden1", "hidden2"])).toBe("These blocks are already wired.");
  });

  it("refuses a second input into a one-input block", () => {
    expect(connectionProblem(template("tiny-dense"), ["embed", "hidden2"])).toBe("Dense takes at most 1 input.");
  });

  it("refuses kinds the target cannot take, following pass-through blocks", () => {
    // A dense layer outputs a vector; a transformer layer needs tokens.
    const { design, id } = withBlock(template("tiny-dense"), "transformer_layer");
    expect(connectionProblem(design, ["hidden2", id])).toBe("Transformer layer cannot take a vector from Dense.");
    // A layer norm passes its input's kind through: after a dense layer, that is a vector too.
    const norm = withBlock(design, "layer_norm");
    const wired = addEdge(norm.design, ["hidden1", norm.id]);
    expect(connectionProblem(wired, [norm.id, id])).toBe("Transformer layer cannot take a vector from Layer norm.");
  });

  it("allows an edge whose kind is not known yet", () => {
    const norm = withBlock(template("small-transformer"), "layer_norm");
    const layer = withBlock(norm.design, "transformer_layer");
    expect(outputKind(layer.design, norm.id)).toBeNull();
    expect(connectionProblem(layer.design, [norm.id, layer.id])).toBeNull();
  });

  it("refuses an edge that would close a loop", () => {
    const add = withBlock(template("residual-mlp"), "residual_add");
    const wired = addEdge(add.design, ["join", add.id]);
    expect(connectionProblem(wired, [add.id, "join"])).toBe("That wire would make a loop.");
  });

  it("refuses edges naming blocks that do not exist", () => {
    expect(connectionProblem(template("tiny-dense"), ["ghost", "hidden1"])).toBe("That block no longer exists.");
  });
});

describe("outputKind", () => {
  it("reads fixed kinds and follows `same` back to the first input", () => {
    const design = template("small-transformer");
    expect(outputKind(design, "board")).toBe("board");
    expect(outputKind(design, "embed")).toBe("tokens");
    expect(outputKind(design, "norm")).toBe("tokens");
    expect(outputKind(design, "policy")).toBeNull();
  });
});
