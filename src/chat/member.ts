/**
 * A member of the chat as the core sees it: anything with a nick that can receive events.
 * An IRC session over TCP, TLS or WebSocket is one; so is a virtual user whose messages
 * come from somewhere else (a shared-memory room, the operator console).
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
   * The account the member is logged in to, if any. What outlives a connection (private
   * history) belongs to an account, never to a nick.
   */
  readonly account?: string;
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
   * Whether the member is told of the state changes (away, account, real name) of the nicks it
   * watches, as if it shared a channel with them (IRCv3 extended-monitor).
   */
  readonly watchesChanges?: boolean;
  /** Whether the member gets its own messages back (IRCv3 `echo-message`). */
  readonly echo: boolean;
  /**
   * The member's send queue, if it has one: the hub then hands it channel events through
   * the channel's stream (`ChannelStream`, one reference per tick), not `deliver`.
   */
  readonly queue?: SendQueue;
  /**
   * Called with each event the member should see (for a member with a `queue`: each event
   * but its channels' events). Must not block or throw: queue the event and return.
   *
   * @param event The event, shared with other recipients.
   */
  deliver(event: ChatEvent): void;
  /**
   * Called when a nick the member watches (see `ChatHub.watch`) comes online, with its
   * `nick!user@host`, or goes offline, without. A member that never watches needs none. Must
   * not block or throw.
   *
   * @param nick The nick as its holder spells it (online) or spelled it (offline).
   * @param mask The holder's mask when it came online; undefined when it went offline.
   */
  presence?(nick: string, mask: string | undefined): void;
  /**
   * Asked to leave (operator kick, shutdown). The member closes its transport; the hub has
   * already removed it and told the others.
   *
   * @param reason Why.
   */
  disconnect(reason: string): void;
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
