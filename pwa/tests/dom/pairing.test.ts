/**
 * Pairing (sync/pairing.ts): a `#pair=<token>` link stores the token and leaves the address bar
 * at once, keeping the path, the query and any other fragment keys; unpairing forgets it.
 */
import { IDBFactory } from "fake-indexeddb";
import { beforeEach, describe, expect, it, vi } from "vitest";

type Pairing = typeof import("../../src/sync/pairing");

const TOKEN = "Abc_DEF-0123456789xyz";

async function fresh(): Promise<Pairing> {
  vi.resetModules(); // a new database connection for the new IndexedDB
  return import("../../src/sync/pairing");
}

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
  window.history.replaceState(null, "", "/");
});

describe("pairing from the address bar", () => {
  it("stores the token and removes it from the URL, keeping path and query, without a history entry", async () => {
    const pairing = await fresh();
    window.history.replaceState(null, "", `/studio/?tab=2#pair=${TOKEN}`);
    const entries = window.history.length;
    expect(await pairing.pairFromLocation()).toBe("paired");
    expect(window.location.href).toBe(`${window.location.origin}/studio/?tab=2`);
    expect(window.location.hash).toBe("");
    expect(window.history.length).toBe(entries);
    expect(await pairing.getToken()).toBe(TOKEN);
  });

  it("keeps other fragment keys", async () => {
    const pairing = await fresh();
    window.history.replaceState(null, "", `/#pair=${TOKEN}&view=runs`);
    expect(await pairing.pairFromLocation()).toBe("paired");
    expect(window.location.hash).toBe("#view=runs");
  });

  it("wipes the URL at once when captured early, and stores the token when the service starts", async () => {
    const pairing = await fresh();
    window.history.replaceState(null, "", `/#pair=${TOKEN}`);
    pairing.capturePairFragment();
    expect(window.location.href).not.toContain(TOKEN); // synchronously, before any await
    expect(await pairing.getToken()).toBeNull();
    expect(await pairing.pairFromLocation()).toBe("paired");
    expect(await pairing.getToken()).toBe(TOKEN);
  });

  it("refuses a malformed token, still wiping it, and keeps the previous pairing", async () => {
    const pairing = await fresh();
    await pairing.setToken(TOKEN);
    window.history.replaceState(null, "", "/#pair=short");
    expect(await pairing.pairFromLocation()).toBe("invalid");
    expect(window.location.hash).toBe("");
    expect(await pairing.getToken()).toBe(TOKEN);
    await expect(pairing.setToken("has spaces in it, not a token")).rejects.toThrow(/not valid/);
  });

  it("does nothing without a pairing fragment", async () => {
    const pairing = await fresh();
    window.history.replaceState(null, "", "/#section");
    expect(await pairing.pairFromLocation()).toBe("none");
    expect(window.location.hash).toBe("#section");
    expect(await pairing.getToken()).toBeNull();
  });

  it("unpair forgets the token, also after the app opens again", async () => {
    const pairing = await fresh();
    await pairing.setToken(TOKEN);
    await pairing.unpair();
    expect(await pairing.getToken()).toBeNull();
    const again = await fresh(); // same IndexedDB, new connection: nothing cached in memory
    expect(await again.getToken()).toBeNull();
  });

  it("keeps the token across app starts", async () => {
    await (await fresh()).setToken(TOKEN);
    expect(await (await fresh()).getToken()).toBe(TOKEN);
  });
});
