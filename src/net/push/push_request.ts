/**
 * One push request (RFC 8030 section 5): an HTTP/1.1 POST of an encrypted message to a push
 * endpoint, made to the address {@link resolveEndpoint} checked (TLS still verifies the
 * endpoint's host name), read no further than the status line and headers, within a
 * deadline. A small client of its own rather than `fetch`, which would resolve the name again
 * and could reach an address nobody checked.
 *
 * @module
 */
import type { ResolvedEndpoint } from "./push_endpoint.ts";

/** The push service's answer. */
export interface PushResponse {
  /** The HTTP status. */
  readonly status: number;
  /** Seconds to wait before trying again (`Retry-After`, a 429 or 503 may have it). */
  readonly retryAfterS?: number;
}

/** What to send. */
export interface PushRequest {
  /** The endpoint and its checked address. */
  readonly endpoint: ResolvedEndpoint;
  /** Request headers (Host, Content-Length and Connection are added). */
  readonly headers: Readonly<Record<string, string>>;
  /** The body. */
  readonly body: Uint8Array;
  /** The longest the whole exchange may take, ms. */
  readonly timeoutMs: number;
  /** More root certificates (PEM) to trust, beyond the system's (a test's own CA). */
  readonly caCerts?: string[];
  /** Aborts the request (the server is closing). */
  readonly signal?: AbortSignal;
}

/** Longest response head read: a push service says what it has to in a few hundred bytes. */
const MAX_HEAD = 16 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Posts one push message and reads the answer's status.
 *
 * @param request The endpoint, headers, body, deadline.
 * @returns The status (and `Retry-After`).
 * @throws Error when the connection fails, the deadline passes, the request is aborted or the
 *   answer is not HTTP.
 *
 * @example A push service on loopback answers 201
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveEndpoint } from "./push_endpoint.ts";
 * import { postPush } from "./push_request.ts";
 *
 * const bodies: string[] = [];
 * await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (r) => {
 *   bodies.push(`${r.headers.get("ttl")} ${await r.text()}`);
 *   return new Response(null, { status: 201 });
 * });
 * const endpoint = await resolveEndpoint(`http://127.0.0.1:${server.addr.port}/p/1`, {
 *   allowInternal: true,
 * });
 * assert.ok(!("problem" in endpoint));
 * const response = await postPush({
 *   endpoint,
 *   headers: { TTL: "60" },
 *   body: new TextEncoder().encode("hello"),
 *   timeoutMs: 5000,
 * });
 * assert.equal(response.status, 201);
 * assert.deepEqual(bodies, ["60 hello"]);
 * ```
 */
export async function postPush(request: PushRequest): Promise<PushResponse> {
  const { endpoint, timeoutMs } = request;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = request.signal ? AbortSignal.any([deadline, request.signal]) : deadline;
  let conn: Deno.Conn | undefined;
  const abort = () => conn?.close();
  signal.addEventListener("abort", abort, { once: true });
  try {
    conn = await Deno.connect({ hostname: endpoint.address, port: endpoint.port, signal });
    if (endpoint.url.protocol === "https:") {
      conn = await Deno.startTls(conn as Deno.TcpConn, {
        hostname: endpoint.host,
        caCerts: request.caCerts,
      });
    }
    signal.throwIfAborted();
    await writeAll(conn, encoder.encode(head(request)));
    await writeAll(conn, request.body);
    return parseHead(await readHead(conn));
  } catch (error) {
    if (deadline.aborted) throw new Error(`No answer from the push service within ${timeoutMs} ms`);
    if (signal.aborted) throw new Error("The push request was cancelled");
    throw error;
  } finally {
    signal.removeEventListener("abort", abort);
    try {
      conn?.close();
    } catch {
      // Closed already, by the deadline.
    }
  }
}

/** The request line and headers. */
function head(request: PushRequest): string {
  const { url } = request.endpoint;
  const lines = [
    `POST ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    ...Object.entries(request.headers).map(([name, value]) => `${name}: ${value}`),
    `Content-Length: ${request.body.length}`,
    "Connection: close",
  ];
  return `${lines.join("\r\n")}\r\n\r\n`;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** Reads up to the blank line that ends the response head. */
async function readHead(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(MAX_HEAD);
  let length = 0;
  while (length < MAX_HEAD) {
    const read = await conn.read(buffer.subarray(length));
    if (read === null) break;
    length += read;
    const text = decoder.decode(buffer.subarray(0, length));
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) return text.slice(0, end);
  }
  if (length === 0) throw new Error("The push service closed the connection without answering");
  // A head cut short still has its status line, which is all that counts.
  return decoder.decode(buffer.subarray(0, length));
}

function parseHead(text: string): PushResponse {
  const [statusLine, ...headers] = text.split("\r\n");
  const match = statusLine.match(/^HTTP\/1\.[01] (\d{3})\b/);
  if (match === null) {
    throw new Error(
      `The push service's answer is not HTTP/1.1: ${JSON.stringify(statusLine.slice(0, 80))}`,
    );
  }
  const status = Number(match[1]);
  for (const header of headers) {
    const [name, value] = [
      header.slice(0, header.indexOf(":")),
      header.slice(header.indexOf(":") + 1),
    ];
    if (name.trim().toLowerCase() !== "retry-after") continue;
    const seconds = /^\s*\d+\s*$/.test(value)
      ? Number(value)
      : (Date.parse(value.trim()) - Date.now()) / 1000;
    if (Number.isFinite(seconds)) return { status, retryAfterS: Math.max(0, seconds) };
  }
  return { status };
}
