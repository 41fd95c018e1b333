/**
 * The sync service as the app runs it (sync/service.ts), with its header badge and conflict
 * sheet rendered by React in happy-dom; IndexedDB is fake-indexeddb and the server the
 * in-process fake of the design routes.
 */
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { configureApi } from "../../src/api/client";
import { TEMPLATES } from "../../src/model/templates";
import type { ModelArchitecture } from "../../src/model/types";
import { studioDb } from "../../src/storage/db";
import { loadDesign, saveDesign } from "../../src/storage/designs";
import { ConflictSheet } from "../../src/sync/ConflictSheet";
import { getToken } from "../../src/sync/pairing";
import { createSyncService, syncDesign, type SyncService } from "../../src/sync/service";
import { useSyncStatus } from "../../src/sync/status";
import { badgeText, SyncBadge } from "../../src/sync/SyncBadge";
import { useToast } from "../../src/ui/toast";
import { FAKE_ORIGIN, FAKE_TOKEN, FakeDesignServer } from "../support/fakeDesignServer";

const named = (id: string, name: string): ModelArchitecture => ({ ...structuredClone(TEMPLATES.find((t) => t.id === "tiny-dense")!), id, name });

let server: FakeDesignServer;
let restore: () => void;
let service: SyncService;
let container: HTMLDivElement;
let root: Root;

/** Let IndexedDB, the fake server and React settle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await act(async () => new Promise((resolve) => setTimeout(resolve, 5)));
}

beforeEach(async () => {
  const db = await studioDb();
  await Promise.all(["designs", "settings", "sync", "outbox"].map((store) => db.clear(store as "designs")));
  useSyncStatus.setState({ reach: "unpaired", pending: 0, syncing: false, conflicts: [] });
  server = new FakeDesignServer();
  restore = configureApi({ baseUrl: FAKE_ORIGIN, fetch: server.fetch });
  service = createSyncService({ locks: null });
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
});

afterEach(async () => {
  await act(async () => root.unmount());
  container.remove();
  service.stop();
  restore();
  window.history.replaceState(null, "", "/");
});

describe("the sync service", () => {
  it("pairs from the link it was opened with, then shows the server online in the badge", async () => {
    window.history.replaceState(null, "", `/?x=1#pair=${FAKE_TOKEN}`);
    await act(async () => root.render(<SyncBadge />));
    expect(container.textContent).toBe(""); // unpaired, nothing waiting: no badge
    await act(async () => service.start());
    expect(window.location.hash).toBe("");
    expect(window.location.search).toBe("?x=1");
    expect(await getToken()).toBe(FAKE_TOKEN);
    expect(useToast.getState().toast?.message).toMatch(/Paired/);
    await settle();
    expect(container.textContent).toBe("Online");
  });

  it("counts designs waiting while the server is down, and sends them when it is back", async () => {
    window.history.replaceState(null, "", `/#pair=${FAKE_TOKEN}`);
    await act(async () => service.start());
    await act(async () => root.render(<SyncBadge />));
    server.offline = true;
    await saveDesign(named("a", "A"));
    await saveDesign(named("b", "B"));
    await act(async () => {
      await syncDesign("a");
      await syncDesign("b");
    });
    await settle();
    expect(useSyncStatus.getState()).toMatchObject({ reach: "offline", pending: 2 });
    expect(container.textContent).toBe("Offline · 2 waiting");

    server.offline = false;
    window.dispatchEvent(new Event("online")); // the phone is back on the network: probe at once
    await act(async () => vi.waitFor(() => expect(useSyncStatus.getState().reach).toBe("online"), { timeout: 1000, interval: 10 }));
    await act(async () => vi.waitFor(() => expect(useSyncStatus.getState().pending).toBe(0), { timeout: 2000, interval: 20 }));
    expect([...server.designs.keys()]).toEqual(["a", "b"]);
    expect(container.textContent).toBe("Online");
  });

  it("badge words", () => {
    expect(badgeText("online", 0, false)).toBe("Online");
    expect(badgeText("online", 3, false)).toBe("3 waiting");
    expect(badgeText("unauthorized", 1, false)).toBe("Pair again · 1 waiting");
    expect(badgeText("offline", 1, true)).toBe("Syncing…");
  });
});

describe("ConflictSheet", () => {
  async function conflictOnScreen(onCopySaved?: (id: string) => void): Promise<void> {
    window.history.replaceState(null, "", `/#pair=${FAKE_TOKEN}`);
    await act(async () => service.start());
    await saveDesign(named("a", "Base"));
    await act(async () => void (await syncDesign("a")));
    server.writeElsewhere(named("a", "Server edit"));
    await saveDesign(named("a", "Phone edit"));
    await act(async () => root.render(<ConflictSheet onCopySaved={onCopySaved} />));
    expect(container.textContent).toBe("");
    await act(async () => void (await syncDesign("a")));
  }

  const button = (label: string) => [...container.querySelectorAll("button")].find((b) => b.textContent === label)!;

  it("shows both versions and, on Keep both, keeps mine as a new design and takes the server's", async () => {
    const copies: string[] = [];
    await conflictOnScreen((id) => copies.push(id));
    expect(container.querySelector('[role="dialog"]')?.getAttribute("aria-label")).toBe("Changed in two places");
    expect(container.textContent).toContain("On this device");
    expect(container.textContent).toContain("Phone edit");
    expect(container.textContent).toContain("On the server");
    expect(container.textContent).toContain("Server edit");
    expect(container.textContent).toContain("version 2");

    await act(async () => button("Keep both").click());
    await settle();
    expect(copies).toHaveLength(1);
    const copy = await loadDesign(copies[0]);
    expect(copy.ok && copy.design.name).toBe("Phone edit (copy)");
    const original = await loadDesign("a");
    expect(original.ok && original.design.name).toBe("Server edit");
    expect(container.textContent).toBe(""); // resolved: the sheet is gone
  });

  it("on Keep mine sends this device's version over the server's", async () => {
    await conflictOnScreen();
    await act(async () => button("Keep mine").click());
    await settle();
    expect(server.designs.get("a")).toMatchObject({ version: 3, design: { name: "Phone edit" } });
    expect(container.textContent).toBe("");
  });

  it("closing decides nothing: both versions stay as they are", async () => {
    await conflictOnScreen();
    await act(async () => (container.querySelector('button[aria-label="Close Changed in two places"]') as HTMLButtonElement).click());
    expect(container.textContent).toBe("");
    const local = await loadDesign("a");
    expect(local.ok && local.design.name).toBe("Phone edit");
    expect(server.designs.get("a")?.design).toMatchObject({ name: "Server edit" });
  });
});
