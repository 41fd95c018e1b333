/** The server reachability poller (sync/reachability.ts): states, backoff, and what wakes it. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BACKOFF_MAX_MS, createReachability, nextProbeDelay, POLL_ONLINE_MS, type ReachabilityOptions } from "../../src/sync/reachability";
import type { Reachability } from "../../src/sync/status";

/** Just the window parts the poller listens to: online/offline events and page visibility. */
class PageStandIn extends EventTarget {
  navigator = { onLine: true };
  document = Object.assign(new EventTarget(), { visibilityState: "visible" as DocumentVisibilityState });
}

function harness(overrides: Partial<ReachabilityOptions> = {}) {
  const page = new PageStandIn();
  const state = { reach: "unpaired" as Reachability, paired: true, up: true, probes: 0, reachable: 0 };
  const poller = createReachability({
    isPaired: async () => state.paired,
    probe: async () => {
      state.probes++;
      return state.up;
    },
    get: () => state.reach,
    set: (reach) => {
      state.reach = reach;
    },
    onReachable: () => state.reachable++,
    win: page as unknown as Window,
    ...overrides,
  });
  return { page, state, poller };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("nextProbeDelay", () => {
  it("polls slowly while the server answers and backs off, capped, while it does not", () => {
    expect(nextProbeDelay(0)).toBe(POLL_ONLINE_MS);
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(nextProbeDelay)).toEqual([2000, 4000, 8000, 16000, 32000, 60000, 60000, BACKOFF_MAX_MS]);
  });
});

describe("createReachability", () => {
  it("is unpaired without a token, and probes nothing", async () => {
    const { state, poller } = harness();
    state.paired = false;
    state.reach = "online";
    poller.start();
    await vi.advanceTimersByTimeAsync(5 * POLL_ONLINE_MS);
    expect(state.reach).toBe("unpaired");
    expect(state.probes).toBe(0);
    poller.stop();
  });

  it("goes online when the health check answers, says so once, and polls every 30 s", async () => {
    const { state, poller } = harness();
    poller.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(state.reach).toBe("online");
    expect(state.reachable).toBe(1);
    await vi.advanceTimersByTimeAsync(POLL_ONLINE_MS * 2);
    expect(state.probes).toBe(3);
    expect(state.reachable).toBe(1);
    poller.stop();
    await vi.advanceTimersByTimeAsync(POLL_ONLINE_MS * 2);
    expect(state.probes).toBe(3); // stopped: no more polling
  });

  it("backs off while the server is down, and tells when it is back", async () => {
    const { state, poller } = harness();
    state.up = false;
    poller.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(state.reach).toBe("offline");
    await vi.advanceTimersByTimeAsync(2000 + 4000 + 8000);
    expect(state.probes).toBe(4);
    state.up = true;
    await vi.advanceTimersByTimeAsync(16000);
    expect(state.reach).toBe("online");
    expect(state.reachable).toBe(1);
    poller.stop();
  });

  it("does not probe while the browser is offline, and probes at once when it comes online", async () => {
    const { page, state, poller } = harness();
    page.navigator.onLine = false;
    poller.start();
    await vi.advanceTimersByTimeAsync(BACKOFF_MAX_MS * 3);
    expect(state.reach).toBe("offline");
    expect(state.probes).toBe(0);
    page.navigator.onLine = true;
    page.dispatchEvent(new Event("online"));
    await vi.advanceTimersByTimeAsync(0);
    expect(state.reach).toBe("online");
    poller.stop();
  });

  it("pauses while the page is hidden and probes again when it is shown", async () => {
    const { page, state, poller } = harness();
    page.document.visibilityState = "hidden";
    poller.start();
    await vi.advanceTimersByTimeAsync(POLL_ONLINE_MS * 3);
    expect(state.probes).toBe(0);
    page.document.visibilityState = "visible";
    page.document.dispatchEvent(new Event("visibilitychange"));
    await vi.advanceTimersByTimeAsync(0);
    expect(state.probes).toBe(1);
    poller.stop();
  });

  it("keeps 'unauthorized' through health checks until an authorised call succeeds", async () => {
    const { state, poller } = harness();
    poller.start();
    await vi.advanceTimersByTimeAsync(0);
    poller.signal("unauthorized");
    expect(state.reach).toBe("unauthorized");
    await vi.advanceTimersByTimeAsync(POLL_ONLINE_MS);
    expect(state.reach).toBe("unauthorized");
    poller.signal("online");
    expect(state.reach).toBe("online");
    expect(state.reachable).toBe(2);
    poller.stop();
  });

  it("counts a failed API call as offline and probes again soon", async () => {
    const { state, poller } = harness();
    poller.start();
    await vi.advanceTimersByTimeAsync(0);
    poller.signal("offline");
    expect(state.reach).toBe("offline");
    await vi.advanceTimersByTimeAsync(2000);
    expect(state.reach).toBe("online");
    poller.stop();
  });
});
