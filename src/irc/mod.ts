/**
 * The IRC wire format as shmooze speaks it: one parser and formatter for lines with IRCv3
 * tags, the limits a server enforces, and CTCP ACTION. The server's sessions and commands
 * are internal; `./server` runs them.
 *
 * @example Parse a line and write it back
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatMessage, parseMessage } from "./mod.ts";
 *
 * const message = parseMessage("@time=2026-01-01T00:00:00.000Z :ann!a@h PRIVMSG #lobby :hi all")!;
 * assert.equal(message.command, "PRIVMSG");
 * assert.deepEqual(message.params, ["#lobby", "hi all"]);
 * assert.equal(formatMessage(message), "@time=2026-01-01T00:00:00.000Z :ann!a@h PRIVMSG #lobby :hi all");
 * ```
 *
 * @module
 */
export {
  escapeTagValue,
  formatMessage,
  type IrcMessage,
  nickOf,
  parseMessage,
  unescapeTagValue,
} from "./message.ts";
export { DEFAULT_LIMITS, type IrcLimits } from "./limits.ts";
export { action, ACTION_OVERHEAD, actionText, isCtcp } from "./ctcp.ts";
