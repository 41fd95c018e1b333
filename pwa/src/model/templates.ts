/** The starter designs in `schema/templates/`, bundled at build time and decoded once. */
import { decodeDesign } from "./schema";
import type { ModelArchitecture } from "./types";

const files = import.meta.glob<unknown>("@schema/templates/*.json", { eager: true, import: "default" });

function decodeTemplate([path, document]: [string, unknown]): ModelArchitecture {
  const outcome = decodeDesign(document);
  if (!outcome.ok) throw new Error(`template ${path} does not match the schema: ${outcome.error.message}`);
  return outcome.design;
}

/** Every template, smallest first, so the list reads from simple to advanced. */
export const TEMPLATES: readonly ModelArchitecture[] = Object.entries(files)
  .map(decodeTemplate)
  .sort((a, b) => a.components.length - b.components.length || a.name.localeCompare(b.name));
