/// <reference types="node" />
/**
 * The precompiled design validator (src/model/generated/, made by scripts/gen-validators.mjs) is
 * current with the schema, and answers exactly as Ajv compiling the schema at run time would.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Ajv2020 from "ajv/dist/2020";
import { describe, expect, it } from "vitest";
import architectureSchema from "@schema/model-architecture.schema.json";
import precompiled from "../../src/model/generated/architecture-validator.js";

const PWA_DIR = fileURLToPath(new URL("../..", import.meta.url));
const runtimeCompiled = new Ajv2020({ strict: true, allErrors: true }).compile(architectureSchema);

const templates = Object.values(import.meta.glob<unknown>("../../../schema/templates/*.json", { eager: true, import: "default" }));
const cases = Object.values(import.meta.glob<{ design: unknown }>("../../../schema/cases/*.json", { eager: true, import: "default" }));

/** Documents that break the schema in many ways: lengths counted in code points, patterns, ranges, shapes. */
const broken: unknown[] = [
  null,
  "text",
  [1, 2],
  {},
  { id: "-x", name: 5, components: {}, edges: [["a"]], extra: true },
  { id: "d", name: "😀".repeat(120), components: [], edges: [] },
  { id: "d", name: "😀".repeat(121), components: [], edges: [] },
  { id: "d", name: "D", components: [{ id: "a\n", type: "dense", props: { Units: null, x: { y: 1 } }, position: { x: 1e12, z: 0 } }], edges: [] },
  { id: "d", name: "D", components: [], edges: [], meta: { d_model: 0, n_heads: 1.5, other: 1 }, schemaVersion: 2 },
];

describe("the precompiled architecture validator", () => {
  it("matches the committed schema (gen-validators --check passes)", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["scripts/gen-validators.mjs", "--check"], { cwd: PWA_DIR });
    expect(stdout).toMatch(/up to date/);
  });

  it.each([...templates, ...cases.map((c) => c.design), ...broken].map((document, index) => [index, document]))(
    "gives run-time Ajv's verdict and errors for document %i",
    (_index, document) => {
      const valid = precompiled(document);
      expect(valid).toBe(runtimeCompiled(document));
      expect(precompiled.errors ?? null).toEqual(runtimeCompiled.errors ?? null);
    },
  );
});
