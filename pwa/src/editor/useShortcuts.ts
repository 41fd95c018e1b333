/** Keyboard shortcuts for a hardware keyboard: undo, redo, delete, cancel. */
import { useEffect } from "react";
import { deleteSelection } from "./commands";
import { redo, select, undo, useEditor } from "./store";

const isTyping = (target: EventTarget | null) =>
  target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName));

export function useShortcuts(): void {
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (isTyping(event.target)) return;
      const command = event.ctrlKey || event.metaKey;
      const key = event.key.toLowerCase();
      if (command && key === "z") {
        if (event.shiftKey) redo();
        else undo();
      } else if (command && key === "y") {
        redo();
      } else if (!command && (event.key === "Delete" || event.key === "Backspace")) {
        if (!deleteSelection()) return;
      } else if (event.key === "Escape") {
        if (!useEditor.getState().selection && !useEditor.getState().connectFrom) return;
        select(null);
      } else {
        return;
      }
      event.preventDefault();
    };
    window.addEventListener("keydown", onKeyDown);
    return () => window.removeEventListener("keydown", onKeyDown);
  }, []);
}
