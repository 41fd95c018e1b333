/**
 * The wire types shared with the server, mirroring `schema/model-architecture.schema.json` and
 * `schema/validation-result.schema.json` (generated there from the Python msgspec structs).
 *
 * A `ModelArchitecture` here is a decoded design: every optional field has its default filled in
 * (see `decodeDesign` in `schema.ts`), so rules never have to guess.
 */

/** A prop value as JSON carries it; the catalogue decides which of these a prop accepts. */
export type PropValue = number | string | boolean;

/** Where a block sits on the canvas. Layout only: it never affects the model. */
export interface Position {
  x: number;
  y: number;
}

/** One block: its type from the catalogue, its props, and its canvas position. */
export interface ModelComponent {
  id: string;
  type: string;
  props: Record<string, PropValue>;
  position: Position;
}

/** Design-wide defaults that blocks inherit when their own prop is unset. */
export interface DesignMeta {
  d_model: number;
  n_heads: number;
}

/** A directed edge `[source_id, target_id]`. */
export type Edge = [source: string, target: string];

/** A design: blocks and the directed edges that wire them. */
export interface ModelArchitecture {
  id: string;
  name: string;
  description: string;
  components: ModelComponent[];
  edges: Edge[];
  meta: DesignMeta;
  schemaVersion: number;
}

/**
 * One validation error. `code` is stable (see the catalogue's `errors`); `component` is the
 * offending block's id, or null for the design as a whole; `hint` suggests a fix where one exists.
 */
export interface DesignError {
  code: string;
  message: string;
  component: string | null;
  hint: string | null;
}

/**
 * `paramCount` is in millions; `paramCountExact` equals `sum(p.numel())` of the compiled model;
 * `estimatedMemory` is training memory in MiB.
 */
export interface ValidationResult {
  valid: boolean;
  paramCount: number;
  paramCountExact: number;
  estimatedMemory: number;
  errors: DesignError[];
}
