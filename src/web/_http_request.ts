/**
 * The request head of HTTP/1.1 (RFC 9112): the request line and the header fields, up to the
 * empty line. The web server reads nothing else: it accepts no request bodies.
 *
 * @module
 */
import type { ByteReader } from "./_byte_reader.ts";

/** A parsed request head. */
export interface RequestHead {
  /** `GET`, `HEAD` … as sent. */
  method: string;
  /** The request target as sent, origin-form (`/monitor?x=1`). */
  target: string;
  /** The target's path, without the query. */
  path: string;
  /** `1.0` or `1.1`. */
  version: "1.0" | "1.1";
  /** The header fields. */
  headers: Headers;
}

/** A request the server answers with an error status and then closes. */
export class HttpError extends Error {
  /** The status to answer with. */
  readonly status: number;

  /**
   * @param status The status.
   * @param message What was wrong, for the response body.
   */
  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}

const HEAD_END = [0x0d, 0x0a, 0x0d, 0x0a];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\/[^\s]*) HTTP\/1\.([01])$/;

/** Bytes as Latin-1 text: one character per byte, so nothing is lost or reinterpreted. */
function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return text;
}

/** Where the empty line that ends a head starts in `bytes`, or -1. */
function headEnd(bytes: Uint8Array, from: number): number {
  for (let i = Math.max(0, from); i + 3 < bytes.length; i++) {
    if (
      bytes[i] === HEAD_END[0] && bytes[i + 1] === HEAD_END[1] && bytes[i + 2] === HEAD_END[2] &&
      bytes[i + 3] === HEAD_END[3]
    ) return i;
  }
  return -1;
}

/** Options for {@link readRequestHead}. */
export interface ReadHeadOptions {
  /** The longest head accepted, the final empty line included. @default {8192} */
  maxBytes?: number;
  /** Called once, when the first byte of the head has arrived. */
  started?: () => void;
}

/**
 * Reads one request head, consuming it from the reader (what follows it stays buffered:
 * the next pipelined request, or the first WebSocket frames).
 *
 * @param reader The connection's reader.
 * @param options The size cap, and who to tell when the head has started.
 * @returns The head, or undefined when the peer closed before sending a byte of it.
 * @throws HttpError 431 past `maxBytes`, 400 for a malformed head or one cut short.
 */
export async function readRequestHead(
  reader: ByteReader,
  options: ReadHeadOptions = {},
): Promise<RequestHead | undefined> {
  const maxBytes = options.maxBytes ?? 8192;
  let scanned = 0;
  let announced = false;
  while (true) {
    const bytes = reader.buffered;
    if (bytes.length > 0 && !announced) {
      announced = true;
      options.started?.();
    }
    const end = headEnd(bytes, scanned - 3);
    if (end >= 0) {
      if (end + 4 > maxBytes) break;
      const head = parseRequestHead(latin1(bytes.subarray(0, end)));
      reader.consume(end + 4);
      return head;
    }
    scanned = bytes.length;
    if (bytes.length >= maxBytes) break;
    if (!(await reader.fill())) {
      if (bytes.length === 0) return undefined;
      throw new HttpError(400, "The request head ended before its empty line");
    }
  }
  throw new HttpError(431, `The request head is longer than ${maxBytes} bytes`);
}

/**
 * Parses a request head (without its final empty line).
 *
 * @param text The head, decoded as Latin-1 so every byte stays one character.
 * @returns The head.
 * @throws HttpError 400 when malformed, 505 for a version other than HTTP/1.0 and 1.1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRequestHead } from "./_http_request.ts";
 *
 * const head = parseRequestHead("GET /monitor?x=1 HTTP/1.1\r\nHost: chat.example\r\nX-A:  b ");
 * assert.equal(head.path, "/monitor");
 * assert.equal(head.headers.get("x-a"), "b");
 * assert.throws(() => parseRequestHead("GET / HTTP/1.1\r\n folded: no"), /line 2/);
 * ```
 */
export function parseRequestHead(text: string): RequestHead {
  const lines = text.split("\r\n");
  const requestLine = lines[0];
  if (/^\S+ \S+ HTTP\/\d/.test(requestLine) && !/ HTTP\/1\.[01]$/.test(requestLine)) {
    throw new HttpError(505, "Only HTTP/1.0 and HTTP/1.1 are served");
  }
  const match = REQUEST_LINE.exec(requestLine);
  if (!match) {
    throw new HttpError(400, "The request line is not METHOD /path HTTP/1.1");
  }
  const headers = new Headers();
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(":");
    const name = lines[i].slice(0, colon);
    // A folded line (leading space) or a space before the colon is refused, as RFC 9112
    // asks: two parsers that read them differently are how requests get smuggled.
    if (colon <= 0 || !TOKEN.test(name)) {
      throw new HttpError(400, `Header line ${i + 1} is not "Name: value"`);
    }
    const value = lines[i].slice(colon + 1).trim();
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
      throw new HttpError(400, `Header line ${i + 1} holds a control character`);
    }
    if (name.toLowerCase() === "host" && headers.has("host")) {
      throw new HttpError(400, "The request has two Host headers");
    }
    try {
      headers.append(name, value);
    } catch {
      throw new HttpError(400, `Header line ${i + 1} is not a valid header`);
    }
  }
  const version = match[3] === "1" ? "1.1" : "1.0";
  if (version === "1.1" && !headers.has("host")) {
    throw new HttpError(400, "An HTTP/1.1 request needs a Host header");
  }
  const target = match[2];
  const query = target.indexOf("?");
  return {
    method: match[1],
    target,
    path: query < 0 ? target : target.slice(0, query),
    version,
    headers,
  };
}
