/** Telemetry events as the server's `TelemetryEvent` accepts them, and the sender's waiting rules. */
import { describe, expect, it } from "vitest";
import { MAX_PROPS, MAX_STRING_LENGTH, recordedEvent, retryAfterMs, TelemetryEventError } from "../../src/telemetry/events";
import { FIRST_BACKOFF_MS, nextDelay } from "../../src/telemetry/sender";

const AT = new Date("2026-12-01T10:00:00.000Z");

describe("recordedEvent", () => {
  it("keeps the name, stamps the time and keeps flat props", () => {
    expect(recordedEvent("compile_success", { designId: "tiny", paramCount: 1234, time_ms: 412.5, cached: false, run: null }, AT)).toEqual({
      name: "compile_success",
      at: "2026-12-01T10:00:00.000Z",
      props: { designId: "tiny", paramCount: 1234, time_ms: 412.5, cached: false, run: null },
    });
  });

  it("leaves out undefined props, cuts long strings and turns NaN and Infinity into null", () => {
    const event = recordedEvent("export_done", { fmt: "onnx", run: undefined, note: "x".repeat(500), max_diff: Number.NaN, time_ms: Infinity }, AT);
    expect(event.props).toEqual({ fmt: "onnx", note: "x".repeat(MAX_STRING_LENGTH), max_diff: null, time_ms: null });
  });

  it.each(["CompileSuccess", "compile-success", "1st", "", "a".repeat(65), "compile success"])("refuses the name %j", (name) => {
    expect(() => recordedEvent(name)).toThrow(TelemetryEventError);
  });

  it.each(["design-id", "_private", "a b", "", "k".repeat(65)])("refuses the prop key %j", (key) => {
    expect(() => recordedEvent("train_started", { [key]: 1 })).toThrow(TelemetryEventError);
  });

  it("refuses nested values and too many props", () => {
    expect(() => recordedEvent("train_started", { design: { id: "x" } as never })).toThrow(/string, number, boolean or null/);
    const many = Object.fromEntries(Array.from({ length: MAX_PROPS + 1 }, (_, i) => [`p${i}`, i]));
    expect(() => recordedEvent("train_started", many)).toThrow(/more than 32 props/);
    expect(Object.keys(recordedEvent("train_started", { ...many, p0: undefined }).props)).toHaveLength(MAX_PROPS);
  });
});

describe("retryAfterMs", () => {
  const now = Date.parse("2026-12-01T10:00:00Z");
  it("reads seconds and HTTP dates", () => {
    expect(retryAfterMs("3", 60_000, now)).toBe(3000);
    expect(retryAfterMs(" 0 ", 60_000, now)).toBe(0);
    expect(retryAfterMs("Tue, 01 Dec 2026 10:00:30 GMT", 60_000, now)).toBe(30_000);
    expect(retryAfterMs("Tue, 01 Dec 2026 09:00:00 GMT", 60_000, now)).toBe(0);
  });

  it("falls back when the header is missing or unreadable", () => {
    expect(retryAfterMs(null, 60_000, now)).toBe(60_000);
    expect(retryAfterMs("soon", 60_000, now)).toBe(60_000);
    expect(retryAfterMs("-5", 60_000, now)).toBe(60_000);
  });
});

describe("nextDelay", () => {
  const interval = 60_000;
  it("sends the next full batch at once and waits the interval after the last", () => {
    expect(nextDelay({ kind: "sent", count: 100, more: true }, FIRST_BACKOFF_MS, interval)).toBe(0);
    expect(nextDelay({ kind: "sent", count: 7, more: false }, FIRST_BACKOFF_MS, interval)).toBe(interval);
    expect(nextDelay({ kind: "refused", status: 422, dropped: 100 }, FIRST_BACKOFF_MS, interval)).toBe(0);
  });

  it("waits Retry-After on 429 and backs off on errors", () => {
    expect(nextDelay({ kind: "rate_limited", waitMs: 7000 }, FIRST_BACKOFF_MS, interval)).toBe(7000);
    expect(nextDelay({ kind: "failed", status: 503, message: "" }, 40_000, interval)).toBe(40_000);
  });

  it("waits the interval when there is nothing to do or no way to send", () => {
    for (const kind of ["nothing", "disabled", "offline", "unpaired", "busy"] as const) expect(nextDelay({ kind }, FIRST_BACKOFF_MS, interval)).toBe(interval);
  });
});
