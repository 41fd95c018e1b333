/**
 * Validate a design against the schema and the catalogue's rules, and size it: the twin of
 * `backend/model_studio/validation.py`. Both run the same phases in the same order and report the
 * same codes on the same components; both must agree with every vector in `schema/cases/`.
 *
 * `validateDesign` never throws on bad input. `analyse` exposes the full inference (resolved
 * props, shapes, routing, checkpointing, order) for the editor's overlays.
 *
 * Maps keyed by component id, not plain objects: ids such as "12" or "constructor" must behave
 * like any other id (insertion order, no prototype).
 */
import { catalogue as shippedCatalogue, LAYER_TYPES, type Catalogue, type CompiledBlock, type Limits, type PropSpec, type TensorKind } from "./catalogue";
import { decodeDesign } from "./schema";
import type { DesignError, ModelArchitecture, PropValue, ValidationResult } from "./types";

const BYTES_PER_MIB = 2 ** 20;
const PARAMS_PER_MILLION = 1_000_000;
const D_MODEL_MULTIPLE = 8;

const ROUTER = "load_balance_router";
const MOE = "moe_layer";
const CHECKPOINT = "grad_checkpoint";
const BOARD_INPUT = "board_input";
const ACTION_OUTPUT = "action_output";
const EMBEDDINGS: ReadonlySet<string> = new Set(["embedding", "tuple_embedding"]);
const TRANSFORMER = "transformer_layer";
const SINK_TYPES: ReadonlySet<string> = new Set([ACTION_OUTPUT, "aux_loss_head"]);
const CHECKPOINT_TARGETS: ReadonlySet<string> = new Set([TRANSFORMER, MOE, "dense", ROUTER]);

/** A tensor flowing along an edge: `board` (B,16), `tokens` (B,tokens,width) or `vector` (B,width). */
export interface Shape {
  kind: TensorKind;
  width: number;
  /** Tokens per board for kind `tokens` (16 cells, or a tuple_embedding's n_tuples); 0 otherwise. */
  tokens: number;
}

/** How a moe_layer routes: from the load_balance_router feeding it, or the unrouted default. */
export interface Routing {
  topK: number;
  lbCoef: number;
}

/** Everything inferred from a decoded design. Maps are keyed by component id. */
export interface DesignAnalysis {
  design: ModelArchitecture;
  errors: DesignError[];
  /** Catalogue defaults, then meta, then the block's own props; absent when a prop was bad. */
  props: Map<string, Record<string, PropValue>>;
  inputs: Map<string, string[]>;
  outputs: Map<string, string[]>;
  /** Topological, over the acyclic part. */
  order: string[];
  /** Null when the shape cannot be inferred, and for sinks. */
  shapes: Map<string, Shape | null>;
  params: Map<string, number>;
  activations: Map<string, number>;
  /** Of `params`, those trained sparsely. */
  sparseParams: Map<string, number>;
  routing: Map<string, Routing>;
  checkpointed: Set<string>;
  paramTotal: number;
  memoryMb: number;
  /** `memoryMb` in parts, each rounded up on its own: the weights, their gradients and Adam's two moments. */
  weightsMb: number;
  /** One minibatch's activations kept for the backward pass. */
  activationsMb: number;
  /** The training process before any model, beside `memoryMb`. */
  runtimeBaselineMb: number;
}

/** Id -> type, for the first component of each id, in design order. */
type Types = ReadonlyMap<string, string>;

function report(analysis: DesignAnalysis, code: string, message: string, component: string | null = null, hint: string | null = null): void {
  analysis.errors.push({ code, message, component, hint });
}

// --- message formatting, as Python's repr() and format specs print these values -----------------

function pyString(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let body = "";
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === "\\" || char === quote) body += `\\${char}`;
    else if (char === "\n") body += "\\n";
    else if (char === "\r") body += "\\r";
    else if (char === "\t") body += "\\t";
    else if (code < 0x20 || code === 0x7f) body += `\\x${code.toString(16).padStart(2, "0")}`;
    else body += char;
  }
  return quote + body + quote;
}

function repr(value: PropValue): string {
  if (typeof value === "string") return pyString(value);
  if (typeof value === "boolean") return value ? "True" : "False";
  return String(value);
}

/** A float bound as Python prints it: 1.0, not 1. */
function pyFloat(value: number): string {
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

function withThousands(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

// --- components and props -----------------------------------------------------------------------

const TYPE_WORDS: Record<PropSpec["type"], string> = { int: "an integer", float: "a number", bool: "true or false", enum: "a string" };

/** Typed decoding of one prop; records an error and returns null when it fails. */
function decodeProp(analysis: DesignAnalysis, cid: string, name: string, spec: PropSpec, value: PropValue): PropValue | null {
  let decoded: PropValue | null;
  if (spec.type === "bool") decoded = typeof value === "boolean" ? value : null;
  else if (typeof value === "boolean" || (typeof value === "string") !== (spec.type === "enum")) decoded = null;
  // JSON has one number type: 4.0 is the integer 4.
  else if (spec.type === "int") decoded = Number.isInteger(value) ? value : null;
  else decoded = value;
  if (decoded === null) {
    report(analysis, "prop_type", `Prop ${pyString(name)} of ${pyString(cid)} must be ${TYPE_WORDS[spec.type]}, not ${repr(value)}.`, cid);
    return null;
  }
  if (spec.type === "enum") {
    const choices = spec.choices ?? [];
    if (!choices.includes(decoded as string)) {
      report(analysis, "prop_out_of_range", `Prop ${pyString(name)} of ${pyString(cid)} is ${repr(decoded)}.`, cid, `Choose one of: ${choices.join(", ")}.`);
      return null;
    }
  } else if (spec.type !== "bool" && !((decoded as number) >= spec.min! && (decoded as number) <= spec.max!)) {
    const bound = spec.type === "float" ? pyFloat : String;
    const [low, high] = [bound(spec.min!), bound(spec.max!)];
    report(analysis, "prop_out_of_range", `Prop ${pyString(name)} of ${pyString(cid)} is ${repr(value)}, outside [${low}, ${high}].`, cid, `Use a value from ${low} to ${high}.`);
    return null;
  }
  return decoded;
}

function checkComponents(analysis: DesignAnalysis, catalogue: Catalogue): Types {
  const types = new Map<string, string>();
  const { meta } = analysis.design;
  for (const component of analysis.design.components) {
    const cid = component.id;
    if (types.has(cid)) {
      report(analysis, "duplicate_id", `Id ${pyString(cid)} is used by more than one component.`, cid, "Give every block its own id.");
      continue;
    }
    types.set(cid, component.type);
    analysis.inputs.set(cid, []);
    analysis.outputs.set(cid, []);
    const block = catalogue.blocks.get(component.type);
    if (block === undefined) {
      const known = [...catalogue.blocks.keys()].join(", ");
      report(analysis, "unknown_block_type", `Block ${pyString(cid)} has unknown type ${pyString(component.type)}.`, cid, `Known types: ${known}.`);
      continue;
    }
    const props: Record<string, PropValue> = {};
    let ok = true;
    for (const [name, spec] of block.props) props[name] = spec.meta ? meta[spec.meta] : spec.default;
    for (const [name, value] of Object.entries(component.props)) {
      const spec = block.props.get(name);
      if (spec === undefined) {
        const allowed = [...block.props.keys()].join(", ") || "none";
        report(analysis, "unknown_prop", `${component.type} ${pyString(cid)} has no prop ${pyString(name)}.`, cid, `Props of ${component.type}: ${allowed}.`);
        ok = false;
        continue;
      }
      const decoded = decodeProp(analysis, cid, name, spec, value);
      if (decoded === null) ok = false;
      else props[name] = decoded;
    }
    if (ok) analysis.props.set(cid, props);
  }
  return types;
}

// --- edges and graph ----------------------------------------------------------------------------

function checkEdges(analysis: DesignAnalysis, catalogue: Catalogue, types: Types): void {
  const seen = new Set<string>();
  for (const [source, target] of analysis.design.edges) {
    const sourceType = types.get(source);
    const targetType = types.get(target);
    if (sourceType === undefined || targetType === undefined) {
      const missing = sourceType === undefined ? source : target;
      const anchor = sourceType !== undefined ? source : targetType !== undefined ? target : null;
      report(analysis, "dangling_edge", `Edge ${pyString(source)} -> ${pyString(target)} names ${pyString(missing)}, which does not exist.`, anchor, "Delete the edge or add the block.");
      continue;
    }
    if (source === target) {
      report(analysis, "self_loop", `Edge ${pyString(source)} -> ${pyString(target)} joins a block to itself.`, source);
      continue;
    }
    // Ids match the schema's id pattern, which has no spaces.
    const key = `${source} ${target}`;
    if (seen.has(key)) {
      report(analysis, "duplicate_edge", `Edge ${pyString(source)} -> ${pyString(target)} appears more than once.`, source);
      continue;
    }
    seen.add(key);
    const sourceBlock = catalogue.blocks.get(sourceType);
    const targetBlock = catalogue.blocks.get(targetType);
    if (sourceBlock !== undefined && sourceBlock.spec.output === null) {
      report(analysis, "no_output_port", `${sourceType} ${pyString(source)} has no output, so it cannot feed ${pyString(target)}.`, source);
      continue;
    }
    if (targetBlock !== undefined && targetBlock.spec.inputs.max === 0) {
      report(analysis, "no_input_port", `${targetType} ${pyString(target)} takes no input, so ${pyString(source)} cannot feed it.`, target);
      continue;
    }
    analysis.outputs.get(source)!.push(target);
    analysis.inputs.get(target)!.push(source);
  }
}

function idsOfType(types: Types, kind: string): string[] {
  return [...types].filter(([, type]) => type === kind).map(([cid]) => cid);
}

function checkEndpoints(analysis: DesignAnalysis, types: Types): void {
  const boards = idsOfType(types, BOARD_INPUT);
  if (boards.length === 0) report(analysis, "missing_board_input", "The design has no board_input.", null, "Add a board_input block.");
  for (const extra of boards.slice(1)) {
    report(analysis, "multiple_board_inputs", `${pyString(extra)} is a second board_input; a design has exactly one.`, extra, "Delete it and wire its blocks to the first.");
  }
  if (![...types.values()].includes(ACTION_OUTPUT)) {
    report(analysis, "missing_action_output", "The design has no action_output.", null, "Add an action_output block at the end.");
  }
}

/** Tarjan's strongly connected components, iteratively (designs can be 1000 deep). */
function checkCycles(analysis: DesignAnalysis, types: Types): Set<string> {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const inCycle = new Set<string>();
  let counter = 0;
  for (const root of types.keys()) {
    if (index.has(root)) continue;
    const work: Array<[node: string, child: number]> = [[root, 0]];
    while (work.length > 0) {
      const [node, child] = work.pop()!;
      if (child === 0) {
        index.set(node, counter);
        low.set(node, counter);
        counter += 1;
        stack.push(node);
        onStack.add(node);
      }
      const successors = analysis.outputs.get(node)!;
      if (child < successors.length) {
        work.push([node, child + 1]);
        const next = successors[child];
        if (!index.has(next)) work.push([next, 0]);
        else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
        continue;
      }
      if (low.get(node) === index.get(node)) {
        const members = new Set<string>();
        for (;;) {
          const member = stack.pop()!;
          onStack.delete(member);
          members.add(member);
          if (member === node) break;
        }
        if (members.size > 1) {
          for (const member of members) inCycle.add(member);
          const path = [...types.keys()].filter((cid) => members.has(cid));
          report(analysis, "cycle", `Blocks ${path.join(" -> ")} form a cycle.`, path[0], "Remove one edge of the loop; data must flow one way.");
        }
      }
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent)!, low.get(node)!));
      }
    }
  }
  return inCycle;
}

/** Breadth-first: every id reachable from `starts` by `step`. */
function reach(starts: string[], step: ReadonlyMap<string, string[]>): Set<string> {
  const seen = new Set(starts);
  const queue = [...starts];
  for (let head = 0; head < queue.length; head++) {
    for (const next of step.get(queue[head])!) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

function checkReachability(analysis: DesignAnalysis, types: Types): void {
  const boards = idsOfType(types, BOARD_INPUT);
  const reachable = boards.length > 0 ? reach(boards, analysis.outputs) : new Set(types.keys());
  const sinks = [...types].filter(([, type]) => SINK_TYPES.has(type)).map(([cid]) => cid);
  const useful = sinks.length > 0 ? reach(sinks, analysis.inputs) : new Set(types.keys());
  for (const [cid, kind] of types) {
    if (!reachable.has(cid)) {
      report(analysis, "unreachable", `${kind} ${pyString(cid)} cannot be reached from the board_input.`, cid, "Wire an input into it, or delete it.");
    } else if (!useful.has(cid)) {
      report(analysis, "dead_end", `The output of ${kind} ${pyString(cid)} reaches no action_output or aux_loss_head.`, cid, "Wire its output onward, or delete it.");
    }
  }
}

function checkArity(analysis: DesignAnalysis, catalogue: Catalogue, types: Types): void {
  for (const [cid, kind] of types) {
    const block = catalogue.blocks.get(kind);
    if (block === undefined) continue;
    const count = analysis.inputs.get(cid)!.length;
    const { min, max } = block.spec.inputs;
    if (count > 0 && count < min) {
      report(analysis, "too_few_inputs", `${kind} ${pyString(cid)} has ${count} input(s) and needs at least ${min}.`, cid, `Wire ${min - count} more input(s) into it.`);
    } else if (count > max) {
      report(analysis, "too_many_inputs", `${kind} ${pyString(cid)} has ${count} inputs and takes at most ${max}.`, cid, max === 1 ? "Join branches with a residual_add first." : null);
    }
  }
}

function checkRoutersAndCheckpoints(analysis: DesignAnalysis, types: Types): void {
  for (const [cid, kind] of types) {
    const successors = analysis.outputs.get(cid)!;
    if (kind === ROUTER) {
      if (successors.length !== 1 || types.get(successors[0]) !== MOE) {
        report(analysis, "router_not_before_moe", `Router ${pyString(cid)} must feed exactly one moe_layer.`, cid, "Wire its output straight into one moe_layer.");
        continue;
      }
      const moe = successors[0];
      const routerProps = analysis.props.get(cid);
      const moeProps = analysis.props.get(moe);
      if (routerProps !== undefined && moeProps !== undefined && (routerProps.top_k as number) > (moeProps.n_experts as number)) {
        report(
          analysis,
          "top_k_exceeds_experts",
          `Router ${pyString(cid)} sends each token to ${routerProps.top_k} experts, but ${pyString(moe)} has ${moeProps.n_experts}.`,
          cid,
          `Set top_k to at most ${moeProps.n_experts}.`,
        );
      }
    } else if (kind === CHECKPOINT) {
      let target = successors.length === 1 ? successors[0] : null;
      if (target === null || !CHECKPOINT_TARGETS.has(types.get(target)!)) {
        report(
          analysis,
          "checkpoint_target_invalid",
          `Checkpoint ${pyString(cid)} must feed exactly one transformer_layer, moe_layer, dense or load_balance_router.`,
          cid,
          "Wire it straight into the one layer it should recompute.",
        );
        continue;
      }
      if (types.get(target) === ROUTER) {
        const routed = analysis.outputs.get(target)!;
        // Otherwise the router's own error says what is wrong.
        if (routed.length !== 1 || types.get(routed[0]) !== MOE) continue;
        target = routed[0];
      }
      analysis.checkpointed.add(target);
    }
  }
}

// --- shapes, params and activations -------------------------------------------------------------

function featuresOf(shape: Shape): number {
  return shape.kind === "tokens" ? shape.width * shape.tokens : shape.width;
}

const sameShape = (a: Shape, b: Shape): boolean => a.kind === b.kind && a.width === b.width && a.tokens === b.tokens;

const describeShape = (shape: Shape): string =>
  shape.kind === "tokens" ? `tokens[${shape.tokens}x${shape.width}]` : `${shape.kind}[${shape.width}]`;

function inputsFit(analysis: DesignAnalysis, cid: string, kind: string, accepts: readonly TensorKind[], sources: Shape[]): boolean {
  for (const shape of sources) {
    if (!accepts.includes(shape.kind)) {
      const hint = shape.kind === "board" ? "Put an embedding between the board_input and this block." : `${kind} takes ${accepts.join(" or ")}.`;
      report(analysis, "incompatible_input", `${kind} ${pyString(cid)} cannot take ${shape.kind} input.`, cid, hint);
      return false;
    }
  }
  if (sources.slice(1).some((shape) => !sameShape(shape, sources[0]))) {
    const found = sources.map(describeShape).join(", ");
    report(analysis, "width_mismatch", `${kind} ${pyString(cid)} joins inputs of different shapes: ${found}.`, cid, "Give every branch the same kind, width and token count.");
    return false;
  }
  return true;
}

/** The divisor of `width` closest to `heads`, the smaller on a tie. */
function nearestDivisor(width: number, heads: number): number {
  let best = 1;
  for (let divisor = 2; divisor <= width; divisor++) {
    if (width % divisor === 0 && Math.abs(divisor - heads) < Math.abs(best - heads)) best = divisor;
  }
  return best;
}

function checkBlockRules(analysis: DesignAnalysis, cid: string, kind: string, props: Record<string, PropValue>, shapeIn: Shape | null, limits: Limits): void {
  if (EMBEDDINGS.has(kind) && (props.d_model as number) % D_MODEL_MULTIPLE !== 0) {
    const dModel = props.d_model as number;
    // Ties round up, as on the server.
    const nearest = Math.max(D_MODEL_MULTIPLE, Math.floor((dModel + D_MODEL_MULTIPLE / 2) / D_MODEL_MULTIPLE) * D_MODEL_MULTIPLE);
    report(analysis, "d_model_not_multiple_of_8", `Embedding ${pyString(cid)} has d_model ${dModel}, not a multiple of 8.`, cid, `Nearest valid d_model is ${nearest}.`);
  } else if (kind === TRANSFORMER && shapeIn !== null && shapeIn.width % (props.n_heads as number) !== 0) {
    const { width } = shapeIn;
    const heads = props.n_heads as number;
    report(
      analysis,
      "n_heads_not_divisor",
      `Transformer ${pyString(cid)} has ${heads} heads, which do not divide its width ${width}.`,
      cid,
      `Nearest valid n_heads is ${nearestDivisor(width, heads)}.`,
    );
  } else if (kind === MOE && (props.n_experts as number) > limits.max_experts) {
    report(
      analysis,
      "too_many_experts",
      `MoE layer ${pyString(cid)} has ${props.n_experts} experts; at most ${limits.max_experts} are supported.`,
      cid,
      `Use at most ${limits.max_experts} experts.`,
    );
  }
}

/** Formula variables: the catalogue's constants and the block's integer and bool props (as 0/1). */
function formulaEnv(catalogue: Catalogue, block: CompiledBlock, props: Record<string, PropValue>): Map<string, number> {
  const env = new Map(catalogue.constants);
  for (const [name, value] of Object.entries(props)) {
    if (typeof value === "boolean") env.set(name, value ? 1 : 0);
    else if (block.props.get(name)?.type === "int") env.set(name, value as number);
  }
  return env;
}

/** A block's own output: a tokens output has its `tokens` formula's count, else its input's T. */
function outputShape(kind: TensorKind, block: CompiledBlock, env: Map<string, number>): Shape {
  const width = block.outputWidth!(env);
  if (kind !== "tokens") return { kind, width, tokens: 0 };
  return { kind, width, tokens: block.outputTokens !== null ? block.outputTokens(env) : env.get("T")! };
}

/** Kahn's order over the acyclic part; a block's shape is null when it cannot be inferred. */
function inferShapes(analysis: DesignAnalysis, catalogue: Catalogue, types: Types, inCycle: ReadonlySet<string>): void {
  const { limits } = catalogue;
  const pending = new Map<string, number>();
  const queue: string[] = [];
  for (const cid of types.keys()) {
    const count = analysis.inputs.get(cid)!.length;
    pending.set(cid, count);
    if (count === 0 && !inCycle.has(cid)) queue.push(cid);
  }
  for (let head = 0; head < queue.length; head++) {
    const cid = queue[head];
    const kind = types.get(cid)!;
    analysis.order.push(cid);
    for (const next of analysis.outputs.get(cid)!) {
      const left = pending.get(next)! - 1;
      pending.set(next, left);
      if (left === 0 && !inCycle.has(next)) queue.push(next);
    }
    analysis.shapes.set(cid, null);
    const block = catalogue.blocks.get(kind);
    const props = analysis.props.get(cid);
    if (block === undefined || props === undefined) continue;
    const { spec } = block;
    const sources = analysis.inputs.get(cid)!.map((source) => analysis.shapes.get(source) ?? null);
    if (sources.length < spec.inputs.min || sources.length > spec.inputs.max || sources.includes(null)) continue;
    const env = formulaEnv(catalogue, block, props);
    const shapeIn = sources.length > 0 ? sources[0] : null;
    if (shapeIn !== null) {
      if (!inputsFit(analysis, cid, kind, spec.inputs.accepts, sources as Shape[])) continue;
      env.set("w", shapeIn.width);
      env.set("feat", featuresOf(shapeIn));
      if (shapeIn.kind === "tokens") env.set("T", shapeIn.tokens);
    }
    checkBlockRules(analysis, cid, kind, props, shapeIn, limits);
    if (kind === MOE) {
      const source = analysis.inputs.get(cid)![0];
      const router = types.get(source) === ROUTER ? analysis.props.get(source) : undefined;
      const routing: Routing =
        router !== undefined
          ? { topK: router.top_k as number, lbCoef: router.lb_coef as number }
          : { topK: catalogue.doc.unrouted.top_k, lbCoef: catalogue.doc.unrouted.lb_coef };
      analysis.routing.set(cid, routing);
      env.set("top_k", routing.topK);
    }
    analysis.params.set(cid, block.params(env));
    analysis.activations.set(cid, block.activations(env));
    if (block.sparseParams !== null) analysis.sparseParams.set(cid, block.sparseParams(env));
    if (spec.output === null) continue;
    const shape: Shape = spec.output.kind === "same" ? shapeIn! : outputShape(spec.output.kind, block, env);
    if (shape.kind !== "board" && shape.width > limits.max_width) {
      report(
        analysis,
        "width_limit",
        `${kind} ${pyString(cid)} outputs width ${shape.width}, above the limit of ${limits.max_width}.`,
        cid,
        `Use a width of at most ${limits.max_width}.`,
      );
      continue;
    }
    analysis.shapes.set(cid, shape);
  }
}

// --- limits and sizing ----------------------------------------------------------------------------

function checkLimits(analysis: DesignAnalysis, catalogue: Catalogue, types: Types): void {
  const { limits } = catalogue;
  const { memory } = catalogue.doc;
  const layers = [...types].filter(([, kind]) => LAYER_TYPES.has(kind)).map(([cid]) => cid);
  if (layers.length > limits.max_layers) {
    report(
      analysis,
      "layer_limit",
      `The design has ${layers.length} weighted layers; the limit is ${limits.max_layers}.`,
      layers[limits.max_layers],
      `Remove ${layers.length - limits.max_layers} layer(s).`,
    );
  }
  let paramTotal = 0;
  for (const count of analysis.params.values()) paramTotal += count;
  let stored = 0;
  let recomputePeak = 0;
  for (const [cid, count] of analysis.activations) {
    if (!analysis.checkpointed.has(cid)) stored += count;
  }
  for (const cid of analysis.checkpointed) recomputePeak = Math.max(recomputePeak, analysis.activations.get(cid) ?? 0);
  // Every term is an integer below 2^53 for any design the schema admits, and dividing by a
  // power of two is exact, so this is the server's integer ceiling division.
  let sparse = 0;
  for (const count of analysis.sparseParams.values()) sparse += count;
  const weightFloats = (paramTotal - sparse) * memory.floats_per_param + sparse * memory.floats_per_sparse_param;
  const weightBytes = memory.bytes_per_float * weightFloats;
  const activationBytes = memory.bytes_per_float * memory.minibatch * (stored + recomputePeak);
  analysis.paramTotal = paramTotal;
  analysis.memoryMb = Math.ceil((weightBytes + activationBytes) / BYTES_PER_MIB);
  // The parts, each rounded up on its own like the total: they add up to it or to 1 MiB more.
  analysis.weightsMb = Math.ceil(weightBytes / BYTES_PER_MIB);
  analysis.activationsMb = Math.ceil(activationBytes / BYTES_PER_MIB);
  analysis.runtimeBaselineMb = memory.runtime_baseline_mb;
  if (paramTotal > limits.max_params) {
    report(analysis, "param_limit", `The model has ${withThousands(paramTotal)} parameters; the limit is ${withThousands(limits.max_params)}.`, null, "Use fewer or narrower layers.");
  }
  if (analysis.memoryMb > limits.max_memory_mb) {
    report(
      analysis,
      "memory_limit",
      `Training would need about ${analysis.memoryMb} MiB; the limit is ${limits.max_memory_mb} MiB.`,
      null,
      "Use fewer or narrower layers, or add gradient checkpoints.",
    );
  }
}

/** Run every rule and the width inference over a decoded design. */
export function analyse(design: ModelArchitecture, catalogue: Catalogue = shippedCatalogue): DesignAnalysis {
  const analysis: DesignAnalysis = {
    design,
    errors: [],
    props: new Map(),
    inputs: new Map(),
    outputs: new Map(),
    order: [],
    shapes: new Map(),
    params: new Map(),
    activations: new Map(),
    sparseParams: new Map(),
    routing: new Map(),
    checkpointed: new Set(),
    paramTotal: 0,
    memoryMb: 0,
    weightsMb: 0,
    activationsMb: 0,
    runtimeBaselineMb: 0,
  };
  const types = checkComponents(analysis, catalogue);
  checkEdges(analysis, catalogue, types);
  checkEndpoints(analysis, types);
  const inCycle = checkCycles(analysis, types);
  checkReachability(analysis, types);
  checkArity(analysis, catalogue, types);
  checkRoutersAndCheckpoints(analysis, types);
  inferShapes(analysis, catalogue, types, inCycle);
  checkLimits(analysis, catalogue, types);
  return analysis;
}

export function resultOf(analysis: DesignAnalysis): ValidationResult {
  return {
    valid: analysis.errors.length === 0,
    paramCount: analysis.paramTotal / PARAMS_PER_MILLION,
    paramCountExact: analysis.paramTotal,
    estimatedMemory: analysis.memoryMb,
    memoryBreakdown: { weightsAndOptimizer: analysis.weightsMb, activations: analysis.activationsMb, runtimeBaseline: analysis.runtimeBaselineMb },
    errors: analysis.errors,
  };
}

/** Validate JSON text or parsed JSON data; never throws on bad input. */
export function validateDesign(document: unknown, catalogue: Catalogue = shippedCatalogue): ValidationResult {
  const decoded = decodeDesign(document);
  if (!decoded.ok) {
    const memoryBreakdown = { weightsAndOptimizer: 0, activations: 0, runtimeBaseline: catalogue.doc.memory.runtime_baseline_mb };
    return { valid: false, paramCount: 0, paramCountExact: 0, estimatedMemory: 0, memoryBreakdown, errors: [decoded.error] };
  }
  return resultOf(analyse(decoded.design, catalogue));
}
