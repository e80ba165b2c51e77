/**
 * What the web server answers, and how an answer becomes bytes on the socket: a status line,
 * header fields, an empty line, then a body of known length, a stream that lasts until the
 * connection closes (Server-Sent Events), or nothing at all when the socket changes protocol
 * (a WebSocket upgrade).
 *
 * @module
 */

/** An answer to one request. */
export interface HttpReply {
  /** The status code. */
  status: number;
  /** Header fields (lowercase names); the server adds date, length and connection. */
  headers?: Record<string, string>;
  /** The body. */
  body?: Uint8Array | string;
  /**
   * A body written as it comes (a file, Server-Sent Events): of unknown length unless
   * `length` is given, and then the connection closes after it.
   */
  stream?: ReadableStream<Uint8Array>;
  /** The length of `stream`, when known: it is sent as Content-Length, and the connection may stay open. */
  length?: number;
  /**
   * For 101 Switching Protocols: called once the head is written, with the socket and the
   * bytes already read past the request head; from then on the socket is the callee's.
   */
  takeover?: (conn: Deno.Conn, buffered: Uint8Array) => void;
}

const encoder = new TextEncoder();

const REASONS: Record<number, string> = {
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  204: "No Content",
  206: "Partial Content",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  416: "Range Not Satisfiable",
  421: "Misdirected Request",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
  507: "Insufficient Storage",
};

/**
 * A plain-text (or other) reply that must not be cached.
 *
 * @param status The status.
 * @param body The text.
 * @param contentType Its type.
 * @returns The reply.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textReply } from "./_http_response.ts";
 *
 * assert.equal(textReply(404, "Not found\n").headers?.["content-type"], "text/plain; charset=utf-8");
 * ```
 */
export function textReply(
  status: number,
  body: string,
  contentType = "text/plain; charset=utf-8",
): HttpReply {
  return { status, headers: { "content-type": contentType, "cache-control": "no-store" }, body };
}

/**
 * Encodes a reply's status line and header fields, with the empty line that ends them.
 *
 * @param reply The reply.
 * @param fields Fields the connection adds (length, connection).
 * @returns The bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHead } from "./_http_response.ts";
 *
 * const head = new TextDecoder().decode(encodeHead({ status: 404 }, { "content-length": "0" }));
 * assert.match(head, /^HTTP\/1\.1 404 Not Found\r\ndate: .+ GMT\r\ncontent-length: 0\r\n\r\n$/);
 * ```
 */
export function encodeHead(reply: HttpReply, fields: Record<string, string>): Uint8Array {
  const lines = [`HTTP/1.1 ${reply.status} ${REASONS[reply.status] ?? "Unknown"}`];
  const all = { date: new Date().toUTCString(), ...reply.headers, ...fields };
  for (const [name, value] of Object.entries(all)) lines.push(`${name}: ${value}`);
  return encoder.encode(`${lines.join("\r\n")}\r\n\r\n`);
}

/**
 * Writes every byte, or fails; a peer that does not take them within `timeoutMs` has the
 * connection closed under it (so a client that stops reading cannot hold the server's write).
 *
 * @param conn The socket.
 * @param bytes The bytes.
 * @param timeoutMs The limit for all of them.
 * @throws Error when the time ran out; whatever the socket's write throws.
 */
export async function writeWithin(
  conn: Deno.Conn,
  bytes: Uint8Array,
  timeoutMs = 10_000,
): Promise<void> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch { /* already closed */ }
  }, timeoutMs);
  try {
    for (let written = 0; written < bytes.length;) {
      written += await conn.write(bytes.subarray(written));
    }
  } catch (error) {
    if (timedOut) throw new Error(`The peer did not read ${bytes.length} bytes in ${timeoutMs} ms`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends a last, short reply with `Connection: close`, then closes the socket; a peer that
 * does not take it within `timeoutMs` is closed anyway. Never throws.
 *
 * @param conn The socket.
 * @param reply The reply; its body a string or bytes.
 * @param timeoutMs The most the write may take.
 */
export async function replyAndClose(
  conn: Deno.Conn,
  reply: HttpReply,
  timeoutMs = 1000,
): Promise<void> {
  const body = typeof reply.body === "string" ? encoder.encode(reply.body) : reply.body;
  const head = encodeHead(reply, {
    connection: "close",
    "content-length": String(body?.length ?? 0),
  });
  const bytes = new Uint8Array(head.length + (body?.length ?? 0));
  bytes.set(head);
  if (body) bytes.set(body, head.length);
  try {
    await writeWithin(conn, bytes, timeoutMs);
  } catch {
    // The peer is gone or not reading: closing is all that is left to do.
  }
  try {
    conn.close();
  } catch {
    // Closed by the write's deadline.
  }
}
