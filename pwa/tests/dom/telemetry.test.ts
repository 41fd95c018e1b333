/**
 * Telemetry on the device (fake-indexeddb): events stored in order, batches of at most 100 sent
 * and deleted only after a 202, kept through 429s, errors and no network, and the off switch.
 *
 * The server is a small in-process `/api/telemetry` that answers as the real one does (202 with
 * `{accepted}`, 429 with Retry-After, 422 for a malformed batch); `telemetry-server.test.ts`
 * runs the same sender against the real server.
 */
import { IDBFactory } from "fake-indexeddb";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { configureApi } from "../../src/api/client";
import type { TelemetryBatch } from "../../src/api/types";
import { MAX_BATCH_EVENTS } from "../../src/telemetry/events";
import { createTelemetryService, sendTelemetryBatch } from "../../src/telemetry/sender";
import { openTelemetryStore } from "../../src/telemetry/store";
import { createTelemetryRecorder, type TelemetryRecorder } from "../../src/telemetry/track";

const TOKEN = "telemetry-test-token-0123";

/** What the fake endpoint answers next; by default 202. */
type Answer = { status: number; headers?: Record<string, string>; body?: unknown } | "network-error";

class TelemetryEndpoint {
  received: TelemetryBatch[] = [];
  answers: Answer[] = [];
  calls = 0;

  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    this.calls++;
    expect(String(input)).toBe("/api/telemetry");
    expect(new Headers(init?.headers).get("authorization")).toBe(`Bearer ${TOKEN}`);
    const answer = this.answers.shift() ?? { status: 202 };
    if (answer === "network-error") throw new TypeError("Failed to fetch");
    const batch = JSON.parse(String(init?.body)) as TelemetryBatch;
    if (answer.status === 202) {
      if (batch.events.length < 1 || batch.events.length > MAX_BATCH_EVENTS) return Response.json({ error: { code: "invalid_body", message: "1-100 events" } }, { status: 422 });
      this.received.push(batch);
      return Response.json({ accepted: batch.events.length }, { status: 202 });
    }
    return Response.json(answer.body ?? { error: { code: `http_${answer.status}`, message: "no" } }, { status: answer.status, headers: answer.headers });
  };

  get names(): string[] {
    return this.received.flatMap((batch) => batch.events.map((event) => event.name));
  }
}

let endpoint: TelemetryEndpoint;
let restoreApi: () => void;
let recorder: TelemetryRecorder;

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
  endpoint = new TelemetryEndpoint();
  restoreApi = configureApi({ baseUrl: "", fetch: endpoint.fetch, getToken: async () => TOKEN });
  recorder = createTelemetryRecorder();
});

afterEach(() => {
  restoreApi();
  vi.restoreAllMocks();
});

async function trackMany(count: number, name = "compile_success"): Promise<void> {
  for (let i = 0; i < count; i++) await recorder.track(name, { n: i });
}

async function storedNumbers(): Promise<number[]> {
  const db = await recorder.store();
  return (await db.oldest(10_000)).map(({ event }) => event.props.n as number);
}

describe("recording", () => {
  it("stores events in the order tracked, each stamped with its time, in its own database", async () => {
    await recorder.track("compile_success", { designId: "tiny", time_ms: 412 });
    await recorder.track("train_started", { designId: "tiny" });
    const db = await recorder.store();
    const stored = await db.oldest(10);
    expect(stored.map(({ event }) => [event.name, event.props])).toEqual([
      ["compile_success", { designId: "tiny", time_ms: 412 }],
      ["train_started", { designId: "tiny" }],
    ]);
    expect(Date.parse(stored[0].event.at)).toBeGreaterThan(Date.now() - 10_000);
    expect(recorder.state.getState().stored).toBe(2);
    const databases = await indexedDB.databases();
    expect(databases.map((d) => d.name)).toEqual(["model-studio-telemetry"]);
  });

  it("drops a malformed event with a warning instead of throwing", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    await expect(recorder.track("Bad Name", {})).resolves.toBeUndefined();
    await expect(recorder.track("ok_name", { nested: [1] as never })).resolves.toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(2);
    expect(await (await recorder.store()).count()).toBe(0);
  });

  it("keeps at most the newest events when it is never sent", async () => {
    const db = await openTelemetryStore({ name: "capped", maxEvents: 5 });
    for (let n = 0; n < 8; n++) await db.add({ name: "e", at: new Date().toISOString(), props: { n } });
    expect((await db.oldest(100)).map(({ event }) => event.props.n)).toEqual([3, 4, 5, 6, 7]);
    db.close();
  });
});

describe("sending a batch", () => {
  it("sends the oldest 100 with a stable client id, and deletes exactly those after the 202", async () => {
    await trackMany(130);
    const first = await sendTelemetryBatch({ recorder, isOnline: () => true });
    expect(first).toEqual({ kind: "sent", count: 100, more: true });
    expect(endpoint.received[0].events.map((e) => e.props?.n)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(await storedNumbers()).toEqual(Array.from({ length: 30 }, (_, i) => 100 + i));
    const second = await sendTelemetryBatch({ recorder, isOnline: () => true });
    expect(second).toEqual({ kind: "sent", count: 30, more: false });
    expect(await storedNumbers()).toEqual([]);
    expect(recorder.state.getState().stored).toBe(0);
    const [a, b] = endpoint.received.map((batch) => batch.client_id);
    expect(a).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/);
    expect(b).toBe(a);
    expect(await sendTelemetryBatch({ recorder, isOnline: () => true })).toEqual({ kind: "nothing" });
  });

  it("keeps the batch on a 429 and reports Retry-After", async () => {
    await trackMany(3);
    endpoint.answers.push({ status: 429, headers: { "Retry-After": "7" }, body: { error: { code: "rate_limited", message: "Too many" } } });
    expect(await sendTelemetryBatch({ recorder, isOnline: () => true })).toEqual({ kind: "rate_limited", waitMs: 7000 });
    expect(await storedNumbers()).toEqual([0, 1, 2]);
  });

  it("keeps the batch on a server error, a network error, and when unpaired or offline", async () => {
    await trackMany(3);
    endpoint.answers.push({ status: 503 }, "network-error");
    expect(await sendTelemetryBatch({ recorder, isOnline: () => true })).toMatchObject({ kind: "failed", status: 503 });
    expect(await sendTelemetryBatch({ recorder, isOnline: () => true })).toEqual({ kind: "offline" });
    const calls = endpoint.calls;
    expect(await sendTelemetryBatch({ recorder, isOnline: () => false })).toEqual({ kind: "offline" });
    const undo = configureApi({ getToken: async () => null });
    expect(await sendTelemetryBatch({ recorder, isOnline: () => true })).toEqual({ kind: "unpaired" });
    undo();
    expect(endpoint.calls).toBe(calls); // neither offline nor unpaired reaches the network
    expect(await storedNumbers()).toEqual([0, 1, 2]);
    expect(await sendTelemetryBatch({ recorder, isOnline: () => true })).toMatchObject({ kind: "sent", count: 3 });
    expect(endpoint.names).toHaveLength(3);
  });

  it("drops a batch the server refuses as malformed, so it cannot block the rest", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    await trackMany(2);
    endpoint.answers.push({ status: 422 });
    expect(await sendTelemetryBatch({ recorder, isOnline: () => true })).toEqual({ kind: "refused", status: 422, dropped: 2 });
    expect(await storedNumbers()).toEqual([]);
  });
});

describe("the off switch", () => {
  it("deletes what is stored, records nothing more, sends nothing, and is remembered", async () => {
    await trackMany(4);
    await recorder.setEnabled(false);
    expect(await storedNumbers()).toEqual([]);
    expect(recorder.state.getState()).toMatchObject({ enabled: false, stored: 0 });
    await recorder.track("train_started", { designId: "tiny" });
    expect(await storedNumbers()).toEqual([]);
    expect(await sendTelemetryBatch({ recorder, isOnline: () => true })).toEqual({ kind: "disabled" });
    expect(endpoint.calls).toBe(0);

    const afterReload = createTelemetryRecorder();
    expect(await afterReload.isEnabled()).toBe(false);
    await afterReload.track("train_started", {});
    expect(await (await afterReload.store()).count()).toBe(0);
    await afterReload.setEnabled(true);
    await afterReload.track("train_started", {});
    expect(await (await afterReload.store()).count()).toBe(1);
  });

  it("also deletes an event that was being written when it was switched off", async () => {
    const writing = recorder.track("compile_success", { n: 1 });
    await recorder.setEnabled(false);
    await writing;
    expect(await storedNumbers()).toEqual([]);
  });
});

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("the telemetry service", () => {
  it("sends everything on start, full batches back to back, then waits; stop ends it", async () => {
    await trackMany(250);
    const events = new EventTarget();
    const service = createTelemetryService({ recorder, isOnline: () => true, intervalMs: 60_000, events });
    service.start();
    await until(() => endpoint.received.length === 3);
    expect(endpoint.received.map((batch) => batch.events.length)).toEqual([100, 100, 50]);
    expect(await storedNumbers()).toEqual([]);

    await recorder.track("train_stopped", { n: 999 });
    events.dispatchEvent(new Event("online")); // back online: send at once, not after the interval
    await until(() => endpoint.received.length === 4);
    expect(endpoint.names.at(-1)).toBe("train_stopped");

    await service.stop();
    await recorder.track("train_stopped", { n: 1000 });
    events.dispatchEvent(new Event("online"));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(endpoint.received).toHaveLength(4);
    expect(await storedNumbers()).toEqual([1000]);
  });

  it("waits Retry-After after a 429, then sends", async () => {
    await trackMany(2);
    endpoint.answers.push({ status: 429, headers: { "Retry-After": "1" } });
    const service = createTelemetryService({ recorder, isOnline: () => true, intervalMs: 60_000, events: new EventTarget() });
    const started = Date.now();
    service.start();
    await until(() => endpoint.received.length === 1, 4000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(endpoint.calls).toBe(2);
    await service.stop();
  });

  it("can start again after a stop", async () => {
    const service = createTelemetryService({ recorder, isOnline: () => true, intervalMs: 60_000, events: new EventTarget() });
    service.start();
    await service.stop();
    await trackMany(1);
    service.start();
    await until(() => endpoint.received.length === 1);
    await service.stop();
  });
});
