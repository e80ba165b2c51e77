/**
 * Where shmooze keeps its data (history, accounts, TLS files), and the one error every
 * problem with that place is reported as. The library says what is wrong and why; a program
 * on top (the `shmooze` command line) reads `problem` and adds how to point it elsewhere.
 *
 * @module
 */
import { join } from "node:path";

/**
 * What is wrong with a data directory or a file in it:
 * - `no-default`: no directory was given and none can be chosen (no home directory);
 * - `not-a-directory`: the path is a file;
 * - `not-writable`: it cannot be created, opened or written;
 * - `not-owned`: it belongs to another user;
 * - `too-open`: other users may read it and its mode could not be tightened;
 * - `newer-schema`: a database in it was written by a newer shmooze;
 * - `unusable`: anything else (a corrupt or locked database).
 */
export type DataDirectoryProblem =
  | "no-default"
  | "not-a-directory"
  | "not-writable"
  | "not-owned"
  | "too-open"
  | "newer-schema"
  | "unusable";

/**
 * A data directory, or a database in it, cannot be used.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DataDirectoryError } from "./data_directory.ts";
 *
 * const error = new DataDirectoryError("not-a-directory", "/tmp/x", "Cannot use /tmp/x: a file");
 * assert.equal(error.problem, "not-a-directory");
 * assert.equal(error.path, "/tmp/x");
 * ```
 */
export class DataDirectoryError extends Error {
  /** What is wrong, for a program to act on. */
  readonly problem: DataDirectoryProblem;
  /** The directory or file concerned ("" when no directory could be chosen). */
  readonly path: string;

  /**
   * Makes the error.
   *
   * @param problem What is wrong.
   * @param path The directory or file concerned.
   * @param message What failed and why, for a person.
   * @param options The underlying error as `cause`.
   */
  constructor(
    problem: DataDirectoryProblem,
    path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "DataDirectoryError";
    this.problem = problem;
    this.path = path;
  }
}

/**
 * The directory shmooze keeps its data in: `$SHMOOZE_DATA` if set, else the per-OS place
 * for user data — `$XDG_DATA_HOME/shmooze` or `~/.local/share/shmooze` on Linux and other
 * Unixes, `~/Library/Application Support/shmooze` on macOS, `%LOCALAPPDATA%\shmooze` on
 * Windows.
 *
 * @returns The directory (not created).
 * @throws {DataDirectoryError} (`no-default`) if neither `SHMOOZE_DATA` nor the OS's home
 *   variable is set.
 *
 * @example `$SHMOOZE_DATA`, else a per-OS directory named shmooze
 * ```ts
 * import assert from "node:assert/strict";
 * import { basename } from "node:path";
 * import { defaultDataDir } from "./data_directory.ts";
 *
 * const dir = defaultDataDir();
 * assert.ok(dir === Deno.env.get("SHMOOZE_DATA") || basename(dir) === "shmooze");
 * ```
 */
export function defaultDataDir(): string {
  const explicit = Deno.env.get("SHMOOZE_DATA");
  if (explicit) return explicit;
  const need = (variable: string) => {
    const value = Deno.env.get(variable);
    if (!value) {
      throw new DataDirectoryError(
        "no-default",
        "",
        `Cannot choose a data directory: neither SHMOOZE_DATA nor ${variable} is set`,
      );
    }
    return value;
  };
  switch (Deno.build.os) {
    case "windows":
      return join(need("LOCALAPPDATA"), "shmooze");
    case "darwin":
      return join(need("HOME"), "Library", "Application Support", "shmooze");
    default: {
      const xdg = Deno.env.get("XDG_DATA_HOME");
      return xdg ? join(xdg, "shmooze") : join(need("HOME"), ".local", "share", "shmooze");
    }
  }
}
