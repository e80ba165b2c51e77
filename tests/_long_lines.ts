/**
 * Checks shared by the tests of long lines and of lines sent across a reconnect: a long
 * line to type, the check that it arrived whole and within the line limit, and a channel's
 * history as a raw client reads it.
 */
import assert from "node:assert/strict";
import type { IrcTestClient, Received } from "./_irc.ts";

/** The capabilities a raw client needs to read history. */
export const HISTORY_CAPS = ["batch", "server-time", "message-tags", "draft/chathistory"];

/** A word longer than any piece may be (600 bytes of two-byte characters). */
const LONG_WORD = "é".repeat(300);

/**
 * A line of 600 characters: ordinary words, then one word too long for a single message,
 * so it must be cut inside (and only there), between two characters.
 *
 * @param label Text that tells this line from others, at its start.
 * @returns The line.
 */
export function longLine(label: string): string {
  const words: string[] = [label];
  for (let i = 0; words.join(" ").length < 600 - LONG_WORD.length - 1; i++) {
    words.push(`word${i}`);
  }
  const line = `${words.join(" ")} ${LONG_WORD}`.slice(0, 600);
  assert.equal(line.length, 600);
  return line;
}

/**
 * Asserts that the PRIVMSGs a raw client received carry `text` whole: in order, nothing
 * lost or changed, cut only between words (or inside the one word longer than a piece),
 * no character broken (the client decodes UTF-8, so a cut byte would read as U+FFFD), and
 * every relayed line, CR LF included and tags excluded, within `lineLimit` bytes.
 *
 * @param lines The PRIVMSG lines, in the order received.
 * @param text The line that was typed.
 * @param lineLimit The server's line limit.
 */
export function assertArrivedWhole(lines: Received[], text: string, lineLimit = 512): void {
  const pieces = lines.map((m) => m.params[1]);
  assert.ok(pieces.length >= 2, `a 600-character line came as ${pieces.length} message(s)`);
  for (const line of lines) {
    const bytes = new TextEncoder().encode(`${line.line.replace(/^@\S+ /, "")}\r\n`).length;
    assert.ok(bytes <= lineLimit, `a relayed line of ${bytes} bytes: ${line.line}`);
  }
  assert.ok(!pieces.some((piece) => piece.includes("\uFFFD")), "a character was cut in two");
  assert.equal(pieces.join(" ").replaceAll(" ", ""), text.replaceAll(" ", ""));
  const words = new Set(text.split(" "));
  for (const piece of pieces) {
    for (const word of piece.split(" ")) {
      assert.ok(
        words.has(word) || LONG_WORD.includes(word),
        `"${word}" is part of a word: the line was cut inside it`,
      );
    }
  }
}

/**
 * The texts of a channel's last 100 messages, as CHATHISTORY LATEST gives them to a raw
 * client registered with {@link HISTORY_CAPS}.
 *
 * @param client The client.
 * @param target The channel.
 * @returns The texts, oldest first.
 */
export async function historyTexts(client: IrcTestClient, target: string): Promise<string[]> {
  await client.send(`CHATHISTORY LATEST ${target} * 100`);
  const start = await client.waitFor((m) => m.command === "BATCH" && m.params[0][0] === "+");
  const id = start.params[0].slice(1);
  await client.waitFor((m) => m.command === "BATCH" && m.params[0] === `-${id}`);
  return client.lines.filter((m) => m.tags.batch === id && m.command === "PRIVMSG")
    .map((m) => m.params[1]);
}
