/**
 * Debounced saving: edits are written a moment after the last one, and at once when the page is
 * hidden or unloaded, so a quick burst of edits is one write and closing the app loses nothing.
 */
import type { ModelArchitecture } from "../model/types";

/** Quiet time after the last edit before it is written, in milliseconds. */
export const AUTOSAVE_DELAY_MS = 500;

export type SaveState = "saved" | "pending" | "saving" | "failed";

export interface Autosaver {
  /** Save `design` once edits pause (a newer call replaces an older pending design). */
  schedule(design: ModelArchitecture): void;
  /** Write any pending design now; resolves once everything scheduled so far is stored. */
  flush(): Promise<void>;
}

export function createAutosaver(
  write: (design: ModelArchitecture) => Promise<void>,
  onState: (state: SaveState, error?: unknown) => void,
  delayMs: number = AUTOSAVE_DELAY_MS,
): Autosaver {
  let pending: ModelArchitecture | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing: Promise<void> = Promise.resolve();

  // Writes are chained so they land in the order they were made.
  const flush = (): Promise<void> => {
    clearTimeout(timer);
    const design = pending;
    pending = null;
    if (design) {
      onState("saving");
      writing = writing.then(() => write(design)).then(
        () => onState(pending ? "pending" : "saved"),
        (error: unknown) => {
          pending ??= design; // keep it, so the next flush tries again
          onState("failed", error);
        },
      );
    }
    return writing;
  };

  return {
    schedule(design) {
      pending = design;
      onState("pending");
      clearTimeout(timer);
      timer = setTimeout(() => void flush(), delayMs);
    },
    flush,
  };
}

/**
 * Flush as soon as the page is hidden (app switched, screen locked) or unloaded: on a phone
 * that may be the last chance before the app is killed. Returns a function that stops it.
 */
export function flushWhenHidden(autosaver: Autosaver): () => void {
  const onVisibility = () => {
    if (document.visibilityState === "hidden") void autosaver.flush();
  };
  const onPageHide = () => void autosaver.flush();
  document.addEventListener("visibilitychange", onVisibility);
  window.addEventListener("pagehide", onPageHide);
  return () => {
    document.removeEventListener("visibilitychange", onVisibility);
    window.removeEventListener("pagehide", onPageHide);
  };
}
