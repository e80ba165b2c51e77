/**
 * The bridge between a shared-memory room (`shmooze local`) and a server's channel, and the
 * room protocol both sides speak.
 *
 * @example A local participant's name on the network
 * ```ts
 * import assert from "node:assert/strict";
 * import { localNick } from "./mod.ts";
 *
 * assert.equal(localNick("ann", 32, () => true), "ann|local");
 * ```
 *
 * @module
 */
export { type BridgeOptions, LocalBridge, type LocalRoomStats } from "./bridge.ts";
export {
  BRIDGE_NAME,
  chatText,
  eventText,
  fromLocalUser,
  localNick,
  relayedMessage,
  toNetworkUser,
} from "./room_protocol.ts";
