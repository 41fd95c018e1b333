/**
 * The library service (app/library.ts) against IndexedDB (fake-indexeddb) and real
 * BroadcastChannels: its start/stop pairs, above all the start, stop, start that React StrictMode
 * runs, and how it follows another tab. "Another tab" is a BroadcastChannel on the same name.
 */
import { act, StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createLibrary, flushSaves, openDesign, useLibrary, type LibraryService } from "../../src/app/library";
import { useService } from "../../src/app/service";
import { renameDesign } from "../../src/editor/commands";
import { openInEditor, useEditor } from "../../src/editor/store";
import { TEMPLATES } from "../../src/model/templates";
import { dismissToast, useToast } from "../../src/ui/toast";
import type { ModelArchitecture } from "../../src/model/types";
import { AUTOSAVE_DELAY_MS } from "../../src/storage/autosave";
import { CHANNEL_NAME, type DesignEvent } from "../../src/storage/channel";
import { studioDb } from "../../src/storage/db";
import { addDesign, loadDesign, rememberOpened, saveDesign } from "../../src/storage/designs";

const RealChannel = globalThis.BroadcastChannel;
/** The app's channels that are open now: the real class, counted. */
const openChannels = new Set<BroadcastChannel>();
class CountedChannel extends RealChannel {
  constructor(name: string) {
    super(name);
    openChannels.add(this);
  }
  override close(): void {
    openChannels.delete(this);
    super.close();
  }
}

/** Long enough for a BroadcastChannel message to arrive, and for any stray autosave to fire. */
const settle = (ms = 30) => new Promise((resolve) => setTimeout(resolve, ms));

const design = (): ModelArchitecture => structuredClone(TEMPLATES.find((t) => t.id === "tiny-dense")!);
const storedName = async (id: string) => {
  const outcome = await loadDesign(id);
  return outcome.ok ? outcome.design.name : null;
};

let otherTab: BroadcastChannel;
let heard: DesignEvent[];
const savesHeard = (id: string) => heard.filter((event) => event.type === "saved" && event.id === id).length;
/** A second autosaver left running would write too and then fail to announce on its closed channel. */
function expectOneCleanSave(id: string): void {
  expect(savesHeard(id)).toBe(1);
  expect(useLibrary.getState().saveState).toBe("saved");
  expect(useToast.getState().toast).toBeNull();
}
const libraries: LibraryService[] = [];
function library(): LibraryService {
  const made = createLibrary();
  libraries.push(made);
  return made;
}

beforeAll(() => {
  vi.stubGlobal("BroadcastChannel", CountedChannel);
});

afterAll(() => {
  vi.unstubAllGlobals();
});

beforeEach(async () => {
  const db = await studioDb();
  await db.clear("designs");
  await db.clear("settings");
  openInEditor(null);
  useLibrary.setState({ ready: false, designs: [], saveState: "saved", persistent: null });
  dismissToast();
  heard = [];
  otherTab = new RealChannel(CHANNEL_NAME);
  otherTab.onmessage = (message: MessageEvent<DesignEvent>) => heard.push(message.data);
  // The design the app reopens on start.
  await addDesign(design());
  await rememberOpened(design().id);
});

afterEach(async () => {
  await Promise.all(libraries.splice(0).map((made) => made.stop()));
  otherTab.close();
  expect(openChannels.size).toBe(0);
});

describe("the library service", () => {
  it("reopens the last design on start, and saves edits once, announcing them", async () => {
    const running = library();
    await running.start();
    expect(useLibrary.getState().ready).toBe(true);
    expect(useEditor.getState().design?.id).toBe(design().id);
    renameDesign("Edited");
    expect(useLibrary.getState().saveState).toBe("pending");
    await flushSaves();
    expect(await storedName(design().id)).toBe("Edited");
    expect(useLibrary.getState().saveState).toBe("saved");
    await settle();
    expectOneCleanSave(design().id);
  });

  it("survives start, stop, start on one service (StrictMode): one session, and edits after it are saved", async () => {
    const running = library();
    const first = running.start();
    const stopped = running.stop();
    const second = running.start();
    await Promise.all([first, stopped, second]);
    expect(openChannels.size).toBe(1);
    expect(useEditor.getState().design?.id).toBe(design().id);

    renameDesign("After restart");
    await flushSaves();
    await settle(AUTOSAVE_DELAY_MS + 50); // a second autosaver, had one survived, would write by now
    expect(await storedName(design().id)).toBe("After restart");
    expectOneCleanSave(design().id);
  });

  it("survives a stopped service replaced by a new one (StrictMode through useService)", async () => {
    const first = library();
    const second = library();
    void first.start();
    const stopped = first.stop();
    await Promise.all([stopped, second.start()]);
    expect(openChannels.size).toBe(1);

    renameDesign("Second service");
    await flushSaves(); // reaches the running service, not the stopped one
    await settle(AUTOSAVE_DELAY_MS + 50);
    expect(await storedName(design().id)).toBe("Second service");
    expectOneCleanSave(design().id);
  });

  it("writes an edit still waiting when it stops, then closes its channel", async () => {
    const running = library();
    await running.start();
    renameDesign("Written on stop");
    await running.stop();
    expect(openChannels.size).toBe(0);
    expect(await storedName(design().id)).toBe("Written on stop");
    await settle();
    expectOneCleanSave(design().id);
  });

  it("saves nothing and announces nothing once stopped", async () => {
    const running = library();
    await running.start();
    await running.stop();
    renameDesign("After stop");
    await settle(AUTOSAVE_DELAY_MS + 50);
    expect(await storedName(design().id)).toBe(design().name);
    expect(heard).toEqual([]);
  });

  it("can start again after a stop has finished", async () => {
    const running = library();
    await running.start();
    await running.stop();
    await running.start();
    expect(openChannels.size).toBe(1);
    renameDesign("Second life");
    await running.flush();
    expect(await storedName(design().id)).toBe("Second life");
  });

  it("takes a newer copy another tab saved of the open design", async () => {
    await library().start();
    await saveDesign({ ...design(), name: "From the other tab" });
    otherTab.postMessage({ type: "saved", id: design().id, updatedAt: Date.now() } satisfies DesignEvent);
    await vi.waitFor(() => expect(useEditor.getState().design?.name).toBe("From the other tab"));
    expect(useEditor.getState().lastChange).toBe("load"); // not saved back as an edit
  });

  it("closes the open design when another tab deletes it", async () => {
    await library().start();
    otherTab.postMessage({ type: "deleted", id: design().id } satisfies DesignEvent);
    await vi.waitFor(() => expect(useEditor.getState().design).toBeNull());
  });

  it("leaves stopped services deaf to other tabs", async () => {
    const running = library();
    await running.start();
    await running.stop();
    otherTab.postMessage({ type: "deleted", id: design().id } satisfies DesignEvent);
    await settle();
    expect(useEditor.getState().design?.id).toBe(design().id);
  });

  it("opens designs through the running service, and refuses a missing one without throwing", async () => {
    await library().start();
    expect(await openDesign("missing")).toBe(false);
    expect(useEditor.getState().design?.id).toBe(design().id);
  });
});

describe("useService under StrictMode", () => {
  function Services() {
    useService(createLibrary);
    return null;
  }

  it("leaves one library running while mounted, and none once unmounted", async () => {
    const container = document.createElement("div");
    const root = createRoot(container);
    await act(async () => {
      root.render(
        <StrictMode>
          <Services />
        </StrictMode>,
      );
    });
    await vi.waitFor(() => expect(useLibrary.getState().ready).toBe(true));
    expect(openChannels.size).toBe(1);

    renameDesign("Mounted");
    await flushSaves();
    await settle(AUTOSAVE_DELAY_MS + 50);
    expect(await storedName(design().id)).toBe("Mounted");
    expectOneCleanSave(design().id);

    await act(async () => root.unmount());
    await vi.waitFor(() => expect(openChannels.size).toBe(0));
  });
});
