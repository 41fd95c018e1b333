/**
 * The top bar: the open design's name (tap for its details), whether it is saved, the server
 * badge (reachable or not, designs waiting to sync; tap to sync), and fit-to-screen.
 */
import { useReactFlow } from "@xyflow/react";
import { useLibrary } from "../app/library";
import { fitDesign } from "../editor/viewport";
import type { BlockNode } from "../editor/flow";
import { useEditor } from "../editor/store";
import type { SaveState } from "../storage/autosave";
import { SyncBadge } from "../sync/SyncBadge";
import { Icon } from "./icons";
import { toggleSheet } from "./sheets";

const SAVE_TEXT: Record<SaveState, string> = {
  saved: "Saved on this device",
  pending: "Saving…",
  saving: "Saving…",
  failed: "Not saved",
};

export function Header() {
  const name = useEditor((s) => s.design?.name);
  const saveState = useLibrary((s) => s.saveState);
  const flow = useReactFlow<BlockNode>();

  if (name === undefined) {
    return (
      <header className="app-header">
        <h1 className="app-header__brand">Model Studio</h1>
        <span style={{ flex: 1 }} aria-hidden="true" />
        <SyncBadge />
      </header>
    );
  }
  return (
    <header className="app-header">
      <button type="button" className="app-header__title" onClick={() => toggleSheet("details")} aria-label={`Design details: ${name}`}>
        <h1 className="app-header__name">{name || "Untitled"}</h1>
        <span className={`app-header__status app-header__status--${saveState}`}>{SAVE_TEXT[saveState]}</span>
      </button>
      <SyncBadge />
      <button type="button" className="icon-button" onClick={() => void fitDesign(flow)} aria-label="Fit design to screen">
        <Icon name="fit" />
      </button>
    </header>
  );
}
