/**
 * The server side of a design in one sheet: Compile, Train, Export, and the Server tab (pairing,
 * sync, telemetry). Every tab syncs the design first, so the server works on what is on screen.
 */
import { useState } from "react";
import { select, useEditor } from "../editor/store";
import { ExportPanel } from "../export/ExportPanel";
import { syncBeforeServerWork } from "../sync/check";
import { syncAll, unpair } from "../sync/service";
import { useSyncStatus } from "../sync/status";
import { TelemetrySetting } from "../telemetry/TelemetrySetting";
import { CompilePanel } from "../train/CompileSheet";
import { TrainPanel } from "../train/TrainSheet";
import { BottomSheet } from "../ui/BottomSheet";
import { openSheet } from "../ui/sheets";
import { Tabs } from "../ui/Tabs";
import { showToast } from "../ui/toast";

type RunTab = "compile" | "train" | "export" | "server";

const TABS: readonly { key: RunTab; text: string }[] = [
  { key: "compile", text: "Compile" },
  { key: "train", text: "Train" },
  { key: "export", text: "Export" },
  { key: "server", text: "Server" },
];

const REACH_TEXT = {
  unpaired: "Not paired: open the pairing link the server prints (or scan its QR code).",
  offline: "Paired, but the server can't be reached. Everything keeps working on this phone.",
  online: "Paired and connected.",
  unauthorized: "The server refused this phone's token: pair it again.",
} as const;

function ServerPanel() {
  const reach = useSyncStatus((s) => s.reach);
  const pending = useSyncStatus((s) => s.pending);
  const syncing = useSyncStatus((s) => s.syncing);
  return (
    <div className="server-panel">
      <p data-testid="server-reach">{REACH_TEXT[reach]}</p>
      {pending > 0 && <p>{pending} change(s) waiting to be sent.</p>}
      <div className="server-panel__actions">
        <button type="button" className="button" disabled={reach === "unpaired" || syncing} onClick={() => void syncAll()}>
          Sync all designs
        </button>
        {reach !== "unpaired" && (
          <button
            type="button"
            className="button"
            onClick={() => void unpair().then(() => showToast("This phone forgot the server's token."))}
          >
            Unpair
          </button>
        )}
      </div>
      <TelemetrySetting />
    </div>
  );
}

export function RunSheet() {
  const design = useEditor((s) => s.design);
  const [tab, setTab] = useState<RunTab>("compile");
  if (!design) return null;
  const showBlock = (id: string) => {
    select({ kind: "block", id });
    openSheet(null);
  };
  return (
    <BottomSheet title="Run on the server" subtitle={design.name} onClose={() => openSheet(null)} size="tall">
      <Tabs label="Server work" tabs={TABS} selected={tab} onSelect={setTab}>
        {tab === "compile" && <CompilePanel designId={design.id} sync={syncBeforeServerWork} onShowBlock={showBlock} />}
        {tab === "train" && <TrainPanel design={design} sync={syncBeforeServerWork} onShowBlock={showBlock} />}
        {tab === "export" && <ExportPanel designId={design.id} sync={syncBeforeServerWork} />}
        {tab === "server" && <ServerPanel />}
      </Tabs>
    </BottomSheet>
  );
}
