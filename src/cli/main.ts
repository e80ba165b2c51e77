/**
 * The `shmooze` command line: picks the subcommand, handles `--help` and `--version`, sets up
 * logging, and turns every expected failure into one line on standard error and an exit
 * code (0 success, 1 failure at run time, 2 usage mistake).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import denoJson from "../../deno.json" with { type: "json" };
import { CliError, UsageError } from "./_args.ts";
import { withHint } from "./_hints.ts";
import type { Command } from "./command.ts";
import { commands } from "./commands.ts";
import { paint, setupLogging } from "./logging.ts";
import { IpcError } from "../ipc/mod.ts";
import { escapeControls } from "../chat/terminal_text.ts";

/**
 * The version printed by `shmooze --version`.
 *
 * @example The package's version from deno.json
 * ```ts
 * import assert from "node:assert/strict";
 * import { VERSION } from "./main.ts";
 *
 * assert.match(VERSION, /^\d+\.\d+\.\d+/);
 * ```
 */
export const VERSION: string = denoJson.version;

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const list = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n");
  return `shmooze ${VERSION}: chat over shared memory, semaphores and sockets

Usage: shmooze <command> [options]
       shmooze <command> --help

Commands:
${list}

Options for every command:
  -h, --help               Show help
  --version                Print the version
  --log-level LEVEL        trace, debug, info, warning, error or fatal (default: info)
  --log-format FORMAT      text or json (default: text)

Environment:
  NO_COLOR                 Set to turn colours off (they are off when output is not a terminal)
  SHMOOZE_DATA             Data directory for history (see shmooze serve --help)`;
}

/** Pulls --log-level/--log-format (as `--x v` or `--x=v`) out of the arguments. */
function logOptions(args: string[]): { level?: string; format?: string } {
  const found: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") break;
    const match = /^--(log-level|log-format)(?:=(.*))?$/.exec(args[i]);
    if (!match) continue;
    const value = match[2] ?? args[i + 1];
    if (value === undefined) throw new UsageError(`--${match[1]} needs a value`);
    found[match[1]] = value;
  }
  return { level: found["log-level"], format: found["log-format"] };
}

/**
 * Runs the `shmooze` command line.
 *
 * @param args The arguments after the program name.
 * @returns The exit code: 0 on success, 1 on a failure at run time, 2 on a usage mistake.
 *
 * @example Print the version; an unknown command is a usage mistake
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "./main.ts";
 *
 * assert.equal(await main(["--version"]), 0); // prints "shmooze 0.1.0"
 * assert.equal(await main(["frobnicate"]), 2); // prints one line, and where to find usage
 * assert.equal(await main(["client", "--port", "0"]), 2);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  try {
    const [name, ...rest] = args;
    if (name === undefined || name === "-h" || name === "--help" || name === "help") {
      const topic = name === "help" ? commands.find((c) => c.name === rest[0]) : undefined;
      console.log(topic ? topic.help : topHelp());
      return name === undefined ? 2 : 0;
    }
    if (name === "--version" || name === "-V") {
      console.log(`shmooze ${VERSION}`);
      return 0;
    }
    const command: Command | undefined = commands.find((c) => c.name === name);
    if (command === undefined) {
      throw new UsageError(
        name.startsWith("-")
          ? `unknown option "${name}" before the command`
          : `unknown command "${name}"; the commands are ${commands.map((c) => c.name).join(", ")}`,
      );
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(command.help);
      return 0;
    }
    if (rest.includes("--version")) {
      console.log(`shmooze ${VERSION}`);
      return 0;
    }
    await setupLogging(logOptions(rest));
    return await command.run(rest);
  } catch (error) {
    // One line, whatever the message holds: a server's refusal or a file name can carry
    // line breaks and escape sequences.
    const report = (message: string) =>
      console.error(`${paint("red", "error:", Deno.stderr)} ${escapeControls(message)}`);
    if (error instanceof UsageError) {
      report(error.message);
      console.error("Run `shmooze --help` for usage.");
      return 2;
    }
    if (error instanceof CliError) {
      report(error.message);
      return error.exitCode;
    }
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      report(error.message);
      console.error("shmooze needs every permission: run it as `deno run --allow-all main.ts …`");
      return 1;
    }
    const hinted = withHint(error);
    if (hinted instanceof CliError) {
      report(hinted.message);
      return hinted.exitCode;
    }
    if (error instanceof IpcError) {
      report(error.message);
      return 1;
    }
    // Anything else is a bug: reported once, with its stack, to be fixed.
    getLogger(["shmooze", "cli"]).fatal(
      "Unexpected failure (a bug in shmooze; please report it): {error}",
      {
        error,
      },
    );
    return 70;
  }
}
