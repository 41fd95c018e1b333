/**
 * An incremental parser for `text/event-stream`, as the HTML standard's "event stream
 * interpretation" describes it. It takes the body in whatever chunks the network delivers (a line,
 * a UTF-8 character or a CRLF pair may be split between two) and returns each complete message.
 *
 * Pure: no fetch, no timers. `stream.ts` feeds it from `fetch`, because EventSource cannot send
 * the bearer token.
 */

/** One dispatched message. `lastEventId` is the stream's last id as of this message. */
export interface SseMessage {
  event: string;
  data: string;
  lastEventId: string;
}

const BOM = "\uFEFF";
const DEFAULT_EVENT = "message";

export class SseParser {
  /** The id a reconnect should send as `Last-Event-ID`; carries over between messages. */
  lastEventId = "";
  /** The latest `retry:` the server asked for, in milliseconds; null until it sends one. */
  retryMs: number | null = null;

  private readonly decoder = new TextDecoder("utf-8");
  private buffer = "";
  private sawFirstText = false;
  /** The previous chunk ended in CR: an LF opening the next chunk belongs to that line break. */
  private pendingCr = false;
  private eventType = "";
  private data: string[] = [];

  /** Feed the next bytes (or already-decoded text); returns the messages they completed. */
  push(chunk: Uint8Array | string): SseMessage[] {
    let text = typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    if (!this.sawFirstText && text.length > 0) {
      this.sawFirstText = true;
      if (text.startsWith(BOM)) text = text.slice(1);
    }
    if (this.pendingCr && text.length > 0) {
      if (text.startsWith("\n")) text = text.slice(1);
      this.pendingCr = false;
    }
    this.buffer += text;
    return this.drainLines();
  }

  /**
   * The stream ended. A message not yet closed by a blank line is discarded, as the standard
   * says: the connection may have dropped in its middle.
   */
  end(): void {
    this.decoder.decode();
    this.buffer = "";
    this.pendingCr = false;
    this.eventType = "";
    this.data = [];
  }

  private drainLines(): SseMessage[] {
    const messages: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const char = this.buffer[i];
      if (char !== "\n" && char !== "\r") continue;
      const message = this.processLine(this.buffer.slice(start, i));
      if (message) messages.push(message);
      if (char === "\r") {
        if (i + 1 === this.buffer.length) this.pendingCr = true; // its LF may open the next chunk
        else if (this.buffer[i + 1] === "\n") i++;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return messages;
  }

  private processLine(line: string): SseMessage | null {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return null; // a comment, e.g. the server's keep-alive ping
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return null;
  }

  private dispatch(): SseMessage | null {
    const hadData = this.data.length > 0;
    const message = { event: this.eventType || DEFAULT_EVENT, data: this.data.join("\n"), lastEventId: this.lastEventId };
    this.eventType = "";
    this.data = [];
    return hadData ? message : null;
  }
}
