/**
 * Whether a new edge may be made, decided as the user makes it. These are the rules a single
 * edge can break on its own; the full validator still judges the whole design afterwards.
 */
import { catalogue as shippedCatalogue, type Catalogue, type TensorKind } from "./catalogue";
import { findComponent, hasEdge } from "./graph";
import type { Edge, ModelArchitecture } from "./types";

const KIND_WORDS: Record<TensorKind, string> = { board: "the board", tokens: "tokens", vector: "a vector" };

function labelOf(type: string, catalogue: Catalogue): string {
  return catalogue.blocks.get(type)?.spec.label ?? type;
}

function inputsOf(design: ModelArchitecture, id: string): string[] {
  return design.edges.filter(([, target]) => target === id).map(([source]) => source);
}

/**
 * The kind of tensor a block outputs, following `same` outputs back through their first input;
 * null when it cannot be known yet (an unwired pass-through block, an unknown type, a cycle).
 */
export function outputKind(design: ModelArchitecture, id: string, catalogue: Catalogue = shippedCatalogue): TensorKind | null {
  const seen = new Set<string>();
  let current: string | undefined = id;
  while (current !== undefined && !seen.has(current)) {
    seen.add(current);
    const component = findComponent(design, current);
    const output = component && catalogue.blocks.get(component.type)?.spec.output;
    if (!output) return null;
    if (output.kind !== "same") return output.kind;
    current = inputsOf(design, current)[0];
  }
  return null;
}

/** True when `to` can already reach `from`, so an edge from -> to would close a loop. */
function reaches(design: ModelArchitecture, from: string, to: string): boolean {
  const stack = [from];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id === to) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const [source, target] of design.edges) if (source === id) stack.push(target);
  }
  return false;
}

/** Why the edge `[source, target]` cannot be made, in a few words for a toast; null if it can. */
export function connectionProblem(design: ModelArchitecture, [source, target]: Edge, catalogue: Catalogue = shippedCatalogue): string | null {
  const from = findComponent(design, source);
  const to = findComponent(design, target);
  if (!from || !to) return "That block no longer exists.";
  if (source === target) return "A block cannot feed itself.";
  const fromSpec = catalogue.blocks.get(from.type)?.spec;
  const toSpec = catalogue.blocks.get(to.type)?.spec;
  if (fromSpec?.output === null) return `${labelOf(from.type, catalogue)} has no output.`;
  if (toSpec?.inputs.max === 0) return `${labelOf(to.type, catalogue)} takes no input.`;
  if (hasEdge(design, [source, target])) return "These blocks are already wired.";
  if (toSpec && inputsOf(design, target).length >= toSpec.inputs.max) {
    const max = toSpec.inputs.max;
    return `${labelOf(to.type, catalogue)} takes at most ${max} input${max === 1 ? "" : "s"}.`;
  }
  const kind = outputKind(design, source, catalogue);
  if (toSpec && kind !== null && !toSpec.inputs.accepts.includes(kind)) {
    return `${labelOf(to.type, catalogue)} cannot take ${KIND_WORDS[kind]} from ${labelOf(from.type, catalogue)}.`;
  }
  if (reaches(design, target, source)) return "That wire would make a loop.";
  return null;
}
