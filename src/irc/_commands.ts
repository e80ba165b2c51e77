/**
 * The IRC commands a registered client may send, one handler each, on top of the chat core:
 * the table the session dispatches through. Each area's handlers live in their own file
 * under `commands/`.
 *
 * @module
 */
import { registerAccount } from "./account_registration.ts";
import { chatHistory } from "./chathistory.ts";
import { CHANNEL_COMMANDS } from "./commands/channels.ts";
import { CHANSERV_COMMANDS } from "./commands/chanserv.ts";
import type { Handler } from "./commands/handler.ts";
import { MARKREAD_COMMANDS } from "./commands/markread.ts";
import { MESSAGE_COMMANDS } from "./commands/messages.ts";
import { MODE_COMMANDS } from "./commands/modes.ts";
import { MONITOR_COMMANDS } from "./commands/monitor.ts";
import { NICKSERV_COMMANDS } from "./commands/nickserv.ts";
import { OPERATOR_COMMANDS } from "./commands/operator.ts";
import { QUERY_COMMANDS } from "./commands/queries.ts";
import { REDACT_COMMANDS } from "./commands/redact.ts";
import { SEARCH_COMMANDS } from "./commands/search.ts";
import { TOKEN_COMMANDS } from "./commands/token.ts";
import { WEBPUSH_COMMANDS } from "./commands/webpush.ts";

export type { Handler };

/**
 * Every command a registered client may send, beyond those of registration.
 *
 * @example The session handles registration's commands itself
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMMANDS } from "./_commands.ts";
 *
 * assert.equal(typeof COMMANDS.PRIVMSG, "function");
 * assert.equal(COMMANDS.NICK, undefined);
 * ```
 */
export const COMMANDS: Record<string, Handler> = {
  ...CHANNEL_COMMANDS,
  ...CHANSERV_COMMANDS,
  ...MARKREAD_COMMANDS,
  ...MESSAGE_COMMANDS,
  ...MODE_COMMANDS,
  ...MONITOR_COMMANDS,
  ...NICKSERV_COMMANDS,
  ...OPERATOR_COMMANDS,
  ...QUERY_COMMANDS,
  ...REDACT_COMMANDS,
  ...SEARCH_COMMANDS,
  ...TOKEN_COMMANDS,
  ...WEBPUSH_COMMANDS,
  CHATHISTORY: chatHistory,
  REGISTER: registerAccount,
};
