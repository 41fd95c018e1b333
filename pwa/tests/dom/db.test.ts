/**
 * Opening and upgrading the IndexedDB database (storage/db.ts). Each test gets an empty
 * IndexedDB and a fresh copy of the module, whose open connection is cached.
 */
import { IDBFactory } from "fake-indexeddb";
import { beforeEach, describe, expect, it, vi } from "vitest";

type DbModule = typeof import("../../src/storage/db");

const freshModule = async (): Promise<DbModule> => {
  vi.resetModules();
  return import("../../src/storage/db");
};

/** Open the database with the raw API at `version`, as another tab running other code would. */
function openRaw(name: string, version?: number, onUpgrade?: (db: IDBDatabase, oldVersion: number) => void) {
  return new Promise<{ db: IDBDatabase; blocked: boolean }>((resolve, reject) => {
    let blocked = false;
    const request = indexedDB.open(name, version);
    request.onupgradeneeded = (event) => onUpgrade?.(request.result, event.oldVersion);
    request.onblocked = () => {
      blocked = true;
    };
    request.onsuccess = () => resolve({ db: request.result, blocked });
    request.onerror = () => reject(request.error);
  });
}

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
});

describe("studioDb", () => {
  it("creates every store and index on a device that has none", async () => {
    const { studioDb, DB_NAME, DB_VERSION } = await freshModule();
    const db = await studioDb();
    expect(db.name).toBe(DB_NAME);
    expect(db.version).toBe(DB_VERSION);
    expect([...db.objectStoreNames]).toEqual(expect.arrayContaining(["designs", "settings"]));
    const designs = db.transaction("designs").store;
    expect(designs.keyPath).toBe("id");
    expect([...designs.indexNames]).toEqual(["by-updated"]);
    expect(designs.index("by-updated").keyPath).toBe("updatedAt");
  });

  it("opens once and shares the connection", async () => {
    const { studioDb } = await freshModule();
    expect(await studioDb()).toBe(await studioDb());
  });

  it("keeps what is stored when the app opens the database again", async () => {
    const first = await freshModule();
    const db = await first.studioDb();
    await db.put("designs", { id: "kept", name: "Kept", blocks: 0, updatedAt: 1, document: {} });
    await db.put("settings", "kept", "lastOpened");
    db.close();

    const again = await (await freshModule()).studioDb();
    expect(again).not.toBe(db);
    expect(await again.get("designs", "kept")).toMatchObject({ name: "Kept" });
    expect(await again.get("settings", "lastOpened")).toBe("kept");
  });

  it("upgrades a database made by the first version of the app, keeping its designs", async () => {
    const { studioDb, DB_NAME, DB_VERSION } = await freshModule();
    // Version 1's layout, made with the raw API as the first release did.
    const { db: v1 } = await openRaw(DB_NAME, 1, (raw) => {
      raw.createObjectStore("designs", { keyPath: "id" }).createIndex("by-updated", "updatedAt");
      raw.createObjectStore("settings");
    });
    await new Promise<void>((resolve, reject) => {
      const tx = v1.transaction(["designs", "settings"], "readwrite");
      tx.objectStore("designs").put({ id: "old", name: "Old", blocks: 0, updatedAt: 5, document: { id: "old" } });
      tx.objectStore("settings").put("old", "lastOpened");
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    v1.close();

    const db = await studioDb();
    expect(db.version).toBe(DB_VERSION);
    expect(await db.get("designs", "old")).toEqual({ id: "old", name: "Old", blocks: 0, updatedAt: 5, document: { id: "old" } });
    expect(await db.getAllFromIndex("designs", "by-updated")).toHaveLength(1);
    expect(await db.get("settings", "lastOpened")).toBe("old");
  });

  it("lets a newer version of the app in another tab upgrade, instead of blocking it", async () => {
    const { studioDb, DB_NAME, DB_VERSION } = await freshModule();
    const db = await studioDb();
    const { db: newer, blocked } = await openRaw(DB_NAME, DB_VERSION + 1, (upgrading) => upgrading.createObjectStore("added-later"));
    expect(blocked).toBe(false);
    expect(newer.version).toBe(DB_VERSION + 1);
    expect([...newer.objectStoreNames]).toContain("added-later");
    newer.close();
    // This tab's connection gave way: it is closed, so using it fails.
    expect(() => db.transaction("designs")).toThrow();
  });
});

describe("a database newer than this code", () => {
  it("says to reload, and tries again on the next call instead of failing for good", async () => {
    const { NewerDatabaseError, studioDb, DB_NAME, DB_VERSION } = await freshModule();
    const newer = await openRaw(DB_NAME, DB_VERSION + 1);
    newer.db.close();
    await expect(studioDb()).rejects.toBeInstanceOf(NewerDatabaseError);
    indexedDB.deleteDatabase(DB_NAME);
    await expect(studioDb()).resolves.toBeTruthy();
  });
});
