/**
 * Decode a document into a typed `ModelArchitecture`: JSON text or parsed JSON data, checked
 * against the shared JSON Schema (`schema/model-architecture.schema.json`, imported, never copied),
 * then given the defaults the server's msgspec types fill in.
 *
 * Like the server, only the first schema error is reported, as `schema_violation`, naming the
 * component the error sits in when that component has a string id.
 */
import Ajv2020, { type ErrorObject } from "ajv/dist/2020";
import architectureSchema from "@schema/model-architecture.schema.json";
import { catalogue } from "./catalogue";
import type { DesignError, Edge, ModelArchitecture, ModelComponent, PropValue } from "./types";

const SCHEMA_VERSION = 1;

const ajv = new Ajv2020({ strict: true });
const checkArchitecture = ajv.compile(architectureSchema);

export type DecodeOutcome = { ok: true; design: ModelArchitecture } | { ok: false; error: DesignError };

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** JSON Pointer segments of an Ajv `instancePath` ("" is the document itself). */
function pointerSegments(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((segment) => segment.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** `$.components[2].props.units`: the path notation the server's messages use. */
function readablePath(segments: string[], raw: unknown): string {
  let path = "$";
  let node = raw;
  for (const segment of segments) {
    if (Array.isArray(node)) {
      path += `[${segment}]`;
      node = node[Number(segment)];
    } else {
      path += `.${segment}`;
      node = isPlainObject(node) ? node[segment] : undefined;
    }
  }
  return path;
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const detail = params.additionalProperty ?? params.propertyName;
  return detail === undefined ? String(error.message) : `${error.message} (${JSON.stringify(detail)})`;
}

/** The id of the component an error path points into, when that component has a string id. */
function componentOf(segments: string[], raw: unknown): string | null {
  if (segments[0] !== "components" || segments.length < 2 || !isPlainObject(raw)) return null;
  const components = raw.components;
  if (!Array.isArray(components)) return null;
  const component: unknown = components[Number(segments[1])];
  return isPlainObject(component) && typeof component.id === "string" ? component.id : null;
}

function schemaError(error: ErrorObject, raw: unknown): DesignError {
  const segments = pointerSegments(error.instancePath);
  return {
    code: "schema_violation",
    message: `Design does not match the schema: ${describe(error)} - at \`${readablePath(segments, raw)}\``,
    component: componentOf(segments, raw),
    hint: null,
  };
}

/** Fill in the defaults, copying so that the caller's document is never aliased or changed. */
function withDefaults(raw: Record<string, unknown>): ModelArchitecture {
  const meta = (raw.meta ?? {}) as Partial<ModelArchitecture["meta"]>;
  const components = raw.components as Array<Partial<ModelComponent> & Pick<ModelComponent, "id" | "type">>;
  return {
    id: raw.id as string,
    name: raw.name as string,
    description: (raw.description as string | undefined) ?? "",
    components: components.map((component) => ({
      id: component.id,
      type: component.type,
      props: { ...(component.props as Record<string, PropValue> | undefined) },
      position: { x: component.position?.x ?? 0, y: component.position?.y ?? 0 },
    })),
    edges: (raw.edges as Edge[]).map(([source, target]): Edge => [source, target]),
    meta: { ...catalogue.metaDefaults, ...meta },
    schemaVersion: (raw.schemaVersion as number | undefined) ?? SCHEMA_VERSION,
  };
}

/**
 * Decode JSON text (a string) or already-parsed JSON data. Never throws on bad input: the
 * outcome carries either the design or the one error that stopped decoding.
 */
export function decodeDesign(document: unknown): DecodeOutcome {
  let raw = document;
  if (typeof document === "string") {
    try {
      raw = JSON.parse(document);
    } catch (exc) {
      const message = `Not valid JSON: ${exc instanceof Error ? exc.message : String(exc)}`;
      return { ok: false, error: { code: "invalid_json", message, component: null, hint: null } };
    }
  }
  if (!checkArchitecture(raw)) {
    return { ok: false, error: schemaError(checkArchitecture.errors![0], raw) };
  }
  return { ok: true, design: withDefaults(raw as Record<string, unknown>) };
}

