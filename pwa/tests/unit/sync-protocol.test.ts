/**
 * The sync protocol (sync/protocol.ts) and the API client's error handling, against an
 * in-process fake of the design routes (tests/support/fakeDesignServer.ts): which conditional
 * headers go out, and what each answer (200, 201, 404, 412) becomes.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apiFetch, apiJson, ApiError, configureApi, NotPairedError, OfflineError, onApiStatus, type ApiSignal } from "../../src/api/client";
import { blankDesign } from "../../src/model/designs";
import type { ModelArchitecture } from "../../src/model/types";
import { canonicalJson, checkDesign, contentHash, pushDesign } from "../../src/sync/protocol";
import { FAKE_ORIGIN, FAKE_TOKEN, FakeDesignServer } from "../support/fakeDesignServer";

let server: FakeDesignServer;
let restore: () => void;

beforeEach(() => {
  server = new FakeDesignServer();
  restore = configureApi({ baseUrl: FAKE_ORIGIN, fetch: server.fetch, getToken: async () => FAKE_TOKEN });
});
afterEach(() => restore());

const design = (name = "Mine"): ModelArchitecture => ({ ...blankDesign(new Set()), id: "design-1", name });
const sameContent = (mine: ModelArchitecture) => async (server: { design: unknown }) => canonicalJson(server.design) === canonicalJson(mine);

describe("canonicalJson and contentHash", () => {
  it("ignore key order but nothing else", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
    const mine = design();
    const reordered = Object.fromEntries(Object.entries(mine).reverse()) as ModelArchitecture;
    expect(contentHash(reordered)).toBe(contentHash(mine));
    expect(contentHash({ ...mine, name: "Mine!" })).not.toBe(contentHash(mine));
    expect(contentHash(mine)).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("pushDesign", () => {
  it("creates a design never synced with If-None-Match: * (201)", async () => {
    const mine = design();
    const result = await pushDesign(mine, null, sameContent(mine));
    expect(result).toMatchObject({ kind: "stored", created: true, record: { id: "design-1", version: 1 } });
    const [put] = server.puts();
    expect(put.path).toBe("/api/designs/design-1");
    expect(put.headers["if-none-match"]).toBe("*");
    expect(put.headers["if-match"]).toBeUndefined();
    expect(put.headers.authorization).toBe(`Bearer ${FAKE_TOKEN}`);
    expect(put.headers["content-type"]).toBe("application/json");
    expect(put.body).toEqual(mine);
  });

  it("counts a repeated create of the same body as stored (200), not created", async () => {
    const mine = design();
    server.seed(mine);
    expect(await pushDesign(mine, null, sameContent(mine))).toMatchObject({ kind: "stored", created: false, record: { version: 1 } });
  });

  it("reports a conflict when the server holds another design under the id (412 on create)", async () => {
    server.seed(design("Theirs"));
    const mine = design("Mine");
    const result = await pushDesign(mine, null, sameContent(mine));
    expect(result.kind).toBe("conflict");
    if (result.kind === "conflict") expect(result.server.design).toMatchObject({ name: "Theirs" });
  });

  it("updates over the base version with a quoted If-Match (200: the next version)", async () => {
    server.seed(design("v1"), 3);
    const mine = design("v2");
    const result = await pushDesign(mine, 3, sameContent(mine));
    expect(result).toMatchObject({ kind: "stored", created: false, record: { version: 4 } });
    expect(server.puts()[0].headers["if-match"]).toBe('"3"');
    expect(server.puts()[0].headers["if-none-match"]).toBeUndefined();
  });

  it("reports a conflict, with the server's copy, when someone else wrote since the base (412)", async () => {
    server.seed(design("v1"), 1);
    server.writeElsewhere(design("theirs"));
    const mine = design("mine");
    const result = await pushDesign(mine, 1, sameContent(mine));
    expect(result).toMatchObject({ kind: "conflict", server: { version: 2, design: { name: "theirs" } } });
    expect(server.designs.get("design-1")?.version).toBe(2); // nothing overwritten
  });

  it("treats a 412 whose server copy is ours as stored: a resend after a crash is harmless", async () => {
    const mine = design("mine");
    server.seed(design("v1"), 1);
    expect(await pushDesign(mine, 1, sameContent(mine))).toMatchObject({ kind: "stored", record: { version: 2 } });
    // The answer was lost: the same push again, over the same base.
    expect(await pushDesign(mine, 1, sameContent(mine))).toMatchObject({ kind: "stored", record: { version: 2 } });
    expect(server.designs.get("design-1")?.version).toBe(2);
  });

  it("recreates a design deleted on the server (404 on If-Match, then If-None-Match: *)", async () => {
    const mine = design();
    const result = await pushDesign(mine, 5, sameContent(mine));
    expect(result).toMatchObject({ kind: "stored", created: true, record: { version: 1 } });
    expect(server.puts().map((p) => [p.headers["if-match"], p.headers["if-none-match"]])).toEqual([
      ['"5"', undefined],
      [undefined, "*"],
    ]);
  });

  it("returns other answers as failures, retryable when trying later may help (5xx, 401)", async () => {
    const mine = design();
    server.failNext = { status: 503, count: 1 };
    const busy = await pushDesign(mine, null, sameContent(mine));
    expect(busy).toMatchObject({ kind: "failed", retry: true, error: { status: 503, code: "internal_error" } });

    const restoreBadToken = configureApi({ getToken: async () => "wrong-token-0123456789" });
    const refused = await pushDesign(mine, null, sameContent(mine));
    restoreBadToken();
    expect(refused).toMatchObject({ kind: "failed", retry: true, error: { status: 401, code: "unauthorized" } });
  });

  it("lets the client's OfflineError through when the server cannot be reached", async () => {
    server.offline = true;
    await expect(pushDesign(design(), null, async () => false)).rejects.toBeInstanceOf(OfflineError);
  });
});

describe("checkDesign", () => {
  it("asks with If-None-Match and reads 304 as current, 200 as newer, 404 as missing", async () => {
    server.seed(design("v1"), 2);
    expect(await checkDesign("design-1", 2)).toEqual({ kind: "current" });
    expect(server.log.at(-1)?.headers["if-none-match"]).toBe('"2"');
    server.writeElsewhere(design("v2"));
    expect(await checkDesign("design-1", 2)).toMatchObject({ kind: "newer", record: { version: 3, design: { name: "v2" } } });
    expect(await checkDesign("gone", 1)).toEqual({ kind: "missing" });
  });
});

describe("the API client", () => {
  it("throws NotPairedError without a token, before any request", async () => {
    const undo = configureApi({ getToken: async () => null });
    await expect(apiFetch("/api/designs")).rejects.toBeInstanceOf(NotPairedError);
    undo();
    expect(server.log).toEqual([]);
  });

  it("returns a Response for any status from apiFetch, and ApiError with the Problem from apiJson", async () => {
    const response = await apiFetch("/api/designs/nope");
    expect(response.status).toBe(404);
    const error = await apiJson("/api/designs/nope").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 404, code: "design_not_found", problem: { code: "design_not_found" } });
    expect((error as ApiError).message).toBe("No design nope.");
  });

  it("sends json as the body with its content type and parses the answer", async () => {
    const created = await apiJson<{ version: number }>("/api/designs/design-1", { method: "PUT", json: design(), headers: { "If-None-Match": "*" } });
    expect(created.version).toBe(1);
    expect(server.puts()[0].headers["content-type"]).toBe("application/json");
  });

  it("gives a readable ApiError for a non-JSON error body", async () => {
    const undo = configureApi({ fetch: async () => new Response("Bad gateway", { status: 502 }) });
    const error = (await apiJson("/api/designs").catch((e: unknown) => e)) as ApiError;
    undo();
    expect(error).toMatchObject({ status: 502, code: "http_502", problem: null, body: "Bad gateway" });
    expect(error.message).toBe("The server answered 502.");
  });

  it("reports each call's outcome: online, unauthorized (401) and offline", async () => {
    const signals: ApiSignal[] = [];
    const stop = onApiStatus((signal) => signals.push(signal));
    await apiFetch("/api/designs");
    const undo = configureApi({ getToken: async () => "wrong-token-0123456789" });
    await apiFetch("/api/designs");
    undo();
    server.offline = true;
    await apiFetch("/api/designs").catch(() => undefined);
    stop();
    expect(signals).toEqual(["online", "unauthorized", "offline"]);
  });

  it("times out a request whose answer never comes, as OfflineError", async () => {
    const undo = configureApi({
      fetch: (_input, init) => new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason))),
    });
    await expect(apiFetch("/api/designs", { timeoutMs: 20 })).rejects.toBeInstanceOf(OfflineError);
    undo();
  });

  it("rethrows the caller's own abort as it is", async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await apiFetch("/api/designs", { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(OfflineError);
    expect((error as Error).name).toBe("AbortError");
  });
});
