/**
 * The chat server: IRC on TCP and TLS, the web side (chat page, monitor, metrics, IRC over
 * WebSocket), history, accounts, the status board and the bridge to a shared-memory room,
 * with one lifecycle.
 *
 * @example Serve on a free port, chat, stop
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./mod.ts";
 *
 * const server = await startServer({ hostname: "127.0.0.1", port: 0, dataDir: false, status: false });
 * try {
 *   assert.ok(server.port > 0);
 *   assert.deepEqual(server.stats().channels.map((c) => c.name), ["#lobby"]);
 * } finally {
 *   await server.close();
 * }
 * ```
 *
 * @module
 */
export {
  ChatServer,
  type ClusterOptions,
  DEFAULT_MOTD,
  type ServerOptions,
  type ServerStats,
  startServer,
  type TlsOptions,
} from "./server.ts";
export { monitorSnapshot, startHttpTransport } from "./http_transport.ts";
export type { WebServer, WebServerOptions } from "../web/web_server.ts";
export type { WebSocketLimits } from "../web/websocket_connection.ts";
export type { HttpLimits } from "../web/_http_connection.ts";
export type {
  MonitorCluster,
  MonitorMessage,
  MonitorPeer,
  MonitorRoom,
  MonitorSnapshot,
} from "../web/monitor_snapshot.ts";
export { AddressGate, type AddressGateOptions, type Admission } from "../net/address_gate.ts";
export { type ListenerKind, ListenError, type ListenProblem } from "../net/listen.ts";
export { type AccountOptions, AccountStore } from "../chat/accounts.ts";
export type { PushOptions } from "../irc/push_notifications.ts";
export type {
  PushJob,
  PushOutcome,
  PushSenderOptions,
  PushSenderStats,
  Urgency,
} from "../net/push/push_sender.ts";
export type { SubscriptionKeys } from "../net/push/push_encryption.ts";
export type { Vapid } from "../net/push/vapid.ts";
export type { EndpointPolicy, Resolver } from "../net/push/push_endpoint.ts";
export {
  accountAuthenticator,
  type AccountAuthenticatorOptions,
  type Authenticator,
  type AuthRequest,
  type AuthResult,
} from "../web/http_auth.ts";
