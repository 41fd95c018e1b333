/**
 * What the user can do to a design, each as exactly one undo step. The canvas, the sheets and the
 * keyboard all call these; none of them edits the design directly.
 */
import { catalogue } from "../model/catalogue";
import { connectionProblem } from "../model/connect";
import { addComponent, addEdge, duplicateComponent, findComponent, freeSpot, GRID_SIZE, moveComponents, removeElements, setProp } from "../model/graph";
import type { DesignMeta, Edge, Position, PropValue } from "../model/types";
import { BLOCK_GAP, BLOCK_SIZE, BLOCK_WIDTH } from "./layout";
import { commit, useEditor } from "./store";

const labelOf = (type: string) => catalogue.blocks.get(type)?.spec.label ?? type;

/** Add a block of `type` near `position`; returns its id. */
export function addBlock(type: string, position: Position): string | null {
  let id: string | null = null;
  commit(`Add ${labelOf(type)}`, (design) => {
    const added = addComponent(design, type, freeSpot(design, position, BLOCK_SIZE, BLOCK_GAP));
    id = added.id;
    return added.design;
  });
  return id;
}

/** Wire `source` to `target`; returns why not when the edge is refused. */
export function connect(source: string, target: string): string | null {
  const design = useEditor.getState().design;
  if (!design) return "No design is open.";
  const edge: Edge = [source, target];
  const problem = connectionProblem(design, edge);
  if (problem) return problem;
  commit("Connect", (current) => addEdge(current, edge), { kind: "edge", edge });
  return null;
}

/** Delete what is selected: a block together with its edges, or one edge. */
export function deleteSelection(): boolean {
  const { selection } = useEditor.getState();
  if (selection?.kind === "block") {
    return commit("Delete block", (design) => removeElements(design, [selection.id]), null);
  }
  if (selection?.kind === "edge") return deleteWire(selection.edge);
  return false;
}

export function deleteWire(edge: Edge): boolean {
  return commit("Delete wire", (design) => removeElements(design, [], [edge]));
}

/** Move blocks after a drag: the whole drag is one step. */
export function moveBlocks(moves: ReadonlyMap<string, Position>): boolean {
  return commit("Move", (design) => moveComponents(design, moves));
}

/** Grid cells one arrow-key press moves a block; with Shift, `NUDGE_FAST_CELLS`. */
export const NUDGE_CELLS = 1;
export const NUDGE_FAST_CELLS = 4;

/**
 * Move a block by `cells` grid cells along each axis (an arrow-key press): each press is one step,
 * so it is saved and undone like a drag.
 */
export function nudgeBlock(id: string, cells: Position): boolean {
  return commit("Move", (design) => {
    const block = findComponent(design, id);
    if (!block) return null;
    const target = { x: block.position.x + cells.x * GRID_SIZE, y: block.position.y + cells.y * GRID_SIZE };
    return moveComponents(design, new Map([[id, target]]));
  });
}

/** Set a prop, or reset it to its default with `undefined`. */
export function setBlockProp(id: string, name: string, value: PropValue | undefined): boolean {
  return commit(value === undefined ? `Reset ${name}` : `Set ${name}`, (design) => {
    const current = findComponent(design, id)?.props[name];
    return current === value ? null : setProp(design, id, name, value);
  });
}

/** Duplicate a block (type and props) into the nearest free spot beside it; returns the copy's id. */
export function duplicateBlock(id: string): string | null {
  let copyId: string | null = null;
  commit("Duplicate", (design) => {
    const original = findComponent(design, id);
    if (!original) return null;
    const beside = { x: original.position.x + BLOCK_WIDTH + BLOCK_GAP, y: original.position.y };
    const copy = duplicateComponent(design, id, freeSpot(design, beside, BLOCK_SIZE, BLOCK_GAP));
    copyId = copy?.id ?? null;
    return copy?.design ?? null;
  });
  return copyId;
}

export function renameDesign(name: string): boolean {
  return commit("Rename", (design) => (design.name === name ? null : { ...design, name }));
}

export function setDescription(description: string): boolean {
  return commit("Edit description", (design) => (design.description === description ? null : { ...design, description }));
}

export function setMeta(name: keyof DesignMeta, value: number): boolean {
  return commit(`Set design ${name}`, (design) => (design.meta[name] === value ? null : { ...design, meta: { ...design.meta, [name]: value } }));
}
