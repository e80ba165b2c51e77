/**
 * `shmooze status`: a running server's status board, read from shared memory, once or
 * redrawn (`--watch`), as a table or JSON.
 *
 * @module
 */

import { escapeControls, terminalJson } from "../chat/terminal_text.ts";
import { type ClusterCensus, takeCensus } from "../cluster/cluster_census.ts";
import { clusterNameProblem } from "../cluster/jetstream_bus.ts";
import { IpcError, StatusBoard, type StatusCluster, type StatusSnapshot } from "../ipc/mod.ts";
import { CliError, intOption, parseCommandArgs, stringOption, UsageError } from "./_args.ts";
import { readNatsAccess } from "./_nats_flags.ts";
import { removalAdvice, withAdvice } from "./_hints.ts";
import type { Command } from "./command.ts";
import { paint } from "./logging.ts";

/** Exit code when the board's server is gone: its numbers are the last it wrote. */
const EXIT_STALE = 3;

/** Advice for a board of another layout version: most likely a live server of another shmooze. */
const OTHER_VERSION = "read it with the shmooze that serves on that port";

/** How much of the last message the human view shows (the JSON has all of it). */
const SHOWN_TEXT = 120;

const help = `Usage: shmooze status [--port PORT] [--watch] [--interval MS] [--json]
       shmooze status --cluster URL [--cluster-name NAME] [--cluster-creds FILE]
                      [--cluster-ca FILE] [--json]

Reads a running server's status board from shared memory (no network): connected clients
(by transport), channels, messages and rate, uptime, pid and the last message; for a node of
a cluster (serve --cluster) also its log sequence, lag, bus state and traffic, and the other
nodes it knows of.

With --cluster, reads every node's numbers from the cluster itself, from any machine that
reaches its NATS server (no node needed): the log's last sequence, and each node's users,
applied sequence, lag, refusals, uptime and bus traffic, from its heartbeats (listened to
for 2.5 s).

Options:
  --port PORT      The server's port (default: the only board there is; with several, lists
                   them all)
  --watch          Redraw every interval until Ctrl-C (one line per update when the output is
                   not a terminal; one JSON object per line with --json)
  --interval MS    Time between updates with --watch, 50 to 3600000 (default: 1000)
  --json           Print the board as JSON (an array when listing several)
  --cluster URL    Read every node from the cluster's NATS server: nats://HOST:PORT or
                   tls://HOST:PORT
  --cluster-name NAME
                   The cluster (default: shmooze)
  --cluster-creds FILE
                   NATS credentials: FILE holds one line, USER:PASSWORD or a token
  --cluster-ca FILE
                   With tls://: the PEM certificate of the CA that signed nats-server's
                   certificate (default: the system's CAs)

Exit codes:
  0  the board was read (always, after --watch ends with Ctrl-C)
  1  no board: no server runs on that port for this user (or a board of a layout this
     shmooze does not read); with --cluster: NATS cannot be reached or refused us, the
     cluster has no log there, or no node was heard
  2  a mistake on the command line
  3  the board is stale: the server that wrote it (pid N) is gone

Examples:
  shmooze status
  shmooze status --port 54000 --watch --interval 500
  shmooze status --json
  shmooze status --cluster nats://10.0.0.5:4222 --cluster-name team`;

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
  const elsewhere = snapshot.cluster?.peers.reduce((sum, peer) => sum + peer.users, 0) ?? 0;
  if (elsewhere > 0) parts.push(`on other nodes ${elsewhere}`);
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

/** A byte count for people: `812 B`, `12.3 kB`, `4.1 MB`, `2.0 GB`. */
function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatTraffic(traffic: StatusCluster["traffic"]): string {
  return `in ${formatBytes(traffic.inBytes)} (${traffic.inMsgs} msgs), ` +
    `out ${formatBytes(traffic.outBytes)} (${traffic.outMsgs} msgs)`;
}

function heard(silentMs: number): string {
  return silentMs < 100 ? "now" : `${(silentMs / 1000).toFixed(1)} s ago`;
}

/** Rows of cells as columns: the first left-aligned, the rest right-aligned. */
function columns(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) =>
    row.map((cell, i) => i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])).join("  ")
      .trimEnd()
  );
}

function busState(bus: StatusCluster["bus"]): string {
  return bus === "connected" ? paint("green", bus) : paint("yellow", bus);
}

/** The cluster part of a node's board: rows for {@link table}. */
function clusterRows(cluster: StatusCluster): [string, string][] {
  const nodes = columns([
    ["NODE", "USERS", "APPLIED", "LAG", "HEARD"],
    [
      `${cluster.node} (this)`,
      String(cluster.localClients),
      String(cluster.applied),
      String(cluster.lag),
      "now",
    ],
    ...cluster.peers.map((peer) => [
      peer.node,
      String(peer.users),
      String(peer.applied),
      String(Math.max(0, cluster.head - peer.applied)),
      heard(peer.silentMs),
    ]),
  ]);
  const more = (cluster.peerCount ?? 0) - cluster.peers.length;
  if (more > 0) nodes.push(`… and ${more} more`);
  return [
    ["cluster", `${cluster.cluster}, node ${cluster.node}, bus ${busState(cluster.bus)}`],
    [
      "log",
      `applied ${cluster.applied} of ${cluster.head}, lag ${cluster.lag}, refused ${cluster.refused}`,
    ],
    ["bus traffic", formatTraffic(cluster.traffic)],
    ...nodes.map((row, i): [string, string] => [i === 0 ? "nodes" : "", escapeControls(row)]),
  ];
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
    ...(snapshot.cluster ? clusterRows(snapshot.cluster) : []),
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
    ...(snapshot.cluster
      ? [
        escapeControls(`node ${snapshot.cluster.node}`),
        `lag ${snapshot.cluster.lag}`,
        `bus ${snapshot.cluster.bus}`,
      ]
      : []),
  ].join("  ");
}

/** What `status --cluster` heard, for people. */
function censusTable(census: ClusterCensus, url: string): string {
  const traffic = (node: ClusterCensus["nodes"][number]) =>
    node.traffic === undefined
      ? "–"
      : `${formatBytes(node.traffic.inBytes)} / ${formatBytes(node.traffic.outBytes)}`;
  const now = Date.now();
  return [
    `cluster ${census.cluster} at ${url}: ${census.nodes.length} node${
      census.nodes.length === 1 ? "" : "s"
    }, log at ${census.head}`,
    ...columns([
      ["NODE", "USERS", "APPLIED", "LAG", "REFUSED", "UP", "HEARD", "BUS IN / OUT"],
      ...census.nodes.map((node) => [
        escapeControls(node.node),
        String(node.clients),
        String(node.applied),
        String(node.lag),
        node.refused === undefined ? "–" : String(node.refused),
        node.startedAt === undefined ? "–" : formatUptime(now - node.startedAt),
        heard(node.silentMs),
        traffic(node),
      ]),
    ]),
  ].join("\n");
}

/** `status --cluster`: every node's numbers, read from the cluster's NATS server. */
async function clusterStatus(
  values: Record<string, string | boolean | (string | boolean)[] | undefined>,
  json: boolean,
): Promise<number> {
  const url = String(values.cluster);
  for (const flag of ["port", "watch", "interval"]) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} cannot be used with --cluster`);
  }
  const access = readNatsAccess(values, url);
  const cluster = stringOption(values, "cluster-name", "shmooze");
  const problem = clusterNameProblem(cluster);
  if (problem !== undefined) throw new UsageError(`--cluster-name: ${problem}`);
  let census: ClusterCensus;
  try {
    census = await takeCensus(url, { cluster, access });
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  if (census.nodes.length === 0) {
    throw new CliError(
      `No node of cluster "${cluster}" was heard at ${url} in 2.5 s (its log is at ${census.head})`,
    );
  }
  console.log(json ? terminalJson(census, 2) : censusTable(census, url));
  return 0;
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
      if (error instanceof IpcError && error.code === "EVERSION") {
        // Most likely a live server of another shmooze version: removing its board is wrong.
        throw new CliError(`${error.message}; ${OTHER_VERSION}`);
      }
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
  // A board that is there but unreadable (another version's) must not read as no server at all.
  const [unreadable] = StatusBoard.unreadable();
  if (unreadable?.code === "EVERSION") {
    return { kind: "none", message: `${unreadable.message}; ${OTHER_VERSION}` };
  }
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
      cluster: { type: "string" },
      "cluster-name": { type: "string" },
      "cluster-creds": { type: "string" },
      "cluster-ca": { type: "string" },
    });
    if (values.cluster !== undefined) return await clusterStatus(values, values.json === true);
    for (const flag of ["cluster-name", "cluster-creds", "cluster-ca"]) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --cluster`);
    }
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
