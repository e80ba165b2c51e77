/**
 * `/metrics`: the server's numbers in the Prometheus text exposition format (version
 * 0.0.4), so any Prometheus-compatible scraper can chart and alert on them.
 *
 * @module
 */
import type { MonitorPeer, MonitorSnapshot } from "./monitor_snapshot.ts";

/** The states of a node's bus, each a sample of `shmooze_cluster_bus_state`. */
const BUS_STATES = ["connected", "reconnecting", "closed", "unknown"];

/** The Content-Type of the Prometheus text format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The process's memory, as `Deno.memoryUsage()` reports it. */
export type MemoryUsage = Pick<Deno.MemoryUsage, "rss" | "heapTotal" | "heapUsed" | "external">;

function labelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Options for {@link formatMetrics}. */
export interface MetricsOptions {
  /** Accept errors so far per listener (`irc`, `irc-tls`, `http`). @default {{}} */
  acceptErrors?: Record<string, number>;
}

/**
 * Formats a snapshot and the process's memory as Prometheus text.
 *
 * @param snapshot The server's numbers.
 * @param memory The process's memory.
 * @param options More counters.
 * @returns The exposition, ending in a newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatMetrics } from "./metrics.ts";
 *
 * const text = formatMetrics({
 *   time: 61_000, startedAt: 1_000, uptimeMs: 60_000, clients: 1,
 *   clientsByTransport: { tcp: 1 }, totalMessages: 7, messagesPerSecond: [2],
 *   channels: [{ name: "#lobby", members: ["ann"] }], recent: [],
 * }, Deno.memoryUsage(), { acceptErrors: { irc: 3, http: 0 } });
 * assert.match(text, /^shmooze_clients\{transport="tcp"\} 1$/m);
 * assert.match(text, /^shmooze_accept_errors_total\{listener="irc"\} 3$/m);
 * ```
 *
 * @example A node of a cluster: its lag behind the log, its link to NATS, the other nodes
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatMetrics } from "./metrics.ts";
 *
 * const text = formatMetrics({
 *   time: 61_000, startedAt: 1_000, uptimeMs: 60_000, clients: 2, clientsByTransport: {},
 *   totalMessages: 0, messagesPerSecond: [], channels: [], recent: [],
 *   cluster: {
 *     cluster: "team", node: "a-1", applied: 40, head: 42, lag: 2, bus: "reconnecting",
 *     traffic: { inBytes: 900, outBytes: 300, inMsgs: 9, outMsgs: 3 }, refused: 0,
 *     localClients: 1, peers: 1, nodes: [{ node: "b-2", users: 1, applied: 42, silentMs: 500 }],
 *   },
 * }, Deno.memoryUsage());
 * assert.match(text, /^shmooze_cluster_lag_entries\{node="a-1"\} 2$/m);
 * assert.match(text, /^shmooze_cluster_bus_state\{node="a-1",state="reconnecting"\} 1$/m);
 * assert.match(text, /^shmooze_cluster_bus_bytes_total\{node="a-1",direction="in"\} 900$/m);
 * assert.match(text, /^shmooze_cluster_peer_silent_seconds\{node="a-1",peer="b-2"\} 0\.5$/m);
 * ```
 */
export function formatMetrics(
  snapshot: MonitorSnapshot,
  memory: MemoryUsage,
  options: MetricsOptions = {},
): string {
  const out: string[] = [];
  const metric = (
    name: string,
    type: "gauge" | "counter",
    help: string,
    samples: [Record<string, string>, number][],
  ) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const entries = Object.entries(labels);
      const suffix = entries.length === 0
        ? ""
        : `{${entries.map(([k, v]) => `${k}="${labelValue(v)}"`).join(",")}}`;
      out.push(`${name}${suffix} ${value}`);
    }
  };
  const byTransport = { tcp: 0, websocket: 0, local: 0, ...snapshot.clientsByTransport };
  metric(
    "shmooze_clients",
    "gauge",
    "Connected clients by transport.",
    Object.entries(byTransport).map(([transport, count]) => [{ transport }, count]),
  );
  metric("shmooze_messages_total", "counter", "Chat messages accepted since the server started.", [
    [{}, snapshot.totalMessages],
  ]);
  metric(
    "shmooze_messages_per_second",
    "gauge",
    "Chat messages accepted in the last complete second.",
    [[{}, snapshot.messagesPerSecond.at(-1) ?? 0]],
  );
  metric(
    "shmooze_messages_unstored_total",
    "counter",
    "Chat messages refused because history could not store them; their senders were told.",
    [[{}, snapshot.storeFailures ?? 0]],
  );
  metric(
    "shmooze_sendq_drops_total",
    "counter",
    "Clients dropped because they did not read what they were sent (SendQ exceeded).",
    [[{}, snapshot.sendQDrops ?? 0]],
  );
  metric("shmooze_channels", "gauge", "Channels that exist (#lobby always does).", [
    [{}, snapshot.channels.length],
  ]);
  metric("shmooze_uptime_seconds", "gauge", "Seconds since the server started.", [
    [{}, snapshot.uptimeMs / 1000],
  ]);
  metric("process_start_time_seconds", "gauge", "When the process started, Unix time.", [
    [{}, snapshot.startedAt / 1000],
  ]);
  metric("process_resident_memory_bytes", "gauge", "Resident memory of the process.", [
    [{}, memory.rss],
  ]);
  metric("shmooze_heap_bytes", "gauge", "JavaScript heap of the process.", [
    [{ kind: "used" }, memory.heapUsed],
    [{ kind: "total" }, memory.heapTotal],
    [{ kind: "external" }, memory.external],
  ]);
  metric(
    "shmooze_accept_errors_total",
    "counter",
    "Failed accepts per listener (out of file descriptors, aborted connections); the listener keeps going.",
    Object.entries(options.acceptErrors ?? {}).map(([listener, count]) => [{ listener }, count]),
  );
  const room = snapshot.localRoom;
  if (room) {
    const labels = { room: room.room };
    metric("shmooze_local_room_slots", "gauge", "Ring slots of the bridged local room.", [
      [{ ...labels, state: "used" }, room.used],
      [{ ...labels, state: "capacity" }, room.capacity],
    ]);
    metric(
      "shmooze_local_room_participants",
      "gauge",
      "Processes in the bridged local room.",
      [[labels, room.participants.length]],
    );
  }
  const cluster = snapshot.cluster;
  if (cluster) {
    const labels = { node: cluster.node };
    metric(
      "shmooze_cluster_applied_sequence",
      "gauge",
      "The last log sequence this node applied.",
      [[labels, cluster.applied]],
    );
    metric(
      "shmooze_cluster_log_last_sequence",
      "gauge",
      "The log's last sequence, as this node last asked the log (each heartbeat).",
      [[labels, cluster.head]],
    );
    metric(
      "shmooze_cluster_lag_entries",
      "gauge",
      "Log entries this node is behind the log's last sequence.",
      [[labels, cluster.lag]],
    );
    metric(
      "shmooze_cluster_refused_total",
      "counter",
      "Log entries refused as invalid (the same on every node).",
      [[labels, cluster.refused]],
    );
    metric("shmooze_cluster_local_clients", "gauge", "Users connected to this node.", [
      [labels, cluster.localClients],
    ]);
    metric("shmooze_cluster_peers", "gauge", "Other nodes this node knows of.", [
      [labels, cluster.peers],
    ]);
    metric(
      "shmooze_cluster_bus_state",
      "gauge",
      "This node's link to NATS: 1 for the state it is in, 0 for the others.",
      BUS_STATES.map((state) => [{ ...labels, state }, cluster.bus === state ? 1 : 0]),
    );
    const traffic = cluster.traffic;
    if (traffic) {
      metric(
        "shmooze_cluster_bus_bytes_total",
        "counter",
        "Bytes this node's NATS connection carried since it opened.",
        [[{ ...labels, direction: "in" }, traffic.inBytes], [
          { ...labels, direction: "out" },
          traffic.outBytes,
        ]],
      );
      metric(
        "shmooze_cluster_bus_messages_total",
        "counter",
        "NATS messages this node's connection carried since it opened.",
        [[{ ...labels, direction: "in" }, traffic.inMsgs], [
          { ...labels, direction: "out" },
          traffic.outMsgs,
        ]],
      );
    }
    const peers = (value: (peer: MonitorPeer) => number) =>
      cluster.nodes.map((peer): [Record<string, string>, number] => [
        { ...labels, peer: peer.node },
        value(peer),
      ]);
    metric(
      "shmooze_cluster_peer_users",
      "gauge",
      "Users of each other node.",
      peers((p) => p.users),
    );
    metric(
      "shmooze_cluster_peer_applied_sequence",
      "gauge",
      "The last log sequence each other node said it applied.",
      peers((p) => p.applied),
    );
    metric(
      "shmooze_cluster_peer_silent_seconds",
      "gauge",
      "Seconds since each other node was last heard from.",
      peers((p) => p.silentMs / 1000),
    );
  }
  return out.join("\n") + "\n";
}
