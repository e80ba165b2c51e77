/**
 * The chat server's HTTP transport: puts the web side (chat page, monitor, metrics, IRC over
 * WebSocket) in front of a running {@link ChatServer}. WebSocket clients go through
 * {@link ChatServer.attach} like TCP clients; the monitor reads {@link ChatServer.stats}.
 *
 * @module
 */
import type { MonitorSnapshot } from "../web/monitor_snapshot.ts";
import { startWebServer, type WebServer, type WebServerOptions } from "../web/web_server.ts";
import type { ChatServer, ServerStats } from "./server.ts";

/**
 * The monitor's view of the server's stats: the rate series without the second still in
 * progress (it would always look like a dip), and recent channel messages without their
 * ids (private messages are left out).
 *
 * @param stats The server's stats; `localRoom` is there when a local room is bridged.
 * @param now The time of the snapshot, ms since the epoch.
 * @returns The snapshot.
 *
 * @example
 * ```ts
 * import { monitorSnapshot } from "./http_transport.ts";
 * const snapshot = monitorSnapshot({
 *   startedAt: 0, uptimeMs: 5000, port: 54000, connections: 1, clients: 1,
 *   clientsByTransport: { tcp: 1 }, channels: [{ name: "#lobby", topic: "", members: ["ann"] }],
 *   totalMessages: 3, messagesPerSecond: 0.6, messagesPerSecondSeries: [1, 2, 0],
 *   recentMessages: [], storeFailures: 0, sendQDrops: 0,
 * }, 5000);
 * console.log(snapshot.messagesPerSecond); // [ 1, 2 ]
 * ```
 */
export function monitorSnapshot(
  stats: ServerStats,
  now: number = Date.now(),
): MonitorSnapshot {
  return {
    time: now - 1000,
    startedAt: stats.startedAt,
    uptimeMs: stats.uptimeMs,
    clients: stats.clients,
    clientsByTransport: stats.clientsByTransport,
    totalMessages: stats.totalMessages,
    messagesPerSecond: stats.messagesPerSecondSeries.slice(0, -1),
    channels: stats.channels.map(({ name, members }) => ({ name, members })),
    // The monitor is open to anyone who reaches the HTTP port: it shows what is said in
    // channels, never the text of private messages.
    recent: stats.recentMessages
      .filter(({ target }) => /^[#&]/.test(target))
      .map(({ time, sender, target, text }) => ({ time, sender, target, text })),
    storeFailures: stats.storeFailures,
    sendQDrops: stats.sendQDrops,
    ...(stats.localRoom ? { localRoom: stats.localRoom } : {}),
  };
}

/**
 * Serves the web side of a chat server.
 *
 * @param server The running chat server.
 * @param options Where to listen (default: the server's own address, port 54080), the extra
 *   allowed origins and hosts, and the limits. Connections are admitted by the server's
 *   {@link ChatServer.gate}, so they count against the same per-address limits as IRC.
 * @returns The running web server; shut it down after the chat server has closed.
 *
 * @example
 * ```ts ignore
 * const server = await startServer({ hostname: "127.0.0.1", port: 0 });
 * const web = await startHttpTransport(server, { port: 0 });
 * console.log(`http on ${web.hostname}:${web.port}`);
 * ```
 */
export function startHttpTransport(
  server: ChatServer,
  options: WebServerOptions = {},
): Promise<WebServer> {
  return startWebServer({
    gate: server.gate,
    attach: (connection, admission) => void server.attach(connection, admission),
    snapshot: () => monitorSnapshot(server.stats()),
    acceptErrors: () => server.acceptErrors(),
  }, { ...options, hostname: options.hostname ?? server.hostname });
}
