/**
 * What a user can do about an error of the shared-memory layer, in the words of the command
 * line. src/ipc says what failed and why, with a typed `IpcError` code, and never names a
 * flag; the commands catch its errors and add the advice here, naming their own flags.
 *
 * @module
 */

import { IpcError } from "../ipc/ipc_error.ts";
import { CliError } from "./_args.ts";

/** Gives the advice for an error, or undefined when there is none to give. */
export type Advice = (error: IpcError) => string | undefined;

/**
 * Advice for a shared-memory object that cannot be used as it is: corrupt, of another kind
 * or layout version, or never finished by a creator that died.
 *
 * @param error The error, naming the object.
 * @returns The `shmooze ipc clean` command that removes it, or undefined for other errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IpcError } from "../ipc/ipc_error.ts";
 * import { removalAdvice } from "./_ipc_hints.ts";
 *
 * const corrupt = new IpcError("join room", "Room", "ECORRUPT", 0, { objectName: "shmooze-1-room-x" });
 * assert.equal(
 *   removalAdvice(corrupt),
 *   "remove it with `shmooze ipc clean --force --filter shmooze-1-room-x`",
 * );
 * assert.equal(removalAdvice(new IpcError("join room", "Room", "ENOSPC", 0)), undefined);
 * ```
 */
export function removalAdvice(error: IpcError): string | undefined {
  switch (error.code) {
    case "ECORRUPT":
    case "EBADMAGIC":
    case "EVERSION":
      return `remove it with \`shmooze ipc clean --force --filter ${error.objectName}\``;
    case "EPROTO":
      return `remove it with \`shmooze ipc clean --filter ${error.objectName}\``;
    default:
      return undefined;
  }
}

/**
 * Advice for a room that cannot be joined or used.
 *
 * @param error The error from `Room.join` or a call on a room.
 * @param flags The command's own flags: the one that picks the room, and the one that picks
 *   the participant's name (when the command has one).
 * @returns What to do, or undefined when there is nothing to add.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IpcError } from "../ipc/ipc_error.ts";
 * import { roomAdvice } from "./_ipc_hints.ts";
 *
 * const taken = new IpcError('join room "lobby" as "ann"', "Room", "EEXIST", 0);
 * assert.equal(
 *   roomAdvice(taken, { room: "--room", name: "--name" }),
 *   "choose another name with --name",
 * );
 * ```
 */
export function roomAdvice(
  error: IpcError,
  flags: { room: string; name?: string },
): string | undefined {
  switch (error.code) {
    case "EEXIST":
      return flags.name === undefined
        ? `choose another room with ${flags.room}`
        : `choose another name with ${flags.name}`;
    case "EOWNER":
      return `choose another room with ${flags.room}, or ask its owner or an administrator ` +
        "to remove it";
    case "ECORRUPT":
    case "EBADMAGIC":
    case "EVERSION":
      return `${removalAdvice(error)} (whoever is still in it must join again)`;
    default:
      return removalAdvice(error);
  }
}

/**
 * An error's message with the advice for it added, on one line.
 *
 * @param error Anything thrown.
 * @param advice The advice for IpcErrors.
 * @returns `message; advice`, or the message alone when there is no advice.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IpcError } from "../ipc/ipc_error.ts";
 * import { advised } from "./_ipc_hints.ts";
 *
 * const busy = new IpcError("create status board", "StatusBoard", "EBUSY", 0, {
 *   reason: "a running server (pid 42) owns it",
 * });
 * assert.equal(
 *   advised(busy, () => "stop that server"),
 *   "Cannot create status board: a running server (pid 42) owns it (EBUSY); stop that server",
 * );
 * assert.equal(advised(new Error("Something else"), () => "never shown"), "Something else");
 * ```
 */
export function advised(error: unknown, advice: Advice): string {
  const message = error instanceof Error ? error.message : String(error);
  const hint = error instanceof IpcError ? advice(error) : undefined;
  return hint === undefined ? message : `${message}; ${hint}`;
}

/**
 * Turns an IpcError for which there is advice into a one-line {@link CliError} that gives
 * it; leaves every other error as it is.
 *
 * @param error Anything thrown.
 * @param advice The advice for IpcErrors.
 * @returns The error to throw.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IpcError } from "../ipc/ipc_error.ts";
 * import { CliError } from "./_args.ts";
 * import { removalAdvice, withAdvice } from "./_ipc_hints.ts";
 *
 * const foreign = new IpcError("read status board", "StatusBoard", "EVERSION", 0, {
 *   objectName: "shmooze-1-status-54000",
 * });
 * assert.ok(withAdvice(foreign, removalAdvice) instanceof CliError);
 * const full = new IpcError("join room", "Room", "ENOSPC", 0);
 * assert.equal(withAdvice(full, removalAdvice), full);
 * ```
 */
export function withAdvice(error: unknown, advice: Advice): unknown {
  if (!(error instanceof IpcError)) return error;
  const hint = advice(error);
  return hint === undefined ? error : new CliError(`${error.message}; ${hint}`);
}
