import { describe, expect, it } from "vitest";
import { catalogue } from "../../src/model/catalogue";
import { compileFormula, FormulaError, formulaNames } from "../../src/model/formula";

const evaluate = (text: string, env: Record<string, number> = {}): number => compileFormula(text)(new Map(Object.entries(env)));

describe("compileFormula", () => {
  it("binds * tighter than + and -, and reads left to right", () => {
    expect(evaluate("2 + 3 * 4")).toBe(14);
    expect(evaluate("10 - 3 - 2")).toBe(5);
    expect(evaluate("2 * 3 * 4 - 1")).toBe(23);
  });

  it("honours parentheses", () => {
    expect(evaluate("(2 + 3) * 4")).toBe(20);
    expect(evaluate("((7))")).toBe(7);
    expect(evaluate("2*(3-(4+5))")).toBe(-12);
  });

  it("reads names from the environment, and is parsed once for many evaluations", () => {
    const params = compileFormula("feat*units + units");
    expect(params(new Map([["feat", 256], ["units", 64]]))).toBe(16448);
    expect(params(new Map([["feat", 8], ["units", 2]]))).toBe(18);
    expect(evaluate("top_k*w_2", { top_k: 3, w_2: 5 })).toBe(15);
  });

  it("ignores whitespace, leading and trailing included", () => {
    expect(evaluate("  1 +\n 2\t* 3  ")).toBe(7);
  });

  it.each([
    ["", /ends early/],
    ["1 +", /ends early/],
    ["(1 + 2", /ends early/],
    ["(1 2)", /missing '\)'/],
    ["1 2", /unexpected "2"/],
    ["4 / 2", /unexpected "\/"/],
    ["a.b", /unexpected "\."/],
    ["* 3", /unexpected "\*"/],
    [")", /unexpected "\)"/],
  ])("refuses %j", (text, message) => {
    expect(() => compileFormula(text)).toThrow(FormulaError);
    expect(() => compileFormula(text)).toThrow(message);
  });

  it("refuses to evaluate an unknown name", () => {
    const formula = compileFormula("w + nope");
    expect(() => formula(new Map([["w", 1]]))).toThrow(/unknown name nope/);
  });
});

describe("formulaNames", () => {
  it("lists the names a formula reads, once each", () => {
    expect(formulaNames("vocab*d_model + positional*T*d_model")).toEqual(new Set(["vocab", "d_model", "positional", "T"]));
    expect(formulaNames("2*(3+4)")).toEqual(new Set());
  });
});

describe("the catalogue's formulas", () => {
  // What validate.ts puts in a block's environment: constants, integer and bool props, the input's
  // width and flattened features for blocks with an input, and top_k for MoE layers.
  for (const [type, block] of catalogue.blocks) {
    it(`${type} reads only names its environment provides`, () => {
      const provided = new Set(catalogue.constants.keys());
      for (const [name, spec] of block.props) if (spec.type === "int" || spec.type === "bool") provided.add(name);
      if (block.spec.inputs.max > 0) for (const name of ["w", "feat"]) provided.add(name);
      if (type === "moe_layer") provided.add("top_k");
      const texts = [block.spec.params, block.spec.activations, block.spec.output?.width ?? "0"];
      for (const text of texts) expect([...formulaNames(text)].filter((name) => !provided.has(name))).toEqual([]);
    });
  }
});
