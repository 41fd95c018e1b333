/**
 * Is the server there? While paired and the browser says it is online, `GET /api/health` is
 * polled: every 30 s while it answers, backing off from 2 s to a minute while it does not, and
 * at once when the browser comes online or the app is shown again. Nothing is polled while
 * unpaired, offline or hidden. Every API call's outcome counts too (`signal`), so a 401
 * anywhere shows "unauthorized" until a call succeeds or the device is paired again.
 */
import type { ApiSignal } from "../api/client";
import type { Reachability } from "./status";

export const POLL_ONLINE_MS = 30_000;
export const BACKOFF_FIRST_MS = 2_000;
export const BACKOFF_MAX_MS = 60_000;

/** The wait before the next probe after `failures` failed ones in a row (0: the server answered). */
export function nextProbeDelay(failures: number): number {
  if (failures <= 0) return POLL_ONLINE_MS;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (failures - 1));
}

export interface ReachabilityOptions {
  isPaired(): Promise<boolean>;
  /** Resolves true when the server's health check answers. */
  probe(): Promise<boolean>;
  get(): Reachability;
  set(reach: Reachability): void;
  /** The server became reachable (from any other state): time to send the outbox. */
  onReachable(): void;
  /** The page's window, for `online`/`offline` and its document's `visibilitychange`. */
  win?: Window;
}

export interface ReachabilityPoller {
  start(): void;
  stop(): void;
  /** Probe now (after pairing, unpairing, or a user's "try again"). */
  checkNow(): Promise<void>;
  /** What an API call's outcome said. */
  signal(signal: ApiSignal): void;
}

export function createReachability(options: ReachabilityOptions): ReachabilityPoller {
  const { isPaired, probe, get, set, onReachable } = options;
  let win: Window | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let running = false;
  let checking: Promise<void> | null = null;

  const update = (reach: Reachability) => {
    const before = get();
    if (reach === before) return;
    set(reach);
    if (reach === "online") onReachable();
  };

  const schedule = (delay: number) => {
    clearTimeout(timer);
    if (running) timer = setTimeout(() => void checkNow(), delay);
  };

  async function check(): Promise<void> {
    clearTimeout(timer);
    if (!(await isPaired())) {
      update("unpaired");
      return; // pairing calls checkNow
    }
    if (win && !win.navigator.onLine) {
      update("offline");
      return; // the `online` event calls checkNow
    }
    if (win?.document.visibilityState === "hidden") return; // `visibilitychange` calls checkNow
    const ok = await probe().catch(() => false);
    if (!running) return;
    if (ok) {
      failures = 0;
      // The health check needs no token, so it cannot clear a refusal; only an accepted call can.
      update(get() === "unauthorized" ? "unauthorized" : "online");
    } else {
      failures++;
      update("offline");
    }
    schedule(nextProbeDelay(failures));
  }

  function checkNow(): Promise<void> {
    checking ??= check().finally(() => {
      checking = null;
    });
    return checking;
  }

  const onBrowserOnline = () => {
    failures = 0;
    void checkNow();
  };
  const onBrowserOffline = () => void checkNow();
  const onVisibility = () => {
    if (win?.document.visibilityState === "visible") void checkNow();
  };

  return {
    start() {
      if (running) return;
      running = true;
      win = options.win ?? (typeof window === "undefined" ? undefined : window);
      win?.addEventListener("online", onBrowserOnline);
      win?.addEventListener("offline", onBrowserOffline);
      win?.document.addEventListener("visibilitychange", onVisibility);
      void checkNow();
    },
    stop() {
      running = false;
      clearTimeout(timer);
      win?.removeEventListener("online", onBrowserOnline);
      win?.removeEventListener("offline", onBrowserOffline);
      win?.document.removeEventListener("visibilitychange", onVisibility);
      win = undefined;
    },
    checkNow,
    signal(signal) {
      if (signal === "offline") {
        failures++;
        update(get() === "unpaired" ? "unpaired" : "offline");
        schedule(nextProbeDelay(failures));
      } else {
        failures = 0;
        update(signal);
        schedule(POLL_ONLINE_MS);
      }
    },
  };
}
