/** The run store: events in order and once, the series and heat map they feed, and re-watching. */
import { afterEach, describe, expect, it } from "vitest";
import { isFollowing, recordEvent, resetRuns, runPhase, shownRun, unwatchRun, useRuns, watchRun } from "../../src/train/runStore";
import { FakeRunServer, manualWake, runEvents } from "./support/fakeRunServer";
import { trainingDone, trainingUpdate } from "./support/training";

afterEach(() => resetRuns());

const LAYERS = [
  { id: "early", nExperts: 2 },
  { id: "late", nExperts: 3 },
];

const until = async (condition: () => boolean, timeoutMs = 2000) => {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};

const record = (runId = "run-1") => useRuns.getState().runs[runId];

describe("recordEvent", () => {
  it("keeps events in order, drops repeats, and derives the series and expert usage", () => {
    watchRun("run-1", { designId: "d1", layers: LAYERS, follow: { fetcher: () => new Promise(() => {}), wake: manualWake().source } });
    const usage = [
      [0.75, 0.25],
      [0.2, 0.3, 0.5],
    ];
    recordEvent("run-1", { seq: 1, type: "training_update", data: trainingUpdate(1) });
    recordEvent("run-1", { seq: 2, type: "training_update", data: trainingUpdate(2, { expertUsage: usage }) });
    recordEvent("run-1", { seq: 2, type: "training_update", data: trainingUpdate(2, { expertUsage: usage }) });
    recordEvent("run-1", { seq: 1, type: "training_update", data: trainingUpdate(1) });
    const run = record();
    expect(run.events.map((event) => event.seq)).toEqual([1, 2]);
    expect(run.revision).toBe(2);
    expect(run.series.steps).toEqual([16384, 32768]);
    expect(run.latestUpdate?.update).toBe(2);
    expect(run.usageByBlock).toEqual({ early: usage[0], late: usage[1] });
    expect(shownRun(useRuns.getState(), "d1")?.runId).toBe("run-1");
    expect(shownRun(useRuns.getState(), "other")).toBeNull();
    expect(runPhase(run)).toBe("connecting");
    recordEvent("run-1", { seq: 3, type: "done", data: trainingDone(2, "stopped") });
    expect(runPhase(record())).toBe("stopped");
    expect(record().done?.status).toBe("stopped");
  });

  it("gives a changed record to subscribers on each event, so the chart redraws", () => {
    watchRun("run-1", { designId: "d1", follow: { fetcher: () => new Promise(() => {}), wake: manualWake().source } });
    const seen: number[] = [];
    const unsubscribe = useRuns.subscribe((state) => seen.push(state.runs["run-1"].revision));
    recordEvent("run-1", { seq: 1, type: "training_update", data: trainingUpdate(1) });
    recordEvent("run-1", { seq: 1, type: "training_update", data: trainingUpdate(1) }); // a repeat changes nothing
    recordEvent("run-1", { seq: 2, type: "training_update", data: trainingUpdate(2) });
    unsubscribe();
    expect(seen).toEqual([1, 2]);
  });
});

describe("watchRun", () => {
  it("follows a run's stream into the store until done", async () => {
    const server = new FakeRunServer(runEvents(3));
    watchRun("run-1", { designId: "d1", follow: { fetcher: server.fetcher, wake: manualWake().source } });
    await until(() => record().done !== null);
    expect(record().events.map((event) => event.type)).toEqual(["training_update", "training_update", "training_update", "done"]);
    expect(record().series.meanScore).toEqual([501, 502, 503]);
    await until(() => record().stream?.phase === "ended");
    expect(runPhase(record())).toBe("completed");
  });

  it("reopening a finished run shows it again without fetching it twice", async () => {
    const server = new FakeRunServer(runEvents(2));
    const follow = { fetcher: server.fetcher, wake: manualWake().source };
    watchRun("run-1", { designId: "d1", follow });
    await until(() => record().done !== null);
    watchRun("run-2", { designId: "d1", follow: { fetcher: () => new Promise(() => {}), wake: manualWake().source } });
    expect(shownRun(useRuns.getState(), "d1")?.runId).toBe("run-2");
    watchRun("run-1", { designId: "d1", follow });
    expect(shownRun(useRuns.getState(), "d1")?.runId).toBe("run-1");
    expect(server.eventRequests()).toHaveLength(1);
  });

  it("a run followed before that did not finish resumes after the last event it holds", async () => {
    const server = new FakeRunServer(runEvents(4)).script({ hangAfter: 2 });
    const follow = { fetcher: server.fetcher, wake: manualWake().source };
    watchRun("run-1", { designId: "d1", follow });
    await until(() => record().events.length === 2);
    unwatchRun("run-1");
    expect(isFollowing("run-1")).toBe(false);
    watchRun("run-1", { designId: "d1", follow });
    await until(() => record().done !== null);
    await until(() => !isFollowing("run-1"));
    expect(record().stream).toMatchObject({ phase: "ended", end: { reason: "done" } }); // not the first follower's "stopped"
    expect(record().events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(server.eventRequests().map((request) => request.lastEventId)).toEqual(["0", "2"]);
  });

  it("remaps the heat map when the run is watched again with the design's current layers", () => {
    watchRun("run-1", { designId: "d1", layers: LAYERS, follow: { fetcher: () => new Promise(() => {}), wake: manualWake().source } });
    recordEvent("run-1", { seq: 1, type: "training_update", data: trainingUpdate(1, { expertUsage: [[0.5, 0.5], [0.2, 0.3, 0.5]] }) });
    expect(Object.keys(record().usageByBlock)).toEqual(["early", "late"]);
    watchRun("run-1", { designId: "d1", layers: [LAYERS[0]] });
    expect(record().usageByBlock).toEqual({});
  });
});
