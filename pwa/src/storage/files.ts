/**
 * Designs as `.json` files, because browsers may evict storage: export downloads one, import
 * reads one back (upgraded and schema-checked first).
 */
import type { ModelArchitecture } from "../model/types";
import { readDocument, type DocumentOutcome } from "../model/document";

export const DESIGN_FILE_TYPE = "application/json";
/** Imported files larger than this are refused unread, in bytes (the server's body limit). */
export const MAX_IMPORT_BYTES = 2 * 1024 * 1024;

export function designFileName(design: Pick<ModelArchitecture, "id">): string {
  return `${design.id}.json`;
}

/** Offer `document` to the user as a download named `fileName`. */
export function downloadJson(document_: unknown, fileName: string): void {
  const blob = new Blob([`${JSON.stringify(document_, null, 2)}\n`], { type: DESIGN_FILE_TYPE });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  link.click();
  // The click starts the download synchronously; the URL can go once the event loop turns.
  setTimeout(() => URL.revokeObjectURL(url));
}

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
