/** The shared JSON Schema, through Ajv, and the defaults decoding fills in. */
import { describe, expect, it } from "vitest";
import tinyDense from "@schema/templates/tiny-dense.json";
import { catalogue } from "../../src/model/catalogue";
import { decodeDesign } from "../../src/model/schema";

const templates = Object.entries(import.meta.glob<unknown>("../../../schema/templates/*.json", { eager: true, import: "default" }));

const minimal = (extra: Record<string, unknown> = {}) => ({ id: "d", name: "D", components: [{ id: "in", type: "board_input" }], edges: [], ...extra });
const component = (fields: Record<string, unknown>) => ({ id: "c", type: "dense", ...fields });
const withComponents = (...components: unknown[]) => ({ id: "d", name: "D", components, edges: [] });

function schemaError(document: unknown) {
  const decoded = decodeDesign(document);
  if (decoded.ok) throw new Error("the document was accepted");
  expect(decoded.error.code).toBe("schema_violation");
  return decoded.error;
}

describe("accepted documents", () => {
  it.each(templates)("%s", (_path, template) => {
    expect(decodeDesign(template).ok).toBe(true);
  });

  it("get the server's defaults", () => {
    const decoded = decodeDesign(minimal());
    expect(decoded).toEqual({
      ok: true,
      design: {
        id: "d",
        name: "D",
        description: "",
        components: [{ id: "in", type: "board_input", props: {}, position: { x: 0, y: 0 } }],
        edges: [],
        meta: catalogue.metaDefaults,
        schemaVersion: 1,
      },
    });
  });

  it("keep the meta and position fields they set", () => {
    const decoded = decodeDesign(minimal({ meta: { n_heads: 8 }, components: [{ id: "in", type: "board_input", position: { y: -5 } }] }));
    expect(decoded.ok && decoded.design.meta).toEqual({ d_model: catalogue.metaDefaults.d_model, n_heads: 8 });
    expect(decoded.ok && decoded.design.components[0].position).toEqual({ x: 0, y: -5 });
  });

  it("are copied, not aliased", () => {
    const document = structuredClone(tinyDense);
    const decoded = decodeDesign(document);
    if (!decoded.ok) throw new Error(decoded.error.message);
    decoded.design.components[2].props.units = 1;
    decoded.design.edges[0][0] = "elsewhere";
    expect(document).toEqual(tinyDense);
  });
});

describe("refused documents", () => {
  it.each<[string, unknown, string | null]>([
    ["not an object", [1, 2], null],
    ["no name", { id: "d", components: [], edges: [] }, null],
    ["an unknown top-level field", minimal({ layers: 3 }), null],
    ["a bad design id", minimal({ id: "-x" }), null],
    ["a name that is too long", minimal({ name: "n".repeat(catalogue.limits.max_name_length + 1) }), null],
    ["schemaVersion 2", minimal({ schemaVersion: 2 }), null],
    ["meta d_model 0", minimal({ meta: { d_model: 0 } }), null],
    ["an edge of one id", minimal({ edges: [["in"]] }), null],
    ["an edge of three ids", minimal({ edges: [["in", "a", "b"]] }), null],
    ["too many components", withComponents(...Array.from({ length: catalogue.limits.max_components + 1 }, (_, i) => component({ id: `c${i}` }))), null],
    ["a path as a component id", withComponents(component({ id: "../etc" })), "../etc"],
    ["a component id ending in a newline", withComponents(component({ id: "abc\n" })), "abc\n"],
    ["a non-string component id", withComponents(component({ id: 7 })), null],
    ["a component without a type", withComponents({ id: "c" }), "c"],
    ["an object as a prop value", withComponents(component({ props: { units: { value: 3 } } })), "c"],
    ["null as a prop value", withComponents(component({ props: { units: null } })), "c"],
    ["a prop name with capitals", withComponents(component({ props: { Units: 3 } })), "c"],
    ["too many props", withComponents(component({ props: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`p${i}`, i])) })), "c"],
    ["a position far off the canvas", withComponents(component({ position: { x: 1e12 } })), "c"],
    ["an unknown component field", withComponents(component({ colour: "red" })), "c"],
  ])("%s", (_what, document, blamed) => {
    expect(schemaError(document).component).toBe(blamed);
  });

  it("say where the error is", () => {
    const { message } = schemaError(withComponents(component({ id: "a" }), component({ id: "b c" })));
    expect(message).toMatch(/^Design does not match the schema: must match pattern ".+" - at `\$\.components\[1\]\.id`$/);
  });
});

describe("the first of several errors is the one the server reports", () => {
  // msgspec walks the document in key order, depth first.
  it("follows the document's key order", () => {
    const bad = component({ type: 5 });
    expect(schemaError({ id: "d", name: "D", components: [bad], edges: [], layers: 1 }).component).toBe("c");
    expect(schemaError({ layers: 1, id: "d", name: "D", components: [bad], edges: [] }).component).toBeNull();
  });

  it("reports a missing field only after the object's other fields", () => {
    expect(schemaError({ id: "d", components: [component({ type: 5 })], edges: [] }).component).toBe("c");
    expect(schemaError(withComponents({ id: "a", props: { units: null } }, component({ type: 5 }))).message).toMatch(/at `\$\.components\[0\]\.props\.units`$/);
  });

  it("checks a container's length before its items, and a key before its value", () => {
    const crowded = component({ props: { units: null, ...Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`p${i}`, i])) } });
    expect(schemaError(withComponents(crowded)).message).toMatch(/more than 16 properties - at `\$\.components\[0\]\.props`$/);
    expect(schemaError(withComponents(component({ props: { Bad: null } }))).message).toMatch(/property name must be valid \("Bad"\)/);
    expect(schemaError(withComponents(component({ props: { units: null, Bad: 1 } }))).message).toMatch(/must match a schema in anyOf/);
  });
});
