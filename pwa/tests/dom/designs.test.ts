/** The designs stored on this device (storage/designs.ts), against IndexedDB (fake-indexeddb). */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TEMPLATES } from "../../src/model/templates";
import type { ModelArchitecture } from "../../src/model/types";
import { studioDb } from "../../src/storage/db";
import {
  addDesign,
  deleteDesign,
  lastOpenedId,
  listDesigns,
  loadDesign,
  loadDocument,
  rememberOpened,
  saveDesign,
  storedIds,
} from "../../src/storage/designs";

const template = (id: string): ModelArchitecture => structuredClone(TEMPLATES.find((t) => t.id === id)!);
const tiny = () => template("tiny-dense");
const named = (id: string, name = id): ModelArchitecture => ({ ...tiny(), id, name });

beforeEach(async () => {
  const db = await studioDb();
  await db.clear("designs");
  await db.clear("settings");
});

afterEach(() => {
  vi.useRealTimers();
});

describe("saving and loading", () => {
  it("loads a saved design back equal to what was saved", async () => {
    const design = tiny();
    await saveDesign(design);
    expect(await loadDesign(design.id)).toEqual({ ok: true, design });
  });

  it("keeps the summary the list shows beside the document", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_700_000_000_000);
    const design = tiny();
    expect(await saveDesign(design)).toBe(1_700_000_000_000);
    expect(await listDesigns()).toEqual([{ id: design.id, name: design.name, blocks: design.components.length, updatedAt: 1_700_000_000_000 }]);
  });

  it("replaces a design saved again under the same id", async () => {
    await saveDesign(named("d", "first"));
    await saveDesign(named("d", "second"));
    const outcome = await loadDesign("d");
    expect(outcome.ok && outcome.design.name).toBe("second");
    expect(await storedIds()).toEqual(new Set(["d"]));
  });

  it("says a design is missing rather than failing", async () => {
    expect(await loadDesign("nowhere")).toEqual({ ok: false, reason: 'No design "nowhere" is stored on this device.' });
    expect(await loadDocument("nowhere")).toBeUndefined();
  });

  it("upgrades a document saved by an older version of the app", async () => {
    const db = await studioDb();
    const legacy = { id: "old", name: "Old", components: [{ id: "board", type: "board_input", props: { xy: [32, 48] } }], edges: [] };
    await db.put("designs", { id: "old", name: "Old", blocks: 1, updatedAt: 1, document: legacy });
    const outcome = await loadDesign("old");
    expect(outcome.ok && outcome.design.components[0]).toEqual({ id: "board", type: "board_input", props: {}, position: { x: 32, y: 48 } });
  });

  it("refuses a stored document that no longer reads, and still exports it as stored", async () => {
    const db = await studioDb();
    const broken = { id: "bad", name: 7, components: [], edges: [] };
    await db.put("designs", { id: "bad", name: "Bad", blocks: 0, updatedAt: 1, document: broken });
    const outcome = await loadDesign("bad");
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.reason).toMatch(/does not match the schema/);
    expect(await loadDocument("bad")).toEqual(broken);
  });
});

describe("listing", () => {
  it("lists the most recently saved design first", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_000);
    await saveDesign(named("a"));
    vi.setSystemTime(2_000);
    await saveDesign(named("b"));
    vi.setSystemTime(3_000);
    await saveDesign(named("c"));
    expect((await listDesigns()).map((summary) => summary.id)).toEqual(["c", "b", "a"]);
    vi.setSystemTime(4_000);
    await saveDesign(named("a", "edited"));
    expect((await listDesigns()).map((summary) => [summary.id, summary.updatedAt])).toEqual([
      ["a", 4_000],
      ["c", 3_000],
      ["b", 2_000],
    ]);
  });

  it("is empty with nothing stored", async () => {
    expect(await listDesigns()).toEqual([]);
    expect(await storedIds()).toEqual(new Set());
  });
});

describe("adding", () => {
  it("adds a design under a free id", async () => {
    expect(await addDesign(named("new"))).toBe(true);
    expect(await storedIds()).toEqual(new Set(["new"]));
  });

  it("never overwrites a stored design", async () => {
    await saveDesign(named("taken", "original"));
    expect(await addDesign(named("taken", "intruder"))).toBe(false);
    const outcome = await loadDesign("taken");
    expect(outcome.ok && outcome.design.name).toBe("original");
  });
});

describe("deleting", () => {
  it("removes the design and only that one", async () => {
    await saveDesign(named("keep"));
    await saveDesign(named("drop"));
    await deleteDesign("drop");
    expect((await listDesigns()).map((summary) => summary.id)).toEqual(["keep"]);
    expect((await loadDesign("drop")).ok).toBe(false);
  });

  it("of a design that is not stored does nothing", async () => {
    await saveDesign(named("keep"));
    await deleteDesign("never");
    expect(await storedIds()).toEqual(new Set(["keep"]));
  });
});

describe("the last opened design", () => {
  it("is remembered, and replaced by the next one opened", async () => {
    expect(await lastOpenedId()).toBeUndefined();
    await rememberOpened("a");
    await rememberOpened("b");
    expect(await lastOpenedId()).toBe("b");
  });
});
