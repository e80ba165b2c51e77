/**
 * A member of the chat as the core sees it: anything with a nick that can receive events.
 * A user on IRC (TCP, TLS or WebSocket) is one — its presence (`presence.ts`), which has one device
 * per connection, several when its account is connected more than once, none when it stays
 * on without any; so is a virtual user whose messages come from somewhere else (a
 * shared-memory room, the operator console, ChanServ).
 *
 * @module
 */
import type { ChatEvent } from "./chat_event.ts";
import type { SendQueue } from "./delivery.ts";

/** One user of the chat. The hub sets `nick` and `channels`; the member keeps the rest. */
export interface Member {
  /** The current nick (the hub changes it through `ChatHub.changeNick`). */
  nick: string;
  /** The user name (ident); an operator's CHGHOST changes it (`ChatHub.changeHost`). */
  user: string;
  /** The host shown in `nick!user@host`; an operator's CHGHOST changes it (see `user`). */
  host: string;
  /**
   * The IP address the member connects from, when it has one: what server bans and per-address
   * limits go by, whatever host it is shown with. Without it, the host is the address.
   */
  readonly address?: string;
  /** The real name (gecos). */
  readonly realname: string;
  /** The transport, counted in statistics: `tcp`, `tls`, `websocket`, `local`. */
  readonly transport: string;
  /** Folded names of the channels the member is in; maintained by the hub. */
  readonly channels: Set<string>;
  /** When the member connected, ms since the epoch (WHOIS signon), if known. */
  readonly connectedAt?: number;
  /** When the member last sent a message, ms since the epoch (WHOIS idle), if known. */
  readonly lastMessageAt?: number;
  /**
   * The account the member is logged in to, if any (set by the hub: `ChatHub.logIn`). What
   * outlives a connection (private history, read markers, always-on) belongs to an account,
   * never to a nick.
   */
  account?: string;
  /** The away message, when away. */
  away?: string;
  /**
   * The server operator the member logged in as (`OPER`, user mode +o), if any; cleared when
   * it drops the mode or its operator leaves the operator file.
   */
  oper?: string;
  /** Whether the member receives WALLOPS (user mode +w; operators receive them anyway). */
  readonly wallops?: boolean;
  /** Whether the member marked itself a bot (IRC user mode `+B`). */
  readonly bot?: boolean;
  /** Whether the member is invisible (IRC user mode `+i`): wildcard searches skip it. */
  readonly invisible?: boolean;
  /**
   * Whether the member gets its own messages back (IRCv3 `echo-message`). For a member with
   * devices each device decides for itself (see {@link Device.echo}).
   */
  readonly echo: boolean;
  /**
   * The member's devices, if it is a user with connections of its own (an IRC user): the hub
   * hands their send queues its channels' events through each channel's stream
   * (`ChannelStream`, one reference per queue per tick), and everything else through
   * `deliver`. Maintained by the hub (`ChatHub.attach`, `ChatHub.detach`); empty
   * while an always-on member has no device connected. Absent on a member that receives
   * every event through `deliver` (a bridged local user, ChanServ).
   */
  readonly devices?: Set<Device>;
  /**
   * Whether the member stays when its last device leaves (an always-on account): it keeps
   * its nick and channels, and what is said to it is kept in history for it.
   */
  alwaysOn?: boolean;
  /**
   * Since when an always-on member has had no device, ms since the epoch; undefined while one
   * is connected (maintained by the hub).
   */
  detachedAt?: number;
  /**
   * Whether what the member should see is shown by some other process (a user of another
   * cluster node, which applies the same log to its own hub): the hub leaves it out of its
   * channels' delivery, so a channel message costs nothing per such member. Read when the
   * member joins a channel.
   */
  readonly deliveredElsewhere?: boolean;
  /**
   * Called with each event the member should see (for a member with devices: each event but
   * its channels' events, for every device). Must not block or throw: queue the event and
   * return.
   *
   * @param event The event, shared with other recipients.
   */
  deliver(event: ChatEvent): void;
  /**
   * Asked to leave (operator kick, shutdown). The member closes its transport; the hub has
   * already removed it and told the others.
   *
   * @param reason Why.
   */
  disconnect(reason: string): void;
}

/**
 * One connection of a member (an IRC session): its own send queue, its own capabilities.
 * Several devices of one account are one member with one nick (see `Presence`); what
 * one of them sends, the others get as if echoed.
 */
export interface Device {
  /** The member this device is a connection of. */
  readonly member: Member;
  /** The transport it came over (`tcp`, `tls`, `websocket`). */
  readonly transport: string;
  /** The IP address it connects from. */
  readonly address?: string;
  /** The device's send queue: channel events reach it through each channel's stream. */
  readonly queue: SendQueue;
  /** Whether this device gets back what it sends itself (IRCv3 `echo-message`). */
  readonly echo: boolean;
  /**
   * Whether the device is told of the state changes (away, account, real name) of the nicks
   * it watches, as if it shared a channel with them (IRCv3 extended-monitor).
   */
  readonly watchesChanges?: boolean;
  /**
   * Called with each event for this device but its member's channels' events. Must not block
   * or throw: queue the event and return.
   *
   * @param event The event, shared with other recipients.
   */
  deliver(event: ChatEvent): void;
  /**
   * Called when a nick the device watches (`ChatHub.watchList`) comes online, with its
   * `nick!user@host`, or goes offline, without. Must not block or throw.
   *
   * @param nick The nick as its holder spells it (online) or spelled it (offline).
   * @param mask The holder's mask when it came online; undefined when it went offline.
   */
  presence?(nick: string, mask: string | undefined): void;
  /**
   * Asked to close (its member was removed by an operator, or the server stops).
   *
   * @param reason Why.
   */
  disconnect(reason: string): void;
}

/**
 * Who acts in a call to the hub: a member, or one device of a member — which acts for its
 * member, and is the one device a message's echo rules and a labeled response apply to.
 */
export type Participant = Member | Device;

/**
 * The member a participant is or acts for.
 *
 * @param participant A member, or one of its devices.
 * @returns The member.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Device, type Member, memberOf } from "./member.ts";
 *
 * const ann = { nick: "ann" } as Member;
 * assert.equal(memberOf(ann), ann);
 * assert.equal(memberOf({ member: ann } as Device), ann);
 * ```
 */
export function memberOf(participant: Participant): Member {
  return isDevice(participant) ? participant.member : participant;
}

/**
 * Whether a participant is a device (one connection of a member).
 *
 * @param participant A member, or one of its devices.
 * @returns True for a device.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Device, isDevice, type Member } from "./member.ts";
 *
 * const ann = { nick: "ann" } as Member;
 * assert.ok(!isDevice(ann));
 * assert.ok(isDevice({ member: ann } as Device));
 * ```
 */
export function isDevice(participant: Participant): participant is Device {
  return "member" in participant;
}

/**
 * `nick!user@host` of a member.
 *
 * @param member The member.
 * @returns The mask.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskOf } from "./member.ts";
 *
 * assert.equal(maskOf({ nick: "ann", user: "a", host: "h" }), "ann!a@h");
 * ```
 */
export function maskOf(member: Pick<Member, "nick" | "user" | "host">): string {
  return `${member.nick}!${member.user}@${member.host}`;
}
