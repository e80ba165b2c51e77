/**
 * shmooze's IPC layer: named shared memory and named semaphores over the OS's own calls.
 *
 * @module
 */
export { SharedMemory } from "./shared_memory.ts";
export { NamedSemaphore, type WaitOptions } from "./named_semaphore.ts";
export { IpcError, type IpcErrorOptions } from "./ipc_error.ts";
export { MAX_NAME_LENGTH, NAME_PREFIX, objectName, sanitizeLabel, validateName } from "./names.ts";
export {
  type MappedSegment,
  type OpenMode,
  type Platform,
  platform,
  type SemaphoreHandle,
} from "./platform.ts";
export {
  STATUS_NAME_BYTES,
  STATUS_TEXT_BYTES,
  STATUS_TRANSPORTS,
  StatusBoard,
  type StatusSnapshot,
  type StatusUpdate,
} from "./status_board.ts";
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
} from "./relay.ts";
