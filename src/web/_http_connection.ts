/**
 * One HTTP/1.1 connection, from the accepted socket to its close: read a request head under a
 * deadline, answer it, and again while the client keeps the connection alive.
 *
 * The deadlines are what make a half-sent request cheap: a client that sends no byte of its
 * next request within `idleTimeoutMs` is closed silently; one that has started a head must
 * finish it within `headTimeoutMs` of the moment the server began waiting, however slowly it
 * drips the bytes (a new byte does not extend it), or it gets 408 and is closed. The head is
 * held in a buffer of at most `maxHeadBytes`; past it, 431. Bodies are never read, so a
 * request that announces one is answered and the connection closed.
 *
 * @module
 */
import { ByteReader } from "./_byte_reader.ts";
import { HttpError, readRequestHead, type RequestHead } from "./_http_request.ts";
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
 * });
 * ```
 */
export function resolveHttpLimits(limits: HttpLimits = {}): ResolvedHttpLimits {
  return {
    maxHeadBytes: limits.maxHeadBytes ?? 8192,
    headTimeoutMs: limits.headTimeoutMs ?? 10_000,
    idleTimeoutMs: limits.idleTimeoutMs ?? 5000,
  };
}

/** A request as the web server's router sees it. */
export interface HttpRequest extends RequestHead {
  /** The peer's IP address. */
  remoteAddress: string;
}

/** Answers one request. */
export type HttpHandler = (request: HttpRequest) => HttpReply | Promise<HttpReply>;

const encoder = new TextEncoder();
/** How long the server waits for the peer to take a short error reply before closing. */
const ERROR_WRITE_MS = 1000;

/** Why a wait for a request head ended without one. */
type Expired = "idle" | "slow";

/** Options for {@link serveHttpConnection}. */
export interface HttpConnectionOptions {
  /** The peer's IP address. */
  remoteAddress: string;
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
      const request = { ...head, remoteAddress };
      let reply: HttpReply;
      try {
        reply = await handle(request);
      } catch {
        reply = textReply(500, "Internal server error\n");
      }
      const keepAlive = reply.stream === undefined && mayKeepAlive(head);
      const body = typeof reply.body === "string" ? encoder.encode(reply.body) : reply.body;
      const fields: Record<string, string> = {};
      if (reply.takeover === undefined) {
        fields.connection = keepAlive ? "keep-alive" : "close";
        if (reply.stream === undefined) fields["content-length"] = String(body?.length ?? 0);
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
        await pipeStream(conn, reply.stream, head.method === "HEAD", limits);
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
 * Whether the connection may stay open after this request: HTTP/1.1 without `Connection:
 * close`, and no announced body (which is never read, so it would be taken for the next
 * request). In doubt — HTTP/1.0 — close.
 */
function mayKeepAlive(head: RequestHead): boolean {
  const connection = (head.headers.get("connection") ?? "").toLowerCase().split(",")
    .map((token) => token.trim());
  const hasBody = head.headers.has("transfer-encoding") ||
    Number(head.headers.get("content-length") ?? "0") !== 0;
  return head.version === "1.1" && !connection.includes("close") && !hasBody;
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
 */
async function pipeStream(
  conn: Deno.Conn,
  stream: ReadableStream<Uint8Array>,
  headOnly: boolean,
  limits: ResolvedHttpLimits,
): Promise<void> {
  const chunks = stream.getReader();
  try {
    while (!headOnly) {
      const { value, done } = await chunks.read();
      if (done) return;
      await writeWithin(conn, value, limits.headTimeoutMs);
    }
  } finally {
    await chunks.cancel().catch(() => {});
  }
}
