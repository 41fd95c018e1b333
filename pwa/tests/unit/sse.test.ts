/** The event-stream parser against the HTML standard's rules, fed in every way a network can split it. */
import { describe, expect, it } from "vitest";
import { SseParser, type SseMessage } from "../../src/train/sse";

const encoder = new TextEncoder();

function parseChunks(chunks: readonly (string | Uint8Array)[]): { messages: SseMessage[]; parser: SseParser } {
  const parser = new SseParser();
  const messages = chunks.flatMap((chunk) => parser.push(typeof chunk === "string" ? encoder.encode(chunk) : chunk));
  return { messages, parser };
}

/** Every way to cut `bytes` in two, plus one byte at a time. */
function splits(bytes: Uint8Array): Uint8Array[][] {
  const ways: Uint8Array[][] = [];
  for (let cut = 0; cut <= bytes.length; cut++) ways.push([bytes.slice(0, cut), bytes.slice(cut)]);
  ways.push([...bytes].map((byte) => Uint8Array.of(byte)));
  return ways;
}

// Exactly what backend/model_studio/sse.py writes: a retry line, events, and a ping comment.
const SERVER_STREAM =
  "retry: 2000\n\n" +
  'id: 1\nevent: training_update\ndata: {"update":1,"env_steps":16384}\n\n' +
  ": ping\n\n" +
  'id: 2\nevent: training_update\ndata: {"update":2,"env_steps":32768}\n\n' +
  'id: 3\nevent: done\ndata: {"status":"completed"}\n\n';

const SERVER_MESSAGES: SseMessage[] = [
  { event: "training_update", data: '{"update":1,"env_steps":16384}', lastEventId: "1" },
  { event: "training_update", data: '{"update":2,"env_steps":32768}', lastEventId: "2" },
  { event: "done", data: '{"status":"completed"}', lastEventId: "3" },
];

describe("SseParser", () => {
  it("reads the server's stream: ids, event types, data, retry; pings are skipped", () => {
    const { messages, parser } = parseChunks([SERVER_STREAM]);
    expect(messages).toEqual(SERVER_MESSAGES);
    expect(parser.retryMs).toBe(2000);
    expect(parser.lastEventId).toBe("3");
  });

  it("gives the same messages however the bytes are split", () => {
    const bytes = encoder.encode(SERVER_STREAM);
    for (const chunks of splits(bytes)) expect(parseChunks(chunks).messages).toEqual(SERVER_MESSAGES);
  });

  it("treats CRLF, CR and LF alike, including a CRLF split between chunks", () => {
    const crlf = SERVER_STREAM.replaceAll("\n", "\r\n");
    const cr = SERVER_STREAM.replaceAll("\n", "\r");
    for (const text of [crlf, cr]) {
      for (const chunks of splits(encoder.encode(text))) expect(parseChunks(chunks).messages).toEqual(SERVER_MESSAGES);
    }
  });

  it("a CR, then an empty chunk, then LF is still one line break", () => {
    const { messages } = parseChunks(["data: a\r", new Uint8Array(0), "\n\r\n"]);
    expect(messages).toEqual([{ event: "message", data: "a", lastEventId: "" }]);
  });

  it("joins multi-line data with LF and drops one leading space only", () => {
    const { messages } = parseChunks(["data: first\ndata:second\ndata:  third\ndata\n\n"]);
    expect(messages).toEqual([{ event: "message", data: "first\nsecond\n third\n", lastEventId: "" }]);
  });

  it("decodes a UTF-8 character split across chunks", () => {
    const bytes = encoder.encode("data: naïve 🎲 ²⁰⁴⁸\n\n");
    for (const chunks of splits(bytes)) {
      expect(parseChunks(chunks).messages).toEqual([{ event: "message", data: "naïve 🎲 ²⁰⁴⁸", lastEventId: "" }]);
    }
  });

  it("strips a byte-order mark at the start only", () => {
    const { messages } = parseChunks([Uint8Array.of(0xef, 0xbb), Uint8Array.of(0xbf), "data: x\ufeff\n\n"]);
    expect(messages).toEqual([{ event: "message", data: "x\ufeff", lastEventId: "" }]);
    const parser = new SseParser();
    expect(parser.push("\ufeffdata: y\n\n")).toEqual([{ event: "message", data: "y", lastEventId: "" }]);
  });

  it("keeps the last id for later messages, and ignores an id holding NUL", () => {
    const { messages, parser } = parseChunks(["id: 7\ndata: a\n\ndata: b\n\nid: 8\0\ndata: c\n\n"]);
    expect(messages.map((m) => m.lastEventId)).toEqual(["7", "7", "7"]);
    expect(parser.lastEventId).toBe("7");
  });

  it("an id without data changes the last id but dispatches nothing", () => {
    const { messages, parser } = parseChunks(["id: 41\n\nevent: done\n\n"]);
    expect(messages).toEqual([]);
    expect(parser.lastEventId).toBe("41");
  });

  it("resets the event type after each message", () => {
    const { messages } = parseChunks(["event: done\ndata: 1\n\ndata: 2\n\n"]);
    expect(messages.map((m) => m.event)).toEqual(["done", "message"]);
  });

  it("accepts only whole numbers as retry", () => {
    const parser = new SseParser();
    parser.push("retry: 1500\n\nretry: 2s\n\nretry: -1\n\nretry: 1.5\n\n");
    expect(parser.retryMs).toBe(1500);
  });

  it("ignores unknown fields and lines that are only a field name", () => {
    const { messages } = parseChunks(["foo: bar\nevent\ndata: kept\n\n"]);
    expect(messages).toEqual([{ event: "message", data: "kept", lastEventId: "" }]);
  });

  it("holds back a message until its blank line, and end() drops an unfinished one", () => {
    const parser = new SseParser();
    expect(parser.push("id: 5\nevent: training_update\ndata: {")).toEqual([]);
    expect(parser.push('"a":1}\n')).toEqual([]);
    parser.end();
    // The id line was complete, so it counts; the half message does not leak into the next one.
    expect(parser.lastEventId).toBe("5");
    expect(parser.push("data: next\n\n")).toEqual([{ event: "message", data: "next", lastEventId: "5" }]);
  });
});
