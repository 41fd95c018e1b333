/**
 * Ids for designs and blocks. The pattern is read from the shared schema, never copied: letters,
 * digits, '_' and '-', 1-64 characters, not starting with '_' or '-'.
 */
import architectureSchema from "@schema/model-architecture.schema.json";

export const ID_PATTERN = new RegExp(architectureSchema.$defs.ModelComponent.properties.id.pattern);
const MAX_ID_LENGTH = 64;
const FALLBACK_BASE = "id";

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** A base id made safe: disallowed characters become '-', leading '-'/'_' are dropped. */
export function sanitizeId(text: string): string {
  const cleaned = text
    .replace(/[^A-Za-z0-9_-]+/g, "-")
    .replace(/^[-_]+/, "")
    .slice(0, MAX_ID_LENGTH);
  return cleaned === "" ? FALLBACK_BASE : cleaned;
}

/**
 * `base` itself when free, else `base<sep>2`, `base<sep>3`, ...: the first id not in `taken`,
 * shortening the base so the suffix always fits in 64 characters.
 */
export function uniqueId(base: string, taken: ReadonlySet<string>, separator = "_"): string {
  const safe = sanitizeId(base);
  if (!taken.has(safe)) return safe;
  for (let n = 2; ; n++) {
    const suffix = `${separator}${n}`;
    const candidate = `${safe.slice(0, MAX_ID_LENGTH - suffix.length)}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}
