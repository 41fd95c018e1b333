/**
 * Long-lived parts of the app (storage, validation, sync, telemetry) are services: objects with an
 * explicit `start()` and `stop()`, where a stop tears down only what its own start set up, and a
 * start after a stop works again. That makes them safe under React StrictMode, which in
 * development runs every effect twice (start, stop, start) to catch exactly the bugs module-level
 * singletons have.
 *
 * To add one: write `createThing(): Service` (keeping whatever it opens inside the object, never
 * in module variables), then call `useService(createThing)` in `App.tsx`'s `useServices`.
 */
import { useEffect } from "react";
import { showToast } from "../ui/toast";

export interface Service {
  /** Begin: open what the service needs. May be called again after `stop`. */
  start(): void | Promise<void>;
  /** End what `start` began (waiting for it if it is still running); a no-op when not started. */
  stop(): void | Promise<void>;
}

function reportFailure(what: string, error: unknown): void {
  console.error(`${what} failed`, error);
  showToast(`Something went wrong (${what}): ${error instanceof Error ? error.message : String(error)}. Reload the app.`, "error");
}

/**
 * Run a service while the calling component is mounted: each mount makes a fresh service with
 * `factory` and starts it; unmounting stops that same service. `factory` must be stable (a
 * module-level function), or the service restarts on every render.
 */
export function useService(factory: () => Service): void {
  useEffect(() => {
    const service = factory();
    // async wrappers turn a synchronous throw into a rejection, so every failure is reported.
    void (async () => service.start())().catch((error: unknown) => reportFailure("start-up", error));
    return () => {
      void (async () => service.stop())().catch((error: unknown) => reportFailure("shut-down", error));
    };
  }, [factory]);
}
