/**
 * One block on the canvas. Memoised, and fed only primitive data, so it redraws only when what
 * it shows changes. Far out (zoom below FAR_ZOOM) it is a plain coloured rectangle.
 */
import { Handle, Position, useStore, type NodeProps, type ReactFlowState } from "@xyflow/react";
import { memo, type CSSProperties, type KeyboardEvent, type MouseEvent, type PointerEvent } from "react";
import { ExpertHeatRow } from "../train/ExpertHeat";
import { useExpertUsage } from "../train/runStore";
import { showToast } from "../ui/toast";
import { duplicateBlock } from "./commands";
import type { BlockNode as BlockNodeType } from "./flow";
import { BLOCK_HEIGHT, BLOCK_WIDTH, FAR_ZOOM } from "./layout";
import { useEditor } from "./store";
import { useLongPress } from "./useLongPress";
import { useRevealBlock } from "./viewport";
import { tapBlock, toggleConnectFrom } from "./wiring";

const MOE_TYPE = "moe_layer";

/** Haptic tick when a long-press duplicates, in milliseconds. */
const LONG_PRESS_VIBRATION_MS = 15;

/** True when zoomed out so far that blocks draw as plain rectangles. */
export const isFar = (state: ReactFlowState) => state.transform[2] < FAR_ZOOM;

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
  // MoE blocks colour their experts by the shown run's latest usage; other blocks read nothing.
  const designId = useEditor((s) => (data.type === MOE_TYPE ? s.design?.id : undefined));
  const usage = useExpertUsage(designId, id);
  const reveal = useRevealBlock();
  const startLongPress = useLongPress(() => {
    const copy = duplicateBlock(id);
    if (!copy) return;
    navigator.vibrate?.(LONG_PRESS_VIBRATION_MS);
    showToast(`Duplicated ${id} as ${copy}.`);
    reveal(copy);
  });
  // Pressing the output port starts a wire, never a duplicate.
  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    if (!(event.target instanceof Element && event.target.closest(".port--out"))) startLongPress(event);
  };
  const style = { "--block-colour": data.colour, width: BLOCK_WIDTH, height: BLOCK_HEIGHT } as CSSProperties;
  const classes = ["block", selected && "block--selected", data.hasError && "block--error", data.connecting && "block--connecting", far && "block--far"];

  // The body is the ports' sibling, not their parent: a phone's touch adjustment snaps a tap to
  // the nearest tappable element and prefers children to parents, so a body that contained the
  // ports would lose taps on its middle to them.
  return (
    <div className={classes.filter(Boolean).join(" ")} style={style} onPointerDown={onPointerDown}>
      <div className="block__body" onClick={() => tapBlock(id)}>
        {!far && (
          <>
            <span className="block__label">{data.label}</span>
            <span className="block__detail">
              <span className="block__id">{id}</span>
              {data.summary && <span className="block__summary"> · {data.summary}</span>}
            </span>
            {usage && <ExpertHeatRow usage={usage} />}
          </>
        )}
      </div>
      {data.hasInput && (
        <Handle
          type="target"
          position={Position.Top}
          className="port port--in"
          role="button"
          tabIndex={far ? -1 : 0}
          aria-label={`Wire into ${id}`}
          aria-hidden={far}
          onClick={tapOnly(() => tapBlock(id))}
          onKeyDown={pressOnKey(() => tapBlock(id))}
        />
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
