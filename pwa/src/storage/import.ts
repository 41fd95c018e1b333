/** Reading an imported design file: parsed, upgraded to the current version, schema-checked. */
import { readDocument, type DocumentOutcome } from "../model/document";

/** Imported files larger than this are refused unread, in bytes (the server's body limit). */
export const MAX_IMPORT_BYTES = 2 * 1024 * 1024;

/** Parse an imported file's text into a design, or say why it cannot be imported. */
export function parseDesignFile(text: string): DocumentOutcome {
  let document_: unknown;
  try {
    document_ = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `The file is not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  return readDocument(document_);
}

export async function readDesignFile(file: File): Promise<DocumentOutcome> {
  if (file.size > MAX_IMPORT_BYTES) {
    return { ok: false, reason: `The file is ${Math.ceil(file.size / 1024)} KiB; designs are at most ${MAX_IMPORT_BYTES / 1024} KiB.` };
  }
  return parseDesignFile(await file.text());
}
