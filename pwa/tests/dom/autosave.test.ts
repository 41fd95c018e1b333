/**
 * Saving when the page goes away (storage/autosave.ts `flushWhenHidden`), with a real document and
 * window; the debounce itself is covered in tests/unit/autosave.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createAutosaver, flushWhenHidden } from "../../src/storage/autosave";
import { TEMPLATES } from "../../src/model/templates";

/** A delay long enough that only a flush can write within a test. */
const NEVER_MS = 60_000;

function setVisibility(state: DocumentVisibilityState): void {
  Object.defineProperty(document, "visibilityState", { value: state, configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}

function saverWritingTo(written: string[]) {
  return createAutosaver(
    async (design) => {
      written.push(design.name);
    },
    () => undefined,
    NEVER_MS,
  );
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

afterEach(() => {
  setVisibility("visible");
});

describe("flushWhenHidden", () => {
  it("writes the pending edit as soon as the page is hidden", async () => {
    const written: string[] = [];
    const saver = saverWritingTo(written);
    const stop = flushWhenHidden(saver);
    saver.schedule({ ...TEMPLATES[0], name: "hidden" });
    setVisibility("visible");
    await settle();
    expect(written).toEqual([]);
    setVisibility("hidden");
    await settle();
    expect(written).toEqual(["hidden"]);
    stop();
  });

  it("writes the pending edit when the page is unloaded", async () => {
    const written: string[] = [];
    const saver = saverWritingTo(written);
    const stop = flushWhenHidden(saver);
    saver.schedule({ ...TEMPLATES[0], name: "unloaded" });
    window.dispatchEvent(new Event("pagehide"));
    await settle();
    expect(written).toEqual(["unloaded"]);
    stop();
  });

  it("stops listening once stopped", async () => {
    const written: string[] = [];
    const saver = saverWritingTo(written);
    flushWhenHidden(saver)();
    saver.schedule({ ...TEMPLATES[0], name: "left" });
    setVisibility("hidden");
    window.dispatchEvent(new Event("pagehide"));
    await settle();
    expect(written).toEqual([]);
  });
});
