/**
 * Pure operations on a design's graph. Each returns a new design and never changes its input,
 * so the editor can keep old designs as undo snapshots and React can compare by identity.
 */
import { uniqueId } from "./ids";
import type { Edge, ModelArchitecture, ModelComponent, Position, PropValue } from "./types";

/** Canvas grid that blocks snap to, in canvas units (CSS px at zoom 1). */
export const GRID_SIZE = 16;

export function snapToGrid({ x, y }: Position, grid = GRID_SIZE): Position {
  return { x: Math.round(x / grid) * grid, y: Math.round(y / grid) * grid };
}

export function findComponent(design: ModelArchitecture, id: string): ModelComponent | undefined {
  return design.components.find((component) => component.id === id);
}

function componentIds(design: ModelArchitecture): Set<string> {
  return new Set(design.components.map((component) => component.id));
}

function sameEdge([s1, t1]: Edge, [s2, t2]: Edge): boolean {
  return s1 === s2 && t1 === t2;
}

export function hasEdge(design: ModelArchitecture, edge: Edge): boolean {
  return design.edges.some((existing) => sameEdge(existing, edge));
}

/** Add a block of `type` with every prop unset (so it shows its defaults); returns its new id. */
export function addComponent(design: ModelArchitecture, type: string, position: Position): { design: ModelArchitecture; id: string } {
  const id = uniqueId(type, componentIds(design));
  const component: ModelComponent = { id, type, props: {}, position: snapToGrid(position) };
  return { design: { ...design, components: [...design.components, component] }, id };
}

/** Remove blocks together with every edge that touches them, and the given edges. */
export function removeElements(design: ModelArchitecture, components: readonly string[], edges: readonly Edge[] = []): ModelArchitecture {
  const gone = new Set(components);
  return {
    ...design,
    components: design.components.filter((component) => !gone.has(component.id)),
    edges: design.edges.filter(
      (edge) => !gone.has(edge[0]) && !gone.has(edge[1]) && !edges.some((removed) => sameEdge(removed, edge)),
    ),
  };
}

export function addEdge(design: ModelArchitecture, edge: Edge): ModelArchitecture {
  return { ...design, edges: [...design.edges, [edge[0], edge[1]]] };
}

/** Move blocks to new positions (snapped); blocks whose position does not change keep their identity. */
export function moveComponents(design: ModelArchitecture, moves: ReadonlyMap<string, Position>): ModelArchitecture {
  let changed = false;
  const components = design.components.map((component) => {
    const target = moves.get(component.id);
    if (!target) return component;
    const position = snapToGrid(target);
    if (position.x === component.position.x && position.y === component.position.y) return component;
    changed = true;
    return { ...component, position };
  });
  return changed ? { ...design, components } : design;
}

/** Set a block's prop, or unset it (back to its default) when `value` is undefined. */
export function setProp(design: ModelArchitecture, id: string, name: string, value: PropValue | undefined): ModelArchitecture {
  return {
    ...design,
    components: design.components.map((component) => {
      if (component.id !== id) return component;
      const props = { ...component.props };
      if (value === undefined) delete props[name];
      else props[name] = value;
      return { ...component, props };
    }),
  };
}

/** Copy a block (type and props, not its edges) to `position`; returns the copy's id. */
export function duplicateComponent(design: ModelArchitecture, id: string, position: Position): { design: ModelArchitecture; id: string } | null {
  const original = findComponent(design, id);
  if (!original) return null;
  const copyId = uniqueId(original.id, componentIds(design));
  const copy: ModelComponent = { id: copyId, type: original.type, props: { ...original.props }, position: snapToGrid(position) };
  return { design: { ...design, components: [...design.components, copy] }, id: copyId };
}

export interface Size {
  width: number;
  height: number;
}

/** How many candidate spots out from the wanted one `freeSpot` tries, in each direction. */
const FREE_SPOT_RINGS = 3;

/**
 * The grid-aligned spot nearest `wanted` where a block of `size` keeps at least `gap` clear of
 * every other block (all blocks share one size on the canvas), or `wanted` itself when the
 * whole neighbourhood is taken.
 */
export function freeSpot(design: ModelArchitecture, wanted: Position, size: Size, gap: number): Position {
  const clear = (spot: Position) =>
    design.components.every(
      ({ position }) => Math.abs(position.x - spot.x) >= size.width + gap || Math.abs(position.y - spot.y) >= size.height + gap,
    );
  const candidates: Position[] = [];
  for (let i = -FREE_SPOT_RINGS; i <= FREE_SPOT_RINGS; i++) {
    for (let j = -FREE_SPOT_RINGS; j <= FREE_SPOT_RINGS; j++) {
      candidates.push(snapToGrid({ x: wanted.x + i * (size.width + gap), y: wanted.y + j * (size.height + gap) }));
    }
  }
  const distance = (spot: Position) => Math.hypot(spot.x - wanted.x, spot.y - wanted.y);
  candidates.sort((a, b) => distance(a) - distance(b));
  return candidates.find(clear) ?? snapToGrid(wanted);
}
