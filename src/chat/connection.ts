/**
 * The seam between the chat server and its transports. A transport (TCP, TLS, WebSocket)
 * turns whatever it carries into a {@link Connection}: incoming lines as bytes, outgoing
 * lines as byte chunks. The server's protocol code never sees a socket, so a
 * new transport is one new class and one `server.attach(connection)` call.
 *
 * @module
 */

/**
 * One client's link to the server, whatever carries it.
 *
 * @example A connection in memory: two lines in, what is written kept as text
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Connection } from "./connection.ts";
 *
 * const written: string[] = [];
 * const connection: Connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {
 *     yield new TextEncoder().encode("NICK ann");
 *     yield new TextEncoder().encode("USER ann 0 * :Ann");
 *   },
 *   write(chunks) {
 *     written.push(...chunks.map((chunk) => new TextDecoder().decode(chunk)));
 *     return Promise.resolve();
 *   },
 *   close() {},
 * };
 * const received: string[] = [];
 * for await (const line of connection.lines(512)) received.push(new TextDecoder().decode(line));
 * assert.deepEqual(received, ["NICK ann", "USER ann 0 * :Ann"]);
 * const line = new TextEncoder().encode("PING :x\r\n");
 * await connection.write([line], line.length);
 * assert.deepEqual(written, ["PING :x\r\n"]);
 * ```
 */
export interface Connection {
  /** The transport's name, counted in statistics: `tcp`, `tls`, `websocket`. */
  readonly transport: string;
  /** The peer's IP address (for per-address limits and as the user's host). */
  readonly remoteAddress: string;
  /** Whether the link is encrypted (TLS, WSS): SASL PLAIN is refused elsewhere but on loopback. */
  readonly secure?: boolean;
  /**
   * Incoming lines without their line ending (LF or CR LF), as bytes. A line longer than
   * `maxBytes` is yielded as its first `maxBytes + 1` bytes — enough for the reader to see it
   * is too long and reject it — and the rest of it is dropped. The bytes may be a view into
   * a buffer the transport reuses once the next line is asked for. Ends when the peer
   * closes or the connection is closed.
   *
   * @param maxBytes The longest line the reader accepts.
   * @returns The lines.
   */
  lines(maxBytes: number): AsyncIterable<Uint8Array>;
  /**
   * Sends whole lines, in order: each chunk holds one or more lines, each ending in CR LF.
   * The chunks may be shared with other connections and must not be changed. The caller
   * never calls again before the returned promise settles; a transport that frames messages
   * (WebSocket) sends one frame per line, a byte stream writes the bytes as they are.
   *
   * @param chunks The encoded lines.
   * @param byteLength Their total length.
   * @returns Settles when the transport has taken the bytes; rejects if the link is gone.
   */
  write(chunks: Uint8Array[], byteLength: number): Promise<void>;
  /** Closes the link: pending reads end, pending writes fail. Safe to call twice. */
  close(): void;
}
