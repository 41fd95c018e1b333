/**
 * The outbox: designs waiting to be sent, kept in IndexedDB so they survive a closed app, and the
 * per-design sync records (which server version each local design is based on).
 *
 * An item names a design, not its content: the latest content is read when the item is sent, so
 * a design edited many times while offline goes once, in the place it was first queued. An item
 * is deleted in the same transaction that records the server's answer, so a crash in between at
 * worst sends it again - harmless, because every push is conditional (see protocol.ts).
 */
import { studioDb, type OutboxItem, type SyncRecord } from "../storage/db";

/** The Web Lock that only one tab holds while it sends the outbox. */
export const OUTBOX_LOCK = "model-studio-outbox";

/** Queue `designId` (or, when it is already queued, note that it was asked for again). */
export async function enqueue(designId: string, now: number = Date.now()): Promise<OutboxItem> {
  const db = await studioDb();
  const tx = db.transaction("outbox", "readwrite");
  const existing = await tx.store.index("by-design").get(designId);
  const item: OutboxItem = existing
    ? { ...existing, touchedAt: Math.max(now, existing.touchedAt + 1) }
    : { designId, enqueuedAt: now, touchedAt: now, attempts: 0 };
  item.seq = await tx.store.put(item);
  await tx.done;
  return item;
}

/** Everything waiting, in the order it was first queued. */
export async function queuedItems(): Promise<OutboxItem[]> {
  const db = await studioDb();
  return db.getAll("outbox");
}

export async function queuedItem(designId: string): Promise<OutboxItem | undefined> {
  const db = await studioDb();
  return db.getFromIndex("outbox", "by-design", designId);
}

export async function queuedCount(): Promise<number> {
  const db = await studioDb();
  return db.count("outbox");
}

/**
 * Record how sending `item` ended, atomically: store `record` (when the server answered with a
 * version) and remove the item - unless it was queued again while in flight (then the newer
 * request still stands and the item stays, with its place).
 */
export async function settle(item: OutboxItem, record: SyncRecord | null): Promise<void> {
  const db = await studioDb();
  const tx = db.transaction(["outbox", "sync"], "readwrite");
  const outbox = tx.objectStore("outbox");
  if (record) await tx.objectStore("sync").put(record);
  const current = item.seq === undefined ? undefined : await outbox.get(item.seq);
  if (current && current.touchedAt === item.touchedAt) await outbox.delete(item.seq!);
  await tx.done;
}

/** Keep `item` for a later try, counting the attempt. */
export async function postpone(item: OutboxItem): Promise<void> {
  const db = await studioDb();
  const tx = db.transaction("outbox", "readwrite");
  const current = item.seq === undefined ? undefined : await tx.store.get(item.seq);
  if (current) await tx.store.put({ ...current, attempts: current.attempts + 1 });
  await tx.done;
}

/** Drop whatever is queued for `designId` (a resolution made it moot). */
export async function dequeue(designId: string): Promise<void> {
  const db = await studioDb();
  const tx = db.transaction("outbox", "readwrite");
  const key = await tx.store.index("by-design").getKey(designId);
  if (key !== undefined) await tx.store.delete(key);
  await tx.done;
}

export async function syncRecord(id: string): Promise<SyncRecord | undefined> {
  const db = await studioDb();
  return db.get("sync", id);
}

export async function putSyncRecord(record: SyncRecord): Promise<void> {
  const db = await studioDb();
  await db.put("sync", record);
}

/** Store the sync record and drop any queued item of its design, in one transaction. */
export async function replaceSyncState(record: SyncRecord): Promise<void> {
  const db = await studioDb();
  const tx = db.transaction(["outbox", "sync"], "readwrite");
  await tx.objectStore("sync").put(record);
  const outbox = tx.objectStore("outbox");
  const key = await outbox.index("by-design").getKey(record.id);
  if (key !== undefined) await outbox.delete(key);
  await tx.done;
}

/** The part of the Web Locks API the outbox uses (`navigator.locks`). */
export interface OutboxLocks {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** `navigator.locks` where the browser has it (every current one does); null elsewhere. */
export function browserLocks(): OutboxLocks | null {
  const locks = typeof navigator === "undefined" ? null : (navigator as Navigator & { locks?: LockManager | null }).locks;
  return locks ? { request: (name, callback) => locks.request(name, callback) } : null;
}

/**
 * Runs callbacks one at a time: across tabs through `locks` when there are Web Locks, else
 * within this tab only. (Without Web Locks two tabs may both send an item; every push being
 * conditional, the second send finds its own content on the server and counts as done.)
 */
export function createOutboxMutex(locks: OutboxLocks | null): <T>(callback: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(callback: () => Promise<T>): Promise<T> => {
    const run = locks ? () => locks.request(OUTBOX_LOCK, callback) : callback;
    const next = tail.then(run, run);
    tail = next.catch(() => undefined);
    return next;
  };
}
