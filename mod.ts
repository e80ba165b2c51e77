/**
 * shmooze as a library: chat and its building blocks over the operating system's own
 * mechanisms — named shared memory and named semaphores today.
 *
 * @example Share bytes between two handles (or two processes)
 * ```ts
 * import assert from "node:assert/strict";
 * import { NamedSemaphore, SharedMemory } from "./mod.ts";
 *
 * const name = `shmooze-example-${crypto.randomUUID().slice(0, 8)}`;
 * const writer = SharedMemory.create(name, 1024);
 * const reader = SharedMemory.open(name);
 * const ready = NamedSemaphore.create(name, 0);
 * try {
 *   writer.bytes.set(new TextEncoder().encode("hello"));
 *   ready.post();
 *   assert.ok(await ready.wait({ timeoutMs: 1000 }));
 *   assert.equal(new TextDecoder().decode(reader.bytes.subarray(0, 5)), "hello");
 * } finally {
 *   ready.close();
 *   reader.close();
 *   writer.close();
 *   NamedSemaphore.unlink(name);
 *   SharedMemory.unlink(name);
 * }
 * ```
 *
 * @module
 */
export { SharedMemory } from "./src/ipc/shared_memory.ts";
export { NamedSemaphore, type WaitOptions } from "./src/ipc/named_semaphore.ts";
export { IpcError, type IpcErrorOptions } from "./src/ipc/ipc_error.ts";
export {
  MAX_NAME_LENGTH,
  NAME_PREFIX,
  objectName,
  sanitizeLabel,
  validateName,
} from "./src/ipc/names.ts";
export {
  STATUS_NAME_BYTES,
  STATUS_TEXT_BYTES,
  STATUS_TRANSPORTS,
  StatusBoard,
  type StatusSnapshot,
  type StatusUpdate,
} from "./src/ipc/status_board.ts";
export {
  DataDirectoryError,
  type DataDirectoryProblem,
  defaultDataDir,
} from "./src/chat/data_directory.ts";
export {
  type HistoryAnchor,
  type HistoryEntry,
  type HistoryOptions,
  type HistoryOwner,
  type HistoryRecord,
  type HistorySelector,
  HistoryStore,
  type PrivateConversation,
} from "./src/chat/history.ts";
export {
  type Participant,
  Room,
  type RoomEvent,
  type RoomEventView,
  type RoomJoinOptions,
  type RoomSendOptions,
} from "./src/ipc/room.ts";
export type { RoomInfo } from "./src/ipc/room_admin.ts";
export {
  Relay,
  RELAY_MAX_CLIENTS,
  RELAY_MAX_ROUNDS,
  RELAY_MESSAGE_BYTES,
  type RelayCheck,
  type RelayClientOptions,
  relayDestination,
  type RelayHop,
  relayMessage,
  relayRoute,
  type RelayTurn,
} from "./src/ipc/relay.ts";
export {
  type ChatServer,
  DEFAULT_MOTD,
  type ServerOptions,
  type ServerStats,
  startServer,
  type TlsOptions,
} from "./src/server/server.ts";
export { AddressGate, type AddressGateOptions, type Admission } from "./src/net/address_gate.ts";
export type { BridgeOptions, LocalBridge, LocalRoomStats } from "./src/bridge/bridge.ts";
export { BRIDGE_NAME, localNick } from "./src/bridge/room_protocol.ts";
export { LOCAL_SUFFIX } from "./src/chat/names.ts";
export type { Connection } from "./src/chat/connection.ts";
export { ChatHub, LOBBY, type RecentMessage, type SendError, SERVER_NICK } from "./src/chat/hub.ts";
export type { Member } from "./src/chat/member.ts";
export type { ChatEvent, ChatEventKind } from "./src/chat/chat_event.ts";
export { DEFAULT_LIMITS, type IrcLimits } from "./src/irc/limits.ts";
export type { IrcMessage } from "./src/irc/message.ts";
export {
  IrcClient,
  type IrcClientOptions,
  IrcConnectionError,
  type LoginOptions,
  type TlsClientOptions,
  WANTED_CAPABILITIES,
} from "./src/client/irc_client.ts";
