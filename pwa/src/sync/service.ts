/**
 * The sync service (see app/service.ts): `start()` stores a token from a pairing link, watches
 * whether the server can be reached (the header badge), keeps the pending count in step across
 * tabs, and sends the outbox whenever the server comes back. `stop()` undoes exactly that.
 *
 * The module-level functions (`syncDesign`, `syncAll`, the three conflict resolutions, `unpair`)
 * act through whichever service is running, so features need no handle on it.
 */
import { onApiStatus, serverAnswers } from "../api/client";
import { studioDb } from "../storage/db";
import { addDesign, loadDesign, saveDesign, storedIds } from "../storage/designs";
import { showToast } from "../ui/toast";
import { createSyncEngine, type LocalDesigns, type SyncEngine, type SyncOutcome } from "./engine";
import { queuedCount, type OutboxLocks } from "./outbox";
import { getToken, pairFromLocation, unpair as forgetToken } from "./pairing";
import { createReachability } from "./reachability";
import { useSyncStatus } from "./status";

/** Tabs tell each other when the outbox or the pairing changed. */
export const SYNC_CHANNEL = "model-studio-sync";
type SyncMessage = { type: "outbox" } | { type: "pairing" };

export interface SyncService extends SyncEngine {
  start(): Promise<void>;
  stop(): void;
  /** A design was saved on this device (the library calls this): a conflict on screen shows the latest. */
  noteSaved(id: string): void;
  /** Forget the server: the app goes on alone; the outbox waits for the next pairing. */
  unpair(): Promise<void>;
}

/** Sync straight on storage/designs: right for tests and before the library runs. The app passes
 * the library's versions, which also refresh the list, tell other tabs and update the editor. */
export const storedDesigns: LocalDesigns = {
  async read(id) {
    const [outcome, record] = await Promise.all([loadDesign(id), studioDb().then((db) => db.get("designs", id))]);
    return outcome.ok ? { ok: true, design: outcome.design, updatedAt: record?.updatedAt ?? null } : outcome;
  },
  async replace(design) {
    await saveDesign(design);
  },
  async add(design) {
    if (!(await addDesign(design))) throw new Error(`a design with id "${design.id}" already exists`);
  },
  ids: storedIds,
  flush: async () => {},
};

export interface SyncServiceOptions {
  local?: LocalDesigns;
  locks?: OutboxLocks | null;
}

function openChannel(onMessage: (message: SyncMessage) => void): { post(message: SyncMessage): void; close(): void } {
  if (typeof BroadcastChannel === "undefined") return { post: () => {}, close: () => {} };
  const channel = new BroadcastChannel(SYNC_CHANNEL);
  channel.onmessage = (event: MessageEvent<SyncMessage>) => onMessage(event.data);
  return { post: (message) => channel.postMessage(message), close: () => channel.close() };
}

/** The service that is running, for the module-level functions; null between a stop and a start. */
let running: SyncService | null = null;

export function createSyncService(options: SyncServiceOptions = {}): SyncService {
  const local = options.local ?? storedDesigns;
  let session: { stop(): void; post(message: SyncMessage): void; checkNow(): Promise<void> } | null = null;

  const recount = async () => useSyncStatus.setState({ pending: await queuedCount() });
  const engine = createSyncEngine({
    local,
    locks: options.locks,
    onOutboxChange: () => {
      void recount();
      session?.post({ type: "outbox" });
    },
    onSyncing: (syncing) => useSyncStatus.setState({ syncing }),
  });

  async function start(): Promise<void> {
    if (session) return;
    const reach = createReachability({
      isPaired: async () => (await getToken()) !== null,
      probe: () => serverAnswers(),
      get: () => useSyncStatus.getState().reach,
      set: (state) => useSyncStatus.setState({ reach: state }),
      onReachable: () => {
        void engine.drain().catch((error: unknown) => console.error("sending the outbox failed", error));
      },
    });
    const channel = openChannel((message) => {
      if (message.type === "outbox") void recount();
      else void reach.checkNow();
    });
    const unsubscribe = onApiStatus((signal) => reach.signal(signal));
    const current = {
      stop() {
        unsubscribe();
        reach.stop();
        channel.close();
      },
      post: channel.post,
      checkNow: reach.checkNow,
    };
    session = current;
    running = service;

    const paired = await pairFromLocation();
    if (session !== current) return; // stopped meanwhile
    if (paired === "paired") {
      channel.post({ type: "pairing" });
      showToast("Paired with the server. Designs sync when you compile, train, export or tap Sync.");
    } else if (paired === "invalid") {
      showToast("That pairing link is not valid: scan the server's QR code again.", "error");
    }
    await recount();
    reach.start();
  }

  const service: SyncService = {
    ...engine,
    start,
    stop() {
      session?.stop();
      session = null;
      if (running === service) running = null;
    },
    noteSaved(id) {
      const conflict = useSyncStatus.getState().conflicts.find((c) => c.id === id);
      if (!conflict) return;
      void local.read(id).then((stored) => {
        if (!stored.ok) return;
        useSyncStatus.setState(({ conflicts }) => ({
          conflicts: conflicts.map((c) => (c.id === id ? { ...c, mine: { design: stored.design, updatedAt: stored.updatedAt } } : c)),
        }));
      });
    },
    async unpair() {
      await forgetToken();
      useSyncStatus.setState({ reach: "unpaired" });
      session?.post({ type: "pairing" });
      await session?.checkNow();
    },
  };
  return service;
}

// ---- the running service, for the rest of the app ----

/** Used while no service runs: syncing works, without the badge's polling. */
let idle: SyncService | null = null;
const sync = (): SyncService => running ?? (idle ??= createSyncService());

export const syncDesign = (id: string): Promise<SyncOutcome> => sync().syncDesign(id);
export const syncAll = (): Promise<SyncOutcome[]> => sync().syncAll();
export const keepMine = (id: string): Promise<SyncOutcome> => sync().keepMine(id);
export const useServers = (id: string): Promise<{ keptAs: string | null }> => sync().useServers(id);
export const saveAsCopy = (id: string): Promise<string> => sync().saveAsCopy(id);
export const noteSaved = (id: string): void => sync().noteSaved(id);
export const unpair = (): Promise<void> => sync().unpair();
