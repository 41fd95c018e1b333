/**
 * One block on the canvas. Memoised, and fed only primitive data, so it redraws only when what
 * it shows changes. Far out (zoom below FAR_ZOOM) it is a plain coloured rectangle.
 */
import { Handle, Position, useStore, type NodeProps, type ReactFlowState } from "@xyflow/react";
import { memo, type CSSProperties, type KeyboardEvent, type MouseEvent, type PointerEvent } from "react";
import { showToast } from "../ui/toast";
import { connect, duplicateBlock } from "./commands";
import type { BlockNode as BlockNodeType } from "./flow";
import { setConnectFrom, useEditor } from "./store";
import { useLongPress } from "./useLongPress";

/** Below this zoom, blocks draw as plain rectangles, without text or ports. */
export const FAR_ZOOM = 0.4;
/** A block's size on the canvas, in canvas units. */
export const BLOCK_WIDTH = 176;
export const BLOCK_HEIGHT = 64;
/** Haptic tick when a long-press duplicates, in milliseconds. */
const LONG_PRESS_VIBRATION_MS = 15;

const isFar = (state: ReactFlowState) => state.transform[2] < FAR_ZOOM;

/** Wire from the pending source into `target`, or say why not. */
export function connectInto(target: string): void {
  const source = useEditor.getState().connectFrom;
  if (!source) {
    showToast("Tap a block's output port (at its bottom) first, then this block.");
    return;
  }
  const problem = connect(source, target);
  showToast(problem ?? `Wired ${source} to ${target}.`, problem ? "error" : "info");
}

function toggleConnectFrom(source: string): void {
  const pending = useEditor.getState().connectFrom;
  setConnectFrom(pending === source ? null : source);
}

/** Ports are divs inside the node, so they get button behaviour by hand: Enter and Space press them. */
function pressOnKey(press: () => void) {
  return (event: KeyboardEvent) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    event.stopPropagation();
    press();
  };
}

function tapOnly(press: () => void) {
  return (event: MouseEvent) => {
    event.stopPropagation(); // the tap is the port's, not the block's
    press();
  };
}

function BlockNodeView({ id, data, selected }: NodeProps<BlockNodeType>) {
  const far = useStore(isFar);
  const startLongPress = useLongPress(() => {
    const copy = duplicateBlock(id);
    if (!copy) return;
    navigator.vibrate?.(LONG_PRESS_VIBRATION_MS);
    showToast(`Duplicated ${id} as ${copy}.`);
  });
  // Pressing a port starts a wire, never a duplicate.
  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    if (!(event.target instanceof Element && event.target.closest(".react-flow__handle"))) startLongPress(event);
  };
  const style = { "--block-colour": data.colour, width: BLOCK_WIDTH, height: BLOCK_HEIGHT } as CSSProperties;
  const classes = ["block", selected && "block--selected", data.hasError && "block--error", data.connecting && "block--connecting", far && "block--far"];

  return (
    <div className={classes.filter(Boolean).join(" ")} style={style} onPointerDown={onPointerDown}>
      {data.hasInput && (
        <Handle
          type="target"
          position={Position.Top}
          className="port port--in"
          role="button"
          tabIndex={far ? -1 : 0}
          aria-label={`Wire into ${id}`}
          aria-hidden={far}
          onClick={tapOnly(() => connectInto(id))}
          onKeyDown={pressOnKey(() => connectInto(id))}
        />
      )}
      {!far && (
        <>
          <span className="block__label">{data.label}</span>
          <span className="block__detail">
            <span className="block__id">{id}</span>
            {data.summary && <span className="block__summary"> · {data.summary}</span>}
          </span>
        </>
      )}
      {data.hasOutput && (
        <Handle
          type="source"
          position={Position.Bottom}
          className="port port--out"
          role="button"
          tabIndex={far ? -1 : 0}
          aria-label={`Wire from ${id}`}
          aria-pressed={data.connecting}
          aria-hidden={far}
          onClick={tapOnly(() => toggleConnectFrom(id))}
          onKeyDown={pressOnKey(() => toggleConnectFrom(id))}
        />
      )}
    </div>
  );
}

export const BlockNodeComponent = memo(BlockNodeView);
