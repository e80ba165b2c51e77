/**
 * `shmooze ipc`: lists this user's shmooze objects in shared memory (rooms, status boards,
 * relays, semaphores) with whether their owners run, and removes the stale ones.
 *
 * @module
 */

import { escapeControls, terminalJson } from "../chat/terminal_text.ts";
import { IpcError } from "../ipc/ipc_error.ts";
import { NAME_PREFIX } from "../ipc/names.ts";
import { inspectRoom, removeStaleRoom } from "../ipc/room_admin.ts";
import { SharedMemory } from "../ipc/shared_memory.ts";
import { StatusBoard } from "../ipc/status_board.ts";
import { LogRing } from "../ipc/log_ring.ts";
import { CliError, parseCommandArgs, stringOption, UsageError } from "./_args.ts";
import type { Command } from "./command.ts";

/** Where Linux keeps POSIX shared memory and named semaphores (`sem.` + name). */
const SHM_DIR = "/dev/shm";
const SEMAPHORE_PREFIX = "sem.";

const help = `Usage: shmooze ipc ls [--json] [--filter TEXT]
       shmooze ipc clean [--force] [--json] [--filter TEXT]

Lists or removes shmooze's OS objects of this user: shared memory segments and named
semaphores whose names start with "shmooze-" (Linux: the files in /dev/shm). Other users'
objects are neither listed nor touched.

  ls      Every object: its kind (room, status, relay, bus: the ring of serve --workers,
          semaphore, other), size in bytes,
          owner pids and its state: "alive" (an owner runs), "stale" (no owner runs: every
          participant or the server was killed), "corrupt" (a room or status board whose
          header holds impossible values, so its owners cannot be read) or "unknown" (the
          owners cannot be read from the object: another kind, or another layout version).
          A process counts as running only if it is not a zombie and its start time matches
          (Linux), so a pid given to a later process does not keep an object alive.
  clean   Removes the stale rooms, status boards and rings. Never removes an object with a live
          owner, nor, without --force, one whose owners it cannot read.

Options:
  --force         clean: also remove corrupt rooms and status boards, and those of another
                  layout version (whoever still has one open keeps it until they leave)
  --json          Print JSON instead of a table (ls: an array; clean: { removed, kept })
  --filter TEXT   Only objects whose name contains TEXT (default: all)

Only Linux can list named objects; on macOS and Windows both subcommands say so and exit 1.

Examples:
  shmooze ipc ls
  shmooze ipc clean --json
  shmooze ipc clean --filter room-lobby
  shmooze ipc clean --force --filter room-lobby`;

/** What `ipc ls` reports about one OS object. */
interface IpcObject {
  /** The OS name (semaphores with their `sem.` prefix). */
  name: string;
  kind: "room" | "status" | "relay" | "bus" | "semaphore" | "other";
  size: number;
  owners: number[];
  /** Whether an owner runs; null when the object's owners cannot be read. */
  alive: boolean | null;
  state: "alive" | "stale" | "corrupt" | "unknown";
  detail: string;
}

/** Codes of a room or status board that cannot be read: a bad header, another version. */
const CORRUPT = ["ECORRUPT", "EBADMAGIC"];
const FOREIGN = ["EVERSION"];

function kindOf(name: string): IpcObject["kind"] {
  if (name.startsWith(SEMAPHORE_PREFIX)) return "semaphore";
  const match = /^shmooze-\d+-(room|status|relay|bus)-/.exec(name);
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

/** An object whose owners are known, alive or not. */
function owned(object: IpcObject, owners: number[], alive: boolean, detail: string): IpcObject {
  return { ...object, owners, alive, state: alive ? "alive" : "stale", detail };
}

/** Reads what the object's own format says about its owners; undefined if it vanished. */
function describe(name: string, size: number): IpcObject | undefined {
  const kind = kindOf(name);
  const unknown: IpcObject = {
    name,
    kind,
    size,
    owners: [],
    alive: null,
    state: "unknown",
    detail: "",
  };
  try {
    if (kind === "room") {
      const info = inspectRoom(name);
      if (!info.valid) return owned(unknown, [], false, "not a usable room (half set up)");
      const people = info.participants.map((p) => p.alive ? p.name : `${p.name} (dead)`);
      return owned(
        unknown,
        info.participants.map((p) => p.pid),
        info.participants.some((p) => p.alive),
        `${info.participants.length} in: ${people.join(", ") || "nobody"}; ` +
          `${info.writeSeq} events`,
      );
    }
    if (kind === "status") {
      const board = StatusBoard.readNamed(name);
      return owned(unknown, [board.pid], !board.stale, `server on port ${board.port}`);
    }
    if (kind === "bus") {
      const ring = LogRing.open(name);
      const owner = ring.owner();
      const entries = ring.lastSeq;
      ring.close();
      return owned(unknown, [owner.pid], owner.alive, `serve --workers ring, ${entries} entries`);
    }
    return unknown;
  } catch (error) {
    if (!(error instanceof IpcError)) throw error;
    if (error.code === "ENOENT") return undefined;
    // The name is in its own column: say only what is wrong.
    const problem = `${error.reason} (${error.code})`;
    if (CORRUPT.includes(error.code)) {
      return { ...unknown, state: "corrupt", detail: problem };
    }
    if (FOREIGN.includes(error.code)) return { ...unknown, detail: problem };
    // A room whose creator never sized it, and the like: nobody can be in it.
    return kind === "room" ? owned(unknown, [], false, problem) : { ...unknown, detail: problem };
  }
}

function list(filter: string): IpcObject[] {
  return shmEntries()
    .filter(({ name }) => name.includes(filter))
    .flatMap(({ name, size }) => describe(name, size) ?? []);
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
      o.state,
      // Names are whatever another process of this user wrote in /dev/shm or in a room.
      escapeControls(o.detail),
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd())
    .join("\n");
}

/** Removes one stale (or, forced, unreadable) object; returns why it was kept, or undefined. */
function clean(object: IpcObject, force: boolean): string | undefined {
  if (object.state === "alive") return "owner alive";
  const unreadable = object.state === "corrupt" || object.state === "unknown";
  const board = object.kind === "room" || object.kind === "status";
  if (unreadable && !(force && board)) {
    if (object.state === "corrupt") return "corrupt (--force removes it)";
    return board ? "owners unknown (--force removes it)" : "owners unknown";
  }
  try {
    if (object.kind === "room") {
      return removeStaleRoom(object.name, { force }) ? undefined : "owner alive";
    }
    SharedMemory.unlink(object.name);
    return undefined;
  } catch (error) {
    if (!(error instanceof IpcError)) throw error;
    if (error.code === "ENOENT") return undefined;
    // Corrupted since it was listed: judged again on the next run.
    if (CORRUPT.includes(error.code) || FOREIGN.includes(error.code)) return error.message;
    throw error;
  }
}

/**
 * `shmooze ipc ls|clean`: housekeeping of shmooze's OS objects.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ipcCommand } from "./ipc.ts";
 *
 * if (Deno.build.os === "linux") {
 *   // Prints "No shmooze objects.": nothing of this user's has that name.
 *   const filter = `doc-none-${crypto.randomUUID()}`;
 *   assert.equal(await ipcCommand.run(["ls", "--filter", filter]), 0);
 * }
 * ```
 */
export const ipcCommand: Command = {
  name: "ipc",
  summary: "List or clean shmooze's shared memory and semaphores",
  help,
  run(args) {
    const { values, positionals } = parseCommandArgs("ipc", args, {
      json: { type: "boolean" },
      filter: { type: "string" },
      force: { type: "boolean" },
    }, 1);
    const json = values.json === true;
    const force = values.force === true;
    const filter = stringOption(values, "filter", "");
    const action = positionals[0];
    if (action === "ls") {
      if (force) throw new UsageError("ipc ls: --force is an option of clean");
      const objects = list(filter);
      console.log(json ? terminalJson(objects, 2) : table(objects));
    } else if (action === "clean") {
      const removed: string[] = [];
      const kept: { name: string; reason: string }[] = [];
      for (const object of list(filter)) {
        const reason = clean(object, force);
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
