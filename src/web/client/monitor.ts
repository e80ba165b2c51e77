/**
 * The live monitor's script (bundled by `deno task build` into `src/web/_bundle/monitor.js`,
 * and served inside the page of `src/web/_monitor_page.ts`): it listens to `/monitor/events`
 * (Server-Sent Events, one {@link MonitorSnapshot} a second) and draws clients by transport,
 * the message rate, channels with their members, the last messages, when the server
 * bridges a local room, that room's ring occupancy, and for a node of a cluster, every node.
 *
 * @module
 */
import { actionText } from "../../irc/ctcp.ts";
import type {
  MonitorCluster,
  MonitorMessage,
  MonitorRoom,
  MonitorSnapshot,
} from "../monitor_snapshot.ts";
import { append, byId } from "./_dom.ts";
import { RateChart } from "./_rate_chart.ts";

/** The transports with their own counter on the page; others are listed after them. */
const TRANSPORTS = ["tcp", "websocket", "local"];
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f]/g;

const chart = new RateChart(byId<SVGSVGElement>("chart"));

function text(id: string, value: string | number): void {
  byId(id).textContent = String(value);
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s % 60}s`;
}

function drawChannels(channels: MonitorSnapshot["channels"]): void {
  const body = byId("channels");
  body.textContent = "";
  if (!channels.length) {
    append(append(body, "tr"), "td", "empty", "No channels yet").colSpan = 3;
    return;
  }
  for (const channel of channels) {
    const row = append(body, "tr");
    row.dataset.channel = channel.name;
    append(row, "th", "", channel.name).scope = "row";
    append(row, "td", "num", channel.members.length);
    append(row, "td", "members", channel.members.join(", "));
  }
}

function drawRecent(recent: MonitorMessage[]): void {
  const list = byId("recent");
  list.textContent = "";
  if (!recent.length) {
    append(list, "li", "empty", "No messages yet");
    return;
  }
  for (const message of recent.slice().reverse()) {
    const li = append(list, "li");
    const when = new Date(message.time);
    const time = when.toLocaleTimeString([], {
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    append(li, "time", "", time).dateTime = when.toISOString();
    const action = actionText(message.text);
    append(li, "span", "who", (action !== undefined ? "* " : "") + message.sender);
    append(li, "span", "to", `→ ${message.target}`);
    append(li, "span", "", (action ?? message.text).replace(CONTROL, ""));
  }
}

function drawRoom(room: MonitorRoom | undefined): void {
  byId("local-room").hidden = !room;
  if (!room) return;
  const { participants } = room;
  text("room-name", room.room + (room.channel ? ` ↔ ${room.channel}` : ""));
  text("room-used", room.used);
  text("room-capacity", room.capacity);
  text("room-seq", room.writeSeq);
  text(
    "room-participants",
    `${participants.length} participant${participants.length === 1 ? "" : "s"}` +
      (participants.length ? `: ${participants.join(", ")}` : ""),
  );
  const meter = byId("room-meter");
  meter.setAttribute("aria-valuemax", String(room.capacity));
  meter.setAttribute("aria-valuenow", String(room.used));
  byId("room-fill").style.width = `${room.capacity ? 100 * room.used / room.capacity : 0}%`;
}

function bytes(count: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = count;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit ? `${value.toFixed(1)} ${units[unit]}` : `${value} B`;
}

/** A node is late once it has been silent past two heartbeats (it is declared gone at 3 s). */
const LATE_MS = 2000;

function drawCluster(cluster: MonitorCluster | undefined): void {
  byId("cluster").hidden = !cluster;
  if (!cluster) return;
  text("cluster-name", cluster.cluster);
  const bus = byId("cluster-bus");
  bus.textContent = cluster.bus;
  bus.className = `pill ${cluster.bus === "connected" ? "ok" : "warn"}`;
  text("cluster-head", cluster.head);
  text("cluster-refused", cluster.refused);
  const t = cluster.traffic;
  text("cluster-traffic", t ? `in ${bytes(t.inBytes)} · out ${bytes(t.outBytes)}` : "–");
  const body = byId("cluster-nodes");
  body.textContent = "";
  const rows = [
    { node: cluster.node, users: cluster.localClients, applied: cluster.applied, silentMs: 0 },
    ...cluster.nodes,
  ];
  for (const [i, node] of rows.entries()) {
    const row = append(body, "tr", i === 0 ? "this" : "");
    row.dataset.node = node.node;
    append(row, "th", "", node.node).scope = "row";
    append(row, "td", "num", node.users);
    append(row, "td", "num", node.applied);
    append(row, "td", "num", Math.max(0, cluster.head - node.applied));
    const late = node.silentMs > LATE_MS;
    append(
      row,
      "td",
      late ? "num late" : "num",
      node.silentMs < 1000 ? "now" : `${duration(node.silentMs)} ago`,
    );
  }
}

function render(snapshot: MonitorSnapshot): void {
  const by = snapshot.clientsByTransport;
  text("count-total", snapshot.clients);
  for (const transport of TRANSPORTS) text(`count-${transport}`, by[transport] ?? 0);
  text(
    "count-other",
    Object.keys(by).filter((k) => !TRANSPORTS.includes(k)).map((k) => `${k} ${by[k]}`)
      .join(" · "),
  );
  text("total-messages", snapshot.totalMessages);
  text("rate-now", snapshot.messagesPerSecond.at(-1) ?? 0);
  text("channel-count", snapshot.channels.length);
  text("uptime", duration(snapshot.uptimeMs));
  const { peak, span } = chart.update(snapshot);
  text("chart-span", span);
  text("rate-peak", peak);
  drawChannels(snapshot.channels);
  drawRecent(snapshot.recent);
  drawRoom(snapshot.localRoom);
  drawCluster(snapshot.cluster);
  document.body.dataset.updated = String(snapshot.time);
}

function setLive(label: string, cls: string): void {
  const pill = byId("live");
  pill.textContent = label;
  pill.className = `pill ${cls}`;
}

const source = new EventSource("/monitor/events");
source.addEventListener("stats", (event) => {
  setLive("live", "ok");
  render(JSON.parse((event as MessageEvent<string>).data));
});
source.onerror = () => setLive("reconnecting…", "warn");
