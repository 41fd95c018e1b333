/**
 * Validation time for a 200-block design: the worker answers within one 60 Hz frame (16 ms) so the
 * banner keeps up with editing. Run: `npx vitest bench --run bench/validate.bench.ts`.
 */
import { bench, describe } from "vitest";
import { validateDesign } from "../src/model/validate";

const BLOCKS = 200;
/** A repeating stretch of 6 blocks that exercises every rule: checkpoint, attention, routing, MoE, residual. */
const STRETCH = ["grad_checkpoint", "transformer_layer", "load_balance_router", "moe_layer", "layer_norm", "residual_add"] as const;

const STRETCH_PROPS: Partial<Record<(typeof STRETCH)[number], Record<string, number>>> = {
  transformer_layer: { ff_mult: 2 },
  moe_layer: { n_experts: 4, ff_mult: 1 },
};

function largeDesign(blocks: number) {
  const components: Array<{ id: string; type: string; props: Record<string, number>; position: { x: number; y: number } }> = [];
  const edges: Array<[string, string]> = [];
  const add = (type: string, props: Record<string, number> = {}, ...sources: string[]): string => {
    const id = `b${components.length}`;
    components.push({ id, type, props, position: { x: 0, y: 100 * components.length } });
    for (const source of sources) edges.push([source, id]);
    return id;
  };
  let previous = add("embedding", {}, add("board_input"));
  let skip = previous;
  while (components.length < blocks - STRETCH.length) {
    for (const type of STRETCH) {
      const props = STRETCH_PROPS[type] ?? {};
      previous = type === "residual_add" ? add(type, props, previous, skip) : add(type, props, previous);
    }
    skip = previous;
  }
  while (components.length < blocks - 1) previous = add("layer_norm", {}, previous);
  add("action_output", {}, previous);
  return { id: "bench", name: "Bench", components, edges, meta: { d_model: 32, n_heads: 4 } };
}

const design = largeDesign(BLOCKS);
const result = validateDesign(design);
if (design.components.length !== BLOCKS || !result.valid) {
  throw new Error(`the bench design should be ${BLOCKS} valid blocks: ${JSON.stringify(result.errors.slice(0, 3))}`);
}

/** Enough warm-up for the JIT to settle, so the figures are steady-state. */
const OPTIONS = { warmupTime: 1000, time: 2000 };

describe(`validateDesign, ${BLOCKS} blocks`, () => {
  bench("parsed JSON (what the worker receives)", () => void validateDesign(design), OPTIONS);
  bench("JSON text", () => void validateDesign(JSON.stringify(design)), OPTIONS);
});
