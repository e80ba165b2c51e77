/**
 * One HTTP/1.1 connection, from the accepted socket to its close: read a request head under a
 * deadline, answer it, and again while the client keeps the connection alive.
 *
 * The deadlines are what make a half-sent request cheap: a client that sends no byte of its
 * next request within `idleTimeoutMs` is closed silently; one that has started a head must
 * finish it within `headTimeoutMs` of the moment the server began waiting, however slowly it
 * drips the bytes (a new byte does not extend it), or it gets 408 and is closed. The head is
 * held in a buffer of at most `maxHeadBytes`; past it, 431.
 *
 * A body is read only by a handler that asks for it ({@link RequestBody}), after judging its
 * announced length from the head: never more than `maxBodyBytes`, never chunked (411), all of
 * it within `bodyTimeoutMs` of its first read. A body the handler did not read to its end
 * closes the connection after the answer; the server first stops sending and reads what the
 * client still sends for up to two seconds, so a client that sent its body without waiting
 * reads the answer rather than a reset.
 *
 * @module
 */
import { ByteReader } from "./_byte_reader.ts";
import {
  announcedBodyLength,
  HttpError,
  readRequestHead,
  RequestBody,
  type RequestHead,
} from "./_http_request.ts";
import {
  encodeHead,
  type HttpReply,
  replyAndClose,
  textReply,
  writeWithin,
} from "./_http_response.ts";

/** Limits of the web server's HTTP connections. */
export interface HttpLimits {
  /** The longest request head, request line and header fields included. @default {8192} */
  maxHeadBytes?: number;
  /**
   * The time a request head may take, from the moment the server waits for it (the
   * connection's accept, or the end of the previous response). @default {10000}
   */
  headTimeoutMs?: number;
  /**
   * The time an open connection may wait for the first byte of its next request (keep-alive);
   * also the time a client has to send anything at all. @default {5000}
   */
  idleTimeoutMs?: number;
  /** The largest request body a handler may read, in bytes. @default {0} */
  maxBodyBytes?: number;
  /** The time a request body may take, from its handler's first read. @default {120000} */
  bodyTimeoutMs?: number;
}

/** {@link HttpLimits} with every default filled in. */
export type ResolvedHttpLimits = Required<HttpLimits>;

/**
 * Fills in the defaults.
 *
 * @param limits The limits given.
 * @returns Every limit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveHttpLimits } from "./_http_connection.ts";
 *
 * assert.deepEqual(resolveHttpLimits({ idleTimeoutMs: 1000 }), {
 *   maxHeadBytes: 8192,
 *   headTimeoutMs: 10_000,
 *   idleTimeoutMs: 1000,
 *   maxBodyBytes: 0,
 *   bodyTimeoutMs: 120_000,
 * });
 * ```
 */
export function resolveHttpLimits(limits: HttpLimits = {}): ResolvedHttpLimits {
  return {
    maxHeadBytes: limits.maxHeadBytes ?? 8192,
    headTimeoutMs: limits.headTimeoutMs ?? 10_000,
    idleTimeoutMs: limits.idleTimeoutMs ?? 5000,
    maxBodyBytes: limits.maxBodyBytes ?? 0,
    bodyTimeoutMs: limits.bodyTimeoutMs ?? 120_000,
  };
}

/** A request as the web server's router sees it. */
export interface HttpRequest extends RequestHead {
  /** The peer's IP address. */
  remoteAddress: string;
  /** Whether the connection is TLS. */
  secure: boolean;
  /** The body, when the head announced one with Content-Length; nothing of it is read yet. */
  body?: RequestBody;
}

/** Answers one request. */
export type HttpHandler = (request: HttpRequest) => HttpReply | Promise<HttpReply>;

const encoder = new TextEncoder();
/** How long the server waits for the peer to take a short error reply before closing. */
const ERROR_WRITE_MS = 1000;
/** How long an unread body is read and dropped after the answer, before the close. */
const LINGER_MS = 2000;

/** Why a wait for a request head ended without one. */
type Expired = "idle" | "slow";

/** Options for {@link serveHttpConnection}. */
export interface HttpConnectionOptions {
  /** The peer's IP address. */
  remoteAddress: string;
  /** Whether the connection is TLS. @default {false} */
  secure?: boolean;
  /** The limits. */
  limits: ResolvedHttpLimits;
}

/**
 * Serves requests on one connection until it closes or changes protocol. A reply (or a
 * chunk of a stream) the peer does not take within `headTimeoutMs` closes the connection.
 *
 * @param conn The accepted socket.
 * @param handle The router.
 * @param options The peer's address and the limits.
 * @returns True when a reply took the socket over (a WebSocket); else the socket is closed.
 */
export async function serveHttpConnection(
  conn: Deno.Conn,
  handle: HttpHandler,
  options: HttpConnectionOptions,
): Promise<boolean> {
  const { remoteAddress, limits } = options;
  const reader = new ByteReader(conn, limits.maxHeadBytes);
  let upgraded = false;
  try {
    while (true) {
      const head = await readHeadBefore(reader, limits);
      if (head === undefined || head === "idle") return false;
      if (head === "slow") {
        await replyAndClose(
          conn,
          textReply(408, "The request head took too long\n"),
          ERROR_WRITE_MS,
        );
        return false;
      }
      if (head instanceof HttpError) {
        await replyAndClose(conn, textReply(head.status, `${head.message}\n`), ERROR_WRITE_MS);
        return false;
      }
      let length: number | undefined;
      try {
        length = announcedBodyLength(head.headers);
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        await replyAndClose(conn, textReply(error.status, `${error.message}\n`), ERROR_WRITE_MS);
        return false;
      }
      const requestBody = length === undefined ? undefined : new RequestBody({
        reader,
        conn,
        length,
        timeoutMs: limits.bodyTimeoutMs,
        maxBytes: limits.maxBodyBytes,
        expectContinue: (head.headers.get("expect") ?? "").toLowerCase() === "100-continue",
      });
      const request: HttpRequest = {
        ...head,
        remoteAddress,
        secure: options.secure ?? false,
        body: requestBody,
      };
      let reply: HttpReply;
      try {
        reply = await handle(request);
      } catch {
        reply = textReply(500, "Internal server error\n");
      }
      const bodyRead = requestBody === undefined || requestBody.complete;
      const keepAlive = (reply.stream === undefined || reply.length !== undefined) &&
        bodyRead && mayKeepAlive(head);
      const body = typeof reply.body === "string" ? encoder.encode(reply.body) : reply.body;
      const fields: Record<string, string> = {};
      if (reply.takeover === undefined) {
        fields.connection = keepAlive ? "keep-alive" : "close";
        // RFC 9110: a 204 has no Content-Length; a 304's would be the full file's, unknown here.
        const length = reply.stream === undefined ? body?.length ?? 0 : reply.length;
        if (length !== undefined && reply.status !== 204 && reply.status !== 304) {
          fields["content-length"] = String(length);
        }
      }
      const headBytes = encodeHead(reply, fields);
      const sendBody = head.method !== "HEAD" && body !== undefined && body.length > 0;
      await writeWithin(
        conn,
        sendBody ? concat(headBytes, body) : headBytes,
        limits.headTimeoutMs,
      );
      if (reply.takeover) {
        upgraded = true;
        reply.takeover(conn, reader.buffered.slice());
        return true;
      }
      if (reply.stream) {
        const sent = await pipeStream(conn, reply.stream, head.method === "HEAD", limits);
        if (head.method !== "HEAD" && sent !== reply.length) return false;
      }
      if (!bodyRead) {
        if (!requestBody!.timedOut) await linger(conn, reader, requestBody!.remaining);
        return false;
      }
      if (!keepAlive) return false;
    }
  } catch {
    // A reset, a failed TLS handshake, a peer that stopped reading: this connection only.
    return false;
  } finally {
    // The socket is closed unless a reply took it over; then the new owner closes it.
    if (!upgraded) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Whether the connection may stay open after this request, as far as its head says: HTTP/1.1
 * without `Connection: close`. In doubt — HTTP/1.0 — close. (A body left unread closes it
 * too: its bytes would be taken for the next request.)
 */
function mayKeepAlive(head: RequestHead): boolean {
  const connection = (head.headers.get("connection") ?? "").toLowerCase().split(",")
    .map((token) => token.trim());
  return head.version === "1.1" && !connection.includes("close");
}

/**
 * After an answer to a request whose body was not read: stops sending (the client sees the
 * answer end), then reads and drops what it still sends, for up to {@link LINGER_MS} or the
 * body's end. Closing at once, with its bytes unread, would make the kernel reset the
 * connection, and a reset can destroy the answer before the client has read it.
 */
async function linger(conn: Deno.Conn, reader: ByteReader, remaining: number): Promise<void> {
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* already closed */ }
  }, LINGER_MS);
  try {
    await conn.closeWrite();
    await reader.skip(remaining);
  } catch {
    // The peer reset, or the time ran out and the socket was closed under the read.
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads the next request head, racing its deadlines.
 *
 * @returns The head; undefined when the peer closed between requests; `idle` when it sent
 *   nothing in time; `slow` when its head did not complete in time; an HttpError for a bad
 *   head.
 */
async function readHeadBefore(
  reader: ByteReader,
  limits: ResolvedHttpLimits,
): Promise<RequestHead | undefined | Expired | HttpError> {
  const waitStart = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let started!: () => void;
  const expired = new Promise<Expired>((resolve) => {
    timer = setTimeout(() => resolve("idle"), Math.min(limits.idleTimeoutMs, limits.headTimeoutMs));
    started = () => {
      clearTimeout(timer);
      const left = waitStart + limits.headTimeoutMs - performance.now();
      timer = setTimeout(() => resolve("slow"), Math.max(0, left));
    };
  });
  const reading = readRequestHead(reader, { maxBytes: limits.maxHeadBytes, started }).catch(
    (error) => {
      if (error instanceof HttpError) return error;
      throw error;
    },
  );
  try {
    return await Promise.race([reading, expired]);
  } finally {
    clearTimeout(timer);
    // When the deadline won, the read is still pending; it fails when the socket closes.
    reading.catch(() => {});
  }
}

/**
 * Writes a stream's chunks as they come until it ends, fails, or the peer stops reading;
 * for a HEAD request, none (the stream is cancelled at once).
 *
 * @returns The bytes written.
 */
async function pipeStream(
  conn: Deno.Conn,
  stream: ReadableStream<Uint8Array>,
  headOnly: boolean,
  limits: ResolvedHttpLimits,
): Promise<number> {
  const chunks = stream.getReader();
  let sent = 0;
  try {
    while (!headOnly) {
      const { value, done } = await chunks.read();
      if (done) break;
      await writeWithin(conn, value, limits.headTimeoutMs);
      sent += value.length;
    }
    return sent;
  } finally {
    await chunks.cancel().catch(() => {});
  }
}
