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
