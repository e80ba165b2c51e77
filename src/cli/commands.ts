/**
 * The list of subcommands: the one place a new command is added.
 *
 * @module
 */
import type { Command } from "./command.ts";
import { demoCommand } from "./demo.ts";
import { ipcCommand } from "./ipc.ts";
import { localCommand } from "./local.ts";
import { clientCommand } from "./client.ts";
import { statusCommand } from "./status.ts";
import { serveCommand } from "./serve.ts";
import { operHashCommand } from "./oper_hash.ts";

/**
 * Every subcommand, in the order `shmooze --help` lists them.
 *
 * @example The names, in order, each with its own help
 * ```ts
 * import assert from "node:assert/strict";
 * import { commands } from "./commands.ts";
 *
 * const names = commands.map((command) => command.name);
 * assert.deepEqual(names, ["serve", "client", "local", "status", "demo", "ipc", "oper-hash"]);
 * for (const command of commands) {
 *   assert.ok(command.help.startsWith(`Usage: shmooze ${command.name}`), command.name);
 * }
 * ```
 */
export const commands: Command[] = [
  serveCommand,
  clientCommand,
  localCommand,
  statusCommand,
  demoCommand,
  ipcCommand,
  operHashCommand,
];
