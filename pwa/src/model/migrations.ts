/**
 * Upgrades design documents, step by step, to the current `schemaVersion`, so a design saved by
 * any earlier version of the app (in IndexedDB or in an exported file) still opens.
 *
 * Version 0 is the seed's unversioned format, which kept a block's canvas position in
 * `props.xy` (`[x, y]` or `{x, y}`); version 1 keeps it in `position`, never in `props`.
 */
import architectureSchema from "@schema/model-architecture.schema.json";

export const CURRENT_SCHEMA_VERSION: number = architectureSchema.$defs.ModelArchitecture.properties.schemaVersion.maximum;

/** Raised for documents that cannot be upgraded, such as ones from a newer app. */
export class MigrationError extends Error {
  override name = "MigrationError";
}

type Doc = Record<string, unknown>;

const isObject = (value: unknown): value is Doc => typeof value === "object" && value !== null && !Array.isArray(value);

function legacyPosition(xy: unknown): { x: number; y: number } | null {
  if (Array.isArray(xy) && xy.length === 2 && xy.every((n) => typeof n === "number")) return { x: xy[0], y: xy[1] };
  if (isObject(xy) && typeof xy.x === "number" && typeof xy.y === "number") return { x: xy.x, y: xy.y };
  return null;
}

/** v0 -> v1: move `props.xy` into `position`. */
function positionsOutOfProps(doc: Doc): Doc {
  if (!Array.isArray(doc.components)) return doc;
  const components = doc.components.map((component: unknown) => {
    if (!isObject(component) || !isObject(component.props) || !("xy" in component.props)) return component;
    const { xy, ...props } = component.props;
    const position = legacyPosition(xy);
    return position && !("position" in component) ? { ...component, props, position } : { ...component, props };
  });
  return { ...doc, components };
}

/** `STEPS[v]` upgrades a version-v document to version v + 1. */
const STEPS: ReadonlyArray<(doc: Doc) => Doc> = [positionsOutOfProps];
if (STEPS.length !== CURRENT_SCHEMA_VERSION) {
  throw new Error(`migrations.ts has ${STEPS.length} steps but the schema is at version ${CURRENT_SCHEMA_VERSION}`);
}

/**
 * The document upgraded to `CURRENT_SCHEMA_VERSION`; anything that is not an object is returned
 * as it is, for the schema check to refuse. Never changes its input.
 */
export function migrateDesign(document: unknown): unknown {
  if (!isObject(document)) return document;
  const version = document.schemaVersion ?? 0;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 0) return document;
  if (version > CURRENT_SCHEMA_VERSION) {
    throw new MigrationError(
      `This design was saved by a newer Model Studio (schema version ${version}; this app reads up to ${CURRENT_SCHEMA_VERSION}). Update the app to open it.`,
    );
  }
  let doc = document;
  for (let from = version; from < CURRENT_SCHEMA_VERSION; from++) doc = { ...STEPS[from](doc), schemaVersion: from + 1 };
  return doc;
}
