import { parseCommandArgs } from "./_args.ts";

/** One `shmooze` subcommand. Each lives in its own file under src/cli/. */
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

/**
 * A command whose feature is not built yet: says so and exits 1, doing nothing else.
 *
 * @param name The subcommand.
 * @param summary Its one-line description.
 * @param issue The issue that will build it.
 * @returns The command.
 */
export function notYetAvailable(name: string, summary: string, issue: number): Command {
  return {
    name,
    summary: `${summary} (not yet available)`,
    help:
      `Usage: shmooze ${name}\n\n${summary}.\nNot yet available: being built under issue #${issue}.`,
    run(args) {
      parseCommandArgs(name, args, {});
      console.error(`shmooze ${name} is not yet available (issue #${issue})`);
      return Promise.resolve(1);
    },
  };
}
