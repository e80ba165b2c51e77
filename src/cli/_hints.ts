/**
 * The command line's half of an error: the library says what failed and why, with a typed
 * `problem` (or an `IpcError` code); this adds which flag to change or which command to run.
 * So `startServer` never speaks of `--port` and src/ipc never of `shmooze ipc clean`, and the
 * commands still tell their user exactly what to type.
 *
 * @module
 */
import { DataDirectoryError } from "../chat/data_directory.ts";
import { IpcError } from "../ipc/ipc_error.ts";
import { ListenError } from "../net/listen.ts";
import { CliError } from "./_args.ts";

const PORT_FLAG = { irc: "--port", "irc-tls": "--tls-port", http: "--http-port" } as const;
const HOST_FLAG = { irc: "--host", "irc-tls": "--host", http: "--http-host" } as const;

/**
 * The flag to change for an error the library reports with a `problem`, or undefined when
 * there is none to give.
 *
 * @param error A caught error.
 * @returns The hint, without punctuation around it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DataDirectoryError } from "../chat/data_directory.ts";
import { IpcError } from "../ipc/ipc_error.ts";
 * import { hintFor } from "./_hints.ts";
 *
 * const error = new DataDirectoryError("not-a-directory", "/etc/passwd", "Cannot use it: a file");
 * assert.equal(hintFor(error), "choose a directory with --data");
 * assert.equal(hintFor(new Error("other")), undefined);
 * ```
 */
export function hintFor(error: unknown): string | undefined {
  if (error instanceof ListenError) {
    const port = PORT_FLAG[error.listener];
    switch (error.problem) {
      case "in-use":
        return error.listener === "http"
          ? `choose another with ${port}, or turn HTTP off with --no-http`
          : `choose another with ${port}`;
      case "permission":
        return `ports below 1024 need root (or CAP_NET_BIND_SERVICE); choose another with ${port}`;
      case "certificate":
        return "--tls-cert must be a PEM certificate (chain) and --tls-key its PEM private key";
      case "address":
        return `${
          HOST_FLAG[error.listener]
        } "${error.hostname}" must be an address of this machine or a name for one (0.0.0.0: every IPv4 address, ::: every address, 127.0.0.1: this machine only)`;
    }
  }
  if (error instanceof DataDirectoryError) {
    switch (error.problem) {
      case "no-default":
        return "pass --data DIR";
      case "not-a-directory":
        return "choose a directory with --data";
      case "not-writable":
        return "choose a directory you can write with --data";
      case "not-owned":
        return "or choose a directory of your own with --data";
      case "newer-schema":
        return "or use another --data directory";
      default:
        return undefined;
    }
  }
  return undefined;
}

/**
 * An expected failure of the library as the one line the command line prints: its message
 * and, when there is one, the flag to change.
 *
 * @param error A caught error.
 * @returns A CliError (exit code 1) for errors that carry a `problem`; the error itself
 *   otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ListenError } from "../net/listen.ts";
 * import { CliError } from "./_args.ts";
 * import { withHint } from "./_hints.ts";
 *
 * const taken = new ListenError("http", "127.0.0.1", 54080, "in-use", new Error("in use"));
 * const line = withHint(taken);
 * assert.ok(line instanceof CliError);
 * assert.match(line.message, /already in use; choose another with --http-port, or turn HTTP off/);
 * ```
 */
export function withHint(error: unknown): unknown {
  if (!(error instanceof ListenError || error instanceof DataDirectoryError)) return error;
  const hint = hintFor(error);
  return new CliError(hint === undefined ? error.message : `${error.message}; ${hint}`);
}

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
 * import { removalAdvice } from "./_hints.ts";
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
 * import { roomAdvice } from "./_hints.ts";
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
 * import { advised } from "./_hints.ts";
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
 * import { removalAdvice, withAdvice } from "./_hints.ts";
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
