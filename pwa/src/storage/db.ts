/**
 * The IndexedDB database that holds designs on this device, and what syncing them needs.
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

/** What this device knows of a design's copy on the server (see `sync/engine.ts`). */
export interface SyncRecord {
  /** The design's id (local and on the server). */
  id: string;
  /** The server version the local design was last synced with; null: never stored there. */
  baseVersion: number | null;
  /** `contentHash` of the design as last synced, so an unchanged design is not sent again. */
  lastSyncedHash: string | null;
}

/** A design waiting to be sent: its latest content is read when it goes (so edits coalesce). */
export interface OutboxItem {
  /** Queue order: assigned on first enqueue, kept when the design is queued again. */
  seq?: number;
  designId: string;
  /** Milliseconds since the epoch: first queued, and last asked for again. */
  enqueuedAt: number;
  touchedAt: number;
  /** Sends that got an answer which may change on retry (a 5xx). */
  attempts: number;
}

export interface StudioSchema extends DBSchema {
  designs: { key: string; value: DesignRecord; indexes: { "by-updated": number } };
  settings: { key: string; value: string };
  sync: { key: string; value: SyncRecord };
  outbox: { key: number; value: OutboxItem; indexes: { "by-design": string } };
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
  // 1 -> 2: per-design sync state; the outbox, in queue order, at most one item per design.
  (db) => {
    db.createObjectStore("sync", { keyPath: "id" });
    const outbox = db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
    outbox.createIndex("by-design", "designId", { unique: true });
  },
];

export const DB_VERSION = UPGRADES.length;

export type StudioDb = IDBPDatabase<StudioSchema>;

let opening: Promise<StudioDb> | null = null;

/** The database is newer than this code: another tab runs a newer version of the app. */
export class NewerDatabaseError extends Error {
  constructor() {
    super("A newer version of the app upgraded this device's storage: reload the app to keep working.");
  }
}

/** The open database, opened (and upgraded) on first use. A failed open is not kept, so the
 * next call tries again; one refused because the database is newer says to reload. */
export function studioDb(): Promise<StudioDb> {
  opening ??= openStudioDb().catch((error: unknown) => {
    opening = null;
    throw error instanceof DOMException && error.name === "VersionError" ? new NewerDatabaseError() : error;
  });
  return opening;
}

function openStudioDb(): Promise<StudioDb> {
  return openDB<StudioSchema>(DB_NAME, DB_VERSION, {
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
}
