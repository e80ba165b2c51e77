/**
 * Buffered reading from a socket with a hard cap on the buffer: the HTTP request-head parser
 * and the WebSocket framer both read through one, so no peer can make the server hold more
 * than `capacity` bytes of its input, however it sends them.
 *
 * @module
 */

/** The first allocation; the buffer doubles from here up to its capacity when it must. */
const INITIAL_BYTES = 4096;

/**
 * Reads from a socket into a buffer that grows up to a fixed capacity.
 *
 * @example Read a line from a socket, holding at most 64 bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteReader } from "./_byte_reader.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * using server = await listener.accept();
 * await client.write(new TextEncoder().encode("hello\nworld"));
 * const reader = new ByteReader(server, 64);
 * while (!reader.buffered.includes(0x0a)) await reader.fill();
 * const line = reader.buffered.indexOf(0x0a);
 * assert.equal(new TextDecoder().decode(reader.buffered.subarray(0, line)), "hello");
 * reader.consume(line + 1);
 * assert.ok(await reader.need(5));
 * assert.equal(new TextDecoder().decode(reader.buffered), "world");
 * ```
 */
export class ByteReader {
  /** The most bytes the reader ever holds. */
  readonly capacity: number;
  readonly #conn: Deno.Conn;
  #buffer: Uint8Array;
  #start = 0;
  #end = 0;

  /**
   * @param conn The socket.
   * @param capacity The most bytes held at once.
   * @param initial Bytes already read from the socket, to be read first.
   */
  constructor(conn: Deno.Conn, capacity: number, initial?: Uint8Array) {
    this.#conn = conn;
    this.capacity = Math.max(capacity, initial?.length ?? 0);
    this.#buffer = new Uint8Array(
      Math.min(this.capacity, Math.max(INITIAL_BYTES, initial?.length ?? 0)),
    );
    if (initial) {
      this.#buffer.set(initial);
      this.#end = initial.length;
    }
  }

  /** The bytes read and not yet consumed; a view valid until the next fill or consume. */
  get buffered(): Uint8Array {
    return this.#buffer.subarray(this.#start, this.#end);
  }

  /**
   * Marks bytes as consumed.
   *
   * @param count How many of the buffered bytes.
   */
  consume(count: number): void {
    this.#start = Math.min(this.#end, this.#start + count);
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /**
   * Reads once more from the socket.
   *
   * @returns False at the end of the stream.
   * @throws RangeError when the buffer already holds `capacity` bytes (the caller's limit
   *   should have stopped it first); whatever the socket's read throws.
   */
  async fill(): Promise<boolean> {
    this.#makeRoom();
    const count = await this.#conn.read(this.#buffer.subarray(this.#end));
    if (count === null) return false;
    this.#end += count;
    return true;
  }

  /**
   * Reads until at least `count` bytes are buffered.
   *
   * @param count How many bytes are needed (at most `capacity`).
   * @returns False when the stream ended first.
   */
  async need(count: number): Promise<boolean> {
    if (count > this.capacity) {
      throw new RangeError(
        `Cannot buffer ${count} bytes: the reader holds at most ${this.capacity}`,
      );
    }
    while (this.#end - this.#start < count) {
      if (!(await this.fill())) return false;
    }
    return true;
  }

  /**
   * Reads and drops `count` bytes, never holding more than the buffer.
   *
   * @param count How many bytes to skip.
   * @returns False when the stream ended first.
   */
  async skip(count: number): Promise<boolean> {
    while (true) {
      const dropped = Math.min(count, this.#end - this.#start);
      this.consume(dropped);
      count -= dropped;
      if (count === 0) return true;
      if (!(await this.fill())) return false;
    }
  }

  /** Moves unread bytes to the front, or grows the buffer, so a read has somewhere to go. */
  #makeRoom(): void {
    if (this.#end < this.#buffer.length) return;
    const held = this.#end - this.#start;
    if (this.#start > 0) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
    } else {
      if (this.#buffer.length >= this.capacity) {
        throw new RangeError(`Cannot read more: the reader already holds ${held} bytes`);
      }
      const grown = new Uint8Array(Math.min(this.capacity, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(0, held));
      this.#buffer = grown;
    }
    this.#start = 0;
    this.#end = held;
  }
}
