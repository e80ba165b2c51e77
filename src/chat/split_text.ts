/**
 * Cutting text to a size in bytes: a room slot holds 1 KiB, an IRC line 512 bytes, so a long
 * message crossing from one to the other is sent as several.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Splits text into pieces of at most `limit` UTF-8 bytes, never inside a character.
 *
 * @param text The text.
 * @param limit Bytes per piece (at least 4, the longest character).
 * @returns The pieces in order; one when it fits.
 *
 * @example Split at a byte budget
 * ```ts
 * import { splitUtf8 } from "./split_text.ts";
 * console.log(splitUtf8("héllo", 3)); // [ "hé", "llo" ]
 * ```
 */
export function splitUtf8(text: string, limit: number): string[] {
  const pieces: string[] = [];
  let piece = "";
  let bytes = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (bytes + size > limit) {
      pieces.push(piece);
      piece = "";
      bytes = 0;
    }
    piece += char;
    bytes += size;
  }
  pieces.push(piece);
  return pieces;
}
