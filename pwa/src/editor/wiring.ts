/**
 * Tap-to-connect: tap a block's output port, then the block (or its input port) it should
 * feed. Taps on a block while no wire is pending select it.
 */
import { showToast } from "../ui/toast";
import { connect } from "./commands";
import { select, setConnectFrom, useEditor } from "./store";

/** Wire `source` into `target`, or say why not. Either way, no wire is pending afterwards. */
export function wire(source: string, target: string): void {
  const problem = connect(source, target);
  setConnectFrom(null);
  showToast(problem ?? `Wired ${source} to ${target}.`, problem ? "error" : "info");
}

/** A tap on a block: finish the pending wire into it, cancel it (on its own source), or select it. */
export function tapBlock(id: string): void {
  const pending = useEditor.getState().connectFrom;
  if (pending === id) setConnectFrom(null);
  else if (pending) wire(pending, id);
  else select({ kind: "block", id });
}

/** A tap on a block's output port: start wiring from it, or stop if it is already the source. */
export function toggleConnectFrom(source: string): void {
  setConnectFrom(useEditor.getState().connectFrom === source ? null : source);
}
