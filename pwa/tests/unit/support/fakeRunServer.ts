/**
 * An in-process fake of the server's run event route (`backend/model_studio/sse.py`) for the
 * stream's protocol tests: it honours `Last-Event-ID`, drops or stalls connections where a test
 * scripts it, and errors bodies on abort the way fetch does.
 */
import { NotPairedError, OfflineError } from "../../../src/api/client";
import type { WakeReason, WakeSource } from "../../../src/train/stream";
import { trainingDone, trainingUpdate } from "./training";

const encoder = new TextEncoder();

/** How one connection behaves. */
export interface Script {
  status?: number;
  /** Throw as fetch does when the server cannot be reached. */
  unreachable?: boolean;
  notPaired?: boolean;
  /** Send this many events, then fail the body mid-way through the next one. */
  dropAfter?: number;
  /** Send this many events, then go silent with the connection open. */
  hangAfter?: number;
  /** Ignore Last-Event-ID and replay from the start (a misbehaving proxy cache). */
  replayAll?: boolean;
  retryMs?: number;
  /** After what is stored, stay open and send each event `push`ed later, as a live run does. */
  live?: boolean;
}

export class FakeRunServer {
  readonly requests: { path: string; lastEventId: string | null }[] = [];
  runStatus = "running";
  private scripts: Script[] = [];
  private readonly liveListeners = new Set<() => void>();

  constructor(
    readonly events: { seq: number; type: string; data: string }[],
    readonly runId = "run-1",
  ) {}

  /** Connections from now on follow these scripts in turn; then they serve everything and close. */
  script(...scripts: Script[]): this {
    this.scripts.push(...scripts);
    return this;
  }

  get lastSeq(): number {
    return this.events.at(-1)?.seq ?? 0;
  }

  /** Store a new event; open live connections send it at once. */
  push(event: { seq: number; type: string; data: string }): void {
    this.events.push(event);
    for (const listener of [...this.liveListeners]) listener();
  }

  eventRequests() {
    return this.requests.filter((request) => request.path.endsWith("/events"));
  }

  fetcher = async (path: string, init: RequestInit): Promise<Response> => {
    const headers = new Headers(init.headers);
    this.requests.push({ path, lastEventId: headers.get("Last-Event-ID") });
    if (path === `/api/runs/${this.runId}`) return Response.json({ status: this.runStatus, last_seq: this.lastSeq });
    const script = this.scripts.shift() ?? {};
    if (script.notPaired) throw new NotPairedError();
    if (script.unreachable) throw new OfflineError(new TypeError("fetch failed"));
    if (script.status) return Response.json({ error: { code: "nope", message: `refused with ${script.status}` } }, { status: script.status });
    const after = script.replayAll ? 0 : Number(headers.get("Last-Event-ID") ?? "0");
    const pending = this.events.filter((event) => event.seq > after);
    const chunks = [`retry: ${script.retryMs ?? 1}\n\n`];
    const limit = script.dropAfter ?? script.hangAfter ?? pending.length;
    for (const event of pending.slice(0, limit)) chunks.push(`id: ${event.seq}\nevent: ${event.type}\ndata: ${event.data}\n\n`);
    const cutShort = script.dropAfter !== undefined ? pending[script.dropAfter] : undefined;
    if (cutShort) chunks.push(`id: ${cutShort.seq}\nevent: ${cutShort.type}\ndata: ${cutShort.data.slice(0, 20)}`);
    const ending = script.dropAfter !== undefined ? "drop" : script.hangAfter !== undefined ? "hang" : script.live ? "live" : "close";
    const signal = init.signal!;
    let sent = pending.slice(0, limit).at(-1)?.seq ?? after;
    const nextLive = () => {
      const event = this.events.find((candidate) => candidate.seq > sent);
      if (!event) return null;
      sent = event.seq;
      return event;
    };
    const listeners = this.liveListeners;
    let finished = false;
    // Pulled a chunk at a time, so a drop comes after the chunks before it were read.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        signal.addEventListener("abort", () => controller.error(new DOMException("aborted", "AbortError")));
      },
      pull(controller) {
        const chunk = chunks.shift();
        if (chunk !== undefined) controller.enqueue(encoder.encode(chunk));
        else if (ending === "drop") controller.error(new TypeError("network connection lost"));
        else if (ending === "close" || finished) controller.close();
        else if (ending === "live") {
          return new Promise<void>((resolve) => {
            const deliver = () => {
              const event = nextLive();
              if (!event) return;
              listeners.delete(deliver);
              controller.enqueue(encoder.encode(`id: ${event.seq}\nevent: ${event.type}\ndata: ${event.data}\n\n`));
              if (event.type === "done") finished = true; // the server ends the stream after done
              resolve();
            };
            listeners.add(deliver);
            deliver();
          });
        } else return new Promise<void>(() => {}); // hang: no more bytes, connection open
      },
    });
    return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
  };
}

/** `updates` training updates, then (unless `withDone` is false) the done event. */
export function runEvents(updates: number, withDone = true, runId = "run-1") {
  const events = Array.from({ length: updates }, (_, i) => ({ seq: i + 1, type: "training_update", data: JSON.stringify(trainingUpdate(i + 1, { runId })) }));
  if (withDone) events.push({ seq: updates + 1, type: "done", data: JSON.stringify(trainingDone(updates, "completed", runId)) });
  return events;
}

export function doneEvent(seq: number, runId = "run-1") {
  return { seq, type: "done", data: JSON.stringify(trainingDone(seq - 1, "completed", runId)) };
}

/** A wake source the test fires by hand. */
export function manualWake(): { source: WakeSource; fire: (reason: WakeReason) => void; subscribed: () => number } {
  const listeners = new Set<(reason: WakeReason) => void>();
  return {
    source: (wake) => {
      listeners.add(wake);
      return () => listeners.delete(wake);
    },
    fire: (reason) => listeners.forEach((wake) => wake(reason)),
    subscribed: () => listeners.size,
  };
}

