/** Following a run: resume and reconnect rules, against an in-process fake of the event route. */
import { afterEach, describe, expect, it } from "vitest";
import { followRun, reconnectDelay, type RunEvent, type StreamState } from "../../src/train/stream";
import { doneEvent, FakeRunServer, manualWake, runEvents } from "./support/fakeRunServer";

const RUN = "run-1";
const followers: { stop(): void }[] = [];
afterEach(() => followers.splice(0).forEach((follower) => follower.stop()));

function follow(server: FakeRunServer, options: Partial<Parameters<typeof followRun>[1]> = {}) {
  const received: RunEvent[] = [];
  const states: StreamState[] = [];
  const wake = manualWake();
  const follower = followRun(RUN, {
    fetcher: server.fetcher,
    wake: wake.source,
    onEvent: (event) => received.push(event),
    onState: (state) => states.push(state),
    ...options,
  });
  followers.push(follower);
  return { follower, received, states, wake, seqs: () => received.map((event) => event.seq) };
}

const until = async (condition: () => boolean, timeoutMs = 2000) => {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};

describe("followRun", () => {
  it("delivers every event in order and ends on done", async () => {
    const server = new FakeRunServer(runEvents(3));
    const { follower, received, states } = follow(server);
    expect(await follower.finished).toEqual({ reason: "done", lastEventId: 4 });
    expect(received.map((event) => [event.seq, event.type])).toEqual([[1, "training_update"], [2, "training_update"], [3, "training_update"], [4, "done"]]);
    expect(received[1].type === "training_update" && received[1].data.env_steps).toBe(32768);
    expect(server.eventRequests()).toEqual([{ path: `/api/runs/${RUN}/events`, lastEventId: "0" }]);
    expect(states.at(-1)).toEqual({ phase: "ended", end: { reason: "done", lastEventId: 4 } });
  });

  it("resumes from the given event id", async () => {
    const server = new FakeRunServer(runEvents(5));
    const { follower, seqs } = follow(server, { lastEventId: 3 });
    await follower.finished;
    expect(seqs()).toEqual([4, 5, 6]);
    expect(server.eventRequests()[0].lastEventId).toBe("3");
  });

  it("after drops mid-event, reconnects from the last whole event: nothing skipped or repeated", async () => {
    const server = new FakeRunServer(runEvents(6)).script({ dropAfter: 2 }, { dropAfter: 0 }, { dropAfter: 3 });
    const { follower, seqs, states } = follow(server);
    expect((await follower.finished).reason).toBe("done");
    expect(seqs()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(server.eventRequests().map((request) => request.lastEventId)).toEqual(["0", "2", "2", "5"]);
    expect(states.filter((state) => state.phase === "waiting")).toHaveLength(3);
  });

  it("drops events a server replays twice", async () => {
    const server = new FakeRunServer(runEvents(4)).script({ dropAfter: 3 }, { replayAll: true });
    const { follower, seqs } = follow(server);
    await follower.finished;
    expect(seqs()).toEqual([1, 2, 3, 4, 5]);
  });

  it("waits the server's retry, doubling while attempts fail, and starts over after events flow", async () => {
    const server = new FakeRunServer(runEvents(2)).script({ dropAfter: 1, retryMs: 3 }, { status: 503 }, { unreachable: true }, { dropAfter: 0, retryMs: 3 }, {});
    const { follower, states } = follow(server);
    await follower.finished;
    const delays = states.flatMap((state) => (state.phase === "waiting" ? [state.delayMs] : []));
    // 1 event then a drop: 3 ms; 503: 6; unreachable: 12; a connection with no new event: 24.
    expect(delays).toEqual([3, 6, 12, 24]);
    const reasons = states.flatMap((state) => (state.phase === "waiting" ? [state.reason] : []));
    expect(reasons[1]).toBe("refused with 503");
    expect(reasons[2]).toBe("The server is unreachable.");
  });

  it("caps the backoff", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => reconnectDelay(attempt, 2000, 30_000))).toEqual([2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it("reconnects at once when the phone comes back online instead of sitting out the delay", async () => {
    const server = new FakeRunServer(runEvents(2)).script({ unreachable: true });
    const { follower, states, wake, seqs } = follow(server, { initialDelayMs: 60_000 });
    await until(() => states.some((state) => state.phase === "waiting"));
    expect(server.eventRequests()).toHaveLength(1);
    wake.fire("online");
    expect((await follower.finished).reason).toBe("done");
    expect(seqs()).toEqual([1, 2, 3]);
  });

  it("on waking, replaces a connection that went silent (a sleeping phone's dead socket)", async () => {
    const server = new FakeRunServer(runEvents(3)).script({ hangAfter: 2 });
    const { follower, states, wake, seqs } = follow(server, { staleAfterMs: 20, stallTimeoutMs: 60_000, initialDelayMs: 60_000 });
    await until(() => seqs().length === 2);
    wake.fire("visible"); // the last byte is fresh: the connection is trusted
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(server.eventRequests()).toHaveLength(1);
    wake.fire("visible"); // now it has been silent longer than staleAfterMs
    expect((await follower.finished).reason).toBe("done");
    expect(seqs()).toEqual([1, 2, 3, 4]);
    expect(server.eventRequests().map((request) => request.lastEventId)).toEqual(["0", "2"]);
    expect(states.some((state) => state.phase === "waiting")).toBe(false); // no backoff wait
  });

  it("gives up on a silent connection after the stall timeout and resumes", async () => {
    const server = new FakeRunServer(runEvents(2)).script({ hangAfter: 1 });
    const { follower, seqs, states } = follow(server, { stallTimeoutMs: 30 });
    expect((await follower.finished).reason).toBe("done");
    expect(seqs()).toEqual([1, 2, 3]);
    expect(states.find((state) => state.phase === "waiting")).toMatchObject({ reason: "The stream went silent." });
  });

  it("ends as finished when the stream closes with nothing new and the run is over", async () => {
    const server = new FakeRunServer(runEvents(2, false));
    server.runStatus = "interrupted";
    const { follower, seqs } = follow(server);
    expect(await follower.finished).toEqual({ reason: "finished", lastEventId: 2 });
    expect(seqs()).toEqual([1, 2]);
  });

  it("keeps following a run that is still active after a clean close", async () => {
    const server = new FakeRunServer(runEvents(1, false));
    const { follower, seqs } = follow(server);
    await until(() => server.eventRequests().length >= 3);
    server.events.push(doneEvent(2));
    expect((await follower.finished).reason).toBe("done");
    expect(seqs()).toEqual([1, 2]);
  });

  it("fails without retrying when not paired, or when the run does not exist", async () => {
    const unpaired = follow(new FakeRunServer(runEvents(1)).script({ notPaired: true }));
    expect(await unpaired.follower.finished).toMatchObject({ reason: "failed", message: "This app is not paired with a server." });
    const server = new FakeRunServer(runEvents(1)).script({ status: 404 });
    const missing = follow(server);
    expect(await missing.follower.finished).toMatchObject({ reason: "failed", message: "refused with 404" });
    expect(server.eventRequests()).toHaveLength(1);
  });

  it("skips events it cannot read without replaying them", async () => {
    const events = runEvents(2);
    events[0].data = "{not json";
    const server = new FakeRunServer(events).script({ dropAfter: 1 });
    const { follower, seqs } = follow(server);
    await follower.finished;
    expect(seqs()).toEqual([2, 3]);
    expect(server.eventRequests()[1].lastEventId).toBe("1");
  });

  it("stop() ends following at once and unsubscribes from wake-ups", async () => {
    const server = new FakeRunServer(runEvents(3)).script({ hangAfter: 1 });
    const { follower, wake, seqs } = follow(server);
    await until(() => seqs().length === 1);
    expect(wake.subscribed()).toBe(1);
    follower.stop();
    expect(await follower.finished).toEqual({ reason: "stopped", lastEventId: 1 });
    expect(wake.subscribed()).toBe(0);
    expect(server.eventRequests()).toHaveLength(1);
  });
});
