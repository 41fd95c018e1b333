import { describe, expect, it } from "vitest";
import { createAutosaver, type SaveState } from "../../src/storage/autosave";
import { TEMPLATES } from "../../src/model/templates";
import type { ModelArchitecture } from "../../src/model/types";

const DELAY_MS = 20;
const named = (name: string): ModelArchitecture => ({ ...TEMPLATES[0], name });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function recorder(fail = () => false) {
  const written: string[] = [];
  const states: SaveState[] = [];
  const saver = createAutosaver(
    async (design) => {
      if (fail()) throw new Error("disk full");
      written.push(design.name);
    },
    (state) => states.push(state),
    DELAY_MS,
  );
  return { saver, written, states };
}

describe("createAutosaver", () => {
  it("writes a burst of edits once, after they pause, with the latest design", async () => {
    const { saver, written, states } = recorder();
    saver.schedule(named("a"));
    saver.schedule(named("b"));
    saver.schedule(named("c"));
    expect(written).toEqual([]);
    await sleep(DELAY_MS * 3);
    expect(written).toEqual(["c"]);
    expect(states.at(-1)).toBe("saved");
  });

  it("flush writes at once and resolves when stored", async () => {
    const { saver, written, states } = recorder();
    saver.schedule(named("now"));
    await saver.flush();
    expect(written).toEqual(["now"]);
    expect(states).toEqual(["pending", "saving", "saved"]);
    await sleep(DELAY_MS * 2);
    expect(written).toEqual(["now"]);
  });

  it("keeps a design whose write failed and writes it on the next flush", async () => {
    let failing = true;
    const { saver, written, states } = recorder(() => failing);
    saver.schedule(named("kept"));
    await saver.flush();
    expect(states.at(-1)).toBe("failed");
    failing = false;
    await saver.flush();
    expect(written).toEqual(["kept"]);
    expect(states.at(-1)).toBe("saved");
  });

  it("writes in the order the edits were made", async () => {
    const { saver, written } = recorder();
    saver.schedule(named("first"));
    const first = saver.flush();
    saver.schedule(named("second"));
    await Promise.all([first, saver.flush()]);
    expect(written).toEqual(["first", "second"]);
  });
});
