/** The app shell: header, canvas with its overlays, the open sheet, and the bottom toolbar. */
import { ReactFlowProvider } from "@xyflow/react";
import { lazy, Suspense, useEffect } from "react";
import { Canvas } from "../editor/Canvas";
import { Palette } from "../editor/Palette";
import { PropsSheet, WireSheet } from "../editor/PropsSheet";
import { useEditor } from "../editor/store";
import { useShortcuts } from "../editor/useShortcuts";
import { createValidationService } from "../editor/validation";
import { StatsOverlay, ValidationBanner } from "../editor/ValidationBanner";
import { UpdatePrompt } from "../pwa/UpdatePrompt";
import { DesignDetailsSheet } from "../ui/DesignDetailsSheet";
import { Header } from "../ui/Header";
import { Icon } from "../ui/icons";
import { openSheet, useSheet } from "../ui/sheets";
import { showToast } from "../ui/toast";
import { Toasts } from "../ui/Toasts";
import { Toolbar } from "../ui/Toolbar";
import { storedIds } from "../storage/designs";
import { ConflictSheet } from "../sync/ConflictSheet";
import { createSyncService, storedDesigns } from "../sync/service";
import { createTelemetryService } from "../telemetry/sender";
import { addStored, createLibrary, flushSaves, openDesign, replaceStored, useLibrary } from "./library";
import { useService } from "./service";

// The run sheet carries the charts (uPlot) and the export check: it loads when first opened.
const RunSheet = lazy(() => import("./RunSheet").then((module) => ({ default: module.RunSheet })));
// The designs sheet carries the templates and the schema check: it loads when first opened.
const DesignsSheet = lazy(() => import("../ui/DesignsSheet").then((module) => ({ default: module.DesignsSheet })));

/** Sync reads designs from this device and writes the server's copies back through the library,
 * so the editor and other tabs follow. */
function createSync() {
  return createSyncService({ local: { read: storedDesigns.read, replace: replaceStored, add: addStored, ids: storedIds, flush: flushSaves } });
}

/** Runs storage, validation, sync and telemetry for the life of the app (each a StrictMode-safe service). */
function useServices(): void {
  useService(createValidationService);
  useService(createLibrary);
  useService(createSync);
  useService(createTelemetryService);
}

function OpenSheet() {
  const sheet = useSheet((s) => s.open);
  const selection = useEditor((s) => s.selection);
  const connecting = useEditor((s) => s.connectFrom !== null);
  if (sheet === "palette") return <Palette />;
  if (sheet === "designs") {
    return (
      <Suspense fallback={null}>
        <DesignsSheet />
      </Suspense>
    );
  }
  if (sheet === "details") return <DesignDetailsSheet />;
  if (sheet === "run") {
    return (
      <Suspense fallback={null}>
        <RunSheet />
      </Suspense>
    );
  }
  // While wiring, the canvas needs the room.
  if (connecting) return null;
  if (selection?.kind === "block") return <PropsSheet id={selection.id} />;
  if (selection?.kind === "edge") return <WireSheet edge={selection.edge} />;
  return null;
}

function ConnectHint() {
  const from = useEditor((s) => s.connectFrom);
  if (!from) return null;
  return (
    <p className="connect-hint" role="status">
      Wiring from <strong>{from}</strong>: tap the block to feed. Tap empty canvas to cancel.
    </p>
  );
}

/** Reload the app once every edit is stored, so a reload never loses work. */
async function reloadWhenSaved(): Promise<void> {
  await flushSaves();
  if (useLibrary.getState().saveState === "saved") window.location.reload();
  else showToast("Your latest edits are not saved yet, so the app did not reload. Try again in a moment.", "error");
}

/** The validation banner, or while wiring, what to tap next. */
function TopOverlay() {
  const connecting = useEditor((s) => s.connectFrom !== null);
  return connecting ? <ConnectHint /> : <ValidationBanner onReload={() => void reloadWhenSaved()} />;
}

function EmptyWorkspace() {
  const ready = useLibrary((s) => s.ready);
  return (
    <div className="empty-workspace">
      <p>{ready ? "No design is open." : "Opening your designs…"}</p>
      {ready && (
        <button type="button" className="button button--primary" onClick={() => openSheet("designs")}>
          <Icon name="designs" /> Open or start a design
        </button>
      )}
    </div>
  );
}

export function App() {
  useServices();
  useShortcuts();
  const hasDesign = useEditor((s) => s.design !== null);
  const ready = useLibrary((s) => s.ready);

  // With nothing to open, show the ways to start.
  useEffect(() => {
    if (ready && !hasDesign) openSheet("designs");
  }, [ready, hasDesign]);

  return (
    <ReactFlowProvider>
      <div className="app">
        <Header />
        <main className="workspace" aria-label="Canvas">
          {hasDesign ? (
            <>
              <Canvas />
              <TopOverlay />
              <StatsOverlay />
            </>
          ) : (
            <EmptyWorkspace />
          )}
        </main>
        <OpenSheet />
        <ConflictSheet onCopySaved={(id) => void openDesign(id)} />
        <Toasts />
        <UpdatePrompt />
        <Toolbar />
      </div>
    </ReactFlowProvider>
  );
}
