/**
 * shmooze's IPC layer: named shared memory and named semaphores over the OS's own calls
 * (libc on Linux and macOS, kernel32 on Windows), the names shmooze gives them, and the
 * status board a server publishes. The chat room built on them is `./room`; seed 003's
 * round-robin demo is `./relay`.
 *
 * @example Share bytes through a named segment
 * ```ts
 * import assert from "node:assert/strict";
 * import { SharedMemory } from "./mod.ts";
 *
 * const name = `shmooze-example-${crypto.randomUUID().slice(0, 8)}`;
 * const writer = SharedMemory.create(name, 64);
 * const reader = SharedMemory.open(name);
 * try {
 *   writer.bytes[0] = 42;
 *   assert.equal(reader.bytes[0], 42);
 * } finally {
 *   reader.close();
 *   writer.close();
 *   SharedMemory.unlink(name);
 * }
 * ```
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
  DEFAULT_RING_BYTES,
  LogRing,
  type LogRingCursor,
  type LogRingRead,
  MAX_BEAT_BYTES,
  RING_SIZE_RANGE,
} from "./log_ring.ts";
export {
  STATUS_NAME_BYTES,
  STATUS_PEERS,
  STATUS_TEXT_BYTES,
  STATUS_TRANSPORTS,
  StatusBoard,
  type StatusCluster,
  type StatusPeer,
  type StatusSnapshot,
  type StatusUpdate,
} from "./status_board.ts";
