/**
 * The phone's check end to end, minus the browser: onnxruntime-web (the same wasm build the app
 * ships, here in Node) runs a real `.onnx` made by the server's exporter, and its answer on the
 * check boards must match what the server's predict worker computes with torch for them.
 *
 * The export and torch's answer come from the repo's Python venv (a few seconds: torch import
 * and the ONNX export); without the venv the test is skipped and says why.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkBoards } from "../../src/export/boards";
import { OnnxRunError, runOnnx } from "../../src/export/onnxRuntime";
import { compareOutputs, ILLEGAL_LOGIT, type PolicyOutputs } from "../../src/export/verify";

const REPO = resolve(__dirname, "../../..");
const PYTHON = join(REPO, ".venv/bin/python");
const TEMPLATE = join(REPO, "schema/templates/tiny-dense.json");
/** Node reads the .wasm from a folder (it cannot fetch a file: URL as browsers fetch ours). */
const WASM_FOLDER = pathToFileURL(resolve(__dirname, "../../node_modules/onnxruntime-web/dist/")).href + "/";
const PYTHON_TIMEOUT_MS = 120_000;

/** Export the design to `out` and print torch's answer for the boards on stdin, as the server does. */
const EXPORT_AND_PREDICT = `
import json, sys
from pathlib import Path
from model_studio.export import export_bytes
from model_studio.exports import _predict
request = json.load(sys.stdin)
design = Path(request["design"]).read_text()
Path(request["out"]).write_bytes(export_bytes(design, "onnx"))
logits, values = _predict(design, None, request["boards"], request["masks"])
json.dump({"logits": logits, "values": values}, sys.stdout)
`;

const input = checkBoards();
let folder = "";
let onnxBytes = new Uint8Array();
let server: PolicyOutputs = { logits: [], values: [] };

describe.skipIf(!existsSync(PYTHON))("runOnnx on a real export (needs .venv: run `just setup`)", () => {
  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), "onnx-check-"));
    const out = join(folder, "tiny-dense.onnx");
    const stdout = execFileSync(PYTHON, ["-c", EXPORT_AND_PREDICT], {
      input: JSON.stringify({ design: TEMPLATE, out, ...input }),
      encoding: "utf8",
      timeout: PYTHON_TIMEOUT_MS,
      env: { ...process.env, OMP_NUM_THREADS: "1" },
    });
    server = JSON.parse(stdout) as PolicyOutputs;
    onnxBytes = new Uint8Array(readFileSync(out));
  }, PYTHON_TIMEOUT_MS);

  afterAll(() => {
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it("matches torch to 1e-4 on every legal move and value, with illegal moves masked", async () => {
    const phone = await runOnnx(onnxBytes, input, WASM_FOLDER);
    expect(phone.logits).toHaveLength(input.boards.length);
    expect(phone.logits.at(-1)).toEqual([ILLEGAL_LOGIT, ILLEGAL_LOGIT, ILLEGAL_LOGIT, ILLEGAL_LOGIT]);
    const comparison = compareOutputs(phone, server, input.masks);
    expect(comparison.problems).toEqual([]);
    expect(comparison.ok).toBe(true);
    expect(comparison.maxDiff).toBeLessThan(1e-4);
  });

  it("would catch other weights: the same boards against a shifted answer fail", async () => {
    const phone = await runOnnx(onnxBytes, input, WASM_FOLDER);
    const shifted = { logits: server.logits, values: Array.from(server.values, (value) => value + 1e-3) };
    expect(compareOutputs(phone, shifted, input.masks).ok).toBe(false);
  });

  it("refuses bytes that are not a model with a clear error", async () => {
    await expect(runOnnx(new TextEncoder().encode("<html>not a model</html>"), input, WASM_FOLDER)).rejects.toThrow(OnnxRunError);
    await expect(runOnnx(new TextEncoder().encode("<html>not a model</html>"), input, WASM_FOLDER)).rejects.toThrow(/cannot load this file/);
  });
});
