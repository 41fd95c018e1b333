/**
 * An in-process stand-in for the server's design routes, as a `fetch`-compatible function, for
 * the sync protocol's unit tests only (the real server is tested in sync-server.test.ts). It
 * follows design_routes.py: versions as quoted ETags, `If-Match` compare-and-swap with 412 and
 * the server's copy, `If-None-Match: *` create (repeating the same body is a 200), 404 for an
 * update of a missing design, 428 without a precondition, 304 for a matching conditional GET.
 */
export const FAKE_TOKEN = "fake-token-0123456789";
export const FAKE_ORIGIN = "http://fake.test";

interface Stored {
  version: number;
  body: string;
  design: unknown;
  created_at: string;
  updated_at: string;
}

export interface LoggedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

/** Keys sorted at every level: the fake's notion of "the same body" (msgspec's canonical form on the server). */
function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
const problem = (status: number, code: string, message: string) => json(status, { error: { code, message } });

export class FakeDesignServer {
  readonly designs = new Map<string, Stored>();
  readonly log: LoggedRequest[] = [];
  /** While true, every request fails as a dropped connection does. */
  offline = false;
  /** Process the next PUT, then drop the connection before the answer arrives (a crash or a lost reply). */
  loseNextAnswer = false;
  /** Runs while a PUT is in flight, before it is processed (to act "meanwhile"). */
  duringPut: (() => Promise<void>) | null = null;
  /** Answer the next N requests with this status (a flaky server). */
  failNext: { status: number; count: number } | null = null;
  private clock = 0;

  private now(): string {
    return new Date(Date.UTC(2026, 0, 1) + 1000 * ++this.clock).toISOString();
  }

  /** Store a design as another device would have (bypassing preconditions). */
  seed(design: { id: string }, version = 1): void {
    const at = this.now();
    this.designs.set(design.id, { version, body: stable(design), design: structuredClone(design), created_at: at, updated_at: at });
  }

  /** A write from elsewhere: the next version with `design`. */
  writeElsewhere(design: { id: string }): void {
    const current = this.designs.get(design.id);
    if (!current) return this.seed(design);
    this.designs.set(design.id, { ...current, version: current.version + 1, body: stable(design), design: structuredClone(design), updated_at: this.now() });
  }

  puts(): LoggedRequest[] {
    return this.log.filter((r) => r.method === "PUT");
  }

  private record(id: string, stored: Stored) {
    return { id, version: stored.version, created_at: stored.created_at, updated_at: stored.updated_at, design: stored.design };
  }

  private reply(id: string, stored: Stored, status = 200): Response {
    return json(status, this.record(id, stored), { ETag: `"${stored.version}"` });
  }

  readonly fetch: typeof fetch = async (input, init) => {
    init?.signal?.throwIfAborted(); // as fetch does
    const request = new Request(input, init);
    const url = new URL(request.url);
    // Lower-cased here: happy-dom's Headers keeps the case it was given.
    const headers = Object.fromEntries([...request.headers.entries()].map(([name, value]) => [name.toLowerCase(), value]));
    const text = request.method === "GET" ? "" : await request.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
    this.log.push({ method: request.method, path: url.pathname, headers, body });
    if (this.offline) throw new TypeError("Failed to fetch");
    if (url.pathname === "/api/health") return json(200, { status: "ok", version: "fake" });
    if (headers.authorization !== `Bearer ${FAKE_TOKEN}`) return problem(401, "unauthorized", "A valid bearer token is required: pair this device again.");
    if (this.failNext && this.failNext.count > 0) {
      this.failNext.count--;
      return problem(this.failNext.status, "internal_error", "Something went wrong on the server.");
    }
    if (url.pathname === "/api/designs" && request.method === "GET") {
      const designs = [...this.designs].map(([id, s]) => ({ id, name: (s.design as { name: string }).name, version: s.version, created_at: s.created_at, updated_at: s.updated_at }));
      return json(200, { designs });
    }
    const match = /^\/api\/designs\/([^/]+)$/.exec(url.pathname);
    if (!match) return problem(404, "not_found", "No such route.");
    const id = decodeURIComponent(match[1]);
    const current = this.designs.get(id);
    if (request.method === "GET") {
      if (!current) return problem(404, "design_not_found", `No design ${id}.`);
      if (headers["if-none-match"] === `"${current.version}"`) return new Response(null, { status: 304, headers: { ETag: `"${current.version}"` } });
      return this.reply(id, current);
    }
    if (request.method !== "PUT") return problem(405, "method_not_allowed", "Not here.");
    const meanwhile = this.duringPut;
    this.duringPut = null;
    await meanwhile?.();
    const response = this.put(id, headers, body);
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      throw new TypeError("Failed to fetch");
    }
    return response;
  };

  private put(id: string, headers: Record<string, string>, body: unknown): Response {
    const current = this.designs.get(id);
    const ifMatch = headers["if-match"];
    const ifNoneMatch = headers["if-none-match"];
    if (ifMatch === undefined && ifNoneMatch === undefined) return problem(428, "precondition_required", "Send If-Match or If-None-Match.");
    if (typeof body !== "object" || body === null || (body as { id?: unknown }).id !== id) return problem(422, "id_mismatch", "The body's id is not the path's.");
    const canonical = stable(body);
    if (ifMatch === undefined) {
      if (!current) {
        const at = this.now();
        const stored = { version: 1, body: canonical, design: body, created_at: at, updated_at: at };
        this.designs.set(id, stored);
        return this.reply(id, stored, 201);
      }
      return current.body === canonical ? this.reply(id, current) : this.reply(id, current, 412);
    }
    const expected = Number(/^"(\d+)"$/.exec(ifMatch)?.[1] ?? NaN);
    if (Number.isNaN(expected)) return problem(400, "invalid_precondition", "If-Match takes one quoted version.");
    if (!current) return problem(404, "design_not_found", `No design ${id} to update.`);
    if (current.version !== expected) return this.reply(id, current, 412);
    const stored = { ...current, version: current.version + 1, body: canonical, design: body, updated_at: this.now() };
    this.designs.set(id, stored);
    return this.reply(id, stored);
  };
}
