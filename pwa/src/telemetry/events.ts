/**
 * What a telemetry event may be: the server's `TelemetryEvent` rules (model_studio.api_types),
 * applied on the device when the event is recorded, so a stored event is never one the server
 * would refuse. Names are snake_case (`compile_success`); props are a few flat values.
 *
 * The events the app records, and their props:
 * - `compile_success` {designId, paramCount, time_ms}, `compile_failed` {designId, code, time_ms}
 * - `train_started` {designId, run_id}, `train_stopped` {designId, run_id, status}
 * - `export_done` {designId, fmt, time_ms, bytes}, `export_failed` {designId, fmt, code}
 * - `onnx_verified` {ok, max_diff, stage?}
 */
import type { TelemetryEvent } from "../api/types";

/** Limits of `TelemetryBatch` and `TelemetryEvent` on the server. */
export const MAX_BATCH_EVENTS = 100;
export const MAX_PROPS = 32;
export const MAX_STRING_LENGTH = 200;
const NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
const KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export type TelemetryValue = string | number | boolean | null;
export type TelemetryProps = Record<string, TelemetryValue | undefined>;

/** A stored event (a `TelemetryEvent`), with `at` always set: when it happened, not when it was sent. */
export interface RecordedEvent extends TelemetryEvent {
  at: string;
  props: Record<string, TelemetryValue>;
}

export class TelemetryEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TelemetryEventError";
  }
}

/**
 * The event as the server accepts it: `undefined` props are left out, long strings cut, and
 * numbers that JSON cannot carry (NaN, Infinity) become null. A bad name or prop key, a value
 * of another type, or too many props throw `TelemetryEventError` (a bug in the caller).
 */
export function recordedEvent(name: string, props: TelemetryProps = {}, at: Date = new Date()): RecordedEvent {
  if (!NAME_PATTERN.test(name)) throw new TelemetryEventError(`Telemetry event name ${JSON.stringify(name)} is not snake_case (a-z, 0-9, _; 64 at most).`);
  const clean: Record<string, TelemetryValue> = {};
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (!KEY_PATTERN.test(key)) throw new TelemetryEventError(`Telemetry prop ${JSON.stringify(key)} of ${name} is not a plain name.`);
    clean[key] = cleanValue(name, key, value);
  }
  if (Object.keys(clean).length > MAX_PROPS) throw new TelemetryEventError(`Telemetry event ${name} has more than ${MAX_PROPS} props.`);
  return { name, at: at.toISOString(), props: clean };
}

function cleanValue(name: string, key: string, value: unknown): TelemetryValue {
  switch (typeof value) {
    case "string":
      return value.slice(0, MAX_STRING_LENGTH);
    case "number":
      return Number.isFinite(value) ? value : null;
    case "boolean":
      return value;
    default:
      if (value === null) return null;
      throw new TelemetryEventError(`Telemetry prop ${key} of ${name} must be a string, number, boolean or null, not ${typeof value}.`);
  }
}

/** Milliseconds to wait, from a `Retry-After` header (seconds or an HTTP date); `fallback` when absent or unreadable. */
export function retryAfterMs(header: string | null, fallback: number, now: number = Date.now()): number {
  if (header === null) return fallback;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = /[A-Za-z]{3}/.test(trimmed) ? Date.parse(trimmed) : Number.NaN; // an HTTP date names its month; "-5" is no date
  return Number.isNaN(date) ? fallback : Math.max(0, date - now);
}
