/**
 * shmooze as a library: chat and its building blocks over the operating system's own
 * mechanisms. This front page exports the main entry point of each area; every area has its
 * own subpath with all of it:
 *
 * | Subpath     | What                                                                 |
 * | ----------- | -------------------------------------------------------------------- |
 * | `./ipc`     | named shared memory and semaphores, object names, the status board   |
 * | `./room`    | the shared-memory chat room (`shmooze local`)                        |
 * | `./relay`   | seed 003's round-robin through one segment and N semaphores          |
 * | `./chat`    | the protocol-neutral core: hub, members, channels, delivery, names   |
 * | `./history` | message history in SQLite, as CHATHISTORY serves it                  |
 * | `./irc`     | the IRC line format, limits, CTCP ACTION                             |
 * | `./server`  | the chat server (IRC, TLS, the web side, accounts, the status board) |
 * | `./client`  | an IRC client library                                                |
 * | `./bridge`  | a shared-memory room relayed with a channel                          |
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
export { IpcError, NamedSemaphore, SharedMemory, StatusBoard } from "./src/ipc/mod.ts";
export { MAX_MESSAGE_BYTES, Room } from "./src/ipc/room.ts";
export { ChatHub, DataDirectoryError, defaultDataDir } from "./src/chat/mod.ts";
export { HistoryStore } from "./src/chat/history.ts";
export { parseMessage } from "./src/irc/mod.ts";
export { startServer } from "./src/server/mod.ts";
export { IrcClient } from "./src/client/mod.ts";
export { LocalBridge } from "./src/bridge/mod.ts";
