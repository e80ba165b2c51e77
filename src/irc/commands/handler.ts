/**
 * The shape of a command handler, shared by every file of commands.
 *
 * @module
 */
import type { IrcMessage } from "../message.ts";
import type { IrcSession } from "../session.ts";

/**
 * Handles one command from a registered client. A handler that must wait (for history, for
 * a password hash) returns a promise: the session reads its next command only after it.
 */
export type Handler = (session: IrcSession, message: IrcMessage) => void | Promise<void>;
