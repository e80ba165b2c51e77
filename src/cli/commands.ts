import type { Command } from "./command.ts";
import { demoCommand } from "./demo.ts";
import { ipcCommand } from "./ipc.ts";
import { localCommand } from "./local.ts";
import { clientCommand } from "./client.ts";
import { statusCommand } from "./status.ts";
import { serveCommand } from "./serve.ts";

/** Every subcommand, in the order `shmooze --help` lists them. */
export const commands: Command[] = [
  serveCommand,
  clientCommand,
  localCommand,
  statusCommand,
  demoCommand,
  ipcCommand,
];
