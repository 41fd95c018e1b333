import { describe, expect, it } from "vitest";
import { readDocument } from "../../src/model/document";
import { CURRENT_SCHEMA_VERSION, migrateDesign, MigrationError } from "../../src/model/migrations";
import { TEMPLATES } from "../../src/model/templates";

/** A design in the seed's unversioned format: positions kept in `props.xy`. */
const seedFormat = {
  id: "legacy",
  name: "From the seed",
  components: [
    { id: "board", type: "board_input", props: { xy: [40, 40] } },
    { id: "embed", type: "embedding", props: { xy: { x: 40, y: 150 }, d_model: 32 } },
    { id: "policy", type: "action_output", props: {} },
  ],
  edges: [
    ["board", "embed"],
    ["embed", "policy"],
  ],
};

describe("migrateDesign", () => {
  it("reads the current version", () => {
    expect(CURRENT_SCHEMA_VERSION).toBe(1);
  });

  it("moves seed-format positions out of props, and stamps the version", () => {
    const migrated = migrateDesign(seedFormat) as typeof seedFormat & { schemaVersion: number };
    expect(migrated.schemaVersion).toBe(1);
    expect(migrated.components).toEqual([
      { id: "board", type: "board_input", props: {}, position: { x: 40, y: 40 } },
      { id: "embed", type: "embedding", props: { d_model: 32 }, position: { x: 40, y: 150 } },
      { id: "policy", type: "action_output", props: {} },
    ]);
  });

  it("never changes its input", () => {
    const before = structuredClone(seedFormat);
    migrateDesign(seedFormat);
    expect(seedFormat).toEqual(before);
  });

  it("leaves current documents as they are", () => {
    const template = TEMPLATES[0];
    expect(migrateDesign(template)).toBe(template);
  });

  it("refuses documents from a newer app", () => {
    expect(() => migrateDesign({ ...seedFormat, schemaVersion: CURRENT_SCHEMA_VERSION + 1 })).toThrow(MigrationError);
  });

  it("passes non-objects and nonsense versions through for the schema check to refuse", () => {
    expect(migrateDesign("text")).toBe("text");
    const odd = { ...seedFormat, schemaVersion: "one" };
    expect(migrateDesign(odd)).toBe(odd);
  });
});

describe("readDocument", () => {
  it("upgrades, checks and decodes a seed-format design", () => {
    const outcome = readDocument(seedFormat);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.design.components[1].position).toEqual({ x: 40, y: 150 });
    expect(outcome.design.meta).toEqual({ d_model: 64, n_heads: 4 });
  });

  it("says why a document cannot be read", () => {
    const newer = readDocument({ ...seedFormat, schemaVersion: 9 });
    expect(newer).toEqual({ ok: false, reason: expect.stringContaining("newer Model Studio") });
    const broken = readDocument({ id: "x", name: "X", components: "none", edges: [] });
    expect(broken).toEqual({ ok: false, reason: expect.stringContaining("components") });
  });
});
