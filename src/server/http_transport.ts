/**
 * The chat server's HTTP transport: puts the web side (chat page, monitor, metrics, IRC over
 * WebSocket, uploads) in front of a running {@link ChatServer}. WebSocket clients go through
 * {@link ChatServer.attach} like TCP clients; the monitor reads {@link ChatServer.stats};
 * uploads go to {@link ChatServer.files} from the server's accounts.
 *
 * @module
 */
import { accountAuthenticator } from "../web/http_auth.ts";
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
 * @example The second in progress is left out, and so are private messages
 * ```ts
 * import assert from "node:assert/strict";
 * import { monitorSnapshot } from "./http_transport.ts";
 *
 * const said = { command: "PRIVMSG", time: 4000, sender: "ann", text: "hi" } as const;
 * const inLobby = { ...said, msgid: "m1", target: "#lobby" };
 * const toBob = { ...said, msgid: "m2", target: "bob" };
 * const snapshot = monitorSnapshot({
 *   startedAt: 0, uptimeMs: 5000, port: 54000, connections: 1, clients: 1,
 *   clientsByTransport: { tcp: 1 }, channels: [{ name: "#lobby", topic: "", members: ["ann"] }],
 *   totalMessages: 2, messagesPerSecond: 0.4, messagesPerSecondSeries: [1, 1, 0],
 *   recentMessages: [inLobby, toBob], storeFailures: 0, sendQDrops: 0,
 * }, 5000);
 * assert.equal(snapshot.time, 4000);
 * assert.deepEqual(snapshot.messagesPerSecond, [1, 1]);
 * assert.deepEqual(snapshot.recent, [{ time: 4000, sender: "ann", target: "#lobby", text: "hi" }]);
 * assert.deepEqual(snapshot.channels, [{ name: "#lobby", members: ["ann"] }]);
 * assert.equal(snapshot.localRoom, undefined);
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
    ...(stats.cluster
      ? {
        cluster: {
          cluster: stats.cluster.cluster,
          node: stats.cluster.node,
          applied: stats.cluster.applied,
          head: stats.cluster.head,
          lag: stats.cluster.lag,
          bus: stats.cluster.bus ?? "unknown",
          ...(stats.cluster.traffic ? { traffic: stats.cluster.traffic } : {}),
          refused: stats.cluster.refused,
          localClients: stats.cluster.localUsers,
          peers: stats.cluster.peers.length,
          nodes: stats.cluster.peers,
        },
      }
      : {}),
  };
}

/**
 * Serves the web side of a chat server.
 *
 * @param server The running chat server.
 * @param options Where to listen (default: the server's own address, port 54080), the extra
 *   allowed origins and hosts, and the limits. Connections are admitted by the server's
 *   {@link ChatServer.gate}, so they count against the same per-address limits as IRC. When
 *   the server keeps uploads and accounts, `/upload` takes files from logged-in accounts, and
 *   its URL is advertised to IRC clients (`draft/FILEHOST`) when one can be told.
 * @returns The running web server; shut it down after the chat server has closed.
 *
 * @example Serve the monitor's numbers next to an IRC server, then shut both down
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./server.ts";
 * import { startHttpTransport } from "./http_transport.ts";
 *
 * const server = await startServer({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   dataDir: false,
 *   status: false,
 * });
 * const web = await startHttpTransport(server, { port: 0 });
 * assert.equal(web.hostname, server.hostname);
 * const response = await fetch(`http://${web.hostname}:${web.port}/api/stats`);
 * assert.equal(response.status, 200);
 * const stats = await response.json();
 * assert.equal(stats.clients, 0);
 * assert.deepEqual(stats.channels, [{ name: "#lobby", members: [] }]);
 * await server.close();
 * await web.shutdown();
 * ```
 */
export async function startHttpTransport(
  server: ChatServer,
  options: WebServerOptions = {},
): Promise<WebServer> {
  const { files, accounts } = server;
  // A session token (TOKEN GENERATE) logs in as `Authorization: Bearer`, as it does with SASL.
  const verifyToken = (token: string) => accounts?.sessionTokens.verify(token);
  const uploads = files && accounts &&
    { store: files, authenticator: accountAuthenticator(accounts, { verifyToken }) };
  const web = await startWebServer({
    gate: server.gate,
    attach: (connection, admission) => void server.attach(connection, admission),
    snapshot: () => monitorSnapshot(server.stats()),
    acceptErrors: () => server.acceptErrors(),
  }, { uploads, ...options, hostname: options.hostname ?? server.hostname });
  if (web.uploadUrl !== undefined) server.advertiseFileHost(web.uploadUrl);
  return web;
}
