/**
 * Designs as `.json` files, because browsers may evict storage. This is the export side; reading
 * a file back is in `import.ts`, loaded only when the user imports.
 */
import type { ModelArchitecture } from "../model/types";

export const DESIGN_FILE_TYPE = "application/json";

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
