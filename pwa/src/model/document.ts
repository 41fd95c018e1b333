/** Reading a design document saved by any version of the app: upgrade it, then schema-check it. */
import { migrateDesign, MigrationError } from "./migrations";
import { decodeDesign } from "./schema";
import type { ModelArchitecture } from "./types";

export type DocumentOutcome = { ok: true; design: ModelArchitecture } | { ok: false; reason: string };

/** Never throws on bad input: the outcome carries the design or why it cannot be read. */
export function readDocument(document: unknown): DocumentOutcome {
  let migrated: unknown;
  try {
    migrated = migrateDesign(document);
  } catch (error) {
    if (error instanceof MigrationError) return { ok: false, reason: error.message };
    throw error;
  }
  const decoded = decodeDesign(migrated);
  return decoded.ok ? { ok: true, design: decoded.design } : { ok: false, reason: decoded.error.message };
}
