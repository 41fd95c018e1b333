/**
 * The wire types shared with the server, from the generated `api/types.ts` (itself generated
 * from `schema/openapi.json`, generated from the Python msgspec structs).
 *
 * A `ModelArchitecture` here is a decoded design: every optional field has its default filled in
 * (see `decodeDesign` in `schema.ts`), so rules never have to guess. On the wire those fields may
 * be missing; `Filled` says they are not, here.
 */
import type * as Wire from "../api/types";

/** `T` with every optional field present, all the way down (arrays and tuples keep their shape). */
export type Filled<T> = T extends readonly unknown[]
  ? { [K in keyof T]: Filled<T[K]> }
  : T extends object
    ? { [K in keyof T]-?: Filled<T[K]> }
    : T;

/** A design: blocks and the directed edges that wire them. */
export type ModelArchitecture = Filled<Wire.ModelArchitecture>;
/** One block: its type from the catalogue, its props, and its canvas position. */
export type ModelComponent = Filled<Wire.ModelComponent>;
/** Where a block sits on the canvas. Layout only: it never affects the model. */
export type Position = Filled<Wire.Position>;
/** Design-wide defaults that blocks inherit when their own prop is unset. */
export type DesignMeta = Filled<Wire.DesignMeta>;
/** A directed edge `[source_id, target_id]`. */
export type Edge = ModelArchitecture["edges"][number];
/** A prop value as JSON carries it; the catalogue decides which of these a prop accepts. */
export type PropValue = ModelComponent["props"][string];
/** One validation error, with `component` and `hint` null when they do not apply. */
export type DesignError = Filled<Wire.DesignError>;
/** The validator's verdict: `paramCount` in millions, `estimatedMemory` and `memoryBreakdown` in MiB. */
export type ValidationResult = Filled<Wire.ValidationResult>;
