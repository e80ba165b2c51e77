/**
 * The command line's half of an error: the library says what failed and why, with a typed
 * `problem`; this adds which flag to change. So `startServer` never speaks of `--port`, and
 * `shmooze serve` still tells its user exactly what to type.
 *
 * @module
 */
import { DataDirectoryError } from "../chat/data_directory.ts";
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
