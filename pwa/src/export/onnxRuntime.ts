/**
 * Run an exported `.onnx` on this device with onnxruntime-web (the wasm backend only).
 *
 * The library (~70 kB of JS and a ~14 MB .wasm) loads on the first check, never with the app:
 * `import("onnxruntime-web/wasm")` makes it a separate chunk, and the .wasm is an asset of our
 * own origin (the `?url` import makes Vite ship it), so it is fetched only then, and the service
 * worker caches it for offline use. The `/wasm` build has the wasm glue code bundled in, so the
 * .wasm is the only other file it needs.
 *
 * One thread: multi-threaded wasm needs SharedArrayBuffer, which browsers give only to
 * cross-origin-isolated pages (COOP/COEP headers). With `numThreads = 1` and no proxy worker,
 * onnxruntime never asks for it, and a few boards take milliseconds anyway.
 */
import defaultWasmUrl from "onnxruntime-web/ort-wasm-simd-threaded.wasm?url";
import { BOARD_CELLS, MOVES, type CheckBoards } from "./boards";
import { rowsOf, type PolicyOutputs } from "./verify";

type Ort = typeof import("onnxruntime-web/wasm");

/** The exported model's input and output names (model_studio.export). */
export const ONNX_INPUTS = ["board", "action_mask"] as const;
export const ONNX_OUTPUTS = ["logits", "value"] as const;

let loading: Promise<Ort> | null = null;

/** Where onnxruntime finds its .wasm: the file's own URL, or a folder URL that holds it under its
 * original name (what Node needs: there it reads a file: folder, but cannot fetch a file: URL). */
export type WasmPaths = { wasm: string } | string;

/**
 * The onnxruntime module, imported and set up on first use, its .wasm from `wasmPaths` (by
 * default the asset Vite built); the first call's setting wins.
 */
export function loadOnnxRuntime(wasmPaths: WasmPaths = { wasm: defaultWasmUrl }): Promise<Ort> {
  if (!loading) {
    const attempt = import("onnxruntime-web/wasm").then((ort) => {
      ort.env.wasm.wasmPaths = wasmPaths;
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.proxy = false;
      return ort;
    });
    loading = attempt;
    // A failed download (offline, the first time) may be retried later.
    attempt.catch(() => {
      if (loading === attempt) loading = null;
    });
  }
  return loading;
}

/** Why an `.onnx` could not be run: not a model, not our model's inputs, or the runtime itself failed to load. */
export class OnnxRunError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "OnnxRunError";
  }
}

/** Logits and values of the model in `bytes` for `input`'s boards. */
export async function runOnnx(bytes: Uint8Array, input: CheckBoards, wasmPaths?: WasmPaths): Promise<PolicyOutputs> {
  let ort: Ort;
  try {
    ort = await loadOnnxRuntime(wasmPaths);
  } catch (error) {
    throw new OnnxRunError(`onnxruntime did not load: ${messageOf(error)}`, error);
  }
  let session: Awaited<ReturnType<Ort["InferenceSession"]["create"]>>;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  } catch (error) {
    throw new OnnxRunError(`onnxruntime cannot load this file: ${messageOf(error)}`, error);
  }
  try {
    const missing = ONNX_INPUTS.filter((name) => !session.inputNames.includes(name));
    if (missing.length) throw new OnnxRunError(`The model has no input ${missing.join(", ")} (it has ${session.inputNames.join(", ")}).`);
    const count = input.boards.length;
    const feeds = {
      board: new ort.Tensor("int64", BigInt64Array.from(input.boards.flat(), (cell) => BigInt(cell)), [count, BOARD_CELLS]),
      action_mask: new ort.Tensor("bool", Uint8Array.from(input.masks.flat(), (legal) => (legal ? 1 : 0)), [count, MOVES.length]),
    };
    let results: Awaited<ReturnType<typeof session.run>>;
    try {
      results = await session.run(feeds);
    } catch (error) {
      throw new OnnxRunError(`onnxruntime failed to run the model: ${messageOf(error)}`, error);
    }
    const [logits, values] = ONNX_OUTPUTS.map((name) => results[name]);
    if (!logits || !values) throw new OnnxRunError(`The model does not output ${ONNX_OUTPUTS.join(" and ")}.`);
    return { logits: rowsOf(logits.data as Float32Array, MOVES.length), values: Array.from(values.data as Float32Array) };
  } finally {
    await session.release();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
