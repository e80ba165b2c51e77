/**
 * Splits a byte stream into IRC lines without turning bytes into strings first.
 *
 * @module
 */

const LF = 10;
const CR = 13;

/**
 * Cuts incoming chunks at LF (dropping a CR before it), keeping a partial line between
 * chunks. Empty lines are skipped. A line longer than `maxBytes` is yielded as its first
 * `maxBytes + 1` bytes, so the reader can reject it, and the rest of it is dropped.
 *
 * Yielded lines are views: into the chunk, or into the splitter's own buffer. Use each one
 * before asking for the next.
 *
 * @example A line cut between two chunks; a line too long
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineSplitter } from "./line_splitter.ts";
 *
 * const lines = (splitter: LineSplitter, chunk: string) =>
 *   [...splitter.split(new TextEncoder().encode(chunk))].map((b) => new TextDecoder().decode(b));
 * const splitter = new LineSplitter(512);
 * assert.deepEqual(lines(splitter, "NICK ann\r\nUSER a 0 * :Ann\r\n\r\nJOI"), [
 *   "NICK ann",
 *   "USER a 0 * :Ann",
 * ]);
 * assert.deepEqual(lines(splitter, "N #lobby\n"), ["JOIN #lobby"]);
 * assert.deepEqual(lines(new LineSplitter(4), "PRIVMSG\nPING\n"), ["PRIVM", "PING"]);
 * ```
 */
export class LineSplitter {
  #max: number;
  #pending = new Uint8Array(0);
  #length = 0;
  #overflow = false;

  /**
   * Makes a splitter with no partial line.
   *
   * @param maxBytes The longest line, without its line ending.
   */
  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  /**
   * The complete lines a chunk finishes.
   *
   * @param chunk Bytes as they arrived.
   * @returns The lines, as views.
   */
  *split(chunk: Uint8Array): Generator<Uint8Array> {
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      if (lf >= 0 && this.#length === 0 && !this.#overflow) {
        // The common case: a whole line inside one chunk, yielded without a copy.
        const end = lf > start && chunk[lf - 1] === CR ? lf - 1 : lf;
        if (end > start) {
          yield end - start > this.#max
            ? chunk.subarray(start, start + this.#max + 1)
            : chunk.subarray(start, end);
        }
        start = lf + 1;
        continue;
      }
      this.#append(chunk.subarray(start, lf < 0 ? chunk.length : lf));
      if (lf < 0) return;
      let end = this.#length;
      if (!this.#overflow && end > 0 && this.#pending[end - 1] === CR) end--;
      const line = this.#pending.subarray(0, end);
      this.#length = 0;
      this.#overflow = false;
      if (line.length > 0) yield line;
      start = lf + 1;
    }
  }

  #append(bytes: Uint8Array): void {
    if (this.#overflow) return;
    const room = this.#max + 1 - this.#length;
    let take = bytes;
    if (bytes.length > room) {
      take = bytes.subarray(0, room);
      this.#overflow = true;
    }
    const needed = this.#length + take.length;
    if (needed > this.#pending.length) {
      const grown = new Uint8Array(
        Math.min(this.#max + 1, Math.max(needed, this.#pending.length * 2, 256)),
      );
      grown.set(this.#pending.subarray(0, this.#length));
      this.#pending = grown;
    }
    this.#pending.set(take, this.#length);
    this.#length = needed;
  }
}
