/**
 * The design as React Flow nodes and edges. Nodes are rebuilt only when something they show
 * changes, and otherwise keep their identity (and measured size), so React skips them: with
 * hundreds of blocks, an edit re-renders one node, not all of them.
 */
import type { Edge as FlowEdge, Node } from "@xyflow/react";
import { catalogue } from "../model/catalogue";
import type { DesignMeta, Edge, ModelArchitecture, ModelComponent } from "../model/types";
import type { Selection } from "./store";

/** Colour of a block whose type is not in the catalogue. */
const UNKNOWN_COLOUR = "#475569";

/** Wires are easy to tap: this much around the line counts, in canvas units. */
const WIRE_HIT_WIDTH = 28;

/** What a block node draws; all primitives, so equal data means nothing to redraw. */
export type BlockData = {
  type: string;
  label: string;
  colour: string;
  summary: string;
  hasInput: boolean;
  hasOutput: boolean;
  hasError: boolean;
  /** This block's output was tapped and waits for a target. */
  connecting: boolean;
};

export type BlockNode = Node<BlockData, "block">;

/** A prop's effective value: the block's own, else the design meta it inherits, else the default. */
export function effectiveProp(component: ModelComponent, name: string, meta: DesignMeta) {
  const spec = catalogue.blocks.get(component.type)?.props.get(name);
  const own = component.props[name];
  if (own !== undefined || !spec) return { value: own, source: "own" as const };
  if (spec.meta) return { value: meta[spec.meta], source: "meta" as const };
  return { value: spec.default, source: "default" as const };
}

/** The props set on the block itself (defaults and inherited values are left out), as "name value". */
function summaryOf(component: ModelComponent): string {
  const block = catalogue.blocks.get(component.type);
  if (!block) return "unknown block type";
  return [...block.props.keys()]
    .filter((name) => component.props[name] !== undefined)
    .map((name) => `${name} ${String(component.props[name])}`)
    .join(" · ");
}

function blockData(component: ModelComponent, hasError: boolean, connecting: boolean): BlockData {
  const spec = catalogue.blocks.get(component.type)?.spec;
  return {
    type: component.type,
    label: spec?.label ?? component.type,
    colour: spec?.color ?? UNKNOWN_COLOUR,
    summary: summaryOf(component),
    hasInput: spec ? spec.inputs.max > 0 : true,
    hasOutput: spec ? spec.output !== null : true,
    hasError,
    connecting,
  };
}

function sameData(a: BlockData, b: BlockData): boolean {
  return (Object.keys(a) as (keyof BlockData)[]).every((key) => a[key] === b[key]);
}

/** The accessible name of a block: its type and id, e.g. "transformer_layer layer1". */
export function blockName(component: Pick<ModelComponent, "type" | "id">): string {
  return `${component.type} ${component.id}`;
}

export interface NodeInputs {
  design: ModelArchitecture;
  selection: Selection;
  offending: ReadonlySet<string>;
  connectFrom: string | null;
}

/** The nodes for `design`, reusing every node of `previous` whose look has not changed. */
export function syncNodes(previous: readonly BlockNode[], { design, selection, offending, connectFrom }: NodeInputs): BlockNode[] {
  const byId = new Map(previous.map((node) => [node.id, node]));
  return design.components.map((component) => {
    const old = byId.get(component.id);
    const data = blockData(component, offending.has(component.id), connectFrom === component.id);
    const selected = selection?.kind === "block" && selection.id === component.id;
    // A node mid-drag keeps the position the drag gave it until the drag commits.
    const position = old?.dragging ? old.position : component.position;
    if (old && old.selected === selected && old.position.x === position.x && old.position.y === position.y && sameData(old.data, data)) {
      return old;
    }
    return {
      id: component.id,
      type: "block",
      position,
      data: old && sameData(old.data, data) ? old.data : data,
      selected,
      measured: old?.measured,
      dragging: old?.dragging,
      ariaRole: "group",
      ariaLabel: blockName(component),
    };
  });
}

function edgeId([source, target]: Edge): string {
  return `${source}->${target}`;
}

export function toFlowEdges(edges: readonly Edge[], selection: Selection): FlowEdge[] {
  return edges.map((edge) => ({
    id: edgeId(edge),
    type: "wire",
    interactionWidth: WIRE_HIT_WIDTH,
    source: edge[0],
    target: edge[1],
    selected: selection?.kind === "edge" && selection.edge[0] === edge[0] && selection.edge[1] === edge[1],
    ariaLabel: `Wire from ${edge[0]} to ${edge[1]}`,
  }));
}
