/**
 * A design changed both here and on the server since they last agreed: show both versions and
 * let the user choose. Whichever button is pressed, neither version is lost (see engine.ts).
 * Closing the sheet decides nothing: both stay as they are, and the next sync asks again.
 */
import { useState } from "react";
import { BottomSheet } from "../ui/BottomSheet";
import { showToast } from "../ui/toast";
import type { ModelArchitecture } from "../model/types";
import { keepMine, saveAsCopy, useServers } from "./service";
import { dropConflict, useSyncStatus, type SyncConflict } from "./status";

export interface ConflictSheetProps {
  /** A resolution stored this device's version as a new design (open it, say). */
  onCopySaved?: (id: string) => void;
}

function formatTime(time: number | string | null): string {
  if (time === null) return "unknown";
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? "unknown" : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function VersionSummary({ title, design, updated, extra }: { title: string; design: ModelArchitecture; updated: string; extra?: string }) {
  return (
    <div className="conflict__version">
      <h3 className="sheet__section">{title}</h3>
      <p className="design-row__name">{design.name || "Untitled"}</p>
      <p className="design-row__meta">
        {design.components.length} blocks · {design.edges.length} wires{extra ? ` · ${extra}` : ""}
      </p>
      <p className="design-row__meta">Changed {updated}</p>
    </div>
  );
}

type Choice = "mine" | "server" | "copy";

async function resolve(conflict: SyncConflict, choice: Choice, onCopySaved?: (id: string) => void): Promise<void> {
  if (choice === "mine") {
    const outcome = await keepMine(conflict.id);
    if (outcome.kind === "synced") showToast("Your version is on the server now.");
    else if (outcome.kind === "queued") showToast("Your version will replace the server's as soon as the server can be reached.");
    else if (outcome.kind === "conflict") showToast("The server's copy changed again meanwhile: choose once more.", "error");
    else if (outcome.kind === "failed") showToast(`The server refused your version: ${outcome.message}`, "error");
  } else if (choice === "server") {
    const { keptAs } = await useServers(conflict.id);
    showToast(keptAs ? `Took the server's version; yours is kept as "${conflict.mine.design.name} (my version)".` : "Took the server's version.");
    if (keptAs) onCopySaved?.(keptAs);
  } else {
    const copyId = await saveAsCopy(conflict.id);
    showToast("Kept both: your version is now a separate design.");
    onCopySaved?.(copyId);
  }
}

export function ConflictSheet({ onCopySaved }: ConflictSheetProps) {
  const conflict = useSyncStatus((s) => s.conflicts[0]);
  const more = useSyncStatus((s) => s.conflicts.length - 1);
  const [busy, setBusy] = useState(false);
  if (!conflict) return null;

  const choose = (choice: Choice) => {
    setBusy(true);
    resolve(conflict, choice, onCopySaved)
      .catch((error: unknown) => showToast(`Could not resolve: ${error instanceof Error ? error.message : String(error)}`, "error"))
      .finally(() => setBusy(false));
  };
  const name = conflict.mine.design.name || "Untitled";
  return (
    <BottomSheet
      title="Changed in two places"
      subtitle={`"${name}" was changed on this device and on the server.${more > 0 ? ` ${more} more after this one.` : ""}`}
      onClose={() => dropConflict(conflict.id)}
    >
      <VersionSummary title="On this device" design={conflict.mine.design} updated={formatTime(conflict.mine.updatedAt)} />
      <VersionSummary
        title="On the server"
        design={conflict.server.design}
        updated={formatTime(conflict.server.updatedAt)}
        extra={`version ${conflict.server.version}`}
      />
      <div className="sheet__actions">
        <button type="button" className="button button--primary" disabled={busy} onClick={() => choose("mine")}>
          Keep mine
        </button>
        <button type="button" className="button" disabled={busy} onClick={() => choose("server")}>
          Use the server's
        </button>
        <button type="button" className="button" disabled={busy} onClick={() => choose("copy")}>
          Keep both
        </button>
      </div>
      <p className="storage-note">
        Keep mine: the server gets this device's version. Use the server's: this device takes it, and keeps yours as a copy if the
        server never saw it. Keep both: yours becomes a new design.
      </p>
    </BottomSheet>
  );
}
