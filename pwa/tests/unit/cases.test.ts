/**
 * The conformance vectors in `schema/cases/`: the Python validator, this TypeScript twin and the
 * compiled torch model must all agree with every one of them.
 */
import Ajv2020 from "ajv/dist/2020";
import { describe, expect, it } from "vitest";
import resultSchema from "@schema/validation-result.schema.json";
import { catalogue } from "../../src/model/catalogue";
import type { ValidationResult } from "../../src/model/types";
import { validateDesign } from "../../src/model/validate";

interface ConformanceCase {
  description: string;
  design: unknown;
  expected: Omit<ValidationResult, "errors"> & { errors: Array<{ code: string; component: string | null }> };
}

const MIN_CASES = 40;

const stem = (path: string): string => path.slice(path.lastIndexOf("/") + 1, -".json".length);
const load = <T>(modules: Record<string, T>): Array<[string, T]> =>
  Object.entries(modules)
    .map(([path, value]): [string, T] => [stem(path), value])
    .sort(([a], [b]) => a.localeCompare(b));

const cases = load(import.meta.glob<ConformanceCase>("../../../schema/cases/*.json", { eager: true, import: "default" }));
const templates = load(import.meta.glob<unknown>("../../../schema/templates/*.json", { eager: true, import: "default" }));
const conformsToResultSchema = new Ajv2020({ strict: true }).compile(resultSchema);

/** Errors compare as a multiset of (code, component) pairs. */
const errorPairs = (errors: ReadonlyArray<{ code: string; component: string | null }>): string[] =>
  errors.map(({ code, component }) => JSON.stringify([code, component])).sort();

describe("conformance vectors", () => {
  it(`has at least ${MIN_CASES} of them`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(MIN_CASES);
  });

  describe.each(cases)("%s", (_name, { design, expected }) => {
    it.each([
      ["parsed JSON", design],
      ["JSON text", JSON.stringify(design)],
    ])("gives the expected result from %s", (_form, document) => {
      const result = validateDesign(document);
      expect(result.valid).toBe(expected.valid);
      expect(errorPairs(result.errors)).toEqual(errorPairs(expected.errors));
      expect(result.paramCountExact).toBe(expected.paramCountExact);
      expect(result.paramCount).toBe(expected.paramCount);
      expect(result.estimatedMemory).toBe(expected.estimatedMemory);
      expect(result.memoryBreakdown).toEqual(expected.memoryBreakdown);
    });

    it("answers in the ValidationResult schema, with catalogued codes and a message each", () => {
      const result = validateDesign(design);
      expect(conformsToResultSchema(result), JSON.stringify(conformsToResultSchema.errors)).toBe(true);
      for (const error of result.errors) {
        expect(catalogue.errorCodes.has(error.code)).toBe(true);
        expect(error.message).not.toBe("");
      }
    });
  });
});

describe("templates", () => {
  it("exist", () => {
    expect(templates.length).toBeGreaterThan(0);
  });

  it.each(templates)("%s is valid", (_name, template) => {
    const result = validateDesign(template);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.paramCountExact).toBeGreaterThan(0);
  });
});
