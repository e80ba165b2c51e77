/**
 * A {@link Connection} over a byte stream: a TCP socket today, a TLS socket as well (both
 * are a `Deno.Conn`).
 *
 * @module
 */
import type { Connection } from "../chat/connection.ts";
import { LineSplitter } from "../irc/line_splitter.ts";

/** Small on purpose: ten thousand idle clients each keep one. */
const READ_BUFFER_BYTES = 4096;

/**
 * One client on a TCP (or TLS) stream.
 *
 * @example Read a client's lines and answer them with one write
 * ```ts
 * import assert from "node:assert/strict";
 * import { StreamConnection } from "./stream_connection.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const connection = new StreamConnection(await listener.accept(), "tcp");
 * listener.close();
 * assert.equal(connection.remoteAddress, "127.0.0.1");
 * assert.equal(connection.secure, false);
 * await client.write(new TextEncoder().encode("NICK ann\r\nUSER ann 0 * :Ann\n"));
 * const lines: string[] = [];
 * for await (const line of connection.lines(512)) {
 *   lines.push(new TextDecoder().decode(line));
 *   if (lines.length === 2) break;
 * }
 * assert.deepEqual(lines, ["NICK ann", "USER ann 0 * :Ann"]);
 * const replies = ["PING :1\r\n", "PING :2\r\n"].map((line) => new TextEncoder().encode(line));
 * await connection.write(replies, replies[0].length + replies[1].length);
 * connection.close();
 * assert.equal(await new Response(client.readable).text(), "PING :1\r\nPING :2\r\n");
 * ```
 */
export class StreamConnection implements Connection {
  /** `tcp` or `tls`. */
  readonly transport: string;
  /** True on TLS. */
  readonly secure: boolean;
  /** The peer's IP address. */
  readonly remoteAddress: string;
  #conn: Deno.Conn;
  #closed = false;

  /**
   * Wraps an accepted socket; TCP sockets send each write at once (no Nagle delay).
   *
   * @param conn The accepted socket.
   * @param transport The transport's name for statistics.
   */
  constructor(conn: Deno.Conn, transport = "tcp") {
    this.#conn = conn;
    this.transport = transport;
    this.secure = "handshake" in conn;
    const address = conn.remoteAddr;
    this.remoteAddress = address.transport === "tcp" ? address.hostname : "localhost";
    // Lines are already gathered into one write per flush; Nagle would only add latency.
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
  }

  /**
   * Incoming lines (see {@link Connection.lines}).
   *
   * @param maxBytes The longest line accepted.
   * @returns The lines.
   */
  async *lines(maxBytes: number): AsyncGenerator<Uint8Array> {
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    const splitter = new LineSplitter(maxBytes);
    while (!this.#closed) {
      let count: number | null;
      try {
        count = await this.#conn.read(buffer);
      } catch (error) {
        if (this.#closed) return;
        throw error;
      }
      if (count === null) return;
      yield* splitter.split(buffer.subarray(0, count));
    }
  }

  /**
   * Writes the chunks as one buffer (see {@link Connection.write}). A single chunk — most
   * often a channel's lines of one tick, shared by every member — is written as it is;
   * several are copied into one buffer, since a copy costs less than a system call each.
   *
   * @param chunks Encoded lines.
   * @param byteLength Their total length.
   */
  async write(chunks: Uint8Array[], byteLength: number): Promise<void> {
    let data = chunks[0];
    if (chunks.length > 1) {
      data = new Uint8Array(byteLength);
      let offset = 0;
      for (const chunk of chunks) {
        data.set(chunk, offset);
        offset += chunk.length;
      }
    }
    let written = await this.#conn.write(data);
    while (written < data.length) written += await this.#conn.write(data.subarray(written));
  }

  /** Closes the socket. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer's reset.
    }
  }
}
