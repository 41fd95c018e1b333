/**
 * Long-press from pointer events, so it behaves the same with touch (iOS included), pen and
 * mouse. It fires after the pointer stays down and still; moving it, lifting it, or putting a
 * second finger down cancels it.
 */
import { useCallback, useEffect, useRef, type PointerEvent as ReactPointerEvent } from "react";

/** How long a press must last, in milliseconds. */
export const LONG_PRESS_MS = 500;
/** How far the pointer may drift and still count as held still, in CSS pixels. */
export const LONG_PRESS_SLOP_PX = 8;

export function useLongPress(onLongPress: () => void): (event: ReactPointerEvent) => void {
  const cancelRef = useRef<(() => void) | null>(null);
  const callback = useRef(onLongPress);
  useEffect(() => {
    callback.current = onLongPress;
  });
  useEffect(() => () => cancelRef.current?.(), []);

  return useCallback((event: ReactPointerEvent) => {
    // Only a first finger (or the mouse's main button) can start a press; a second finger
    // cancels one in progress (see onOtherDown).
    if (!event.isPrimary || (event.pointerType === "mouse" && event.button !== 0)) return;
    cancelRef.current?.();
    const { pointerId, clientX, clientY } = event;

    const onMove = (move: PointerEvent) => {
      if (move.pointerId === pointerId && Math.hypot(move.clientX - clientX, move.clientY - clientY) > LONG_PRESS_SLOP_PX) cancel();
    };
    const onEnd = (end: PointerEvent) => {
      if (end.pointerId === pointerId) cancel();
    };
    const onOtherDown = (down: PointerEvent) => {
      if (down.pointerId !== pointerId) cancel();
    };
    const timer = setTimeout(() => {
      cancel();
      callback.current();
    }, LONG_PRESS_MS);

    function cancel() {
      clearTimeout(timer);
      window.removeEventListener("pointermove", onMove);
      window.removeEventListener("pointerup", onEnd);
      window.removeEventListener("pointercancel", onEnd);
      window.removeEventListener("pointerdown", onOtherDown, true);
      cancelRef.current = null;
    }

    window.addEventListener("pointermove", onMove);
    window.addEventListener("pointerup", onEnd);
    window.addEventListener("pointercancel", onEnd);
    window.addEventListener("pointerdown", onOtherDown, true);
    cancelRef.current = cancel;
  }, []);
}
