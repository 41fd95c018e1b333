/**
 * Panning and pinch-zooming the canvas with pointers. One pointer on empty canvas pans; two
 * fingers anywhere pan and zoom together, about the point between them. Pointer moves only
 * record where the fingers are; the viewport is set at most once per animation frame, straight
 * on React Flow (no app state is written while the gesture runs).
 */
import { useReactFlow, useStoreApi, type Viewport } from "@xyflow/react";
import { useEffect, type RefObject } from "react";

interface Point {
  x: number;
  y: number;
}

/** Elements a one-pointer pan must not start on: blocks (they drag) and their ports. */
const NO_PAN_SELECTOR = ".react-flow__node, .react-flow__handle, .sheet, button, input, select, textarea";

const centroid = (a: Point, b: Point): Point => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
const distance = (a: Point, b: Point): number => Math.hypot(a.x - b.x, a.y - b.y);

export function usePinchPan(container: RefObject<HTMLElement | null>): void {
  const flow = useReactFlow();
  const store = useStoreApi();

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    /** Pointers down on the canvas, and whether each started on empty canvas. */
    const pointers = new Map<number, Point & { onCanvas: boolean }>();
    /** The gesture's start: viewport, and the fingers' centre and spread (0 for one finger). */
    let start: { viewport: Viewport; centre: Point; spread: number } | null = null;
    let frame = 0;

    const local = (event: PointerEvent): Point => {
      const rect = element.getBoundingClientRect();
      return { x: event.clientX - rect.left, y: event.clientY - rect.top };
    };

    /** (Re)start the gesture from the pointers down now: two pinch, one pans if it began on empty canvas. */
    const begin = () => {
      const points = [...pointers.values()];
      const viewport = flow.getViewport();
      if (points.length >= 2) start = { viewport, centre: centroid(points[0], points[1]), spread: distance(points[0], points[1]) };
      else if (points.length === 1 && points[0].onCanvas) start = { viewport, centre: points[0], spread: 0 };
      else start = null;
    };

    const apply = () => {
      frame = 0;
      const points = [...pointers.values()];
      if (!start || points.length === 0) return;
      const { minZoom, maxZoom } = store.getState();
      const { viewport, centre, spread } = start;
      const pinching = points.length >= 2 && spread > 0;
      const now = pinching ? centroid(points[0], points[1]) : points[0];
      const zoom = pinching ? Math.min(maxZoom, Math.max(minZoom, (viewport.zoom * distance(points[0], points[1])) / spread)) : viewport.zoom;
      // Keep the canvas point that was under the fingers' centre under it now.
      const canvasX = (centre.x - viewport.x) / viewport.zoom;
      const canvasY = (centre.y - viewport.y) / viewport.zoom;
      void flow.setViewport({ x: now.x - canvasX * zoom, y: now.y - canvasY * zoom, zoom });
    };

    const onPointerDown = (event: PointerEvent) => {
      if ((event.pointerType === "mouse" && event.button !== 0) || pointers.size >= 2) return;
      const onCanvas = !(event.target instanceof Element && event.target.closest(NO_PAN_SELECTOR));
      pointers.set(event.pointerId, { ...local(event), onCanvas });
      begin();
    };

    const onPointerMove = (event: PointerEvent) => {
      const pointer = pointers.get(event.pointerId);
      if (!pointer) return;
      pointers.set(event.pointerId, { ...local(event), onCanvas: pointer.onCanvas });
      if (start) frame ||= requestAnimationFrame(apply);
    };

    const onPointerEnd = (event: PointerEvent) => {
      if (!pointers.delete(event.pointerId)) return;
      // Whoever is left carries on from here, so lifting one finger of a pinch does not jump.
      if (pointers.size > 0) begin();
      else start = null;
    };

    // While two fingers are down, block moves must not reach React Flow's block drag.
    const onTouchMove = (event: TouchEvent) => {
      if (pointers.size >= 2) event.stopPropagation();
    };

    element.addEventListener("pointerdown", onPointerDown);
    window.addEventListener("pointermove", onPointerMove);
    window.addEventListener("pointerup", onPointerEnd);
    window.addEventListener("pointercancel", onPointerEnd);
    element.addEventListener("touchmove", onTouchMove, { capture: true });
    return () => {
      cancelAnimationFrame(frame);
      element.removeEventListener("pointerdown", onPointerDown);
      window.removeEventListener("pointermove", onPointerMove);
      window.removeEventListener("pointerup", onPointerEnd);
      window.removeEventListener("pointercancel", onPointerEnd);
      element.removeEventListener("touchmove", onTouchMove, { capture: true });
    };
  }, [container, flow, store]);
}
