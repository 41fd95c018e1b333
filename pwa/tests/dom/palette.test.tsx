/**
 * The block palette lists every catalogue block by its label and doc, read from the catalogue
 * alone, so a new block (the tuple network) appears with nothing else to add; tapping one adds it.
 */
import { ReactFlowProvider } from "@xyflow/react";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Palette } from "../../src/editor/Palette";
import { openInEditor, useEditor } from "../../src/editor/store";
import { catalogue } from "../../src/model/catalogue";
import { TEMPLATES } from "../../src/model/templates";
import { validateDesign } from "../../src/model/validate";
import { useToast } from "../../src/ui/toast";

let container: HTMLDivElement;
let root: Root;

beforeEach(async () => {
  openInEditor(structuredClone(TEMPLATES.find((t) => t.id === "tiny-dense")!));
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
  await act(async () => {
    root.render(
      <ReactFlowProvider>
        <Palette />
      </ReactFlowProvider>,
    );
  });
});

afterEach(async () => {
  await act(async () => root.unmount());
  container.remove();
});

const button = (label: string) => container.querySelector<HTMLButtonElement>(`button[aria-label="Add ${label}"]`);

describe("palette", () => {
  it("offers every catalogue block, the tuple network among them", () => {
    for (const { spec } of catalogue.blocks.values()) expect(button(spec.label), spec.label).not.toBeNull();
    const tuples = button("Tuple network")!;
    expect(tuples.textContent).toContain(catalogue.blocks.get("ntuple")!.spec.doc);
  });

  it("adds a tuple network that takes the board and validates once wired", async () => {
    await act(async () => button("Tuple network")!.click());
    const design = useEditor.getState().design!;
    const added = design.components.find((component) => component.type === "ntuple")!;
    expect(added).toMatchObject({ id: "ntuple", props: {} });
    expect(useToast.getState().toast?.message).toBe("Added Tuple network ntuple.");
    // In place of the template's embedding: board -> ntuple -> the first dense layer.
    const components = design.components.filter((component) => component.type !== "embedding");
    const edges = [["board", "ntuple"], ["ntuple", "hidden1"], ["hidden1", "hidden2"], ["hidden2", "policy"]];
    const result = validateDesign({ ...design, components, edges });
    expect(result.errors).toEqual([]);
    expect(result.paramCountExact).toBe(8 * 65536 * 32 + 32 + (32 * 256 + 256) + (256 * 256 + 256) + (256 * 5 + 5));
  });
});
