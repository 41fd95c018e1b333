/** The app shell: header, canvas with its overlays, the open sheet, and the bottom toolbar. */
import { ReactFlowProvider } from "@xyflow/react";
import { lazy, Suspense, useEffect } from "react";
import { Canvas } from "../editor/Canvas";
import { Palette } from "../editor/Palette";
import { PropsSheet, WireSheet } from "../editor/PropsSheet";
import { useEditor } from "../editor/store";
import { useShortcuts } from "../editor/useShortcuts";
import { startValidation } from "../editor/validation";
import { StatsOverlay, ValidationBanner } from "../editor/ValidationBanner";
import { UpdatePrompt } from "../pwa/UpdatePrompt";
import { DesignDetailsSheet } from "../ui/DesignDetailsSheet";
import { Header } from "../ui/Header";
import { Icon } from "../ui/icons";
import { openSheet, useSheet } from "../ui/sheets";
import { Toasts } from "../ui/Toasts";
import { Toolbar } from "../ui/Toolbar";
import { startLibrary, useLibrary } from "./library";

// The designs sheet carries the templates and the schema check: it loads when first opened.
const DesignsSheet = lazy(() => import("../ui/DesignsSheet").then((module) => ({ default: module.DesignsSheet })));

/** Starts storage and validation for the life of the app. */
function useServices(): void {
  useEffect(() => startValidation(), []);
  useEffect(() => {
    let stop: (() => Promise<void>) | null = null;
    let cancelled = false;
    void startLibrary().then((stopLibrary) => {
      if (cancelled) void stopLibrary();
      else stop = stopLibrary;
    });
    return () => {
      cancelled = true;
      void stop?.();
    };
  }, []);
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

/** The validation banner, or while wiring, what to tap next. */
function TopOverlay() {
  const connecting = useEditor((s) => s.connectFrom !== null);
  return connecting ? <ConnectHint /> : <ValidationBanner />;
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
        <Toasts />
        <UpdatePrompt />
        <Toolbar />
      </div>
    </ReactFlowProvider>
  );
}
