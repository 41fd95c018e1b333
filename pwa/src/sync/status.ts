/**
 * What the app shows about the server: whether it can be reached, how many designs wait to be
 * sent, and the conflicts waiting for a choice. Written by the sync service, read by the header
 * badge and the conflict sheet.
 */
import { create } from "zustand";
import type { ModelArchitecture } from "../model/types";

/**
 * "unpaired": no server is known (the app works alone); "offline": paired, but the server
 * cannot be reached now; "online": it answers; "unauthorized": it refused the token (pair again).
 */
export type Reachability = "unpaired" | "offline" | "online" | "unauthorized";

/** Two versions of one design: this device's and the server's. Nothing is lost until one is chosen. */
export interface SyncConflict {
  id: string;
  mine: { design: ModelArchitecture; /** ms since the epoch */ updatedAt: number | null };
  server: { design: ModelArchitecture; version: number; /** ISO 8601 */ updatedAt: string };
}

export interface SyncStatus {
  reach: Reachability;
  /** Designs waiting in the outbox. */
  pending: number;
  /** True while this tab sends the outbox. */
  syncing: boolean;
  /** Unresolved conflicts by design id, oldest first. */
  conflicts: SyncConflict[];
}

export const useSyncStatus = create<SyncStatus>()(() => ({ reach: "unpaired", pending: 0, syncing: false, conflicts: [] }));

export function putConflict(conflict: SyncConflict): void {
  useSyncStatus.setState(({ conflicts }) => {
    const at = conflicts.findIndex((c) => c.id === conflict.id);
    return { conflicts: at < 0 ? [...conflicts, conflict] : conflicts.map((c, i) => (i === at ? conflict : c)) };
  });
}

export function dropConflict(id: string): void {
  useSyncStatus.setState(({ conflicts }) => ({ conflicts: conflicts.filter((c) => c.id !== id) }));
}

export function conflictFor(id: string): SyncConflict | undefined {
  return useSyncStatus.getState().conflicts.find((c) => c.id === id);
}
