/**
 * Cutting long text into messages that fit: an IRC line holds 512 bytes with its prefix, a
 * room slot 1 KiB. Every sender of long text — `shmooze client`, the chat page, `shmooze
 * local` and the room bridge — cuts it with {@link splitWords}, so a long line arrives whole,
 * in pieces that end between words. The chat page's script imports this module too, so it
 * uses nothing a browser lacks.
 *
 * @module
 */

/**
 * Splits text into pieces of at most `limit` UTF-8 bytes, between words where it can: each
 * piece ends before a space or tab, and the spaces where it was cut are dropped, so joining
 * the pieces with a space gives the text back when its words are separated by single spaces.
 * A word longer than `limit` is cut between two characters (never inside one's UTF-8 bytes);
 * so is text without spaces, such as Chinese or Japanese.
 *
 * @param text The text.
 * @param limit Bytes per piece, at least 4 (the longest UTF-8 character).
 * @returns The pieces in order; just `[text]` when it fits.
 * @throws {RangeError} When `limit` is below 4.
 *
 * @example Split between words, and inside a word only when it is longer than the limit
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitWords } from "./split_text.ts";
 *
 * assert.deepEqual(splitWords("the quick brown fox", 10), ["the quick", "brown fox"]);
 * assert.deepEqual(splitWords("héhéhé", 5), ["héh", "éhé"]);
 * assert.deepEqual(splitWords("short", 10), ["short"]);
 * assert.throws(() => splitWords("short", 3), RangeError);
 * ```
 */
export function splitWords(text: string, limit: number): string[] {
  if (!(limit >= 4)) {
    throw new RangeError(
      `Cannot split text into pieces of ${limit} bytes: a piece must hold at least 4 (the longest UTF-8 character)`,
    );
  }
  const encoder = new TextEncoder();
  const isBreak = (char: string) => char === " " || char === "\t";
  const pieces: string[] = [];
  let rest = text;
  let restBytes = encoder.encode(rest).length;
  while (restBytes > limit) {
    // The longest run of whole characters within the limit: rest[0, end).
    let end = 0;
    let bytes = 0;
    for (const char of rest) {
      const code = char.codePointAt(0)!;
      const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      if (bytes + size > limit) break;
      bytes += size;
      end += char.length;
    }
    // Cut at the last space that follows a word within it (the space may be rest[end]).
    let cut = end;
    while (cut > 0 && !(isBreak(rest[cut]) && !isBreak(rest[cut - 1]))) cut--;
    if (cut === 0) cut = end;
    const piece = rest.slice(0, cut);
    let next = cut;
    while (next < rest.length && isBreak(rest[next])) next++;
    pieces.push(piece);
    restBytes -= encoder.encode(rest.slice(0, next)).length;
    rest = rest.slice(next);
  }
  if (rest !== "" || pieces.length === 0) pieces.push(rest);
  return pieces;
}

/**
 * How many bytes of text one PRIVMSG may carry so that the line the server relays to
 * others, `:nick!user@host PRIVMSG target :text` and CR LF, fits in the server's line limit.
 *
 * @param lineLimit The server's longest line in bytes, CR LF included (its `LINELEN`, else
 * 512).
 * @param mask The sender's `nick!user@host` as the server shows it.
 * @param target The channel or nick.
 * @returns The budget in bytes, at least 16 (a mask and target so long that less would
 * remain leave the server to cut the line).
 *
 * @example The budget for ann in #lobby
 * ```ts
 * import assert from "node:assert/strict";
 * import { privmsgBudget } from "./split_text.ts";
 *
 * // 512 - ":ann!ann@127.0.0.1 PRIVMSG #lobby :".length - 2
 * assert.equal(privmsgBudget(512, "ann!ann@127.0.0.1", "#lobby"), 475);
 * // A mask that leaves no room still gets 16 bytes; the server cuts the line.
 * assert.equal(privmsgBudget(512, "a".repeat(600), "#lobby"), 16);
 * ```
 */
export function privmsgBudget(lineLimit: number, mask: string, target: string): number {
  const prefix = new TextEncoder().encode(`:${mask} PRIVMSG ${target} :\r\n`).length;
  return Math.max(lineLimit - prefix, 16);
}
