/**
 * Decode a document into a typed `ModelArchitecture`: JSON text or parsed JSON data, checked
 * against the shared JSON Schema (`schema/model-architecture.schema.json`, precompiled from that
 * file, never copied by hand), then given the defaults the server's msgspec types fill in.
 *
 * Like the server, only the first schema error is reported, as `schema_violation`, naming the
 * component the error sits in when that component has a string id. "First" is the server's order:
 * msgspec walks a document depth-first in key order, checks a container's length before its items
 * and a key before its value, and reports a missing required field only after the object's other
 * fields. Ajv (precompiled, see `generated/`) collects every error and the one msgspec would meet
 * first is chosen, so both sides blame the same component.
 */
import type { ErrorObject } from "ajv";
import { catalogue } from "./catalogue";
// Precompiled by scripts/gen-validators.mjs (Ajv, strict, allErrors): compiling at run time
// would need `new Function`, which the server's Content-Security-Policy does not allow.
import checkArchitecture from "./generated/architecture-validator.js";
import type { DesignError, Edge, ModelArchitecture, ModelComponent, PropValue } from "./types";

const SCHEMA_VERSION = 1;

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

/** Position of an error in msgspec's walk, compared lexicographically (a prefix comes first). */
function walkPosition(error: ErrorObject, segments: string[], raw: unknown): number[] {
  const position: number[] = [];
  let node = raw;
  // An object member is [index, 1], so that an error in its key, [index, 0], comes before its value.
  const member = (object: Record<string, unknown>, key: string): number[] => [Object.keys(object).indexOf(key), 1];
  for (const segment of segments) {
    if (Array.isArray(node)) {
      position.push(Number(segment));
      node = node[Number(segment)];
    } else if (isPlainObject(node)) {
      position.push(...member(node, segment));
      node = node[segment];
    }
  }
  const params = error.params as Record<string, unknown>;
  if (error.keyword === "required") position.push(Number.POSITIVE_INFINITY);
  else if (error.keyword === "additionalProperties" && isPlainObject(node)) position.push(...member(node, String(params.additionalProperty)));
  else if (error.keyword === "propertyNames" && isPlainObject(node)) position.push(member(node, String(params.propertyName))[0], 0);
  return position;
}

function comparePositions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Errors of an `anyOf` branch or a property name's own schema: the keyword's own error stands for them. */
const NESTED_ERROR = /\/(anyOf|propertyNames)\//;

/** The error msgspec meets first. */
function firstError(errors: ErrorObject[], raw: unknown): { error: ErrorObject; segments: string[] } {
  const located = errors
    .filter((error) => !NESTED_ERROR.test(error.schemaPath))
    .map((error) => {
      const segments = pointerSegments(error.instancePath);
      return { error, segments, position: walkPosition(error, segments, raw) };
    });
  return located.reduce((first, next) => (comparePositions(next.position, first.position) < 0 ? next : first));
}

function schemaError(errors: ErrorObject[], raw: unknown): DesignError {
  const { error, segments } = firstError(errors, raw);
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
    return { ok: false, error: schemaError(checkArchitecture.errors!, raw) };
  }
  return { ok: true, design: withDefaults(raw as Record<string, unknown>) };
}

