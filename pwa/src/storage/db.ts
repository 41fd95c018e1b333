/**
 * The IndexedDB database that holds designs on this device.
 *
 * Object stores are versioned: `UPGRADES[v]` takes the database from version v to v + 1, and
 * opening runs every step past the version found on disk. Design documents inside the records
 * carry their own `schemaVersion` and are upgraded on read (see `model/migrations.ts`).
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from "idb";

export const DB_NAME = "model-studio";

/** One stored design: the document as saved, plus what the design list shows without decoding it. */
export interface DesignRecord {
  id: string;
  name: string;
  /** Blocks in the design. */
  blocks: number;
  /** Milliseconds since the epoch. */
  updatedAt: number;
  document: unknown;
}

export interface StudioSchema extends DBSchema {
  designs: { key: string; value: DesignRecord; indexes: { "by-updated": number } };
  settings: { key: string; value: string };
}

type UpgradeTx = IDBPTransaction<StudioSchema, StoreNames<StudioSchema>[], "versionchange">;
type Upgrade = (db: IDBPDatabase<StudioSchema>, tx: UpgradeTx) => void;

const UPGRADES: readonly Upgrade[] = [
  // 0 -> 1: designs by id, with an index for "most recently edited first"; key-value settings.
  (db) => {
    const designs = db.createObjectStore("designs", { keyPath: "id" });
    designs.createIndex("by-updated", "updatedAt");
    db.createObjectStore("settings");
  },
];

export const DB_VERSION = UPGRADES.length;

export type StudioDb = IDBPDatabase<StudioSchema>;

let opening: Promise<StudioDb> | null = null;

/** The open database, opened (and upgraded) on first use. */
export function studioDb(): Promise<StudioDb> {
  opening ??= openDB<StudioSchema>(DB_NAME, DB_VERSION, {
    upgrade(db, oldVersion, _newVersion, tx) {
      for (let version = oldVersion; version < DB_VERSION; version++) UPGRADES[version](db, tx);
    },
    // A newer version of the app, open in another tab, needs to upgrade: let it, and reopen
    // (at whatever version this code knows) on next use.
    blocking() {
      void opening?.then((db) => db.close());
      opening = null;
    },
    terminated() {
      opening = null;
    },
  });
  return opening;
}
