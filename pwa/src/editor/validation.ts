/**
 * Live validation of the open design: every change is posted to the validation worker client
 * (which waits for a pause in editing and drops stale answers), and its latest answer is kept
 * here for the banner, the block outlines and the parameter and memory overlay.
 */
import { create } from "zustand";
import type { ModelArchitecture, ValidationResult } from "../model/types";
import { createValidationClient, type ValidationClientOptions } from "../validation/client";
import { useEditor } from "./store";

export interface ValidationState {
  result: ValidationResult | null;
  /** Ids of the blocks that some error names. */
  offending: ReadonlySet<string>;
  /** Why validation stopped (the worker failed), or null while it runs: `result` is then stale. */
  failure: string | null;
}

const NONE: ReadonlySet<string> = new Set();

export const useValidation = create<ValidationState>()(() => ({ result: null, offending: NONE, failure: null }));

/**
 * The validation service: while started, validates the open design on every change. Each start
 * runs its own worker; a stop ends only that one.
 */
export function createValidationService(options: Pick<ValidationClientOptions, "createPort" | "debounceMs"> = {}): {
  start(): void;
  stop(): void;
} {
  let stopRunning: (() => void) | null = null;

  function run(): () => void {
    useValidation.setState({ failure: null });
    const client = createValidationClient(
      (result) => {
        const offending = new Set(result.errors.flatMap((error) => (error.component ? [error.component] : [])));
        useValidation.setState({ result, offending });
      },
      {
        ...options,
        // The last result no longer follows the design, so nothing is shown as if it did.
        onFailure: (reason) => useValidation.setState({ result: null, offending: NONE, failure: reason }),
      },
    );

    const post = (design: ModelArchitecture | null, immediately: boolean) => {
      if (!design) {
        useValidation.setState({ result: null, offending: NONE });
        return;
      }
      client.post(design);
      if (immediately) client.flush();
    };

    post(useEditor.getState().design, true);
    const unsubscribe = useEditor.subscribe((state, previous) => {
      // A design just opened is checked at once; edits wait for the client's debounce.
      if (state.design !== previous.design) post(state.design, state.design?.id !== previous.design?.id);
    });
    return () => {
      unsubscribe();
      client.dispose();
    };
  }

  return {
    start() {
      stopRunning ??= run();
    },
    stop() {
      stopRunning?.();
      stopRunning = null;
    },
  };
}
