/**
 * Sync on demand (sync/engine.ts) with the outbox in IndexedDB (fake-indexeddb) and the designs
 * stored through storage/designs.ts, against the in-process fake of the design routes: outcomes,
 * coalescing and order while offline, conflicts and their three resolutions, crash safety, and
 * two tabs sending the same outbox.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configureApi } from "../../src/api/client";
import { TEMPLATES } from "../../src/model/templates";
import type { ModelArchitecture } from "../../src/model/types";
import { studioDb } from "../../src/storage/db";
import { listDesigns, loadDesign, saveDesign, storedIds } from "../../src/storage/designs";
import { createSyncEngine, isInSync, MAX_ATTEMPTS, type SyncEngine } from "../../src/sync/engine";
import { queuedCount, queuedItems, syncRecord, type OutboxLocks } from "../../src/sync/outbox";
import { setToken } from "../../src/sync/pairing";
import { storedDesigns } from "../../src/sync/service";
import { useSyncStatus } from "../../src/sync/status";
import { FAKE_ORIGIN, FAKE_TOKEN, FakeDesignServer } from "../support/fakeDesignServer";

const tiny = (): ModelArchitecture => structuredClone(TEMPLATES.find((t) => t.id === "tiny-dense")!);
const named = (id: string, name = id): ModelArchitecture => ({ ...tiny(), id, name });

/** Web Locks as the browser gives them, within one JS realm: one holder per name, the rest queue. */
function sharedLocks(): OutboxLocks & { grants: number } {
  const tails = new Map<string, Promise<unknown>>();
  const locks = {
    grants: 0,
    request<T>(name: string, callback: () => Promise<T>): Promise<T> {
      const run = () => {
        locks.grants++;
        return callback();
      };
      const next = (tails.get(name) ?? Promise.resolve()).then(run, run);
      tails.set(name, next.catch(() => undefined));
      return next;
    },
  };
  return locks;
}

let server: FakeDesignServer;
let restore: () => void;
let engine: SyncEngine;

beforeEach(async () => {
  const db = await studioDb();
  await Promise.all(["designs", "settings", "sync", "outbox"].map((store) => db.clear(store as "designs")));
  useSyncStatus.setState({ reach: "online", pending: 0, syncing: false, conflicts: [] });
  await setToken(FAKE_TOKEN);
  server = new FakeDesignServer();
  restore = configureApi({ baseUrl: FAKE_ORIGIN, fetch: server.fetch });
  engine = createSyncEngine({ local: storedDesigns, locks: sharedLocks() });
});
afterEach(() => restore());

async function local(id: string): Promise<ModelArchitecture> {
  const outcome = await loadDesign(id);
  if (!outcome.ok) throw new Error(outcome.reason);
  return outcome.design;
}

describe("syncDesign", () => {
  it("creates, then sends nothing while unchanged, then updates over the version it is based on", async () => {
    await saveDesign(named("a", "first"));
    expect(await engine.syncDesign("a")).toEqual({ kind: "synced", id: "a", version: 1, created: true });
    expect(await syncRecord("a")).toMatchObject({ id: "a", baseVersion: 1 });

    expect(await engine.syncDesign("a")).toEqual({ kind: "unchanged", id: "a", version: 1 });
    expect(server.puts()).toHaveLength(1); // unchanged: only a conditional GET went out
    expect(server.log.at(-1)).toMatchObject({ method: "GET", headers: { "if-none-match": '"1"' } });

    await saveDesign(named("a", "second"));
    expect(await engine.syncDesign("a")).toEqual({ kind: "synced", id: "a", version: 2, created: false });
    expect(server.puts()[1].headers["if-match"]).toBe('"1"');
    expect(server.designs.get("a")?.design).toMatchObject({ name: "second" });
    expect(await queuedCount()).toBe(0);
  });

  it("takes the server's copy when only the server changed", async () => {
    await saveDesign(named("a", "mine"));
    await engine.syncDesign("a");
    server.writeElsewhere(named("a", "from the laptop"));
    expect(await engine.syncDesign("a")).toEqual({ kind: "pulled", id: "a", version: 2 });
    expect((await local("a")).name).toBe("from the laptop");
    expect(await engine.syncDesign("a")).toEqual({ kind: "unchanged", id: "a", version: 2 });
    expect(server.puts()).toHaveLength(1);
  });

  it("stores a design deleted on the server there again", async () => {
    await saveDesign(named("a"));
    await engine.syncDesign("a");
    await saveDesign(named("a", "edited"));
    server.designs.delete("a");
    expect(await engine.syncDesign("a")).toEqual({ kind: "synced", id: "a", version: 1, created: true });
  });

  it("drops a design the server refuses for good (4xx), keeping a 5xx for a later try", async () => {
    await saveDesign(named("a"));
    server.failNext = { status: 422, count: 1 };
    expect(await engine.syncDesign("a")).toMatchObject({ kind: "failed", id: "a", code: "internal_error" });
    expect(await queuedCount()).toBe(0);

    server.failNext = { status: 503, count: MAX_ATTEMPTS };
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      expect(await engine.syncDesign("a")).toEqual({ kind: "queued", id: "a", reason: "server_error" });
    }
    expect((await queuedItems())[0].attempts).toBe(MAX_ATTEMPTS - 1);
    expect(await engine.syncDesign("a")).toMatchObject({ kind: "failed", id: "a" }); // the last attempt: given up
    expect(await queuedCount()).toBe(0);
    expect(await engine.syncDesign("a")).toMatchObject({ kind: "synced", version: 1 });
  });

  it("waits, without a request, when the device is not paired", async () => {
    const { unpair } = await import("../../src/sync/pairing");
    await unpair();
    await saveDesign(named("a"));
    expect(await engine.syncDesign("a")).toEqual({ kind: "queued", id: "a", reason: "unpaired" });
    expect(server.log).toEqual([]);
    expect(await queuedCount()).toBe(1);
  });

  it("keeps a design for later when the server refuses the token (401)", async () => {
    await setToken("another-token-0123456789");
    await saveDesign(named("a"));
    expect(await engine.syncDesign("a")).toEqual({ kind: "queued", id: "a", reason: "unauthorized" });
    expect(await queuedCount()).toBe(1);
  });
});

describe("the outbox", () => {
  it("keeps requests made offline, once per design in first-queued order, and sends the latest content when back", async () => {
    server.offline = true;
    await saveDesign(named("a", "a1"));
    await saveDesign(named("b", "b1"));
    expect(await engine.syncDesign("a")).toEqual({ kind: "queued", id: "a", reason: "offline" });
    expect(await engine.syncDesign("b")).toMatchObject({ kind: "queued", reason: "offline" });
    await saveDesign(named("a", "a2"));
    await engine.syncDesign("a");
    await saveDesign(named("a", "a3"));
    await engine.syncDesign("a");
    expect((await queuedItems()).map((item) => item.designId)).toEqual(["a", "b"]);

    server.offline = false;
    server.log.length = 0;
    const outcomes = await engine.drain();
    expect(outcomes.map((o) => [o.id, o.kind])).toEqual([
      ["a", "synced"],
      ["b", "synced"],
    ]);
    expect(server.puts().map((p) => [p.path, (p.body as ModelArchitecture).name])).toEqual([
      ["/api/designs/a", "a3"],
      ["/api/designs/b", "b1"],
    ]);
    expect(await queuedCount()).toBe(0);
  });

  it("drops a queued design deleted on this device meanwhile, saying so", async () => {
    server.offline = true;
    await saveDesign(named("a"));
    await engine.syncDesign("a");
    const { deleteDesign } = await import("../../src/storage/designs");
    await deleteDesign("a");
    server.offline = false;
    server.log.length = 0;
    expect(await engine.drain()).toEqual([{ kind: "failed", id: "a", code: "deleted_here", message: "It was deleted on this device, so it was not sent." }]);
    expect(server.log).toEqual([]);
    expect(await queuedCount()).toBe(0);
  });

  it("survives the app closing: a new engine sends what the old one queued", async () => {
    server.offline = true;
    await saveDesign(named("a"));
    await engine.syncDesign("a");
    server.offline = false;
    const reopened = createSyncEngine({ local: storedDesigns, locks: sharedLocks() });
    expect(await reopened.drain()).toEqual([{ kind: "synced", id: "a", version: 1, created: true }]);
  });

  it("after a lost answer (stored on the server, not recorded here), the resend counts as done and writes nothing new", async () => {
    await saveDesign(named("a", "v1"));
    await engine.syncDesign("a");
    await saveDesign(named("a", "v2"));
    server.loseNextAnswer = true;
    expect(await engine.syncDesign("a")).toMatchObject({ kind: "queued", reason: "offline" });
    expect(server.designs.get("a")?.version).toBe(2); // the server did store it
    expect(await syncRecord("a")).toMatchObject({ baseVersion: 1 }); // this device never heard

    expect(await engine.drain()).toEqual([{ kind: "synced", id: "a", version: 2, created: false }]);
    expect(server.puts().at(-1)?.headers["if-match"]).toBe('"1"'); // the same request again: 412, our own copy
    expect(server.designs.get("a")?.version).toBe(2);
    expect(await syncRecord("a")).toMatchObject({ baseVersion: 2 });
  });

  it("a design queued again while it is being sent stays queued for the newer request", async () => {
    await saveDesign(named("a", "v1"));
    server.duringPut = async () => {
      await saveDesign(named("a", "v2"));
      const { enqueue } = await import("../../src/sync/outbox");
      await enqueue("a");
    };
    await engine.syncDesign("a");
    expect((await queuedItems()).map((item) => item.designId)).toEqual(["a"]);
    await engine.drain();
    expect(server.designs.get("a")?.design).toMatchObject({ name: "v2" });
    expect(await queuedCount()).toBe(0);
  });

  it("two tabs syncing the same design send it once: the lock lets one send, the other finds it done", async () => {
    const locks = sharedLocks();
    const tabA = createSyncEngine({ local: storedDesigns, locks });
    const tabB = createSyncEngine({ local: storedDesigns, locks });
    await saveDesign(named("a"));
    await saveDesign(named("b"));
    const outcomes = await Promise.all([tabA.syncDesign("a"), tabB.syncDesign("a"), tabB.syncDesign("b"), tabA.syncDesign("b")]);
    expect(outcomes.every(isInSync)).toBe(true);
    expect(server.puts().map((p) => p.path)).toEqual(["/api/designs/a", "/api/designs/b"]);
    expect(locks.grants).toBe(4);
  });

  it("without Web Locks, two tabs may both send, and the second send changes nothing on the server", async () => {
    const tabA = createSyncEngine({ local: storedDesigns, locks: null });
    const tabB = createSyncEngine({ local: storedDesigns, locks: null });
    await saveDesign(named("a", "v1"));
    await tabA.syncDesign("a");
    await saveDesign(named("a", "v2"));
    const outcomes = await Promise.all([tabA.syncDesign("a"), tabB.syncDesign("a")]);
    expect(outcomes.every(isInSync)).toBe(true);
    expect(server.designs.get("a")?.version).toBe(2);
    expect(await syncRecord("a")).toMatchObject({ baseVersion: 2 });
  });
});

describe("syncAll", () => {
  it("sends designs changed here, pulls those changed there, and leaves the rest alone", async () => {
    for (const id of ["same", "mine", "theirs"]) {
      await saveDesign(named(id));
      await engine.syncDesign(id);
    }
    await saveDesign(named("new"));
    await saveDesign(named("mine", "mine edited"));
    server.writeElsewhere(named("theirs", "theirs edited"));
    server.log.length = 0;

    const outcomes = await engine.syncAll();
    expect(Object.fromEntries(outcomes.map((o) => [o.id, o.kind]))).toEqual({ same: "unchanged", mine: "synced", theirs: "pulled", new: "synced" });
    expect(server.log.filter((r) => r.path === "/api/designs/same")).toEqual([]); // the list said it was current
    expect((await local("theirs")).name).toBe("theirs edited");
  });
});

describe("conflicts", () => {
  async function makeConflict(): Promise<void> {
    await saveDesign(named("a", "base"));
    await engine.syncDesign("a");
    server.writeElsewhere(named("a", "theirs"));
    await saveDesign(named("a", "mine"));
    const outcome = await engine.syncDesign("a");
    expect(outcome.kind).toBe("conflict");
    if (outcome.kind === "conflict") {
      expect(outcome.conflict.mine.design.name).toBe("mine");
      expect(outcome.conflict.server).toMatchObject({ version: 2, design: { name: "theirs" } });
    }
    expect(useSyncStatus.getState().conflicts.map((c) => c.id)).toEqual(["a"]);
    expect(server.designs.get("a")?.design).toMatchObject({ name: "theirs" }); // nothing overwritten
    expect(await queuedCount()).toBe(0);
  }

  it("keepMine writes this device's version over the server's, with If-Match its version", async () => {
    await makeConflict();
    expect(await engine.keepMine("a")).toEqual({ kind: "synced", id: "a", version: 3, created: false });
    expect(server.puts().at(-1)?.headers["if-match"]).toBe('"2"');
    expect(server.designs.get("a")?.design).toMatchObject({ name: "mine" });
    expect(useSyncStatus.getState().conflicts).toEqual([]);
  });

  it("keepMine meets a newer server write as a new conflict, never overwriting it unseen", async () => {
    await makeConflict();
    server.writeElsewhere(named("a", "theirs again"));
    expect((await engine.keepMine("a")).kind).toBe("conflict");
    expect(server.designs.get("a")?.design).toMatchObject({ name: "theirs again" });
  });

  it("useServers takes the server's version and keeps this device's as a new design", async () => {
    await makeConflict();
    const { keptAs } = await engine.useServers("a");
    expect((await local("a")).name).toBe("theirs");
    expect(keptAs).not.toBeNull();
    expect(keptAs).not.toBe("a");
    expect((await local(keptAs!)).name).toBe("mine (my version)");
    expect(await engine.syncDesign("a")).toEqual({ kind: "unchanged", id: "a", version: 2 });
    expect(useSyncStatus.getState().conflicts).toEqual([]);
  });

  it("saveAsCopy makes this device's version a new design with a fresh id; the original takes the server's", async () => {
    await makeConflict();
    const copyId = await engine.saveAsCopy("a");
    expect(copyId).not.toBe("a");
    const copy = await local(copyId);
    expect({ ...copy, id: "a", name: "mine" }).toEqual(named("a", "mine"));
    expect((await local("a")).name).toBe("theirs");
    expect((await listDesigns()).map((d) => d.id).sort()).toEqual(["a", copyId].sort());
    expect(await syncRecord(copyId)).toBeUndefined(); // a new design: created on its first sync
    expect(await engine.syncDesign(copyId)).toMatchObject({ kind: "synced", created: true });
    expect(await storedIds()).toEqual(new Set(["a", copyId]));
  });

  it("a first push meeting another design under the same id is a conflict too", async () => {
    server.seed(named("a", "made elsewhere"));
    await saveDesign(named("a", "made here"));
    const outcome = await engine.syncDesign("a");
    expect(outcome.kind).toBe("conflict");
    expect(await engine.keepMine("a")).toMatchObject({ kind: "synced", version: 2 });
  });
});
