/**
 * A request of HTTP/1.1 (RFC 9112): the head (the request line and the header fields, up to
 * the empty line), and a body of announced length, read only when its handler asks, so its
 * size is judged from the head before a byte of it is read.
 *
 * @module
 */
import type { ByteReader } from "./_byte_reader.ts";
import { writeWithin } from "./_http_response.ts";

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

/**
 * The length of the body a request head announces.
 *
 * @param headers The head's fields.
 * @returns The Content-Length, or undefined when the request announces no body.
 * @throws HttpError 400 for a Content-Length that is not one number, or one sent with
 *   Transfer-Encoding (two framings are how requests get smuggled); 411 for a body with
 *   Transfer-Encoding (chunked) alone, which is never read: its length is not known in advance.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { announcedBodyLength } from "./_http_request.ts";
 *
 * assert.equal(announcedBodyLength(new Headers({ "content-length": "42" })), 42);
 * assert.equal(announcedBodyLength(new Headers()), undefined);
 * assert.throws(
 *   () => announcedBodyLength(new Headers({ "transfer-encoding": "chunked" })),
 *   { status: 411 },
 * );
 * assert.throws(() => announcedBodyLength(new Headers({ "content-length": "4, 2" })), {
 *   status: 400,
 * });
 * ```
 */
export function announcedBodyLength(headers: Headers): number | undefined {
  const length = headers.get("content-length");
  if (headers.has("transfer-encoding")) {
    if (length !== null) {
      throw new HttpError(400, "The request has both Transfer-Encoding and Content-Length");
    }
    throw new HttpError(
      411,
      "Send the body with a Content-Length: chunked bodies are not accepted",
    );
  }
  if (length === null) return undefined;
  if (!/^\d{1,15}$/.test(length)) {
    throw new HttpError(400, `Content-Length "${length}" is not a number of bytes`);
  }
  return Number(length);
}

/** Where a {@link RequestBody} comes from, and its limits. */
export interface BodySource {
  /** The connection's reader, holding whatever was read past the head. */
  reader: ByteReader;
  /** The socket, read directly past what the reader holds. */
  conn: Deno.Conn;
  /** The announced length. */
  length: number;
  /** The time the whole body may take from its first read; past it the socket is closed. */
  timeoutMs: number;
  /** The most any handler may read; a longer body is refused before a byte is read. */
  maxBytes: number;
  /** The client sent `Expect: 100-continue`: say `100 Continue` before waiting for bytes. */
  expectContinue: boolean;
}

/** The size of the buffer a body is read through, so a body is never held whole. */
const BODY_CHUNK_BYTES = 64 * 1024;
const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/**
 * A request's body, of the length its head announced, read by its handler chunk by chunk (so
 * it is never held whole) or not at all. The connection is kept alive only when the body was
 * read to its end.
 */
export class RequestBody {
  /** The announced length, in bytes. */
  readonly length: number;
  readonly #source: BodySource;
  #read = 0;
  #started = false;
  #timedOut = false;

  /**
   * @param source The reader and socket, the length and the limits.
   */
  constructor(source: BodySource) {
    this.#source = source;
    this.length = source.length;
  }

  /** Whether a handler began reading it. */
  get started(): boolean {
    return this.#started;
  }

  /** Whether every byte has been read. */
  get complete(): boolean {
    return this.#read === this.length;
  }

  /** Whether it did not all arrive in time (the connection is then closed at once). */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** The bytes not read yet. */
  get remaining(): number {
    return this.length - this.#read;
  }

  /**
   * Reads the body, once, in order; each chunk is valid until the next is asked for.
   *
   * @returns The chunks.
   * @throws HttpError 413 past the connection's body limit (before reading), 400 when the peer
   *   ends the connection early, 408 when the body is not all there within its time (a read
   *   is then left pending: the connection must be closed).
   */
  async *chunks(): AsyncGenerator<Uint8Array> {
    if (this.#started) throw new Error("A request body can be read only once");
    this.#started = true;
    const { reader, conn, timeoutMs, maxBytes, expectContinue } = this.#source;
    if (this.length > maxBytes) {
      throw new HttpError(413, `The body is ${this.length} bytes; at most ${maxBytes} are read`);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) =>
      timer = setTimeout(() => resolve("late"), timeoutMs)
    );
    try {
      const held = Math.min(this.remaining, reader.buffered.length);
      if (held > 0) {
        yield reader.buffered.subarray(0, held);
        reader.consume(held);
        this.#read += held;
      }
      if (this.remaining > 0 && expectContinue && held === 0) {
        await writeWithin(conn, CONTINUE, timeoutMs);
      }
      const buffer = new Uint8Array(Math.min(BODY_CHUNK_BYTES, this.remaining));
      while (this.remaining > 0) {
        const reading = conn.read(buffer.subarray(0, Math.min(buffer.length, this.remaining)));
        const count = await Promise.race([reading, late]);
        if (count === "late") {
          // The read stays pending until the connection closes, which it will now.
          reading.catch(() => {});
          this.#timedOut = true;
          throw new HttpError(
            408,
            `The request body did not arrive within ${Math.round(timeoutMs / 1000)} s`,
          );
        }
        if (count === null) {
          throw new HttpError(
            400,
            `The request body ended after ${this.#read} of its ${this.length} bytes`,
          );
        }
        this.#read += count;
        yield buffer.subarray(0, count);
      }
    } finally {
      clearTimeout(timer);
    }
  }
}
