/** Asking the browser to keep this app's storage, so designs are not evicted under pressure. */

/** True when storage is persistent, false when the browser may evict it, null when it cannot say. */
export async function requestPersistentStorage(): Promise<boolean | null> {
  const storage = navigator.storage;
  if (!storage?.persist || !storage.persisted) return null;
  if (await storage.persisted()) return true;
  return storage.persist();
}
