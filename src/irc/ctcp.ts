/**
 * CTCP, the Client-To-Client Protocol inside PRIVMSG and NOTICE: a text wrapped in `\x01`.
 * Only ACTION (`/me waves`) matters to shmooze's interfaces; every other request is shown as
 * what it is, never acted on. The server, the terminal client, the bridge and the browser
 * page all read and write ACTION here.
 *
 * @module
 */

// CTCP is delimited by the control character \x01: matching it is the point.
// deno-lint-ignore no-control-regex
const ACTION = /^\x01ACTION ([\s\S]*?)\x01?$/;

/** The bytes ACTION wraps around its text (`\x01ACTION ` and `\x01`). */
export const ACTION_OVERHEAD = 9;

/**
 * The text of a CTCP ACTION (`/me`), or undefined when the message is not one. A missing
 * closing `\x01` is tolerated, as clients do.
 *
 * @param text A PRIVMSG's text.
 * @returns What the sender does (`waves`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { actionText } from "./ctcp.ts";
 *
 * assert.equal(actionText("\x01ACTION waves\x01"), "waves");
 * assert.equal(actionText("\x01ACTION waves"), "waves");
 * assert.equal(actionText("hello"), undefined);
 * ```
 */
export function actionText(text: string): string | undefined {
  return ACTION.exec(text)?.[1];
}

/**
 * A CTCP ACTION carrying `text`.
 *
 * @param text What the sender does.
 * @returns The PRIVMSG text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { action } from "./ctcp.ts";
 *
 * assert.equal(action("waves"), "\x01ACTION waves\x01");
 * ```
 */
export function action(text: string): string {
  return `\x01ACTION ${text}\x01`;
}

/**
 * Whether a message is a CTCP request or reply (it starts with `\x01`).
 *
 * @param text A PRIVMSG's or NOTICE's text.
 * @returns True for CTCP.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isCtcp } from "./ctcp.ts";
 *
 * assert.ok(isCtcp("\x01VERSION\x01"));
 * assert.ok(!isCtcp("hello"));
 * ```
 */
export function isCtcp(text: string): boolean {
  return text.startsWith("\x01");
}
