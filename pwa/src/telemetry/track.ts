/**
 * Recording telemetry events on the device: `track("compile_success", {time_ms: 412})`.
 *
 * Events go to this device's own telemetry database and nowhere else; the telemetry service
 * (`sender.ts`) later sends them to the paired server, the only place they ever go. The user's
 * off switch (`setEnabled(false)`) stops recording and deletes what is stored.
 *
 * `track` never throws and never rejects: a bad event or a storage failure is logged, and the
 * app carries on. The module's `telemetry` recorder opens its database on first use.
 */
import { createStore, type StoreApi } from "zustand/vanilla";
import { recordedEvent, type TelemetryProps } from "./events";
import { openTelemetryStore, type TelemetryStore, type TelemetryStoreOptions } from "./store";

const ENABLED_KEY = "enabled";
const CLIENT_ID_KEY = "clientId";

/** What the off switch shows. `loaded` is false until the stored setting has been read. */
export interface TelemetryState {
  enabled: boolean;
  loaded: boolean;
  /** Events waiting to be sent. */
  stored: number;
}

export interface TelemetryRecorder {
  /** Record an event (when enabled); resolves once it is stored, or dropped. */
  track(name: string, props?: TelemetryProps): Promise<void>;
  isEnabled(): Promise<boolean>;
  /** Off stops recording and deletes every stored event; on starts recording again. */
  setEnabled(enabled: boolean): Promise<void>;
  /** This device's id in telemetry batches: random, made once, and only ever sent to the paired server. */
  clientId(): Promise<string>;
  store(): Promise<TelemetryStore>;
  /** Re-read the setting and the count of stored events into `state`. */
  refresh(): Promise<void>;
  state: StoreApi<TelemetryState>;
}

export function createTelemetryRecorder(options: Omit<TelemetryStoreOptions, "onClose"> = {}): TelemetryRecorder {
  const state = createStore<TelemetryState>(() => ({ enabled: true, loaded: false, stored: 0 }));
  let opening: Promise<TelemetryStore> | null = null;
  let enabled: Promise<boolean> | null = null;
  const pending = new Set<Promise<void>>();

  function store(): Promise<TelemetryStore> {
    if (!opening) {
      const attempt = openTelemetryStore({ ...options, onClose: () => (opening = null) });
      opening = attempt;
      attempt.catch(() => {
        if (opening === attempt) opening = null;
      });
    }
    return opening;
  }

  function isEnabled(): Promise<boolean> {
    if (!enabled) {
      const reading = store()
        .then((db) => db.getMeta(ENABLED_KEY))
        .then((value) => {
          const on = value !== "off";
          state.setState({ enabled: on, loaded: true });
          return on;
        });
      enabled = reading;
      reading.catch(() => {
        if (enabled === reading) enabled = null;
      });
    }
    return enabled;
  }

  async function countStored(db: TelemetryStore): Promise<void> {
    state.setState({ stored: await db.count() });
  }

  function track(name: string, props: TelemetryProps = {}): Promise<void> {
    let event: ReturnType<typeof recordedEvent>;
    try {
      event = recordedEvent(name, props);
    } catch (error) {
      console.warn(error instanceof Error ? error.message : error);
      return Promise.resolve();
    }
    const work = (async () => {
      if (!(await isEnabled())) return;
      const db = await store();
      if (!(await isEnabled())) return; // switched off while the database opened
      await db.add(event);
      await countStored(db);
    })().catch((error: unknown) => console.warn("Telemetry: could not store an event.", error));
    pending.add(work);
    void work.finally(() => pending.delete(work));
    return work;
  }

  async function setEnabled(on: boolean): Promise<void> {
    enabled = Promise.resolve(on);
    state.setState({ enabled: on, loaded: true });
    const db = await store();
    await db.setMeta(ENABLED_KEY, on ? "on" : "off");
    if (!on) {
      await Promise.allSettled([...pending]); // an event already being written is deleted with the rest
      await db.clear();
      await countStored(db);
    }
  }

  async function clientId(): Promise<string> {
    const db = await store();
    const known = await db.getMeta(CLIENT_ID_KEY);
    if (known) return known;
    const made = crypto.randomUUID(); // hex and dashes: fits the server's id pattern
    await db.setMeta(CLIENT_ID_KEY, made);
    return made;
  }

  async function refresh(): Promise<void> {
    enabled = null;
    await isEnabled();
    await countStored(await store());
  }

  return { track, isEnabled, setEnabled, clientId, store, refresh, state };
}

/** The app's recorder, on the `model-studio-telemetry` database. */
export const telemetry = createTelemetryRecorder();

/** Record an event with the app's recorder; see `events.ts` for the names the app uses. */
export function track(name: string, props?: TelemetryProps): Promise<void> {
  return telemetry.track(name, props);
}
