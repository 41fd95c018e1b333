/** The compile view's code and config: numbered lines that copy clean, Copy with its fallback. */
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CodeView, sourceLines } from "../../src/train/CodeView";
import { ConfigList, configText } from "../../src/train/CompileSheet";

const SOURCE = 'class GeneratedModel(GameTransformer):\n    """Design \'tiny\'."""\n\n    def forward(self, x):\n        return self.policy_and_value([x], None)\n';

let container: HTMLDivElement;
let root: Root;

beforeEach(() => {
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
});

afterEach(() => {
  act(() => root.unmount());
  container.remove();
  vi.unstubAllGlobals();
});

const render = (element: React.ReactNode) => act(() => root.render(element));
const code = () => container.querySelector('[data-testid="code-view-code"]')!;
const copyButton = () => container.querySelector<HTMLButtonElement>('button[aria-label="Copy generated source"]')!;
const note = () => container.querySelector(".code-view__note")!.textContent;

describe("CodeView", () => {
  it("numbers every line from 1, keeping blank lines, and keeps the numbers out of the text", () => {
    render(<CodeView source={SOURCE} label="Generated source" />);
    const lines = [...container.querySelectorAll(".code-view__line")];
    expect(lines.map((line) => line.getAttribute("data-line"))).toEqual(["1", "2", "3", "4", "5"]);
    expect(lines[2].textContent).toBe("\n");
    // What a user selects and copies by hand is the source itself, numbers and all excluded.
    expect(code().textContent).toBe(SOURCE);
    expect(container.querySelector('[role="region"][aria-label="Generated source"]')).not.toBeNull();
    expect(container.textContent).toContain("5 lines");
  });

  it("copies the exact source with the clipboard API", async () => {
    const writeText = vi.fn(async () => {});
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
    render(<CodeView source={SOURCE} label="Generated source" fileName="tiny.py" />);
    await act(async () => copyButton().click());
    expect(writeText).toHaveBeenCalledWith(SOURCE);
    expect(note()).toBe("Copied tiny.py to the clipboard.");
  });

  it("without a clipboard (plain HTTP), selects the code and says how to copy it", async () => {
    vi.stubGlobal("navigator", { ...navigator, clipboard: undefined });
    render(<CodeView source={SOURCE} label="Generated source" />);
    await act(async () => copyButton().click());
    expect(note()).toContain("The code is selected");
    expect(window.getSelection()?.toString()).toBe(SOURCE);
  });

  it("falls back the same way when the browser refuses the write", async () => {
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText: async () => Promise.reject(new DOMException("denied", "NotAllowedError")) } });
    render(<CodeView source={SOURCE} label="Generated source" />);
    await act(async () => copyButton().click());
    expect(note()).toContain("The code is selected");
  });

  it("splits CRLF and LF alike, without an empty line after a final newline", () => {
    expect(sourceLines("a\r\nb\nc\n")).toEqual(["a", "b", "c"]);
    expect(sourceLines("")).toEqual([""]);
  });
});

describe("ConfigList", () => {
  it("lists the compile config as readable keys and values", () => {
    const config = {
      design_id: "moe-router",
      param_count: 123456,
      attributes: { embed: "embed", experts: "experts" },
      moe_layers: [{ id: "experts", n_experts: 4, top_k: 2, lb_coef: 0.01 }],
      checkpointed: [],
      action_outputs: ["policy"],
    };
    render(<ConfigList config={config} />);
    const rows = [...container.querySelectorAll('[data-testid="compile-config"] > .config-list__row')];
    const text = Object.fromEntries(rows.map((row) => [row.querySelector("dt")!.textContent, row.querySelector("dd")!.textContent]));
    expect(text.design_id).toBe("moe-router");
    expect(text.param_count).toBe("123,456");
    expect(text.moe_layers).toBe("id experts · n_experts 4 · top_k 2 · lb_coef 0.01");
    expect(text.checkpointed).toBe("none");
    expect(text.action_outputs).toBe("policy");
    expect(container.querySelectorAll('[data-testid="compile-config"] .config-list .config-list__row')).toHaveLength(2);
  });

  it("shows odd values as JSON rather than failing", () => {
    expect(configText([[1, 2], [3]])).toBe("[[1,2],[3]]");
    expect(configText(null)).toBe("none");
    expect(configText(true)).toBe("true");
  });
});
