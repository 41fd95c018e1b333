/**
 * The validation Web Worker: validates each design it is sent and answers with the result,
 * tagged with the request's revision. Validation is synchronous and never throws, so requests
 * are answered in order, one for one.
 */
import { validateDesign } from "../model/validate";
import type { ValidationReply, ValidationRequest } from "./client";

const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = ({ data }: MessageEvent<ValidationRequest>) => {
  const reply: ValidationReply = { revision: data.revision, result: validateDesign(data.design) };
  scope.postMessage(reply);
};
