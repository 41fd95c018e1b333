import { describe, expect, it } from "vitest";
import { blankDesign, designFromTemplate, duplicateDesign, newDesignId } from "../../src/model/designs";
import { isValidId, sanitizeId, uniqueId } from "../../src/model/ids";
import { decodeDesign } from "../../src/model/schema";
import { TEMPLATES } from "../../src/model/templates";
import { validateDesign } from "../../src/model/validate";
import { parseDesignFile } from "../../src/storage/import";

describe("ids", () => {
  it("makes any text a valid id", () => {
    for (const text of ["", "__x", "héllo wörld", "-", "a".repeat(100)]) expect(isValidId(sanitizeId(text))).toBe(true);
  });

  it("finds the first free id, keeping within 64 characters", () => {
    expect(uniqueId("dense", new Set())).toBe("dense");
    expect(uniqueId("dense", new Set(["dense", "dense_2"]))).toBe("dense_3");
    const long = "x".repeat(64);
    const next = uniqueId(long, new Set([long]), "-");
    expect(next).toHaveLength(64);
    expect(next.endsWith("-2")).toBe(true);
  });
});

describe("templates", () => {
  it("are all bundled, smallest first, and valid", () => {
    expect(TEMPLATES.map((t) => t.id)).toEqual(["tuple-network", "tiny-dense", "residual-mlp", "small-transformer", "tuple-transformer", "tuple-moe", "moe-router", "deep-checkpointed"]);
    for (const template of TEMPLATES) expect(validateDesign(template).errors).toEqual([]);
  });
});

describe("new designs", () => {
  it("a blank design has the two endpoint blocks and matches the schema", () => {
    const design = blankDesign(new Set());
    expect(decodeDesign(design).ok).toBe(true);
    expect(design.components.map((c) => c.type)).toEqual(["board_input", "action_output"]);
    expect(isValidId(design.id)).toBe(true);
  });

  it("a design from a template is a deep copy under a fresh id", () => {
    const template = TEMPLATES[0];
    const design = designFromTemplate(template, new Set([template.id]));
    expect(design.id).not.toBe(template.id);
    expect(design.id.startsWith(`${template.id}-`)).toBe(true);
    expect(design.components).toEqual(template.components);
    expect(design.components).not.toBe(template.components);
  });

  it("new ids avoid taken ones", () => {
    const taken = new Set<string>();
    for (let i = 0; i < 50; i++) taken.add(newDesignId("design", taken));
    expect(taken.size).toBe(50);
  });

  it("a duplicate gets a free id and a (copy) name within the limit", () => {
    const template = { ...TEMPLATES[0], name: "n".repeat(120) };
    const copy = duplicateDesign(template, new Set([template.id]));
    expect(copy.id).toBe(`${template.id}-2`);
    expect(copy.name).toHaveLength(120);
    expect(decodeDesign(copy).ok).toBe(true);
  });
});

describe("parseDesignFile", () => {
  it("reads an exported design", () => {
    const outcome = parseDesignFile(JSON.stringify(TEMPLATES[1]));
    expect(outcome).toEqual({ ok: true, design: TEMPLATES[1] });
  });

  it("refuses text that is not JSON, and JSON that fails the schema, with the reason", () => {
    expect(parseDesignFile("{ nope")).toEqual({ ok: false, reason: expect.stringMatching(/^The file is not valid JSON/) });
    const outcome = parseDesignFile(JSON.stringify({ id: "bad id!", name: "x", components: [], edges: [] }));
    expect(outcome).toEqual({ ok: false, reason: expect.stringContaining("pattern") });
  });
});
