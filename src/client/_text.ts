/**
 * How text from the server reads on the terminal: cleaned of formatting and control
 * characters, times as a clock, quotes of the messages that replies and reactions answer.
 *
 * @module
 */
import { escapeControls } from "../chat/terminal_text.ts";
import type { IrcMessage } from "../irc/message.ts";

/** How much of a message a reply or a reaction quotes, in characters. */
const QUOTE_LENGTH = 40;

// mIRC formatting: bold, colour (\x03FG,BG), hex colour (\x04RRGGBB,RRGGBB), reset,
// monospace, reverse, italic, strike-through, underline.
const FORMATTING =
  // deno-lint-ignore no-control-regex
  /\x03(\d{1,2}(,\d{1,2})?)?|\x04([0-9a-f]{6}(,[0-9a-f]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]/gi;

/**
 * Whether a target is a channel (rather than a nick).
 *
 * @param name The target.
 * @returns True for `#…` and `&…`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isChannel } from "./_text.ts";
 *
 * assert.ok(isChannel("#lobby"));
 * assert.ok(!isChannel("ann"));
 * ```
 */
export function isChannel(name: string): boolean {
  return /^[#&]/.test(name);
}

/**
 * Text from the server as the terminal shows it: IRC formatting dropped, every other
 * control character shown escaped, so nobody can move the cursor or change the terminal.
 * Nicks, channels and every other name from the server go through {@link escapeControls}
 * too: another server than shmooze may let them hold anything.
 *
 * @param text The text.
 * @returns What to print.
 *
 * @example Bold goes, an escape sequence is shown
 * ```ts
 * import assert from "node:assert/strict";
 * import { clean } from "./_text.ts";
 *
 * assert.equal(clean("\x02hi\x02 \x1b[2J"), "hi ^[[2J");
 * ```
 */
export function clean(text: string): string {
  return escapeControls(text.replace(FORMATTING, ""));
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/**
 * A time as the client shows it: HH:MM:SS, with the date in front when it is not today.
 *
 * @param time The time.
 * @returns The clock.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clock } from "./_text.ts";
 *
 * assert.match(clock(new Date()), /^\d\d:\d\d:\d\d$/);
 * assert.equal(clock(new Date(2001, 0, 2, 3, 4, 5)), "2001-01-02 03:04:05");
 * ```
 */
export function clock(time: Date): string {
  const now = new Date();
  const hms = `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}`;
  if (time.toDateString() === now.toDateString()) return hms;
  return `${time.getFullYear()}-${pad(time.getMonth() + 1)}-${pad(time.getDate())} ${hms}`;
}

/**
 * When a message was sent: its `time` tag (server-time), else now.
 *
 * @param message The message.
 * @returns The time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { timeOf } from "./_text.ts";
 *
 * const time = "2026-01-01T10:00:00.000Z";
 * const message = { tags: { time }, command: "PRIVMSG", params: ["#lobby", "hi"] };
 * assert.equal(timeOf(message).toISOString(), time);
 * ```
 */
export function timeOf(message: IrcMessage): Date {
  const time = message.tags.time ? new Date(message.tags.time) : new Date();
  return Number.isNaN(time.getTime()) ? new Date() : time;
}

/**
 * The start of a message, cleaned and quoted, for a reply or a reaction to show what it
 * answers.
 *
 * @param text The message.
 * @returns Its first 40 characters in double quotes, with `…` when there is more.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quote } from "./_text.ts";
 *
 * assert.equal(quote("lunch?"), '"lunch?"');
 * assert.equal(quote("x".repeat(41)), `"${"x".repeat(40)}…"`);
 * ```
 */
export function quote(text: string): string {
  const chars = [...clean(text)];
  return `"${chars.slice(0, QUOTE_LENGTH).join("")}${chars.length > QUOTE_LENGTH ? "…" : ""}"`;
}
