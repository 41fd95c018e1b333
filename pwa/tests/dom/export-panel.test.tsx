/**
 * The export panel in happy-dom: each download syncs first, saves the server's bytes under the
 * Content-Disposition name, shows X-Model-Weights, refuses clearly, and checks an `.onnx` from
 * exactly the bytes it saved. The server is an in-process fake of the export route; the check
 * itself (onnxruntime-web against /predict) is tested on a real export in
 * tests/unit/onnx-runtime.test.ts and in the browser by the end-to-end suite.
 */
import { IDBFactory } from "fake-indexeddb";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { configureApi } from "../../src/api/client";
import type { DownloadedExport } from "../../src/export/download";
import { ExportPanel, type ExportPanelProps, type SyncCheck } from "../../src/export/ExportPanel";
import { checkOnnxExport, type OnnxCheck } from "../../src/export/onnxCheck";
import { filenameFromDisposition, safeFilename } from "../../src/export/download";

const TOKEN = "export-panel-token-0123";
const PY_SOURCE = "class GeneratedModel:\n    pass\n";

interface Saved {
  filename: string;
  text: string;
}

let container: HTMLDivElement;
let root: Root;
let restoreApi: () => void;
let requests: string[];
let saved: Saved[];
let answer: (url: URL) => Response;
const blobs = new Map<string, Blob>();

function exportResponse(url: URL): Response {
  const fmt = url.searchParams.get("fmt")!;
  const body = fmt === "py" ? PY_SOURCE : new Uint8Array([8, 1, 18, 4, 116, 101, 115, 116]);
  return new Response(body, {
    status: 200,
    headers: {
      "Content-Disposition": `attachment; filename="tiny-dense-run1.${fmt}"`,
      "Content-Type": fmt === "py" ? "text/x-python; charset=utf-8" : "application/octet-stream",
      "X-Model-Weights": "run run1, update 4",
    },
  });
}

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory(); // telemetry events land here
  requests = [];
  saved = [];
  answer = exportResponse;
  restoreApi = configureApi({
    baseUrl: "",
    getToken: async () => TOKEN,
    fetch: async (input, init) => {
      const url = new URL(String(input), "http://phone.test");
      requests.push(`${init?.method ?? "GET"} ${url.pathname}${url.search}`);
      expect(new Headers(init?.headers).get("authorization")).toBe(`Bearer ${TOKEN}`);
      return answer(url);
    },
  });
  // Record what `<a download>` would save, instead of letting happy-dom navigate to the blob.
  vi.spyOn(URL, "createObjectURL").mockImplementation((blob) => {
    const url = `blob:phone/${blobs.size}`;
    blobs.set(url, blob as Blob);
    return url;
  });
  vi.spyOn(URL, "revokeObjectURL").mockImplementation(() => undefined);
  document.addEventListener("click", recordDownload, true);
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
});

afterEach(() => {
  act(() => root.unmount());
  container.remove();
  document.removeEventListener("click", recordDownload, true);
  restoreApi();
  vi.restoreAllMocks();
});

function recordDownload(event: Event): void {
  const link = event.target;
  if (!(link instanceof HTMLAnchorElement) || !link.download) return;
  event.preventDefault();
  const blob = blobs.get(link.href)!;
  pendingReads.push(blob.text().then((text) => void saved.push({ filename: link.download, text })));
}
const pendingReads: Promise<void>[] = [];

async function settle(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out; status: ${text("export-status")}`);
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
    });
  }
  await Promise.all(pendingReads);
}

function render(props: Partial<ExportPanelProps> = {}) {
  const sync = props.sync ?? vi.fn(async (): Promise<SyncCheck> => ({ ok: true }));
  act(() => root.render(<ExportPanel designId="tiny-dense" sync={sync} {...props} />));
  return sync;
}

const button = (ext: string) => [...container.querySelectorAll("button")].find((b) => b.textContent?.startsWith(ext))!;
const byTestId = (id: string) => container.querySelector(`[data-testid="${id}"]`);
const text = (id: string) => byTestId(id)?.textContent ?? "";

describe("ExportPanel", () => {
  it("syncs, then downloads and saves the file under the server's name, showing whose weights", async () => {
    const order: string[] = [];
    const sync = render({
      sync: vi.fn(async (id: string) => {
        order.push(`sync ${id} (requests so far: ${requests.length})`);
        return { ok: true } as const;
      }),
    });
    expect(byTestId("onnx-check")?.getAttribute("data-state")).toBe("idle");
    act(() => button(".py").click());
    await settle(() => saved.length === 1);
    expect(order).toEqual(["sync tiny-dense (requests so far: 0)"]);
    expect(sync).toHaveBeenCalledTimes(1);
    expect(requests).toEqual(["GET /api/designs/tiny-dense/export?fmt=py"]);
    expect(saved).toEqual([{ filename: "tiny-dense-run1.py", text: PY_SOURCE }]);
    expect(text("export-status")).toBe(`Saved tiny-dense-run1.py (${new TextEncoder().encode(PY_SOURCE).length} B).`);
    expect(text("export-weights")).toBe("Weights: run run1, update 4");
    expect(byTestId("onnx-check")?.getAttribute("data-state")).toBe("idle"); // only an .onnx is checked
  });

  it("asks for the named run's checkpoint", async () => {
    render({ run: "run1" });
    act(() => button(".pt").click());
    await settle(() => saved.length === 1);
    expect(requests).toEqual(["GET /api/designs/tiny-dense/export?fmt=pt&run=run1"]);
  });

  it("stops before downloading when the sync says no, and says why", async () => {
    render({ sync: async () => ({ ok: false, message: "The server has another version of this design: resolve the conflict first." }) });
    act(() => button(".onnx").click());
    await settle(() => text("export-status").startsWith("Could not"));
    expect(requests).toEqual([]);
    expect(text("export-status")).toBe("Could not export .onnx: The server has another version of this design: resolve the conflict first.");
  });

  it("shows the server's reason for a refusal and stays usable", async () => {
    answer = () => Response.json({ error: { code: "no_checkpoint", message: "Run run1 has no checkpoint yet." } }, { status: 409 });
    render({ run: "run1" });
    act(() => button(".pt").click());
    await settle(() => text("export-status").startsWith("Could not"));
    expect(text("export-status")).toBe("Could not export .pt: Run run1 has no checkpoint yet.");
    expect(saved).toEqual([]);
    expect(button(".pt").disabled).toBe(false);
  });

  it("says so when the server cannot be reached", async () => {
    answer = () => {
      throw new TypeError("Failed to fetch");
    };
    render();
    act(() => button(".py").click());
    await settle(() => text("export-status").startsWith("Could not"));
    expect(text("export-status")).toContain("The server cannot be reached");
  });

  it("checks the .onnx from exactly the bytes it saved, and shows the verdict with its max difference", async () => {
    const checked: DownloadedExport[] = [];
    let finish: (check: OnnxCheck) => void = () => undefined;
    const checkOnnx = vi.fn(async (_id: string, file: DownloadedExport) => {
      checked.push(file);
      return new Promise<OnnxCheck>((resolve) => (finish = resolve));
    });
    render({ checkOnnx });
    act(() => button(".onnx").click());
    await settle(() => byTestId("onnx-check")?.getAttribute("data-state") === "running");
    expect(button(".py").disabled).toBe(true);
    expect(checked[0].bytes).toEqual(new Uint8Array([8, 1, 18, 4, 116, 101, 115, 116]));
    expect(checked[0].weights).toBe("run run1, update 4");
    const message = "Loads in onnxruntime, matches the server to 1e-4 (max difference 2.4e-7).";
    const comparison = { ok: true, maxLogitDiff: 2.4e-7, maxValueDiff: 1e-8, maxDiff: 2.4e-7, problems: [] };
    await act(async () => finish({ state: "ok", comparison, message, weights: "run run1, update 4" }));
    const check = byTestId("onnx-check")!;
    expect(check.getAttribute("data-state")).toBe("ok");
    expect(check.getAttribute("data-max-diff")).toBe("2.4e-7");
    expect(check.textContent).toContain(message);

    act(() => [...check.querySelectorAll("button")].find((b) => b.textContent === "Check again")!.click());
    expect(checkOnnx).toHaveBeenCalledTimes(2);
    expect(checked[1]).toBe(checked[0]);
    await act(async () => finish({ state: "failed", stage: "server", message: "the server's answer did not come" }));
    expect(byTestId("onnx-check")?.getAttribute("data-state")).toBe("failed");
    expect(requests).toEqual(["GET /api/designs/tiny-dense/export?fmt=onnx"]); // checking again downloads nothing
  });

  it("ends the real check, when onnxruntime cannot start, as a clear failure that asks nothing of the server", async () => {
    // As when the phone is offline before the .wasm was ever cached: here the .wasm is not one.
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const brokenWasm = { wasm: "data:application/wasm;base64,AGFzbQ==" };
    render({ checkOnnx: (id, file) => checkOnnxExport(id, file, { wasmPaths: brokenWasm }) });
    act(() => button(".onnx").click());
    await settle(() => byTestId("onnx-check")?.getAttribute("data-state") === "failed");
    expect(text("onnx-check")).toMatch(/^Does not run in onnxruntime on this device: /);
    expect(requests).toEqual(["GET /api/designs/tiny-dense/export?fmt=onnx"]); // nothing ran: nothing to compare
  });
});

describe("file names", () => {
  it("reads Content-Disposition, preferring filename*", () => {
    expect(filenameFromDisposition('attachment; filename="tiny-dense.onnx"', "x")).toBe("tiny-dense.onnx");
    expect(filenameFromDisposition("attachment; filename*=UTF-8''d%C3%A9sign.py; filename=\"design.py\"", "x")).toBe("d\u00e9sign.py");
    expect(filenameFromDisposition("attachment; filename=plain.pt", "x")).toBe("plain.pt");
    expect(filenameFromDisposition("attachment", "tiny.pt")).toBe("tiny.pt");
    expect(filenameFromDisposition(null, "tiny.pt")).toBe("tiny.pt");
    expect(filenameFromDisposition("attachment; filename*=UTF-8''%E0%A4%A", "fallback.py")).toBe("fallback.py");
  });

  it("never yields a path or a hidden file", () => {
    expect(safeFilename("../../etc/passwd", "x")).toBe("passwd");
    expect(safeFilename("..\\..\\boot.ini", "x")).toBe("boot.ini");
    expect(safeFilename(".bashrc", "x")).toBe("bashrc");
    expect(safeFilename('a<b>:"c"|?*.py', "x")).toBe("a_b_c_.py");
    expect(safeFilename("...", "fallback.onnx")).toBe("fallback.onnx");
  });
});
