/** Moving the canvas viewport: fit the design, centre a block, bring a block into view. */
import { useReactFlow, useStoreApi, type ReactFlowInstance } from "@xyflow/react";
import { useCallback } from "react";
import { findComponent } from "../model/graph";
import type { Position } from "../model/types";
import type { BlockNode } from "./flow";
import { BLOCK_HEIGHT, BLOCK_WIDTH, FAR_ZOOM } from "./layout";
import { useEditor } from "./store";

/** Room around the design when fitting it to the screen, as a fraction of the viewport. */
export const FIT_PADDING = 0.15;
/** Fitting never zooms in past this, so a small design is not blown up. */
export const FIT_MAX_ZOOM = 1;
/** Centring a block zooms in at least this far, so the block is readable. */
const CENTRE_MIN_ZOOM = 2 * FAR_ZOOM;
/** Duration of viewport moves the app makes, in milliseconds. */
const MOVE_MS = 300;

type Flow = ReactFlowInstance<BlockNode>;

/** Zoom and pan so the whole design shows. */
export function fitDesign(flow: Flow): Promise<boolean> {
  return flow.fitView({ padding: FIT_PADDING, maxZoom: FIT_MAX_ZOOM, duration: MOVE_MS });
}

/** Centre the viewport on a block, zooming in if it would be too small to read. */
export function centreOnBlock(flow: Flow, position: Position): Promise<boolean> {
  const zoom = Math.max(flow.getZoom(), CENTRE_MIN_ZOOM);
  return flow.setCenter(position.x + BLOCK_WIDTH / 2, position.y + BLOCK_HEIGHT / 2, { zoom, duration: MOVE_MS });
}

/** Pan (without zooming) to a block unless it is already wholly in view of `canvas`. */
function revealBlock(flow: Flow, canvas: DOMRect, position: Position): void {
  const topLeft = flow.flowToScreenPosition(position);
  const bottomRight = flow.flowToScreenPosition({ x: position.x + BLOCK_WIDTH, y: position.y + BLOCK_HEIGHT });
  const inView = topLeft.x >= canvas.left && topLeft.y >= canvas.top && bottomRight.x <= canvas.right && bottomRight.y <= canvas.bottom;
  if (!inView) void flow.setCenter(position.x + BLOCK_WIDTH / 2, position.y + BLOCK_HEIGHT / 2, { zoom: flow.getZoom(), duration: MOVE_MS });
}

/** A function that pans to a block of the open design (by id) if it is not wholly in view. */
export function useRevealBlock(): (id: string) => void {
  const flow = useReactFlow<BlockNode>();
  const store = useStoreApi<BlockNode>();
  return useCallback(
    (id: string) => {
      const design = useEditor.getState().design;
      const component = design && findComponent(design, id);
      const canvas = store.getState().domNode;
      if (component && canvas) revealBlock(flow, canvas.getBoundingClientRect(), component.position);
    },
    [flow, store],
  );
}
