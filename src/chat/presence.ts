/**
 * A user's presence: the one member the chat sees for an IRC user, whatever number of
 * connections it has. Ergo calls this multiclient: every connection (device) logged in to an
 * account is the same user — one nick, one set of channels, one away message — and what one
 * device sends the others receive as if echoed. An always-on account's presence stays in its
 * channels with no device at all. A guest (no account) has a presence with one device.
 *
 * The presence keeps the user's state; the hub decides who gets which event and keeps the
 * devices (`ChatHub.attach`, `ChatHub.detach`); each device encodes for its own capabilities.
 *
 * @module
 */
import type { AlwaysOnAccount } from "./always_on.ts";
import type { ChatEvent } from "./chat_event.ts";
import type { ChatHub } from "./hub.ts";
import type { Device, Member } from "./member.ts";
import { toUserName } from "./names.ts";

/** What a new {@link Presence} starts with. */
export interface PresenceFields {
  /** The nick. */
  nick: string;
  /** The user name (ident). */
  user: string;
  /** The host shown in `nick!user@host`. */
  host: string;
  /** The real name. */
  realname: string;
  /** The account it is logged in to, if any. */
  account?: string;
  /** When it connected, ms since the epoch. @default {Date.now()} */
  connectedAt?: number;
}

/**
 * The host of an always-on presence brought back with no device (at start-up): no address of
 * the user's is kept on disk.
 */
export const ALWAYS_ON_HOST = "always-on";

/** The away message of an always-on presence while no device is connected. */
export const DETACHED_AWAY = "Not connected: messages are kept for later (always-on)";

/**
 * One user, with its devices.
 *
 * @example A presence hands each event to every device it has
 * ```ts
 * import assert from "node:assert/strict";
 * import { Presence } from "./presence.ts";
 * import { createEvent } from "./chat_event.ts";
 * import type { Device } from "./member.ts";
 *
 * const ann = new Presence({ nick: "ann", user: "ann", host: "h", realname: "Ann" });
 * const seen: string[] = [];
 * assert.equal(ann.transport, "always-on", "no device yet");
 * const device = (name: string, transport: string) =>
 *   ({ transport, deliver: () => seen.push(name) }) as unknown as Device;
 * ann.devices.add(device("laptop", "tls"));
 * ann.devices.add(device("phone", "websocket"));
 * ann.deliver(createEvent({ kind: "privmsg", source: "bob!b@h", target: "ann", text: "hi" }));
 * assert.deepEqual(seen, ["laptop", "phone"]);
 * assert.equal(ann.transport, "tls", "the transport of its first device");
 * ```
 */
export class Presence implements Member {
  /** The nick (the hub changes it). */
  nick: string;
  /** The user name (an operator's CHGHOST changes it). */
  user: string;
  /** The host shown (an operator's CHGHOST changes it). */
  host: string;
  /** The real name (SETNAME changes it). */
  realname: string;
  /** Folded names of its channels; maintained by the hub. */
  readonly channels: Set<string> = new Set();
  /** Its devices; maintained by the hub. */
  readonly devices: Set<Device> = new Set();
  /** The account it is logged in to, if any (the hub sets it: `ChatHub.logIn`). */
  account: string | undefined;
  /** The away message, when away. */
  away?: string;
  /** The server operator it logged in as, if any. */
  oper?: string;
  /** User mode +w. */
  wallops = false;
  /** User mode +B. */
  bot = false;
  /** User mode +i. */
  invisible = false;
  /** Whether it stays when its last device leaves (see `Member.alwaysOn`). */
  alwaysOn = false;
  /** Every device decides on its own echo. */
  readonly echo = false;
  /** When it connected, ms since the epoch. */
  readonly connectedAt: number;
  /** When it last sent a chat message, ms since the epoch. */
  lastMessageAt: number;
  /**
   * Since when an always-on presence has had no device, ms since the epoch; undefined while
   * one is connected. A device that attaches and cannot ask for history (no chathistory) is
   * replayed what came after it.
   */
  detachedAt: number | undefined;
  /**
   * A guest's read markers (IRCv3 read-marker), by folded target, as ms since the epoch: kept
   * only while it is connected. An account's are stored with the account.
   */
  readonly readMarkers: Map<string, number> = new Map();

  /**
   * Makes a presence with no device and no channel.
   *
   * @param fields Its nick, user, host, real name and account.
   */
  constructor(fields: PresenceFields) {
    this.nick = fields.nick;
    this.user = fields.user;
    this.host = fields.host;
    this.realname = fields.realname;
    this.account = fields.account;
    this.connectedAt = fields.connectedAt ?? Date.now();
    this.lastMessageAt = this.connectedAt;
  }

  /**
   * The IP address of its first device: what a KLINE by nick bans; undefined while it has
   * none (then the host stands for it).
   */
  get address(): string | undefined {
    for (const device of this.devices) return device.address;
    return undefined;
  }

  /** The transport of its first device; `always-on` while it has none. */
  get transport(): string {
    for (const device of this.devices) return device.transport;
    return "always-on";
  }

  /**
   * Hands an event to every device.
   *
   * @param event The event.
   */
  deliver(event: ChatEvent): void {
    for (const device of this.devices) device.deliver(event);
  }

  /**
   * Closes every device (the hub has already removed the presence).
   *
   * @param reason Why.
   */
  disconnect(reason: string): void {
    for (const device of [...this.devices]) device.disconnect(reason);
  }
}

/**
 * Brings back an always-on account's presence with no device, in the channels it was in: as
 * the server starts, and when a device logs in to an always-on account that is not present (an
 * operator killed it). Its nick is the account's name (which nobody else may take), its host
 * {@link ALWAYS_ON_HOST}; it is away until a device connects.
 *
 * @param hub The chat.
 * @param stored The account as the always-on store keeps it.
 * @param now The time, ms since the epoch, when it is not known since when it has had no
 *   device. @default {Date.now()}
 * @returns The presence, or undefined when its nick or account is in use.
 *
 * @example ann is back in #team with no device, away
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatHub } from "./hub.ts";
 * import { restorePresence } from "./presence.ts";
 *
 * const hub = new ChatHub();
 * const ann = restorePresence(hub, { account: "ann", detachedAt: 5, channels: ["#team"] })!;
 * assert.equal(hub.find("ann"), ann);
 * assert.equal(hub.memberOfAccount("ANN"), ann);
 * assert.ok(hub.channel("#team")!.members.has(ann));
 * assert.equal(ann.devices.size, 0);
 * assert.equal(ann.detachedAt, 5);
 * assert.notEqual(ann.away, undefined);
 * ```
 */
export function restorePresence(
  hub: ChatHub,
  stored: AlwaysOnAccount,
  now: number = Date.now(),
): Presence | undefined {
  const { account } = stored;
  const presence = new Presence({
    nick: account,
    user: toUserName(account) || "user",
    host: ALWAYS_ON_HOST,
    realname: account,
    account,
  });
  presence.alwaysOn = true;
  return hub.addDetached(presence, stored.channels, stored.detachedAt ?? now)
    ? presence
    : undefined;
}
