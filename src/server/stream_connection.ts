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
 * @example Serve lines from a socket
 * ```ts ignore
 * const listener = Deno.listen({ port: 0 });
 * for await (const conn of listener) server.attach(new StreamConnection(conn, "tcp"));
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
