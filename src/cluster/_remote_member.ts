/**
 * A user whose presence began on another node, as this node's hub holds it: a presence like
 * any, with a nick, channels and a mask, and — unless the same account attached a device
 * through this node too (multiclient across nodes) — no device here. What it should see on its
 * other nodes' devices, those nodes show it (they apply the same log); here the hub hands it
 * to this node's devices of it, if any.
 *
 * @module
 */
import { Presence } from "../chat/presence.ts";
import type { ConnectEvent } from "./cluster_event.ts";

/** A user whose `connect` came from another node. */
export class RemoteMember extends Presence {
  /**
   * Makes the user a `connect` event announced.
   *
   * @param event The event.
   */
  constructor(event: ConnectEvent) {
    super({
      nick: event.nick,
      user: event.user,
      host: event.host,
      realname: event.realname,
      account: event.account,
      connectedAt: event.time,
    });
  }

  /** The transport of its first device here; `cluster` while it has none here. */
  override get transport(): string {
    for (const device of this.devices) return device.transport;
    return "cluster";
  }
}
