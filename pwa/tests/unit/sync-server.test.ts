/**
 * Sync against the REAL server: `model-studio serve` from the repo's .venv, on a free loopback
 * port with an empty data dir, started once for this file and stopped by its pid afterwards.
 * IndexedDB is fake-indexeddb (Node has none); everything on the wire is the server's own.
 */
import "fake-indexeddb/auto";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { configureApi, serverAnswers } from "../../src/api/client";
import { TEMPLATES } from "../../src/model/templates";
import type { ModelArchitecture } from "../../src/model/types";
import { studioDb } from "../../src/storage/db";
import { loadDesign, saveDesign } from "../../src/storage/designs";
import { createSyncEngine, type SyncEngine } from "../../src/sync/engine";
import { queuedCount, syncRecord } from "../../src/sync/outbox";
import { setToken } from "../../src/sync/pairing";
import { storedDesigns } from "../../src/sync/service";
import { useSyncStatus } from "../../src/sync/status";

const REPO = fileURLToPath(new URL("../../..", import.meta.url));
const SERVER_BIN = join(REPO, ".venv", "bin", "model-studio");
const TOKEN = "sync-test-token-0123456789";
const START_TIMEOUT_MS = 15_000;

let child: ChildProcess | null = null;
let exited: Promise<void> = Promise.resolve();
let running = false;
let origin = "";
let dataDir = "";
let serverLog = "";
let restore: () => void = () => {};
let engine: SyncEngine;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function waitForHealth(deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (!running) throw new Error(`model-studio serve exited:\n${serverLog}`);
    try {
      if ((await fetch(`${origin}/api/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`model-studio serve did not answer within ${START_TIMEOUT_MS} ms:\n${serverLog}`);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "sync-server-"));
  const staticDir = mkdtempSync(join(tmpdir(), "sync-static-"));
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  child = spawn(SERVER_BIN, ["serve", "--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir, "--token", TOKEN, "--static-dir", staticDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  running = true;
  exited = new Promise((resolve) =>
    child!.once("exit", () => {
      running = false;
      resolve();
    }),
  );
  child.stdout?.on("data", (chunk: Buffer) => (serverLog += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (serverLog += chunk.toString()));
  child.once("error", (error) => {
    running = false;
    serverLog += `\nspawn failed: ${error.message} (is ${SERVER_BIN} installed? run tools/setup.sh)`;
  });
  await waitForHealth(Date.now() + START_TIMEOUT_MS);
  restore = configureApi({ baseUrl: origin });
}, START_TIMEOUT_MS + 5_000);

afterAll(async () => {
  restore();
  if (child?.pid !== undefined && running) {
    process.kill(child.pid, "SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    if (running) process.kill(child.pid, "SIGKILL");
  }
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  const db = await studioDb();
  await Promise.all(["designs", "settings", "sync", "outbox"].map((store) => db.clear(store as "designs")));
  useSyncStatus.setState({ conflicts: [] });
  await setToken(TOKEN);
  engine = createSyncEngine({ local: storedDesigns, locks: null });
});

let counter = 0;
const fresh = (name: string): ModelArchitecture => ({ ...structuredClone(TEMPLATES.find((t) => t.id === "tiny-dense")!), id: `real-${++counter}`, name });

/** A write from another device, straight over HTTP. */
async function writeElsewhere(design: ModelArchitecture, version: number): Promise<Response> {
  return fetch(`${origin}/api/designs/${design.id}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json", "If-Match": `"${version}"` },
    body: JSON.stringify(design),
  });
}

describe("sync with the real server", () => {
  it("answers the health check without a token", async () => {
    expect(await serverAnswers()).toBe(true);
  });

  it("creates (201), sends nothing while unchanged (304), updates over its version (200)", async () => {
    const design = fresh("first");
    await saveDesign(design);
    expect(await engine.syncDesign(design.id)).toEqual({ kind: "synced", id: design.id, version: 1, created: true });
    expect(await engine.syncDesign(design.id)).toEqual({ kind: "unchanged", id: design.id, version: 1 });
    await saveDesign({ ...design, name: "second" });
    expect(await engine.syncDesign(design.id)).toEqual({ kind: "synced", id: design.id, version: 2, created: false });
    const stored = await (await fetch(`${origin}/api/designs/${design.id}`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
    expect(stored).toMatchObject({ version: 2, design: { name: "second" } });
  });

  it("meets another device's write as a conflict (412), and keepMine writes over it", async () => {
    const design = fresh("base");
    await saveDesign(design);
    await engine.syncDesign(design.id);
    expect((await writeElsewhere({ ...design, name: "theirs" }, 1)).status).toBe(200);
    await saveDesign({ ...design, name: "mine" });
    const outcome = await engine.syncDesign(design.id);
    expect(outcome).toMatchObject({ kind: "conflict", conflict: { server: { version: 2, design: { name: "theirs" } } } });
    expect(await engine.keepMine(design.id)).toEqual({ kind: "synced", id: design.id, version: 3, created: false });
  });

  it("pulls the server's copy when only the server changed", async () => {
    const design = fresh("mine");
    await saveDesign(design);
    await engine.syncDesign(design.id);
    await writeElsewhere({ ...design, name: "from elsewhere" }, 1);
    expect(await engine.syncDesign(design.id)).toEqual({ kind: "pulled", id: design.id, version: 2 });
    const local = await loadDesign(design.id);
    expect(local.ok && local.design.name).toBe("from elsewhere");
  });

  it("recreates a design deleted on the server (404, then If-None-Match: *)", async () => {
    const design = fresh("doomed");
    await saveDesign(design);
    await engine.syncDesign(design.id);
    const deleted = await fetch(`${origin}/api/designs/${design.id}`, { method: "DELETE", headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(deleted.status).toBe(204);
    await saveDesign({ ...design, name: "back" });
    expect(await engine.syncDesign(design.id)).toEqual({ kind: "synced", id: design.id, version: 1, created: true });
  });

  it("counts a resend of a change the server already has as done (its 412 carries our own copy)", async () => {
    const design = fresh("v1");
    await saveDesign(design);
    await engine.syncDesign(design.id);
    const changed = { ...design, name: "v2" };
    await saveDesign(changed);
    // As if this device's earlier send of v2 reached the server but its answer was lost:
    expect((await writeElsewhere(changed, 1)).status).toBe(200);
    expect(await syncRecord(design.id)).toMatchObject({ baseVersion: 1 });
    expect(await engine.syncDesign(design.id)).toEqual({ kind: "synced", id: design.id, version: 2, created: false });
  });

  it("keeps a design in the outbox when the server refuses the token (401)", async () => {
    await setToken("not-the-server-token-0123");
    const design = fresh("refused");
    await saveDesign(design);
    expect(await engine.syncDesign(design.id)).toEqual({ kind: "queued", id: design.id, reason: "unauthorized" });
    expect(await queuedCount()).toBe(1);
    await setToken(TOKEN);
    expect(await engine.drain()).toEqual([{ kind: "synced", id: design.id, version: 1, created: true }]);
  });
});
