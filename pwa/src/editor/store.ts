/**
 * The editor's state: the open design, the selection, and a command stack for undo and redo.
 *
 * Every edit goes through `commit`, which records one step holding the design before and after.
 * Designs are immutable, so a step costs only the objects the edit replaced. One user action is
 * one step, however many blocks and edges it touches (a drag of many blocks, a block deleted with
 * its edges).
 */
import { create } from "zustand";
import { findComponent, hasEdge } from "../model/graph";
import type { Edge, ModelArchitecture } from "../model/types";

/** Undo steps kept per open design; older ones are dropped. */
export const MAX_UNDO_STEPS = 200;

export type Selection = { kind: "block"; id: string } | { kind: "edge"; edge: Edge } | null;

export interface Step {
  label: string;
  before: ModelArchitecture;
  after: ModelArchitecture;
}

/** Why the design last changed: a local edit (to be saved) or a load (already stored). */
export type ChangeSource = "edit" | "load";

export interface EditorState {
  design: ModelArchitecture | null;
  lastChange: ChangeSource;
  past: Step[];
  future: Step[];
  selection: Selection;
  /** The block whose output was tapped, waiting for the tap on the block to wire it to. */
  connectFrom: string | null;
}

export const useEditor = create<EditorState>()(() => ({
  design: null,
  lastChange: "load",
  past: [],
  future: [],
  selection: null,
  connectFrom: null,
}));

/** The selection if it still names something in `design`, else nothing. */
function keepSelection(design: ModelArchitecture, selection: Selection): Selection {
  if (selection?.kind === "block") return findComponent(design, selection.id) ? selection : null;
  if (selection?.kind === "edge") return hasEdge(design, selection.edge) ? selection : null;
  return null;
}

/** Open a design fresh: no history, nothing selected. */
export function openInEditor(design: ModelArchitecture | null): void {
  useEditor.setState({ design, lastChange: "load", past: [], future: [], selection: null, connectFrom: null });
}

/**
 * Take a newer copy of the open design saved elsewhere (another tab). Its history no longer
 * applies, so it is cleared; the selection is kept where it still exists.
 */
export function replaceFromElsewhere(design: ModelArchitecture): void {
  const { selection } = useEditor.getState();
  useEditor.setState({ design, lastChange: "load", past: [], future: [], selection: keepSelection(design, selection), connectFrom: null });
}

/**
 * Apply one user action as one undo step. `recipe` returns the new design, or the same design
 * (or null) for "nothing to do", in which case no step is recorded. Returns whether it applied.
 */
export function commit(label: string, recipe: (design: ModelArchitecture) => ModelArchitecture | null, selection?: Selection): boolean {
  const state = useEditor.getState();
  const before = state.design;
  if (!before) return false;
  const after = recipe(before);
  if (!after || after === before) return false;
  useEditor.setState({
    design: after,
    lastChange: "edit",
    past: [...state.past.slice(-(MAX_UNDO_STEPS - 1)), { label, before, after }],
    future: [],
    selection: keepSelection(after, selection === undefined ? state.selection : selection),
    connectFrom: null,
  });
  return true;
}

export function undo(): Step | null {
  const { past, future, design, selection } = useEditor.getState();
  const step = past.at(-1);
  if (!step || !design) return null;
  useEditor.setState({
    design: step.before,
    lastChange: "edit",
    past: past.slice(0, -1),
    future: [...future, step],
    selection: keepSelection(step.before, selection),
    connectFrom: null,
  });
  return step;
}

export function redo(): Step | null {
  const { past, future, design, selection } = useEditor.getState();
  const step = future.at(-1);
  if (!step || !design) return null;
  useEditor.setState({
    design: step.after,
    lastChange: "edit",
    past: [...past, step],
    future: future.slice(0, -1),
    selection: keepSelection(step.after, selection),
    connectFrom: null,
  });
  return step;
}

export function select(selection: Selection): void {
  useEditor.setState({ selection, connectFrom: null });
}

export function setConnectFrom(id: string | null): void {
  useEditor.setState({ connectFrom: id });
}
