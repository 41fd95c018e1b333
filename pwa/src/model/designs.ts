/** Whole-design operations: making new designs and copies with ids that never collide. */
import { catalogue } from "./catalogue";
import { uniqueId } from "./ids";
import { CURRENT_SCHEMA_VERSION } from "./migrations";
import type { ModelArchitecture } from "./types";

const BLANK_NAME = "Untitled design";
/** Where a blank design's two endpoint blocks sit, in canvas units. */
const BLANK_INPUT_POSITION = { x: 48, y: 48 };
const BLANK_OUTPUT_POSITION = { x: 48, y: 320 };

/** A fresh design id: `base` plus a random suffix, unique among `taken`. */
export function newDesignId(base: string, taken: ReadonlySet<string>): string {
  const suffix = crypto.randomUUID().slice(0, 8);
  return uniqueId(`${base.slice(0, 40)}-${suffix}`, taken, "-");
}

/** A new design with only the two blocks every design needs: the board input and the action output. */
export function blankDesign(taken: ReadonlySet<string>): ModelArchitecture {
  return {
    schemaVersion: CURRENT_SCHEMA_VERSION,
    id: newDesignId("design", taken),
    name: BLANK_NAME,
    description: "",
    meta: { ...catalogue.metaDefaults },
    components: [
      { id: "board", type: "board_input", props: {}, position: BLANK_INPUT_POSITION },
      { id: "policy", type: "action_output", props: {}, position: BLANK_OUTPUT_POSITION },
    ],
    edges: [],
  };
}

/** A new design that starts as a copy of `template`, under a new id. */
export function designFromTemplate(template: ModelArchitecture, taken: ReadonlySet<string>): ModelArchitecture {
  return { ...structuredClone(template), id: newDesignId(template.id, taken) };
}

/** A copy of `design` under a new id, named "<name> (copy)". */
export function duplicateDesign(design: ModelArchitecture, taken: ReadonlySet<string>, maxNameLength: number = catalogue.limits.max_name_length): ModelArchitecture {
  return {
    ...structuredClone(design),
    id: uniqueId(design.id, taken, "-"),
    name: `${design.name} (copy)`.slice(0, maxNameLength),
  };
}
