import type { Command } from "./command.ts";
import { notYetAvailable } from "./command.ts";
import { demoCommand } from "./demo.ts";
import { clientCommand } from "./client.ts";
import { statusCommand } from "./status.ts";

/** Every subcommand, in the order `shmooze --help` lists them. */
export const commands: Command[] = [
  notYetAvailable("serve", "Run the IRC-compatible chat server", 4),
  clientCommand,
  notYetAvailable("local", "Chat with processes on this machine through shared memory", 3),
  statusCommand,
  demoCommand,
  notYetAvailable("ipc", "List or clean shmooze's shared memory and semaphores", 3),
  notYetAvailable("bench", "Run a benchmark (ipc, fanout)", 3),
];
