/**
 * The telemetry sender against the REAL server: `model-studio serve` from the repo's venv on a
 * free port, with an empty data dir. Events stored on the "device" (fake-indexeddb) must arrive
 * in the server's SQLite store in order, be deleted here only once acknowledged, and survive the
 * server's rate limit (a real 429 with Retry-After). Skipped, saying why, without the venv.
 */
import "fake-indexeddb/auto";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configureApi } from "../../src/api/client";
import { sendTelemetryBatch, type SendOutcome } from "../../src/telemetry/sender";
import { createTelemetryRecorder } from "../../src/telemetry/track";

const REPO = resolve(__dirname, "../../..");
const VENV = join(REPO, ".venv/bin");
const TOKEN = "vitest-telemetry-0123456789abcdef";
const START_TIMEOUT_MS = 30_000;
const RATE_LIMIT_CAPACITY = 1000; // model_studio.services: the telemetry bucket holds 1000 events

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port"))));
    });
  });
}

let server: ChildProcess | null = null;
let dataDir = "";
let staticDir = "";
let restoreApi = () => {};

/** Rows of the server's telemetry table, read with Python's sqlite3 (Node 20 has none). */
function serverRows(): { client_id: string; name: string; occurred_at: string; props: Record<string, unknown> }[] {
  const script = `
import json, sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = db.execute("SELECT client_id, name, occurred_at, props FROM telemetry ORDER BY id").fetchall()
print(json.dumps([{"client_id": c, "name": n, "occurred_at": o, "props": json.loads(p)} for c, n, o, p in rows]))
`;
  return JSON.parse(execFileSync(join(VENV, "python"), ["-c", script, join(dataDir, "model-studio.sqlite3")], { encoding: "utf8" }));
}

describe.skipIf(!existsSync(join(VENV, "model-studio")))("telemetry against the real server (needs .venv: run `just setup`)", () => {
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "telemetry-data-"));
    staticDir = mkdtempSync(join(tmpdir(), "telemetry-static-"));
    const port = await freePort();
    const args = ["serve", "--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir, "--token", TOKEN, "--static-dir", staticDir];
    server = spawn(join(VENV, "model-studio"), args, { stdio: "ignore" });
    const origin = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const up = await fetch(`${origin}/api/health`).then((r) => r.ok, () => false);
      if (up) break;
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`the server did not start on ${origin}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    restoreApi = configureApi({ baseUrl: origin, fetch: (input, init) => fetch(input, init), getToken: async () => TOKEN });
  }, START_TIMEOUT_MS + 5000);

  afterAll(() => {
    restoreApi();
    server?.kill();
    for (const folder of [dataDir, staticDir]) if (folder) rmSync(folder, { recursive: true, force: true });
  });

  const recorder = createTelemetryRecorder({ name: "telemetry-real-server" });
  const online = () => true;

  it("delivers stored events in order, in batches of 100, deleting each batch once acknowledged", async () => {
    for (let n = 0; n < 250; n++) await recorder.track("compile_success", { n, designId: "tiny-dense" });
    const outcomes: SendOutcome[] = [];
    for (let outcome = await sendTelemetryBatch({ recorder, isOnline: online }); outcome.kind !== "nothing"; outcome = await sendTelemetryBatch({ recorder, isOnline: online })) {
      outcomes.push(outcome);
      expect(outcomes.length).toBeLessThan(10);
    }
    expect(outcomes).toEqual([
      { kind: "sent", count: 100, more: true },
      { kind: "sent", count: 100, more: true },
      { kind: "sent", count: 50, more: false },
    ]);
    expect(await (await recorder.store()).count()).toBe(0);
    const rows = serverRows();
    expect(rows.map((row) => row.props.n)).toEqual(Array.from({ length: 250 }, (_, n) => n));
    expect(new Set(rows.map((row) => row.client_id))).toEqual(new Set([await recorder.clientId()]));
    expect(rows[0]).toMatchObject({ name: "compile_success", props: { n: 0, designId: "tiny-dense" } });
    expect(Date.parse(rows[0].occurred_at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("keeps what the rate limit refuses, with the server's Retry-After", async () => {
    const tracked = RATE_LIMIT_CAPACITY;
    for (let n = 0; n < tracked; n++) await recorder.track("export_done", { n });
    let sent = 0;
    let outcome: SendOutcome;
    do {
      outcome = await sendTelemetryBatch({ recorder, isOnline: online });
      if (outcome.kind === "sent") sent += outcome.count;
    } while (outcome.kind === "sent");
    expect(outcome.kind).toBe("rate_limited"); // 250 + 1000 events is past the 1000-event bucket
    expect(outcome.kind === "rate_limited" && outcome.waitMs).toBeGreaterThanOrEqual(1000);
    expect(sent).toBeGreaterThan(0);
    expect(await (await recorder.store()).count()).toBe(tracked - sent);
    expect(serverRows().filter((row) => row.name === "export_done")).toHaveLength(sent);
  }, 30_000);
});
