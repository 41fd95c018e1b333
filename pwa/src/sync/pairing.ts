/**
 * Pairing this device with a Model Studio server, on the Jupyter model: the server prints a URL
 * (and a QR code of it) ending in `#pair=<token>`; opening it stores the token here, and every
 * API call sends it as `Authorization: Bearer <token>`.
 *
 * The fragment never travels over HTTP, and it is wiped from the address bar the moment it is
 * read, so the token stays out of history entries, bookmarks, screenshots of the URL and logs.
 */
import { studioDb } from "../storage/db";

/** The `settings` key the token lives under. */
export const TOKEN_KEY = "serverToken";
/** What the server accepts as a token (model_studio.pairing.TOKEN_RULE). */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,256}$/;
const PAIR_PARAM = "pair";

/** The stored token, or null when this device is not paired. */
export async function getToken(): Promise<string | null> {
  const db = await studioDb();
  return (await db.get("settings", TOKEN_KEY)) ?? null;
}

export async function setToken(token: string): Promise<void> {
  if (!TOKEN_PATTERN.test(token)) throw new Error("That pairing code is not valid: scan the server's QR code again.");
  const db = await studioDb();
  await db.put("settings", token, TOKEN_KEY);
}

/** Forget the token: the device works on alone until it is paired again. */
export async function unpair(): Promise<void> {
  const db = await studioDb();
  await db.delete("settings", TOKEN_KEY);
}

/** What the address bar's fragment said about pairing. */
export type PairFragment = { kind: "none" } | { kind: "token"; token: string } | { kind: "invalid" };

/** Read `pair=<token>` from a fragment like `#pair=abc` (other `&`-separated keys are kept aside). */
export function parsePairFragment(hash: string): PairFragment {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  if (!params.has(PAIR_PARAM)) return { kind: "none" };
  const token = params.get(PAIR_PARAM)?.trim() ?? "";
  return TOKEN_PATTERN.test(token) ? { kind: "token", token } : { kind: "invalid" };
}

/** The fragment with `pair` removed ("" when nothing else was in it). */
function fragmentWithoutPair(hash: string): string {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  params.delete(PAIR_PARAM);
  const rest = params.toString();
  return rest ? `#${rest}` : "";
}

/**
 * Take a pairing token out of the current URL: removes `pair=…` from the address bar at once
 * (keeping the path and query, without adding a history entry), then returns what it said.
 * Synchronous on purpose: call it first thing at start-up, before anything could log the URL.
 */
export function takePairFragment(win: Pick<Window, "location" | "history"> = window): PairFragment {
  const found = parsePairFragment(win.location.hash);
  if (found.kind !== "none") {
    const { pathname, search, hash } = win.location;
    win.history.replaceState(win.history.state, "", `${pathname}${search}${fragmentWithoutPair(hash)}`);
  }
  return found;
}

/** A fragment taken early (see `capturePairFragment`), waiting for the sync service to store it. */
let captured: PairFragment | null = null;

/**
 * Call first thing in `main.tsx`, before rendering: wipes `#pair=…` from the address bar at
 * once; the token is stored when the sync service starts (`pairFromLocation`).
 */
export function capturePairFragment(win: Pick<Window, "location" | "history"> = window): void {
  const found = takePairFragment(win);
  if (found.kind !== "none") captured = found;
}

/**
 * Pair from the URL if it carries a token (or carried one, when captured early): wipes it from
 * the address bar, stores it. Returns "paired", "invalid" (a `#pair=` that is no token: say so)
 * or "none".
 */
export async function pairFromLocation(win: Pick<Window, "location" | "history"> = window): Promise<"paired" | "invalid" | "none"> {
  const found = captured ?? takePairFragment(win);
  captured = null;
  if (found.kind !== "token") return found.kind;
  await setToken(found.token);
  return "paired";
}
