// Types for the generated validator beside this file (see pwa/scripts/gen-validators.mjs).
import type { ErrorObject } from "ajv";

/** True when `data` matches schema/model-architecture.schema.json; otherwise `errors` says why (all of them). */
export interface ArchitectureValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

export declare const validate: ArchitectureValidator;
export default validate;
