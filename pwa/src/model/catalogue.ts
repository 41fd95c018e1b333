/**
 * The block catalogue (`schema/catalogue.json`), typed and with its formulas parsed once.
 *
 * The catalogue is data shared with the server: block props, ports, width flow, the exact
 * parameter and activation formulas, limits and memory terms. Nothing in it is repeated here.
 * User-supplied names (block types, prop names) are looked up in `Map`s, never on plain objects,
 * so a block typed `constructor` is simply unknown.
 */
import catalogueJson from "@schema/catalogue.json";
import { compileFormula, type Formula } from "./formula";
import type { DesignMeta, PropValue } from "./types";

export type TensorKind = "board" | "tokens" | "vector";
export type PropType = "int" | "float" | "bool" | "enum";

export interface PropSpec {
  type: PropType;
  default: PropValue;
  doc: string;
  min?: number;
  max?: number;
  choices?: string[];
  /** The design-level `meta` field that supplies the default. */
  meta?: keyof DesignMeta;
}

export interface InputSpec {
  min: number;
  max: number;
  accepts: TensorKind[];
}

export interface OutputSpec {
  /** `same`: the output has the input's kind, width and token count. */
  kind: TensorKind | "same";
  width?: string;
  /** Tokens per board of a `tokens` output; absent: T, the input's count. */
  tokens?: string;
}

export interface BlockSpec {
  label: string;
  color: string;
  doc: string;
  props: Record<string, PropSpec>;
  inputs: InputSpec;
  /** Null for sinks (the heads). */
  output: OutputSpec | null;
  params: string;
  activations: string;
  paramsDoc?: string;
  activationsDoc?: string;
  /** How many of `params` train with sparse gradients (SparseAdam). */
  sparseParams?: string;
  sparseParamsDoc?: string;
}

export interface Limits {
  max_components: number;
  max_edges: number;
  max_layers: number;
  max_params: number;
  max_width: number;
  max_experts: number;
  max_memory_mb: number;
  max_name_length: number;
  max_props: number;
}

export interface MemorySpec {
  doc: string;
  /** Boards per PPO minibatch. */
  minibatch: number;
  bytes_per_float: number;
  /** Weights, gradients and Adam's two moments. */
  floats_per_param: number;
  /** A sparse table's parameters: weights and Adam's two moments, no dense gradient. */
  floats_per_sparse_param: number;
  /** A torch training process's resident memory before any model, in MiB: beside the estimate, not in it. */
  runtime_baseline_mb: number;
  runtimeBaselineDoc: string;
}

/** Routing of a moe_layer that no load_balance_router feeds. */
export interface UnroutedSpec {
  doc: string;
  top_k: number;
  lb_coef: number;
}

export interface CatalogueDoc {
  catalogueVersion: number;
  doc: string;
  constants: Record<string, number>;
  constantDocs: Record<string, string>;
  limits: Limits;
  limitDocs: Record<string, string>;
  widthFlow: string;
  memory: MemorySpec;
  unrouted: UnroutedSpec;
  blocks: Record<string, BlockSpec>;
  errors: Record<string, string>;
}

/** A block spec with its formulas parsed, ready to evaluate. */
export interface CompiledBlock {
  type: string;
  spec: BlockSpec;
  props: ReadonlyMap<string, PropSpec>;
  params: Formula;
  activations: Formula;
  /** Null when the output is `same` or the block is a sink. */
  outputWidth: Formula | null;
  /** Null when a tokens output keeps its input's T (or the output is not tokens). */
  outputTokens: Formula | null;
  /** Null when every parameter trains densely. */
  sparseParams: Formula | null;
}

export interface Catalogue {
  doc: CatalogueDoc;
  blocks: ReadonlyMap<string, CompiledBlock>;
  limits: Limits;
  constants: ReadonlyMap<string, number>;
  /** What each stable error code means. */
  errorCodes: ReadonlyMap<string, string>;
  /** Defaults of `DesignMeta`, taken from the props that inherit them. */
  metaDefaults: DesignMeta;
}

/** Blocks counted against `max_layers`: the ones that carry a weight matrix. */
export const LAYER_TYPES: ReadonlySet<string> = new Set(["transformer_layer", "moe_layer", "dense"]);

function compileBlock(type: string, spec: BlockSpec): CompiledBlock {
  return {
    type,
    spec,
    props: new Map(Object.entries(spec.props)),
    params: compileFormula(spec.params),
    activations: compileFormula(spec.activations),
    outputWidth: spec.output?.width ? compileFormula(spec.output.width) : null,
    outputTokens: spec.output?.tokens ? compileFormula(spec.output.tokens) : null,
    sparseParams: spec.sparseParams ? compileFormula(spec.sparseParams) : null,
  };
}

function metaDefaults(doc: CatalogueDoc): DesignMeta {
  const defaults: Partial<Record<keyof DesignMeta, number>> = {};
  for (const block of Object.values(doc.blocks)) {
    for (const spec of Object.values(block.props)) {
      if (spec.meta) defaults[spec.meta] = spec.default as number;
    }
  }
  const { d_model, n_heads } = defaults;
  if (d_model === undefined || n_heads === undefined) {
    throw new Error("the catalogue has no block props that inherit d_model and n_heads from meta");
  }
  return { d_model, n_heads };
}

export function compileCatalogue(doc: CatalogueDoc): Catalogue {
  return {
    doc,
    blocks: new Map(Object.entries(doc.blocks).map(([type, spec]) => [type, compileBlock(type, spec)])),
    limits: doc.limits,
    constants: new Map(Object.entries(doc.constants)),
    errorCodes: new Map(Object.entries(doc.errors)),
    metaDefaults: metaDefaults(doc),
  };
}

/** The shipped catalogue, compiled once per realm (page or worker). */
export const catalogue: Catalogue = compileCatalogue(catalogueJson as CatalogueDoc);
