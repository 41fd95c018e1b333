/** The bottom toolbar, in thumb reach: Blocks, Undo, Redo, Delete, Run (compile, train, export), Designs. */
import { deleteSelection } from "../editor/commands";
import { redo, undo, useEditor } from "../editor/store";
import { Icon, type IconName } from "./icons";
import { toggleSheet, useSheet } from "./sheets";

interface ToolProps {
  icon: IconName;
  text: string;
  label?: string;
  title?: string;
  onClick: () => void;
  disabled?: boolean;
  pressed?: boolean;
}

function Tool({ icon, text, label = text, title, onClick, disabled = false, pressed }: ToolProps) {
  return (
    <button type="button" className="tool" onClick={onClick} disabled={disabled} aria-label={label} aria-pressed={pressed} title={title}>
      <Icon name={icon} />
      <span className="tool__text">{text}</span>
    </button>
  );
}

export function Toolbar() {
  const hasDesign = useEditor((s) => s.design !== null);
  const undoLabel = useEditor((s) => s.past.at(-1)?.label);
  const redoLabel = useEditor((s) => s.future.at(-1)?.label);
  const hasSelection = useEditor((s) => s.selection !== null);
  const sheet = useSheet((s) => s.open);

  return (
    <nav className="toolbar" aria-label="Editor tools">
      <Tool icon="blocks" text="Blocks" onClick={() => toggleSheet("palette")} disabled={!hasDesign} pressed={sheet === "palette"} />
      <Tool icon="undo" text="Undo" title={undoLabel && `Undo ${undoLabel.toLowerCase()}`} onClick={undo} disabled={!undoLabel} />
      <Tool icon="redo" text="Redo" title={redoLabel && `Redo ${redoLabel.toLowerCase()}`} onClick={redo} disabled={!redoLabel} />
      <Tool icon="trash" text="Delete" label="Delete selection" onClick={deleteSelection} disabled={!hasSelection} />
      <Tool icon="run" text="Run" label="Run on the server" onClick={() => toggleSheet("run")} disabled={!hasDesign} pressed={sheet === "run"} />
      <Tool icon="designs" text="Designs" onClick={() => toggleSheet("designs")} pressed={sheet === "designs"} />
    </nav>
  );
}
