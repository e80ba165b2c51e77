import { escapeControls, terminalJson } from "../chat/terminal_text.ts";
import { IpcError } from "../ipc/ipc_error.ts";
import { NAME_PREFIX } from "../ipc/names.ts";
import { inspectRoom, removeStaleRoom } from "../ipc/room.ts";
import { SharedMemory } from "../ipc/shared_memory.ts";
import { StatusBoard } from "../ipc/status_board.ts";
import { CliError, parseCommandArgs, stringOption, UsageError } from "./_args.ts";
import type { Command } from "./command.ts";

/** Where Linux keeps POSIX shared memory and named semaphores (`sem.` + name). */
const SHM_DIR = "/dev/shm";
const SEMAPHORE_PREFIX = "sem.";

const help = `Usage: shmooze ipc ls [--json] [--filter TEXT]
       shmooze ipc clean [--json] [--filter TEXT]

Lists or removes shmooze's OS objects of this user: shared memory segments and named
semaphores whose names start with "shmooze-" (Linux: the files in /dev/shm).

  ls      Every object: its kind (room, status, relay, semaphore, other), size in bytes,
          owner pids and whether an owner is alive. For a room the owners are its
          participants; for a status board, its server. For other kinds the owners cannot
          be read from the object: the state is "unknown".
  clean   Removes the stale rooms and status boards: those with no live owner (every
          participant or the server was killed). Never removes an object with a live
          owner, nor one whose owners it cannot read.

Options:
  --json          Print JSON instead of a table (ls: an array; clean: { removed, kept })
  --filter TEXT   Only objects whose name contains TEXT (default: all)

Only Linux can list named objects; on macOS and Windows both subcommands say so and exit 1.

Examples:
  shmooze ipc ls
  shmooze ipc clean --json
  shmooze ipc clean --filter room-lobby`;

/** What `ipc ls` reports about one OS object. */
interface IpcObject {
  /** The OS name (semaphores with their `sem.` prefix). */
  name: string;
  kind: "room" | "status" | "relay" | "semaphore" | "other";
  size: number;
  owners: number[];
  /** Whether an owner runs; null when the object's owners cannot be read. */
  alive: boolean | null;
  detail: string;
}

function kindOf(name: string): IpcObject["kind"] {
  if (name.startsWith(SEMAPHORE_PREFIX)) return "semaphore";
  const match = /^shmooze-\d+-(room|status|relay)-/.exec(name);
  return match === null ? "other" : match[1] as IpcObject["kind"];
}

/** This user's shmooze entries in /dev/shm. */
function shmEntries(): { name: string; size: number }[] {
  if (Deno.build.os !== "linux") {
    throw new CliError(
      `${Deno.build.os} cannot list named shared memory or semaphores; only Linux can`,
    );
  }
  const uid = Deno.uid();
  const found: { name: string; size: number }[] = [];
  for (const entry of Deno.readDirSync(SHM_DIR)) {
    const bare = entry.name.replace(/^sem\./, "");
    if (!bare.startsWith(NAME_PREFIX)) continue;
    try {
      const stat = Deno.statSync(`${SHM_DIR}/${entry.name}`);
      if (stat.uid === uid) found.push({ name: entry.name, size: stat.size });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** Reads what the object's own format says about its owners; undefined if it vanished. */
function describe(name: string, size: number): IpcObject | undefined {
  const kind = kindOf(name);
  const unknown: IpcObject = { name, kind, size, owners: [], alive: null, detail: "" };
  try {
    if (kind === "room") {
      const info = inspectRoom(name);
      if (!info.valid) {
        return { ...unknown, alive: false, detail: "not a usable room (half set up)" };
      }
      const people = info.participants.map((p) => p.alive ? p.name : `${p.name} (dead)`);
      return {
        ...unknown,
        owners: info.participants.map((p) => p.pid),
        alive: info.participants.some((p) => p.alive),
        detail: `${info.participants.length} in: ${people.join(", ") || "nobody"}; ` +
          `${info.writeSeq} events`,
      };
    }
    if (kind === "status") {
      const port = Number(/-status-(\d+)$/.exec(name)?.[1]);
      const board = StatusBoard.read(port);
      return {
        ...unknown,
        owners: [board.pid],
        alive: !board.stale,
        detail: `server on port ${board.port}`,
      };
    }
    return unknown;
  } catch (error) {
    if (!(error instanceof IpcError)) throw error;
    if (error.code === "ENOENT") return undefined;
    return { ...unknown, alive: kind === "room" ? false : null, detail: error.message };
  }
}

function list(filter: string): IpcObject[] {
  return shmEntries()
    .filter(({ name }) => name.includes(filter))
    .flatMap(({ name, size }) => describe(name, size) ?? []);
}

function state(object: IpcObject): string {
  return object.alive === null ? "unknown" : object.alive ? "alive" : "stale";
}

function table(objects: IpcObject[]): string {
  if (objects.length === 0) return "No shmooze objects.";
  const rows = [
    ["KIND", "NAME", "SIZE", "OWNERS", "STATE", "DETAIL"],
    ...objects.map((o) => [
      o.kind,
      escapeControls(o.name),
      String(o.size),
      o.owners.join(",") || "-",
      state(o),
      // Names are whatever another process of this user wrote in /dev/shm or in a room.
      escapeControls(o.detail),
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd())
    .join("\n");
}

/** Removes one stale object; returns why it was kept, or undefined when removed. */
function clean(object: IpcObject): string | undefined {
  if (object.alive === null) return "owners unknown";
  if (object.alive) return "owner alive";
  try {
    if (object.kind === "room") return removeStaleRoom(object.name) ? undefined : "owner alive";
    SharedMemory.unlink(object.name);
    return undefined;
  } catch (error) {
    if (error instanceof IpcError && error.code === "ENOENT") return undefined;
    throw error;
  }
}

/** `shmooze ipc ls|clean`: housekeeping of shmooze's OS objects. */
export const ipcCommand: Command = {
  name: "ipc",
  summary: "List or clean shmooze's shared memory and semaphores",
  help,
  run(args) {
    const { values, positionals } = parseCommandArgs("ipc", args, {
      json: { type: "boolean" },
      filter: { type: "string" },
    }, 1);
    const json = values.json === true;
    const filter = stringOption(values, "filter", "");
    const action = positionals[0];
    if (action === "ls") {
      const objects = list(filter);
      console.log(json ? terminalJson(objects, 2) : table(objects));
    } else if (action === "clean") {
      const removed: string[] = [];
      const kept: { name: string; reason: string }[] = [];
      for (const object of list(filter)) {
        const reason = clean(object);
        if (reason === undefined) removed.push(object.name);
        else kept.push({ name: object.name, reason });
      }
      if (json) console.log(terminalJson({ removed, kept }, 2));
      else {
        for (const name of removed) console.log(`removed ${escapeControls(name)}`);
        console.log(`${removed.length} removed, ${kept.length} kept`);
      }
    } else {
      throw new UsageError(
        action === undefined
          ? "ipc needs a subcommand: ls or clean"
          : `ipc: unknown subcommand "${action}"; use ls or clean`,
      );
    }
    return Promise.resolve(0);
  },
};
