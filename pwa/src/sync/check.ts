/**
 * "Is the server's copy this design?", asked before anything runs on the server (compile, train,
 * export): the design is synced first, and the work goes ahead only when the server holds it.
 */
import { isInSync } from "./engine";
import { syncDesign } from "./service";

export type SyncCheck = { ok: true } | { ok: false; message: string };
export type SyncDesign = (designId: string) => Promise<SyncCheck>;

export const NOT_PAIRED_MESSAGE = "This phone is not paired with a server yet. Open the pairing link the server printed (or scan its QR code), then try again.";
export const OFFLINE_MESSAGE = "The server can't be reached. Your design is safe on this phone; try again on the server's network.";
export const UNAUTHORIZED_MESSAGE = "The server no longer accepts this phone's token: pair it again.";
export const CONFLICT_MESSAGE = "This design changed on the server too: choose which version to keep first.";

/** Sync the design, then say whether server work may go ahead (and why not). */
export const syncBeforeServerWork: SyncDesign = async (designId) => {
  const outcome = await syncDesign(designId);
  if (isInSync(outcome)) return { ok: true };
  switch (outcome.kind) {
    case "conflict":
      return { ok: false, message: CONFLICT_MESSAGE };
    case "queued":
      if (outcome.reason === "unpaired") return { ok: false, message: NOT_PAIRED_MESSAGE };
      if (outcome.reason === "unauthorized") return { ok: false, message: UNAUTHORIZED_MESSAGE };
      return { ok: false, message: OFFLINE_MESSAGE };
    case "failed":
      return { ok: false, message: outcome.message };
    default:
      return { ok: false, message: "The design could not be synced." };
  }
};
