/**
 * The Train panel end to end in a DOM: budget, start after sync, the live status line and chart,
 * Stop, the 409 offer, and the run list. The server is an in-process fake of its training routes
 * (the real route shapes, answered from memory) behind the real API client.
 *
 * uPlot draws on a canvas, which happy-dom lacks: a do-nothing 2D context stands in, so the real
 * chart is built and fed, and the test can count its redraws.
 */
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { configureApi } from "../../src/api/client";
import type { RunStatus } from "../../src/api/types";
import { TEMPLATES } from "../../src/model/templates";
import type { SyncCheck } from "../../src/train/api";
import { resetRuns } from "../../src/train/runStore";
import { TrainPanel } from "../../src/train/TrainSheet";
import { FakeRunServer } from "../unit/support/fakeRunServer";
import { trainingDone, trainingUpdate } from "../unit/support/training";

const design = structuredClone(TEMPLATES.find((template) => template.id === "moe-router")!);
const USAGE = [[0.4, 0.3, 0.2, 0.1]];

function runStatus(id: string, status: RunStatus["status"], overrides: Partial<RunStatus> = {}): RunStatus {
  return {
    id,
    design_id: design.id,
    design_version: 1,
    status,
    created_at: "2026-12-01T10:00:00.000Z",
    started_at: "2026-12-01T10:00:01.000Z",
    finished_at: null,
    message: null,
    budget: { max_env_steps: null, max_minutes: 5 },
    seed: 0,
    resume_from: null,
    progress: null,
    updates: 3,
    env_steps: 49152,
    elapsed_s: 6,
    last_seq: 4,
    has_checkpoint: true,
    summary: null,
    ...overrides,
  };
}

const event = (seq: number, data: object) => ({ seq, type: (data as { type: string }).type, data: JSON.stringify(data) });

/** The server's training routes for one design, answered from memory. */
class FakeTrainServer {
  runs: RunStatus[] = [];
  readonly streams = new Map<string, FakeRunServer>();
  readonly requests: { method: string; path: string; body: unknown }[] = [];
  /** What POST /train answers: accept a new run, or 409 naming an active one. */
  train: { accept: string } | { busy: RunStatus } = { accept: "run-new" };
  unreachable = false;

  addRun(status: RunStatus, events: { seq: number; type: string; data: string }[], live = false): FakeRunServer {
    this.runs.unshift(status);
    const stream = new FakeRunServer(events, status.id);
    if (live) stream.script({ live: true }, { live: true }, { live: true });
    this.streams.set(status.id, stream);
    return stream;
  }

  fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    if (this.unreachable) throw new TypeError("Failed to fetch");
    const path = String(input);
    const method = init.method ?? "GET";
    this.requests.push({ method, path, body: typeof init.body === "string" ? JSON.parse(init.body) : null });
    const runMatch = path.match(/^\/api\/runs\/([^/]+)(\/events|\/stop)?$/);
    if (method === "GET" && path === `/api/designs/${design.id}/runs`) return Response.json({ runs: this.runs });
    if (method === "POST" && path === `/api/designs/${design.id}/train`) {
      if ("busy" in this.train) {
        return Response.json({ error: { code: "run_active", message: `Run ${this.train.busy.id} is training.`, run_id: this.train.busy.id } }, { status: 409 });
      }
      const runId = this.train.accept;
      this.addRun(runStatus(runId, "running", { updates: 0, env_steps: 0, last_seq: 0 }), [], true);
      return Response.json({ run_id: runId, status_url: `/api/runs/${runId}`, events_url: `/api/runs/${runId}/events` }, { status: 202 });
    }
    if (runMatch) {
      const [, runId, tail] = runMatch;
      if (tail === "/stop") return Response.json(this.runs.find((run) => run.id === runId), { status: 202 });
      if (!tail && "busy" in this.train && this.train.busy.id === runId) return Response.json(this.train.busy);
      const stream = this.streams.get(runId);
      if (stream) return stream.fetcher(path, init);
    }
    return Response.json({ error: { code: "not_found", message: `no route ${method} ${path}` } }, { status: 404 });
  };
}

/** A 2D context that accepts every call and draws nothing; it counts clears (one per redraw). */
function stubCanvas(): { clears: () => number } {
  let clears = 0;
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockImplementation(function (this: HTMLCanvasElement) {
    const state: Record<string | symbol, unknown> = {
      canvas: this,
      measureText: (text: string) => ({ width: text.length * 6 }),
      clearRect: () => void clears++,
    };
    return new Proxy(state, {
      get: (target, key) => (key in target ? target[key] : () => undefined),
      set: (target, key, value) => {
        target[key] = value;
        return true;
      },
    }) as unknown as CanvasRenderingContext2D;
  } as unknown as typeof HTMLCanvasElement.prototype.getContext);
  vi.stubGlobal(
    "Path2D",
    class {
      constructor() {
        return new Proxy(this, { get: (target, key) => (key in target ? target[key as keyof typeof target] : () => undefined) });
      }
    },
  );
  return { clears: () => clears };
}

let server: FakeTrainServer;
let undoApi: () => void;
let container: HTMLDivElement;
let root: Root;
let syncCalls: string[];
let syncAnswer: SyncCheck;
let canvas: { clears: () => number };

beforeEach(() => {
  server = new FakeTrainServer();
  undoApi = configureApi({ baseUrl: "", fetch: server.fetch as typeof fetch, getToken: async () => "test-token-0123456789" });
  canvas = stubCanvas();
  syncCalls = [];
  syncAnswer = { ok: true };
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
});

afterEach(() => {
  act(() => root.unmount());
  container.remove();
  resetRuns();
  undoApi();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

const sync = async (id: string): Promise<SyncCheck> => {
  syncCalls.push(id);
  return syncAnswer;
};

async function renderPanel(): Promise<void> {
  await act(async () => root.render(<TrainPanel design={design} sync={sync} />));
}

/** Let fetches, streams and React settle until `condition` holds. */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await act(async () => new Promise((resolve) => setTimeout(resolve, 5)));
  }
  throw new Error(`timed out waiting for ${what}; page: ${container.textContent}`);
}

const q = <E extends Element = HTMLElement>(selector: string) => container.querySelector<E>(selector);
const statusText = () => q('[data-testid="run-status"]')?.textContent ?? "";
const button = (name: string) => [...container.querySelectorAll("button")].find((b) => b.textContent?.trim() === name) ?? null;
const click = (element: HTMLElement | null) => act(async () => element!.click());

describe("TrainPanel", () => {
  it("lists earlier runs and reopens one: its metrics, summary and experts replay", async () => {
    server.addRun(runStatus("run-a", "stopped", { created_at: "2026-11-30T09:00:00.000Z", started_at: "2026-11-30T09:00:00.000Z", env_steps: 16384 }), []);
    server.addRun(runStatus("run-b", "completed", { summary: trainingDone(3).summary }), [
      event(1, trainingUpdate(1, { runId: "run-b", expertUsage: USAGE })),
      event(2, trainingUpdate(2, { runId: "run-b", expertUsage: USAGE })),
      event(3, trainingUpdate(3, { runId: "run-b", expertUsage: USAGE })),
      event(4, trainingDone(3, "completed", "run-b")),
    ]);
    await renderPanel();
    await waitFor(() => container.querySelectorAll('[data-testid="run-row"]').length === 2, "the run list");
    const rows = [...container.querySelectorAll<HTMLButtonElement>('[data-testid="run-row"]')];
    expect(rows[0].textContent).toContain("Completed");
    expect(rows[0].textContent).toContain("run-b");
    expect(rows[0].textContent).toContain("49,152 steps · best 6,000");
    expect(rows[1].textContent).toContain("Stopped");
    expect(q('[data-testid="run-status"]')).toBeNull(); // nothing is shown until one is opened

    await click(rows[0]);
    await waitFor(() => statusText().includes("completed"), "the replayed run");
    expect(statusText()).toBe("run-b update 3 · 49,152 steps · completed");
    expect(q('[data-testid="run-status"]')!.getAttribute("data-events")).toBe("4");
    expect(q('[role="img"][aria-label="Score chart"]')!.getAttribute("data-points")).toBe("3");
    expect(q('[data-testid="run-summary"]')!.textContent).toContain("mean score 2,400 over 200 games");
    expect(q('[aria-label="Expert usage of experts"]')!.textContent).toContain("expert 1");
    expect(q('[aria-label="Expert usage of experts"]')!.textContent).toContain("40%");
    expect(rows[0].getAttribute("aria-current")).toBe("true");
    expect(server.streams.get("run-b")!.eventRequests()[0].lastEventId).toBe("0");
  });

  it("syncs, starts with the chosen budget, follows live without re-creating the chart, and Stop waits for done", async () => {
    await renderPanel();
    await waitFor(() => container.textContent!.includes("No runs yet"), "the empty run list");
    await click(q<HTMLInputElement>('input[type="radio"][value="1min"]'));
    await click(button("Start training"));
    expect(syncCalls).toEqual([design.id]);
    expect(server.requests.find((r) => r.method === "POST")).toEqual({ method: "POST", path: `/api/designs/${design.id}/train`, body: { max_minutes: 1 } });
    await waitFor(() => statusText().includes("live"), "the live stream");
    expect(statusText()).toBe("run-new update 0 · 0 steps · live");

    const stream = server.streams.get("run-new")!;
    await act(async () => stream.push(event(1, trainingUpdate(1, { runId: "run-new", expertUsage: USAGE }))));
    await waitFor(() => statusText().includes("update 1"), "the first update");
    const chartRoot = q(".metric-chart .uplot");
    expect(chartRoot).not.toBeNull();
    const clearsBefore = canvas.clears();
    await act(async () => stream.push(event(2, trainingUpdate(2, { runId: "run-new", expertUsage: USAGE }))));
    await waitFor(() => statusText().includes("update 2"), "the second update");
    expect(statusText()).toBe("run-new update 2 · 32,768 steps · live");
    expect(q(".metric-chart .uplot")).toBe(chartRoot); // the same chart, fed with setData
    expect(container.querySelectorAll(".metric-chart .uplot")).toHaveLength(1);
    expect(q('[data-testid="score-chart"]')!.getAttribute("data-points")).toBe("2");
    await waitFor(() => canvas.clears() > clearsBefore, "a redraw");
    expect(q<HTMLFieldSetElement>(".budget-picker")!.disabled).toBe(true);

    await click(button("Stop"));
    expect(server.requests.at(-1)).toMatchObject({ method: "POST", path: "/api/runs/run-new/stop" });
    expect(button("Stopping…")!.disabled).toBe(true);
    expect(statusText()).toContain("stopping…");
    await act(async () => stream.push(event(3, trainingDone(2, "stopped", "run-new"))));
    await waitFor(() => button("Start training") !== null, "the run to end");
    expect(statusText()).toBe("run-new update 2 · 32,768 steps · stopped");
    expect(q('[data-testid="run-summary"]')!.textContent).toMatch(/^Stopped after/);
  });

  it("the Losses tab swaps in the loss chart", async () => {
    server.addRun(runStatus("run-b", "completed"), [event(1, trainingUpdate(1, { runId: "run-b" })), event(2, trainingDone(1, "completed", "run-b"))]);
    await renderPanel();
    await waitFor(() => container.querySelector('[data-testid="run-row"]') !== null, "the run list");
    await click(q('[data-testid="run-row"]'));
    await waitFor(() => statusText().includes("completed"), "the run");
    await click(q('[role="tab"][id="charts-tab-losses"]'));
    expect(q('[role="img"][aria-label="Loss chart"]')).not.toBeNull();
    expect(q('[role="img"][aria-label="Score chart"]')).toBeNull();
    expect(q('[role="tab"][aria-selected="true"]')!.textContent).toBe("Losses");
  });

  it("picks up a run of this design that is still training", async () => {
    server.addRun(runStatus("run-live", "running"), [event(1, trainingUpdate(1, { runId: "run-live" }))], true);
    await renderPanel();
    await waitFor(() => statusText().includes("update 1"), "the active run");
    expect(statusText()).toBe("run-live update 1 · 16,384 steps · live");
    expect(button("Stop")).not.toBeNull();
  });

  it("a sync refusal (a conflict) stops the start and says why", async () => {
    syncAnswer = { ok: false, message: "This design changed on the server too: resolve the conflict first." };
    await renderPanel();
    await click(button("Start training"));
    expect(q('[role="alert"]')!.textContent).toContain("resolve the conflict first");
    expect(server.requests.some((request) => request.method === "POST")).toBe(false);
  });

  it("when the server is busy with this design's run, offers to watch it", async () => {
    server.train = { busy: runStatus("run-busy", "running") };
    const busy = new FakeRunServer([event(1, trainingUpdate(1, { runId: "run-busy" }))], "run-busy").script({ live: true });
    server.streams.set("run-busy", busy);
    await renderPanel();
    await click(button("Start training"));
    await waitFor(() => button("Watch run run-busy") !== null, "the offer to watch");
    expect(q('[role="alert"]')!.textContent).toContain("Run run-busy is training.");
    await click(button("Watch run run-busy"));
    await waitFor(() => statusText().includes("update 1"), "the busy run");
    expect(q('[role="alert"]')).toBeNull();
  });

  it("says so when the server cannot be reached", async () => {
    server.unreachable = true;
    await renderPanel();
    await waitFor(() => q('[role="alert"]') !== null, "the offline notice");
    expect(q('[role="alert"]')!.textContent).toContain("The server can't be reached");
  });
});
