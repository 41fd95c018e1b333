/**
 * Telemetry events waiting on this device, in their own IndexedDB database so that its upgrades
 * never meet the designs database's (`storage/db.ts`). Events are kept in the order recorded
 * (auto-increment keys) until the server acknowledges them, and capped so a phone that is never
 * paired does not fill up.
 */
import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import type { RecordedEvent } from "./events";

export const TELEMETRY_DB_NAME = "model-studio-telemetry";
const TELEMETRY_DB_VERSION = 1;
/** Events kept at most; past it the oldest go first. */
export const MAX_STORED_EVENTS = 5000;

interface TelemetrySchema extends DBSchema {
  events: { key: number; value: RecordedEvent };
  /** `enabled` ("on" / "off"; absent = on) and `clientId`. */
  meta: { key: string; value: string };
}

export interface StoredEvent {
  key: number;
  event: RecordedEvent;
}

export interface TelemetryStore {
  add(event: RecordedEvent): Promise<void>;
  /** The first `limit` events, oldest first. */
  oldest(limit: number): Promise<StoredEvent[]>;
  remove(keys: readonly number[]): Promise<void>;
  clear(): Promise<void>;
  count(): Promise<number>;
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  close(): void;
}

export interface TelemetryStoreOptions {
  name?: string;
  maxEvents?: number;
  /** Called when the connection closes by itself (another tab upgrades it, or the browser drops it): open again. */
  onClose?: () => void;
}

export async function openTelemetryStore({ name = TELEMETRY_DB_NAME, maxEvents = MAX_STORED_EVENTS, onClose }: TelemetryStoreOptions = {}): Promise<TelemetryStore> {
  const db: IDBPDatabase<TelemetrySchema> = await openDB<TelemetrySchema>(name, TELEMETRY_DB_VERSION, {
    upgrade(database) {
      database.createObjectStore("events", { autoIncrement: true });
      database.createObjectStore("meta");
    },
    blocking() {
      db.close(); // a newer app version needs to upgrade this database: let it
      onClose?.();
    },
    terminated() {
      onClose?.();
    },
  });
  return {
    async add(event) {
      const tx = db.transaction("events", "readwrite");
      await tx.store.add(event);
      let excess = (await tx.store.count()) - maxEvents;
      for (let cursor = excess > 0 ? await tx.store.openCursor() : null; cursor && excess > 0; cursor = await cursor.continue(), excess--) {
        await cursor.delete();
      }
      await tx.done;
    },
    async oldest(limit) {
      const found: StoredEvent[] = [];
      for (let cursor = await db.transaction("events").store.openCursor(); cursor && found.length < limit; cursor = await cursor.continue()) {
        found.push({ key: cursor.key, event: cursor.value });
      }
      return found;
    },
    async remove(keys) {
      const tx = db.transaction("events", "readwrite");
      await Promise.all([...keys.map((key) => tx.store.delete(key)), tx.done]);
    },
    clear: () => db.clear("events"),
    count: () => db.count("events"),
    getMeta: (key) => db.get("meta", key),
    async setMeta(key, value) {
      await db.put("meta", value, key);
    },
    close: () => db.close(),
  };
}
