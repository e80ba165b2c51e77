/**
 * The shape every `shmooze` subcommand has, so `main` can list, explain and run them alike.
 *
 * @module
 */

/**
 * One `shmooze` subcommand. Each lives in its own file under src/cli/.
 *
 * @example A command is a plain object
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Command } from "./command.ts";
 *
 * const hello: Command = {
 *   name: "hello",
 *   summary: "Say hello",
 *   help: "Usage: shmooze hello",
 *   run: (args) => Promise.resolve(args.length === 0 ? 0 : 2),
 * };
 * assert.equal(await hello.run([]), 0);
 * assert.equal(await hello.run(["extra"]), 2);
 * ```
 */
export interface Command {
  /** The word typed after `shmooze`. */
  readonly name: string;
  /** One line for `shmooze --help`. */
  readonly summary: string;
  /** The full text for `shmooze NAME --help`: usage line, options, examples. */
  readonly help: string;
  /**
   * Runs the command with the arguments that follow its name (`--help` is handled before).
   * Resolves to the process exit code. Throws UsageError (exit 2) or CliError for expected
   * failures; anything else is a bug and is shown with its stack.
   */
  run(args: string[]): Promise<number>;
}
