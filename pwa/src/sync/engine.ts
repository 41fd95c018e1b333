/**
 * Sync on demand: a design goes to the server only when the user compiles, trains, exports or
 * taps Sync. Every request goes through the outbox (outbox.ts), so one made while the server
 * cannot be reached simply waits there, and one tab at a time sends it (a Web Lock).
 *
 * Each design remembers the server version it is based on and the hash of what was last synced:
 * - changed since then (or never synced): pushed over that version (protocol.ts);
 * - unchanged: a conditional GET; if the server moved on, its copy replaces the local one (which
 *   held nothing new), else nothing is sent;
 * - a 412 with a different server copy is a conflict: both copies are kept until the user picks
 *   `keepMine`, `useServers` or `saveAsCopy`, and none of the three loses either version.
 */
import { apiJson, ApiError, NotPairedError, OfflineError } from "../api/client";
import type { DesignList, DesignRecord } from "../api/types";
import { catalogue } from "../model/catalogue";
import { duplicateDesign } from "../model/designs";
import type { DocumentOutcome } from "../model/document";
import type { ModelArchitecture } from "../model/types";
import type { OutboxItem } from "../storage/db";
import {
  browserLocks,
  createOutboxMutex,
  enqueue,
  postpone,
  putSyncRecord,
  queuedItem,
  queuedItems,
  replaceSyncState,
  settle,
  syncRecord,
  type OutboxLocks,
} from "./outbox";
import { checkDesign, contentHash, pushDesign } from "./protocol";
import { conflictFor, dropConflict, putConflict, type SyncConflict } from "./status";

/** Why a request is still waiting in the outbox. */
export type WaitReason = "offline" | "unpaired" | "unauthorized" | "server_error";

export type SyncOutcome =
  /** Sent: the server stored this content as `version` (`created`: the design is new there). */
  | { kind: "synced"; id: string; version: number; created: boolean }
  /** Nothing to send: the server holds exactly this design as `version`. */
  | { kind: "unchanged"; id: string; version: number }
  /** This device had no new changes and the server did: its copy replaced the local one. */
  | { kind: "pulled"; id: string; version: number }
  /** Not sent yet: it waits in the outbox and goes once the server can be reached. */
  | { kind: "queued"; id: string; reason: WaitReason }
  /** The server holds a different version: the user must choose (see `SyncEngine.keepMine` etc.). */
  | { kind: "conflict"; id: string; conflict: SyncConflict }
  /** The server refused it in a way retrying will not fix; `message` says why, for people. */
  | { kind: "failed"; id: string; code: string; message: string };

/** A server's answer to a request. */
const SENT_KINDS = new Set<SyncOutcome["kind"]>(["synced", "unchanged", "pulled"]);

/** Whether the server now holds exactly what this device shows (compile, train and export need it). */
export function isInSync(outcome: SyncOutcome): boolean {
  return SENT_KINDS.has(outcome.kind);
}

/** After this many 5xx answers an item is dropped (with a "failed" outcome) instead of retried. */
export const MAX_ATTEMPTS = 5;

/** The designs on this device, as sync reads and writes them (wired to the library in the app). */
export interface LocalDesigns {
  /** The stored design and when it was last saved (ms since the epoch), or why it cannot be read. */
  read(id: string): Promise<{ ok: true; design: ModelArchitecture; updatedAt: number | null } | { ok: false; reason: string }>;
  /** Store a design that came from the server, replacing the local one with its id (and show it if it is open). */
  replace(design: ModelArchitecture): Promise<void>;
  /** Store a new design (its id is free). */
  add(design: ModelArchitecture): Promise<void>;
  /** Every design id stored on this device. */
  ids(): Promise<ReadonlySet<string>>;
  /** Write edits not saved yet, so a sync sends what is on screen. */
  flush(): Promise<void>;
}

export interface SyncEngineOptions {
  local: LocalDesigns;
  /** Cross-tab exclusion for sending; default `navigator.locks` (null: this tab only). */
  locks?: OutboxLocks | null;
  /** Read a design document from the server (migrate + schema-check); default `readDocument`. */
  decode?: (document: unknown) => Promise<DocumentOutcome>;
  /** The outbox changed (an item was queued or settled): recount, tell other tabs. */
  onOutboxChange?: () => void;
  /** This tab started or stopped sending. */
  onSyncing?: (active: boolean) => void;
}

export interface SyncEngine {
  /** Bring one design in step with the server (see SyncOutcome). */
  syncDesign(id: string): Promise<SyncOutcome>;
  /** Queue every design changed since its last sync, or changed on the server, and send them. */
  syncAll(): Promise<SyncOutcome[]>;
  /** Send what waits in the outbox (when the server is back). */
  drain(): Promise<SyncOutcome[]>;
  /** Resolve a conflict: write this device's version over the server's. */
  keepMine(id: string): Promise<SyncOutcome>;
  /**
   * Resolve a conflict: take the server's version here. If this device's version had changes
   * the server never saw, it is kept as a new design "<name> (my version)", whose id is returned.
   */
  useServers(id: string): Promise<{ keptAs: string | null }>;
  /** Resolve a conflict: keep both. This device's version becomes a new design (its id is returned); the original takes the server's. */
  saveAsCopy(id: string): Promise<string>;
}

const defaultDecode = async (document: unknown): Promise<DocumentOutcome> => (await import("../model/document")).readDocument(document);

const MY_VERSION_SUFFIX = " (my version)";

export function createSyncEngine(options: SyncEngineOptions): SyncEngine {
  const { local, decode = defaultDecode, onOutboxChange = () => {}, onSyncing = () => {} } = options;
  const exclusive = createOutboxMutex(options.locks === undefined ? browserLocks() : options.locks);

  const failed = (id: string, code: string, message: string): SyncOutcome => ({ kind: "failed", id, code, message });

  async function decodeRecord(record: DesignRecord): Promise<DocumentOutcome> {
    const outcome = await decode(record.design);
    if (outcome.ok && outcome.design.id !== record.id) return { ok: false, reason: `the server's copy names itself "${outcome.design.id}"` };
    return outcome;
  }

  /** An HTTP failure: keep the item for later, or give up on it. Returns the outcome and whether to stop the drain. */
  async function onFailure(item: OutboxItem, error: ApiError, retry: boolean): Promise<[SyncOutcome, boolean]> {
    const id = item.designId;
    if (error.status === 401) return [{ kind: "queued", id, reason: "unauthorized" }, true];
    if (retry && item.attempts + 1 < MAX_ATTEMPTS) {
      await postpone(item);
      return [{ kind: "queued", id, reason: "server_error" }, false];
    }
    await settle(item, null);
    return [failed(id, error.code, error.message), false];
  }

  /** Send one queued design. Returns its outcome and whether sending more now is pointless. */
  async function send(item: OutboxItem): Promise<[SyncOutcome, boolean]> {
    const id = item.designId;
    const stored = await local.read(id);
    if (!stored.ok) {
      await settle(item, null);
      if (!(await local.ids()).has(id)) return [failed(id, "deleted_here", "It was deleted on this device, so it was not sent."), false];
      return [failed(id, "unreadable_design", `This design cannot be read on this device: ${stored.reason}`), false];
    }
    const hash = contentHash(stored.design);
    const base = await syncRecord(id);
    try {
      let baseVersion = base?.baseVersion ?? null;
      if (base && baseVersion !== null && base.lastSyncedHash === hash) {
        const check = await checkDesign(id, baseVersion);
        if (check.kind === "current") {
          await settle(item, null);
          return [{ kind: "unchanged", id, version: baseVersion }, false];
        }
        if (check.kind === "newer") {
          const decoded = await decodeRecord(check.record);
          if (!decoded.ok) {
            await settle(item, null);
            return [failed(id, "unreadable_server_copy", `The server's copy cannot be read here: ${decoded.reason}`), false];
          }
          await local.replace(decoded.design);
          await settle(item, { id, baseVersion: check.record.version, lastSyncedHash: contentHash(decoded.design) });
          return [{ kind: "pulled", id, version: check.record.version }, false];
        }
        if (check.kind === "failed") return onFailure(item, check.error, check.retry);
        baseVersion = null; // deleted on the server: store it there again
      }

      const sameAsMine = async (server: DesignRecord) => {
        const decoded = await decodeRecord(server);
        return decoded.ok && contentHash(decoded.design) === hash;
      };
      const result = await pushDesign(stored.design, baseVersion, sameAsMine);
      if (result.kind === "stored") {
        await settle(item, { id, baseVersion: result.record.version, lastSyncedHash: hash });
        return [{ kind: "synced", id, version: result.record.version, created: result.created }, false];
      }
      if (result.kind === "failed") return onFailure(item, result.error, result.retry);
      const decoded = await decodeRecord(result.server);
      await settle(item, null); // the choice is the user's now; nothing waits in the outbox
      if (!decoded.ok) return [failed(id, "unreadable_server_copy", `The server holds another version that cannot be read here: ${decoded.reason}`), false];
      const conflict: SyncConflict = {
        id,
        mine: { design: stored.design, updatedAt: stored.updatedAt },
        server: { design: decoded.design, version: result.server.version, updatedAt: result.server.updated_at },
      };
      putConflict(conflict);
      return [{ kind: "conflict", id, conflict }, false];
    } catch (error) {
      if (error instanceof OfflineError) return [{ kind: "queued", id, reason: "offline" }, true];
      if (error instanceof NotPairedError) return [{ kind: "queued", id, reason: "unpaired" }, true];
      throw error;
    }
  }

  /** Send the outbox in order, once each item, until it is empty or the server is out of reach. Hold the lock. */
  async function drainHeld(): Promise<{ outcomes: Map<string, SyncOutcome>; stopped: WaitReason | null }> {
    const outcomes = new Map<string, SyncOutcome>();
    const tried = new Set<number>();
    onSyncing(true);
    try {
      for (;;) {
        const item = (await queuedItems()).find((candidate) => !tried.has(candidate.seq!));
        if (!item) return { outcomes, stopped: null };
        tried.add(item.seq!);
        const [outcome, stop] = await send(item);
        outcomes.set(item.designId, outcome);
        onOutboxChange();
        if (stop) return { outcomes, stopped: outcome.kind === "queued" ? outcome.reason : "offline" };
      }
    } finally {
      onSyncing(false);
    }
  }

  async function syncDesign(id: string): Promise<SyncOutcome> {
    await local.flush();
    await enqueue(id);
    onOutboxChange();
    return exclusive(async () => {
      const { outcomes, stopped } = await drainHeld();
      const outcome = outcomes.get(id);
      if (outcome) return outcome;
      if (stopped) return { kind: "queued", id, reason: stopped };
      // Another tab sent it while this one waited for the lock: ask again where it stands.
      const item = (await queuedItem(id)) ?? (await enqueue(id));
      const [now] = await send(item);
      onOutboxChange();
      return now;
    });
  }

  /** Server versions by id, or null when the server cannot be asked now. */
  async function serverVersions(): Promise<Map<string, number> | null> {
    try {
      const list = await apiJson<DesignList>("/api/designs");
      return new Map(list.designs.map((summary) => [summary.id, summary.version]));
    } catch (error) {
      if (error instanceof OfflineError || error instanceof NotPairedError || error instanceof ApiError) return null;
      throw error;
    }
  }

  async function syncAll(): Promise<SyncOutcome[]> {
    await local.flush();
    const [ids, versions] = await Promise.all([local.ids(), serverVersions()]);
    const unchanged: SyncOutcome[] = [];
    for (const id of ids) {
      const [stored, base] = await Promise.all([local.read(id), syncRecord(id)]);
      const changedHere = !stored.ok || !base || base.baseVersion === null || base.lastSyncedHash !== contentHash(stored.design);
      const changedThere = versions !== null && base?.baseVersion != null && versions.get(id) !== base.baseVersion;
      if (changedHere || changedThere) await enqueue(id);
      else if (base?.baseVersion != null && versions !== null) unchanged.push({ kind: "unchanged", id, version: base.baseVersion });
    }
    onOutboxChange();
    const sent = await drain();
    return [...unchanged, ...sent];
  }

  async function drain(): Promise<SyncOutcome[]> {
    return exclusive(async () => {
      const { outcomes, stopped } = await drainHeld();
      const waiting = stopped ? (await queuedItems()).filter((item) => !outcomes.has(item.designId)) : [];
      return [...outcomes.values(), ...waiting.map((item): SyncOutcome => ({ kind: "queued", id: item.designId, reason: stopped! }))];
    });
  }

  function needConflict(id: string): SyncConflict {
    const conflict = conflictFor(id);
    if (!conflict) throw new Error(`There is no sync conflict for design "${id}".`);
    return conflict;
  }

  async function keepMine(id: string): Promise<SyncOutcome> {
    const conflict = needConflict(id);
    // Base this device's version on the server copy the user has seen and chosen to overwrite:
    // the push then carries If-Match with its version (and a newer server write is a new conflict).
    await exclusive(() => putSyncRecord({ id, baseVersion: conflict.server.version, lastSyncedHash: null }));
    dropConflict(id);
    return syncDesign(id);
  }

  /** Take the server's copy here, recording that this device is now based on it. */
  async function adoptServers(conflict: SyncConflict): Promise<void> {
    await local.replace(conflict.server.design);
    await replaceSyncState({ id: conflict.id, baseVersion: conflict.server.version, lastSyncedHash: contentHash(conflict.server.design) });
    onOutboxChange();
  }

  async function useServers(id: string): Promise<{ keptAs: string | null }> {
    const conflict = needConflict(id);
    await local.flush();
    const keptAs = await exclusive(async () => {
      const [stored, base] = await Promise.all([local.read(id), syncRecord(id)]);
      let copyId: string | null = null;
      if (stored.ok) {
        const hash = contentHash(stored.design);
        const unseen = hash !== base?.lastSyncedHash && hash !== contentHash(conflict.server.design);
        if (unseen) {
          const copy = duplicateDesign(stored.design, await local.ids());
          copy.name = `${stored.design.name}${MY_VERSION_SUFFIX}`.slice(0, catalogue.limits.max_name_length);
          await local.add(copy);
          copyId = copy.id;
        }
      }
      await adoptServers(conflict);
      return copyId;
    });
    dropConflict(id);
    return { keptAs };
  }

  async function saveAsCopy(id: string): Promise<string> {
    const conflict = needConflict(id);
    await local.flush();
    const copyId = await exclusive(async () => {
      const stored = await local.read(id);
      const mine = stored.ok ? stored.design : conflict.mine.design;
      const copy = duplicateDesign(mine, await local.ids());
      await local.add(copy);
      await adoptServers(conflict);
      return copy.id;
    });
    dropConflict(id);
    return copyId;
  }

  return { syncDesign, syncAll, drain, keepMine, useServers, saveAsCopy };
}
