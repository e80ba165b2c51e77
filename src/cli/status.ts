/**
 * `shmooze status`: a running server's status board, read from shared memory, once or
 * redrawn (`--watch`), as a table or JSON.
 *
 * @module
 */

import { escapeControls, terminalJson } from "../chat/terminal_text.ts";
import { IpcError, StatusBoard, type StatusSnapshot } from "../ipc/mod.ts";
import { CliError, intOption, parseCommandArgs } from "./_args.ts";
import { removalAdvice, withAdvice } from "./_hints.ts";
import type { Command } from "./command.ts";
import { paint } from "./logging.ts";

/** Exit code when the board's server is gone: its numbers are the last it wrote. */
const EXIT_STALE = 3;

/** How much of the last message the human view shows (the JSON has all of it). */
const SHOWN_TEXT = 120;

const help = `Usage: shmooze status [--port PORT] [--watch] [--interval MS] [--json]

Reads a running server's status board from shared memory (no network): connected clients
(by transport), channels, messages and rate, uptime, pid and the last message.

Options:
  --port PORT      The server's port (default: the only board there is; with several, lists
                   them all)
  --watch          Redraw every interval until Ctrl-C (one line per update when the output is
                   not a terminal; one JSON object per line with --json)
  --interval MS    Time between updates with --watch, 50 to 3600000 (default: 1000)
  --json           Print the board as JSON (an array when listing several)

Exit codes:
  0  the board was read (always, after --watch ends with Ctrl-C)
  1  no board: no server runs on that port for this user
  2  a mistake on the command line
  3  the board is stale: the server that wrote it (pid N) is gone

Examples:
  shmooze status
  shmooze status --port 54000 --watch --interval 500
  shmooze status --json`;

/** Shows what the board says about a live or dead server. */
function state(snapshot: StatusSnapshot): string {
  return snapshot.stale
    ? paint("yellow", `stale (pid ${snapshot.pid} is gone)`)
    : paint("green", `running (pid ${snapshot.pid})`);
}

/** Formats a duration as `1d 02h 03m`, `2h 03m 04s`, `3m 04s` or `5s`. */
function formatUptime(ms: number): string {
  const total = Math.floor(ms / 1000);
  const [d, h, m, s] = [
    Math.floor(total / 86400),
    Math.floor(total / 3600) % 24,
    Math.floor(total / 60) % 60,
    total % 60,
  ];
  const two = (n: number) => String(n).padStart(2, "0");
  if (d > 0) return `${d}d ${two(h)}h ${two(m)}m`;
  if (h > 0) return `${h}h ${two(m)}m ${two(s)}s`;
  if (m > 0) return `${m}m ${two(s)}s`;
  return `${s}s`;
}

function byTransport(snapshot: StatusSnapshot): string {
  const parts = Object.entries(snapshot.clientsByTransport ?? {})
    .filter(([, count]) => count > 0)
    .map(([transport, count]) => `${transport} ${count}`);
  return parts.length === 0 ? "" : `  (${parts.join(", ")})`;
}

function clock(time: number): string {
  return new Date(time).toTimeString().slice(0, 8);
}

function lastMessage(snapshot: StatusSnapshot): string {
  const last = snapshot.lastMessage;
  if (last === undefined) return "none yet";
  const cut = last.text.length > SHOWN_TEXT ? `${last.text.slice(0, SHOWN_TEXT)}…` : last.text;
  // Someone's message (and the names around it) must not drive the reader's terminal.
  return escapeControls(`${clock(last.time)} ${last.sender} → ${last.target}: ${cut}`);
}

/** The board as a small table for people. */
function table(snapshot: StatusSnapshot): string {
  const rows: [string, string][] = [
    ["server", `port ${snapshot.port}, ${state(snapshot)}`],
    ["clients", `${snapshot.clients}${byTransport(snapshot)}`],
    ["channels", String(snapshot.channels)],
    ["messages", `${snapshot.totalMessages}`],
    ["msg/s", snapshot.messagesPerSecond.toFixed(1)],
    ["uptime", formatUptime(snapshot.uptimeMs)],
    ["updated", clock(snapshot.updatedAt)],
    ["last message", lastMessage(snapshot)],
  ];
  return rows.map(([label, value]) => `${label.padEnd(13)} ${value}`).join("\n");
}

/** One line per board, for listings and for --watch into a file or pipe. */
function line(snapshot: StatusSnapshot): string {
  return [
    `port ${snapshot.port}`,
    state(snapshot),
    `clients ${snapshot.clients}`,
    `channels ${snapshot.channels}`,
    `messages ${snapshot.totalMessages}`,
    `${snapshot.messagesPerSecond.toFixed(1)} msg/s`,
    `up ${formatUptime(snapshot.uptimeMs)}`,
  ].join("  ");
}

/** What one look at the boards found. */
type View =
  | { kind: "one"; snapshot: StatusSnapshot }
  | { kind: "several"; snapshots: StatusSnapshot[] }
  | { kind: "none"; message: string };

function look(port: number | undefined): View {
  if (port !== undefined) {
    try {
      return { kind: "one", snapshot: StatusBoard.read(port) };
    } catch (error) {
      if (!(error instanceof IpcError) || error.code !== "ENOENT") {
        throw withAdvice(error, removalAdvice);
      }
      return {
        kind: "none",
        message: `No status board for port ${port}: no shmooze server of yours runs there ` +
          `(start one with \`shmooze serve --port ${port}\`)`,
      };
    }
  }
  const snapshots = StatusBoard.list();
  if (snapshots.length === 1) return { kind: "one", snapshot: snapshots[0] };
  if (snapshots.length > 1) return { kind: "several", snapshots };
  return {
    kind: "none",
    message: "No status board found: no shmooze server of yours is running " +
      "(start one with `shmooze serve`, or name its port with --port)",
  };
}

function render(view: View, json: boolean, compact: boolean): string {
  switch (view.kind) {
    case "none":
      return json ? terminalJson({ error: view.message }) : view.message;
    case "one":
      if (json) return terminalJson(view.snapshot, compact ? undefined : 2);
      return compact ? line(view.snapshot) : table(view.snapshot);
    case "several":
      if (json) return terminalJson(view.snapshots, compact ? undefined : 2);
      return [
        `${view.snapshots.length} status boards (choose one with --port):`,
        ...view.snapshots.map(line),
      ].join("\n");
  }
}

/** Resolves after `ms`, or at once when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

async function watch(port: number | undefined, intervalMs: number, json: boolean): Promise<void> {
  const redraw = Deno.stdout.isTerminal() && !json;
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    while (!stop.signal.aborted) {
      let text: string;
      try {
        text = render(look(port), json, !redraw);
      } catch (error) {
        // A board mid-update for the whole read budget, or replaced by a foreign segment:
        // say so and look again next time rather than end the watch.
        if (!(error instanceof IpcError || error instanceof CliError)) throw error;
        text = json ? terminalJson({ error: error.message }) : error.message;
      }
      if (redraw) {
        console.log(`\x1b[H\x1b[2J${text}\n\n${paint("dim", "Ctrl-C to stop")}`);
      } else {
        console.log(json ? text : `${new Date().toISOString()}  ${text}`);
      }
      await pause(intervalMs, stop.signal);
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

/**
 * `shmooze status`: a server's status board, read from shared memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StatusBoard } from "../ipc/status_board.ts";
 * import { statusCommand } from "./status.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using _board = StatusBoard.create(listener.addr.port);
 * // Prints the board's table; 0: its server (this process) runs.
 * assert.equal(await statusCommand.run(["--port", String(listener.addr.port)]), 0);
 * ```
 */
export const statusCommand: Command = {
  name: "status",
  summary: "Read a running server's status board from shared memory",
  help,
  async run(args) {
    const { values } = parseCommandArgs("status", args, {
      port: { type: "string", short: "p" },
      watch: { type: "boolean", short: "w" },
      interval: { type: "string" },
      json: { type: "boolean" },
    });
    const port = values.port === undefined
      ? undefined
      : intOption(values, "port", 0, { min: 1, max: 65535 });
    const intervalMs = intOption(values, "interval", 1000, { min: 50, max: 3_600_000 });
    const json = values.json === true;
    if (values.watch === true) {
      await watch(port, intervalMs, json);
      return 0;
    }
    const view = look(port);
    if (view.kind === "none") throw new CliError(view.message);
    console.log(render(view, json, false));
    return view.kind === "one" && view.snapshot.stale ? EXIT_STALE : 0;
  },
};
