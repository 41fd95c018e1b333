/**
 * Which canvas block each of a run's MoE layers is. The server lists `expert_usage` per MoE layer
 * in forward order: the order codegen builds blocks in, which is the validator's topological
 * (Kahn) order. `analyse` is the TypeScript twin of that validator, so its `order` is the same.
 */
import { analyse } from "../model/validate";
import type { ModelArchitecture } from "../model/types";

const MOE = "moe_layer";

export interface MoeLayerBlock {
  id: string;
  nExperts: number;
}

/** The design's MoE blocks in forward order, with their resolved expert counts. */
export function moeLayerBlocks(design: ModelArchitecture): MoeLayerBlock[] {
  const analysis = analyse(design);
  const types = new Map(design.components.map((component) => [component.id, component.type]));
  return analysis.order
    .filter((id) => types.get(id) === MOE)
    .map((id) => ({ id, nExperts: Number(analysis.props.get(id)?.n_experts ?? NaN) }));
}

/**
 * Each MoE block's share of tokens per expert, by block id. When the run's layer count differs
 * from the design's (the design changed since the run), no block is coloured: the mapping would
 * be a guess. A block whose expert count changed is left out.
 */
export function usageByBlock(layers: readonly MoeLayerBlock[], usage: readonly (readonly number[])[]): Record<string, readonly number[]> {
  const byBlock: Record<string, readonly number[]> = {};
  if (layers.length !== usage.length) return byBlock;
  layers.forEach((layer, index) => {
    if (usage[index].length === layer.nExperts) byBlock[layer.id] = usage[index];
  });
  return byBlock;
}
