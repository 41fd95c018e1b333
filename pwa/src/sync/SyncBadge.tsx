/**
 * The header's server badge: where the server stands and how many designs wait to be sent.
 * Tapping it syncs every design (the "Sync" of sync on demand), or says why it cannot.
 * Hidden while the device is unpaired and nothing waits: the app works alone then.
 */
import { showToast } from "../ui/toast";
import type { SyncOutcome } from "./engine";
import { syncAll } from "./service";
import { useSyncStatus, type Reachability } from "./status";

const REACH_TEXT: Record<Reachability, string> = {
  unpaired: "Not paired",
  offline: "Offline",
  online: "Online",
  unauthorized: "Pair again",
};

/** The badge's words: "Offline · 2 waiting", "Syncing…", "Online". */
export function badgeText(reach: Reachability, pending: number, syncing: boolean): string {
  if (syncing) return "Syncing…";
  if (pending > 0) return reach === "online" ? `${pending} waiting` : `${REACH_TEXT[reach]} · ${pending} waiting`;
  return REACH_TEXT[reach];
}

/** One line about a Sync tap's outcomes, for a toast. */
export function summarise(outcomes: readonly SyncOutcome[]): string {
  const count = (kind: SyncOutcome["kind"]) => outcomes.filter((o) => o.kind === kind).length;
  const parts: string[] = [];
  const sent = count("synced") + count("pulled");
  if (sent) parts.push(`${sent} synced`);
  if (count("unchanged")) parts.push(`${count("unchanged")} already up to date`);
  if (count("conflict")) parts.push(`${count("conflict")} changed on the server too: choose which to keep`);
  if (count("queued")) parts.push(`${count("queued")} waiting for the server`);
  const refused = outcomes.find((o): o is Extract<SyncOutcome, { kind: "failed" }> => o.kind === "failed");
  if (refused) parts.push(`${count("failed")} refused (${refused.message})`);
  return parts.length ? `Sync: ${parts.join(", ")}.` : "Sync: nothing to send.";
}

async function syncNow(reach: Reachability): Promise<void> {
  if (reach === "unpaired") {
    showToast("This device is not paired with a server: open the pairing link or scan the server's QR code.", "error");
    return;
  }
  if (reach === "unauthorized") {
    showToast("The server no longer accepts this device: scan its pairing QR code again.", "error");
    return;
  }
  try {
    const outcomes = await syncAll();
    const conflicts = outcomes.some((o) => o.kind === "conflict");
    showToast(summarise(outcomes), conflicts || outcomes.some((o) => o.kind === "failed") ? "error" : "info");
  } catch (error) {
    showToast(`Sync failed: ${error instanceof Error ? error.message : String(error)}`, "error");
  }
}

export function SyncBadge() {
  const reach = useSyncStatus((s) => s.reach);
  const pending = useSyncStatus((s) => s.pending);
  const syncing = useSyncStatus((s) => s.syncing);
  if (reach === "unpaired" && pending === 0) return null;
  const text = badgeText(reach, pending, syncing);
  const tone = reach === "unauthorized" ? " app-header__status--failed" : "";
  return (
    <button
      type="button"
      className={`button button--quiet sync-badge sync-badge--${reach}`}
      onClick={() => void syncNow(reach)}
      disabled={syncing}
      aria-label={`Server: ${text}. Sync now`}
    >
      <span className={`app-header__status${tone}`} role="status">
        {text}
      </span>
    </button>
  );
}
