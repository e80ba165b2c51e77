// Over 600 lines: the one owner of the chat's shared state (members and their devices,
// channels, watches, accounts in use) and every change to it; about 540 lines are documentation
// and runnable examples.
/**
 * The chat core: who is connected, which channels exist, who is in them, and who gets each
 * event. It knows no socket and no wire format: members are anything implementing
 * {@link Member}, and events are protocol-neutral {@link ChatEvent}s. Its vocabulary is
 * IRC's all the same — nicks, `#channels`, and the two kinds of chat message IRC has
 * (PRIVMSG and NOTICE), which history stores under those names. A user is one member however
 * many connections it has: each connection is a {@link Device} of it with its own send
 * queue (several when one account is connected more than once, none while an always-on
 * account has none). A channel's events go to its members' devices' send queues through the
 * channel's {@link ChannelStream} (one reference per queue per tick, however many events);
 * other events, and members without devices, get one call of `deliver` each, which only
 * queues. "Except the sender" is one device, never its user's other devices: they get what it
 * sends as if echoed.
 *
 * Everything here runs on the one JavaScript thread, one call at a time, so the maps need
 * no lock: where a C server of the seeds guards its client list with a mutex, shmooze gives
 * the list one owner — the event loop — and every change is a plain synchronous call that
 * no other code can interleave with.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { foldCase } from "./casemap.ts";
import { isChannelName } from "./names.ts";
import { Channel, type JoinRefusal } from "./channel.ts";
import {
  type ChannelSettings,
  defaultSettings,
  type ModeChange,
  type ModePlan,
  modeString,
  planModes,
} from "./channel_modes.ts";
import type { ChannelStore } from "./channel_store.ts";
import {
  type ChatEvent,
  type ChatEventKind,
  type CommitState,
  createEvent,
  isLost,
} from "./chat_event.ts";
import type { HistoryOwner, HistoryRecord, HistoryStore } from "./history.ts";
import { findRedactable, type RedactRefusal } from "./redaction.ts";
import type { AlwaysOnStore } from "./always_on.ts";
import {
  type Device,
  isDevice,
  maskOf,
  type Member,
  memberOf,
  type Participant,
} from "./member.ts";
import { MembershipLog } from "./membership_log.ts";
import { DETACHED_AWAY } from "./presence.ts";
import { RateCounter } from "./rate_counter.ts";
import { ChannelStream, Flusher } from "./delivery.ts";
import { WatchList } from "./watch_list.ts";
import { WhowasLog } from "./whowas.ts";

const log = getLogger(["shmooze", "chat"]);

/**
 * The channel that always exists.
 *
 * @example A new hub has it, and keeps it when its last member leaves
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatHub, LOBBY } from "./hub.ts";
 *
 * const hub = new ChatHub();
 * assert.equal(hub.channel(LOBBY)?.members.size, 0);
 * ```
 */
export const LOBBY = "#lobby";

/**
 * The nick the operator console speaks as; no user can take it (`*` is not allowed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nickProblem } from "./names.ts";
 * import { SERVER_NICK } from "./hub.ts";
 *
 * assert.notEqual(nickProblem(SERVER_NICK), undefined);
 * ```
 */
export const SERVER_NICK = "*server*";

/**
 * The nick of ChanServ (`chanserv.ts`), the pseudo-user that registers channels; nobody
 * else can take it while it runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CHANSERV_NICK } from "./hub.ts";
 *
 * assert.equal(CHANSERV_NICK, "ChanServ");
 * ```
 */
export const CHANSERV_NICK = "ChanServ";

/**
 * ChanServ's `nick!user@host`: the source of its NOTICEs and of the modes a registered
 * channel gives on joining.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CHANSERV_MASK } from "./hub.ts";
 *
 * assert.equal(CHANSERV_MASK, "ChanServ!ChanServ@services");
 * ```
 */
export const CHANSERV_MASK = `${CHANSERV_NICK}!${CHANSERV_NICK}@services`;

/** Options for {@link ChatHub}. */
export interface HubOptions {
  /** Where messages are stored; none keeps no history. */
  history?: HistoryStore;
  /** The server's name, the host part of the operator's mask. @default {"shmooze"} */
  serverName?: string;
  /** How many recent messages {@link ChatHub.recent} keeps. @default {50} */
  recentMessages?: number;
  /** Writes members' queues; shared with the transports. @default {new Flusher(0)} */
  flusher?: Flusher;
  /** Where registered channels and topics are kept; none keeps them only in memory. */
  channels?: ChannelStore;
  /**
   * Where always-on accounts keep their channels and since when they have had no device;
   * none: nobody can be always-on.
   */
  alwaysOn?: AlwaysOnStore;
  /**
   * Called with each message a member sends once it is stored: after the commit that makes it
   * durable (at once without history), never for one whose commit failed. Push notifications
   * listen here. Must not block; what it throws is logged.
   */
  onStored?: (message: StoredMessage) => void;
}

/**
 * The id and time a message is given when it was decided elsewhere: a cluster's node applies
 * each message under its origin's msgid and time, so every node shows the same.
 */
export interface MessageStamp {
  /** The IRCv3 msgid. */
  readonly msgid: string;
  /** When it was taken, ms since the epoch. */
  readonly time: number;
}

/** A member's message that history stored, with the accounts of its two ends. */
export interface StoredMessage {
  /** The message as its recipients got it. */
  readonly event: ChatEvent;
  /** The sender's account, if it was logged in. */
  readonly senderAccount?: string;
  /** The recipient's account, for a private message to someone logged in. */
  readonly targetAccount?: string;
}

/**
 * A change of a member's own state that the members sharing a channel with it may be told
 * about: its away message, its account, its real name.
 */
export type StateChange = "away" | "account" | "setname";

/** A chat message as kept for statistics. */
export type RecentMessage = Omit<HistoryRecord, "id" | "senderMask" | "command" | "clientTags"> & {
  /** The IRC command the message was sent with. */
  command: "PRIVMSG" | "NOTICE";
};

/**
 * The client-only tags that make a TAGMSG worth keeping in history: a reaction (IRCv3
 * `+draft/react`, and `+react` as its ratified form will spell it). Any other TAGMSG
 * (`+typing`) is relayed and forgotten.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { STORED_TAGMSG_TAGS } from "./hub.ts";
 *
 * assert.ok(STORED_TAGMSG_TAGS.includes("+draft/react"));
 * assert.ok(!STORED_TAGMSG_TAGS.includes("+typing"));
 * ```
 */
export const STORED_TAGMSG_TAGS: readonly string[] = ["+draft/react", "+react"];

/**
 * Why a message was not sent: no such target, the sender is not in the channel, or history
 * could not store it (`unavailable`: a full disk, a failing database) — then nobody saw it.
 */
export type SendError =
  | "no-such-nick"
  | "no-such-channel"
  | "not-in-channel"
  | "moderated"
  | "banned"
  | "unavailable";

/**
 * Why a channel operation (mode change, kick, invite, topic) was refused: the member is not
 * in the channel, needs to be its operator, the target is not in it (kick) or already in it
 * (invite), there is no such channel, or the change could not be stored (`unavailable`: a
 * full disk) — then nobody saw it.
 */
export type ChannelError =
  | "not-on-channel"
  | "not-operator"
  | "not-in-channel"
  | "already-on-channel"
  | "no-such-channel"
  | "unavailable";

/**
 * Why a deletion (REDACT) was refused: see {@link RedactRefusal}; `no-history` when the server
 * keeps none (nothing to delete, and no way to tell whose a message was), `unavailable` when it
 * could not be stored (a full disk) — then nothing was deleted and nobody was told.
 */
export type RedactError = RedactRefusal | "no-history" | "unavailable";

/**
 * How many of its latest messages a guest (a member without an account) may delete: those it
 * sent on this connection, remembered in memory since history knows no guest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GUEST_REDACTABLE } from "./hub.ts";
 *
 * assert.equal(GUEST_REDACTABLE, 1000);
 * ```
 */
export const GUEST_REDACTABLE = 1000;

/** Room for a mode event's text, so a MODE line with any source and channel fits 512 bytes. */
const MODE_TEXT_BUDGET = 300;

/** A message appended to history, waiting for the commit before anyone sees it. */
interface Uncommitted {
  /** What the statistics count once it is committed; none for a stored TAGMSG. */
  record: RecentMessage | undefined;
  settle: (result: ChatEvent | "unavailable") => void;
  event: ChatEvent & { readonly commit: CommitState };
}

/** Where a message goes: a channel the sender is in, or one member. */
type Route = { channel: Channel; recipient?: undefined } | {
  channel?: undefined;
  recipient: Member;
};

/**
 * The chat's shared state and its fan-out.
 *
 * @example Two virtual members talk in #lobby
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatHub } from "./hub.ts";
 * import type { ChatEvent } from "./chat_event.ts";
 *
 * const hub = new ChatHub();
 * const seen: string[] = [];
 * const member = (nick: string) => ({
 *   nick, user: nick, host: "local", realname: nick, transport: "local",
 *   channels: new Set<string>(), echo: false,
 *   deliver: (e: ChatEvent) => seen.push(`${nick} got ${e.kind} ${e.text}`),
 *   disconnect() {},
 * });
 * const ann = member("ann");
 * const bob = member("bob");
 * assert.ok(hub.add(ann) && hub.add(bob));
 * assert.ok(!hub.add(member("ANN")), "a nick is taken in any case");
 * hub.join(ann, "#lobby");
 * hub.join(bob, "#lobby");
 * seen.length = 0;
 * const sent = await hub.send(ann, "privmsg", "#lobby", "hi bob");
 * assert.equal(typeof sent === "string" ? sent : sent.text, "hi bob");
 * // ann asked for no echo, so only bob sees the message.
 * assert.deepEqual(seen, ["bob got privmsg hi bob"]);
 * assert.equal(await hub.send(ann, "privmsg", "nobody", "hi"), "no-such-nick");
 * ```
 */
export class ChatHub {
  /** Members by folded nick. */
  readonly members: Map<string, Member> = new Map();
  /** Channels by folded name. */
  readonly channels: Map<string, Channel> = new Map();
  /** Chat messages (PRIVMSG and NOTICE) accepted (stored and delivered) since start. */
  totalMessages = 0;
  /**
   * Chat messages refused since start because history could not store them (their senders
   * were told; nobody else saw them).
   */
  storeFailures = 0;
  /** Chat messages per second over the last minute. */
  readonly rate: RateCounter = new RateCounter();
  /** Called with each chat message accepted (the operator console shows them). */
  onMessage: ((message: RecentMessage) => void) | undefined;
  /** The history store, if any. */
  readonly history: HistoryStore | undefined;
  /** Who was in which channel when, for search; kept when there is history. */
  readonly memberships: MembershipLog | undefined;
  /** Writes members' queues on one timer; anything shown outside it calls `prepareWrite` first. */
  readonly flusher: Flusher;
  /** The operator console's `nick!user@host`, the source of {@link ChatHub.announce}. */
  readonly serverMask: string;
  /** The server's name ({@link HubOptions.serverName}), the source of its notices. */
  readonly serverName: string;
  /** Who used each nick before (IRC's WHOWAS): written when a member quits or renames. */
  readonly whowas: WhowasLog = new WhowasLog();
  /** Who watches which nick (IRC's MONITOR): watchers are told through `Device.presence`. */
  readonly watchList: WatchList = new WatchList();
  /** The most members there have been at once since start. */
  peakMembers = 0;
  readonly #recentLimit: number;
  #recent: RecentMessage[] = [];
  #uncommitted: Uncommitted[] = [];
  /** Deliveries to members without a queue, held while a commit is pending (see #hand). */
  #deferred: { member: Member; event: ChatEvent }[] = [];
  #channelStore: ChannelStore | undefined;
  readonly #onStored: HubOptions["onStored"];
  /** Pseudo-users (ChanServ) by folded nick: found like members, never listed as users. */
  readonly #services: Map<string, Member> = new Map();
  /** Each member's pending invitations: folded channel name to the name invited to. */
  readonly #invites: Map<Member, Map<string, string>> = new Map();
  /** Devices collecting the response to a command (see {@link ChatHub.beginResponse}). */
  readonly #responding = new Set<Device>();
  /** Members logged in to an account, by folded account name: one member per account. */
  readonly #byAccount: Map<string, Member> = new Map();
  #alwaysOn: AlwaysOnStore | undefined;
  /** Always-on members marked away only because no device is connected. */
  readonly #autoAway = new WeakSet<Member>();
  /** The latest stored messages each guest sent, which it may delete (see GUEST_REDACTABLE). */
  readonly #sentAsGuest = new WeakMap<Member, Set<string>>();

  /**
   * Makes a hub with no members and one channel, {@link LOBBY}.
   *
   * @param options History, server name and how many recent messages to keep.
   */
  constructor(options: HubOptions = {}) {
    this.history = options.history;
    this.memberships = options.history && new MembershipLog(options.history);
    this.flusher = options.flusher ?? new Flusher(0);
    this.serverName = options.serverName ?? "shmooze";
    this.serverMask = `${SERVER_NICK}!operator@${this.serverName}`;
    this.#recentLimit = options.recentMessages ?? 50;
    this.#channelStore = options.channels;
    this.#alwaysOn = options.alwaysOn;
    this.#onStored = options.onStored;
    this.#createChannel(LOBBY);
    // A registered channel exists even when nobody is in it, as #lobby does.
    for (const key of this.#channelStore?.registeredKeys() ?? []) {
      if (!this.channels.has(key)) this.#createChannel(key);
    }
    // Each flush first makes the tick's messages durable, then shows them, then writes.
    this.flusher.beforeFlush(() => this.#commit());
  }

  /**
   * The member with a nick, if any.
   *
   * @param nick The nick (any case).
   * @returns The member.
   */
  find(nick: string): Member | undefined {
    const key = foldCase(nick);
    return this.members.get(key) ?? this.#services.get(key);
  }

  /**
   * The channel with a name, if it exists.
   *
   * @param name The name (any case).
   * @returns The channel.
   */
  channel(name: string): Channel | undefined {
    return this.channels.get(foldCase(name));
  }

  /**
   * The channel with a name, made when it does not exist, with what the channel store holds for
   * it: a registered channel exists even when nobody is in it (a cluster node loading a
   * snapshot brings back the empty ones this way).
   *
   * @param name The name (any case).
   * @returns The channel.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ChatHub } from "./hub.ts";
   *
   * const hub = new ChatHub();
   * assert.equal(hub.channel("#empty"), undefined);
   * assert.equal(hub.openChannel("#Empty").name, "#Empty");
   * assert.equal(hub.channel("#empty")?.members.size, 0);
   * ```
   */
  openChannel(name: string): Channel {
    return this.channel(name) ?? this.#createChannel(name);
  }

  /**
   * Whether a nick is free to take (by `member`, who may hold it in another case).
   *
   * @param nick The nick.
   * @param member Who wants it.
   * @returns True when nobody else has it.
   */
  nickFree(nick: string, member?: Member): boolean {
    const holder = this.find(nick);
    return holder === undefined || holder === member;
  }

  /**
   * The member logged in to an account, if any: a connection that logs in to it joins that
   * member as one more device (multiclient).
   *
   * @param account The account, any case.
   * @returns The member.
   */
  memberOfAccount(account: string): Member | undefined {
    return this.#byAccount.get(foldCase(account));
  }

  /**
   * Adds a member under its nick.
   *
   * @param member The member.
   * @returns False when the nick is taken, or another member is logged in to its account.
   */
  add(member: Member): boolean {
    const key = foldCase(member.nick);
    if (this.members.has(key) || this.#services.has(key)) return false;
    const account = member.account === undefined ? undefined : foldCase(member.account);
    if (account !== undefined && this.#byAccount.has(account)) return false;
    this.members.set(key, member);
    if (account !== undefined) this.#byAccount.set(account, member);
    this.peakMembers = Math.max(this.peakMembers, this.members.size);
    this.#online(member);
    return true;
  }

  /**
   * Brings back an always-on member with no device (as the server starts): it is added, marked
   * away, and put back in its channels — without the operator status of an unregistered
   * channel's creator (a registered one gives its founder and access list their modes).
   *
   * @param member The member, with `alwaysOn` set and no device.
   * @param channels The channels it was in.
   * @param since Since when it has had no device, ms since the epoch.
   * @returns False when its nick is taken or its account is in use (it was not added).
   */
  addDetached(member: Member, channels: readonly string[], since: number): boolean {
    if (member.away === undefined) {
      member.away = DETACHED_AWAY;
      this.#autoAway.add(member);
    }
    member.detachedAt = since;
    if (!this.add(member)) return false;
    for (const name of channels) {
      const channel = this.join(member, name);
      // Coming back first gives no operator status: a restart must open no channel to anyone.
      if (channel instanceof Channel && channel.registration === undefined) {
        channel.operators.delete(member);
      }
    }
    return true;
  }

  /**
   * Adds a device (a new connection) to its member, which is already in the hub: the device's
   * queue follows the member's channels from now on. An always-on member that had no device
   * is no longer marked away.
   *
   * @param device The device; `device.member` is the member.
   * @returns Since when the member had had no device (ms since the epoch), when it had none
   *   (so the device may be shown what it missed); otherwise undefined.
   */
  attach(device: Device): number | undefined {
    const member = device.member;
    const devices = member.devices;
    if (devices === undefined || devices.has(device)) return undefined;
    devices.add(device);
    for (const key of member.channels) {
      const stream = this.channels.get(key)?.stream;
      if (stream?.open) stream.follow(device.queue);
    }
    return devices.size === 1 ? this.deviceReturned(device) : undefined;
  }

  /**
   * An always-on member that had no device has one again (in a cluster, maybe on another
   * node): it is no longer marked away.
   *
   * @param participant The device that came (not told it was away), or the member when the
   *   device is on another node.
   * @returns Since when the member had had no device (ms since the epoch), or undefined when
   *   it had one.
   */
  deviceReturned(participant: Participant): number | undefined {
    const member = memberOf(participant);
    const missedSince = member.detachedAt;
    if (missedSince === undefined) return undefined;
    member.detachedAt = undefined;
    this.#storeDetached(member, undefined);
    if (this.#autoAway.has(member)) {
      this.#autoAway.delete(member);
      member.away = undefined;
      this.announceChange(participant, "away");
    }
    return missedSince;
  }

  /**
   * Takes a device (a connection that closed) from its member. When it was the last one, the
   * member quits (its QUIT is shown) — unless it is always-on: then it stays in its channels,
   * marked away if it was not, and what it misses is counted from now.
   *
   * @param device The device.
   * @param reason The quit message, if the member quits.
   * @param stamp The QUIT's msgid and time, when decided elsewhere (a cluster's log).
   * @param elsewhere Whether the member has devices elsewhere (on another node of a cluster):
   *   then it stays, whatever was its last device here. @default {false}
   */
  detach(device: Device, reason: string, stamp?: MessageStamp, elsewhere = false): void {
    const member = device.member;
    if (member.devices?.delete(device) !== true) return;
    this.watchList.clear(device);
    this.#responding.delete(device);
    for (const key of member.channels) {
      const stream = this.channels.get(key)?.stream;
      if (stream?.open) stream.unfollow(device.queue);
    }
    if (member.devices.size > 0 || elsewhere) return;
    this.lastDeviceLeft(member, reason, stamp);
  }

  /**
   * A member's last device anywhere left (in a cluster, maybe on another node): it quits (its
   * QUIT is shown) — unless it is always-on: then it stays in its channels, marked away if it
   * was not, and what it misses is counted from now.
   *
   * @param member The member, which has no device left.
   * @param reason The quit message, if it quits.
   * @param stamp The QUIT's msgid and time, when decided elsewhere (a cluster's log).
   */
  lastDeviceLeft(member: Member, reason: string, stamp?: MessageStamp): void {
    if (this.members.get(foldCase(member.nick)) !== member) return;
    if (!member.alwaysOn) return this.remove(member, reason, stamp);
    member.detachedAt = Date.now();
    this.#storeDetached(member, member.detachedAt);
    if (member.away === undefined) {
      member.away = DETACHED_AWAY;
      this.#autoAway.add(member);
      this.announceChange(member, "away");
    }
  }

  /**
   * Logs a member in to an account (SASL or REGISTER after registration) and tells those who
   * share a channel with it. One member per account: a connection that logs in before
   * registering joins that member instead (see {@link ChatHub.memberOfAccount}).
   *
   * @param participant The member, or the device that logged in.
   * @param account The account, as it is spelled.
   * @returns False when another member is logged in to the account (nothing changed).
   */
  logIn(participant: Participant, account: string): boolean {
    const member = memberOf(participant);
    const key = foldCase(account);
    const holder = this.#byAccount.get(key);
    if (holder !== undefined && holder !== member) return false;
    const previous = member.account;
    if (previous !== undefined) this.#byAccount.delete(foldCase(previous));
    member.account = account;
    this.memberships?.loggedIn(member, previous);
    if (this.members.get(foldCase(member.nick)) === member) {
      this.#byAccount.set(key, member);
      this.announceChange(participant, "account");
    }
    return true;
  }

  /**
   * Makes an account's member always-on, or not: stored with the channels it is in now, so
   * the server brings it back in them after a restart.
   *
   * @param participant The member, or the device that asked.
   * @param on Whether it stays with no device connected.
   * @returns Why not: it has no account (or is not a user with devices), or the store failed
   *   (nothing changed); undefined when done.
   */
  setAlwaysOn(
    participant: Participant,
    on: boolean,
  ): "account-required" | "unavailable" | undefined {
    const member = memberOf(participant);
    const account = member.account;
    if (account === undefined || member.devices === undefined || this.#alwaysOn === undefined) {
      return "account-required";
    }
    try {
      if (on) this.#alwaysOn.enable(account, this.#channelNames(member));
      else this.#alwaysOn.disable(account);
    } catch (error) {
      log.error("Always-on of {account} could not be stored: {error}", { account, error });
      return "unavailable";
    }
    member.alwaysOn = on;
    return undefined;
  }

  /**
   * Adds a pseudo-user (ChanServ): private messages reach it and its nick is taken, but it
   * is in no channel and not counted among the members.
   *
   * @param service The pseudo-user.
   * @returns False when the nick is taken.
   */
  addService(service: Member): boolean {
    const key = foldCase(service.nick);
    if (this.members.has(key) || this.#services.has(key)) return false;
    this.#services.set(key, service);
    return true;
  }

  /**
   * Renames a member and tells everyone who shares a channel with it (and itself, on every
   * device).
   *
   * @param participant The member, or the device that asked.
   * @param nick The new nick.
   * @param stamp The NICK's msgid and time, when decided elsewhere (a cluster's log).
   * @returns False when the nick is taken.
   */
  changeNick(participant: Participant, nick: string, stamp?: MessageStamp): boolean {
    const member = memberOf(participant);
    if (!this.nickFree(nick, member)) return false;
    const event = this.#event("nick", member, nick, "", stamp);
    const renamed = foldCase(member.nick) !== foldCase(nick);
    if (renamed) this.#offline(member);
    this.members.delete(foldCase(member.nick));
    member.nick = nick;
    this.members.set(foldCase(nick), member);
    const recipients = this.#neighbours(member);
    recipients.add(member);
    for (const recipient of recipients) this.#hand(recipient, event);
    if (renamed) this.#online(member);
    return true;
  }

  /**
   * Puts a member in a channel (creating it) and tells the channel, the member included (every
   * device of it) — unless the channel's modes keep the member out (see
   * `Channel.joinRefusal`), or the channel of an always-on member could not be stored
   * (`unavailable`). Whoever creates an unregistered channel is its operator (not in #lobby,
   * which nobody creates); a registered channel ops its founder and gives its access list their
   * modes, with a MODE from ChanServ.
   *
   * @param participant The member, or the device that asked.
   * @param name The channel's name.
   * @param key The key it gave (`+k`). @default {""}
   * @param stamp The JOIN's msgid and time, when decided elsewhere (a cluster's log): the time
   *   is also that of the channel it creates, and ChanServ's MODE after it gets `<msgid>/mode`.
   * @returns The channel; why the member may not join; or undefined when it was already in.
   */
  join(
    participant: Participant,
    name: string,
    key = "",
    stamp?: MessageStamp,
  ): Channel | JoinRefusal | undefined {
    const member = memberOf(participant);
    const origin = isDevice(participant) ? participant : undefined;
    const channel = this.channel(name) ?? this.#createChannel(name, stamp?.time);
    if (channel.members.has(member)) return undefined;
    const invites = this.#invites.get(member);
    const refusal = channel.joinRefusal(member, key, invites?.has(channel.key) ?? false) ??
      this.#storeMembership(member, channel, true);
    if (refusal !== undefined) {
      this.#release(channel);
      return refusal;
    }
    invites?.delete(channel.key);
    const creator = channel.members.size === 0 && channel.registration === undefined &&
      channel.key !== LOBBY;
    channel.members.add(member);
    member.channels.add(channel.key);
    this.memberships?.joined(member, channel.name);
    if (member.devices === undefined) channel.direct.add(member);
    else if (channel.stream?.open) {
      for (const device of member.devices) channel.stream.follow(device.queue);
    }
    if (creator) channel.operators.add(member);
    this.#publish(
      channel,
      this.#event("join", member, channel.name, member.realname, stamp),
      undefined,
      origin,
    );
    const mode = creator ? undefined : channel.autoMode(member);
    if (mode !== undefined) {
      (mode === "o" ? channel.operators : channel.voiced).add(member);
      const text = modeString([{ add: true, mode, param: member.nick }]);
      const line = stamp && { msgid: `${stamp.msgid}/mode`, time: stamp.time };
      this.#publish(
        channel,
        createEvent({ kind: "mode", source: CHANSERV_MASK, target: channel.name, text, ...line }),
      );
    }
    // An away member's away message follows its JOIN (IRCv3 away-notify), to the others only.
    if (member.away !== undefined) {
      this.#publish(channel, this.#event("away", member, "", member.away), origin ?? member);
    }
    return channel;
  }

  /**
   * Takes a member out of a channel and tells the channel, the member included (every device
   * of it).
   *
   * @param participant The member, or the device that asked.
   * @param name The channel's name.
   * @param reason The part message.
   * @param stamp The PART's msgid and time, when decided elsewhere (a cluster's log).
   * @returns False when the member was not in it; `unavailable` when the channels of an
   *   always-on member could not be stored (it is still in it).
   */
  part(
    participant: Participant,
    name: string,
    reason: string,
    stamp?: MessageStamp,
  ): boolean | "unavailable" {
    const member = memberOf(participant);
    const channel = this.channel(name);
    if (channel === undefined || !channel.members.has(member)) return false;
    if (this.#storeMembership(member, channel, false) !== undefined) return "unavailable";
    this.#publish(
      channel,
      this.#event("part", member, channel.name, reason, stamp),
      undefined,
      isDevice(participant) ? participant : undefined,
    );
    this.#leave(member, channel);
    return true;
  }

  /**
   * Removes a member (it quit, or its last connection closed) and shows its QUIT to everyone
   * who shared a channel with it. Its devices, if any are left, are the caller's to close. An
   * always-on member's stored channels stay: the server brings it back in them at its next
   * start. Safe to call twice.
   *
   * @param member The member.
   * @param reason The quit message.
   * @param stamp The QUIT's msgid and time, when decided elsewhere (a cluster's log).
   */
  remove(member: Member, reason: string, stamp?: MessageStamp): void {
    const key = foldCase(member.nick);
    if (this.members.get(key) !== member) return;
    this.members.delete(key);
    if (member.account !== undefined) this.#byAccount.delete(foldCase(member.account));
    this.#invites.delete(member);
    this.#offline(member);
    const event = this.#event("quit", member, "", reason, stamp);
    for (const recipient of this.#neighbours(member)) this.#hand(recipient, event);
    for (const channelKey of [...member.channels]) {
      const channel = this.channels.get(channelKey);
      if (channel) this.#leave(member, channel);
    }
  }

  /**
   * Disconnects a member on the operator's order: removes it, then asks it to close.
   *
   * @param nick Whom.
   * @param reason Why.
   * @returns False when nobody has that nick.
   */
  kick(nick: string, reason: string): boolean {
    const member = this.find(nick);
    if (member === undefined) return false;
    this.remove(member, reason);
    member.disconnect(reason);
    return true;
  }

  /**
   * Sends a chat message to a channel or a nick. With history, the message is stored first
   * and handed to its recipients at once, so it keeps its place among everything else they
   * get, but no one is shown it — its sender's echo included — before the commit that makes
   * it durable (once per flush, for every message of the tick); if the commit fails, every
   * recipient drops it unwritten and the result is `unavailable`. So whatever a client was
   * shown is on disk, and clients see messages in the order the server took them. Its
   * client-only tags (a reply's `+draft/reply`) are stored with it.
   *
   * A member's other devices get what one of them sends as if echoed; the sending device gets
   * it back only if it asked (`Device.echo`).
   *
   * @param participant The sender: a member, or the device that sent it.
   * @param kind `privmsg` or `notice`.
   * @param target A channel name or a nick.
   * @param text The text.
   * @param clientTags Client-only tags to relay.
   * @param stamp Its msgid and time, when decided elsewhere (a cluster's log); new ones if not.
   * @returns The event once it is stored and handed to its recipients, or why it was not sent.
   */
  send(
    participant: Participant,
    kind: "privmsg" | "notice",
    target: string,
    text: string,
    clientTags?: Record<string, string>,
    stamp?: MessageStamp,
  ): Promise<ChatEvent | SendError> {
    return this.#message(participant, kind, target, text, clientTags, true, stamp);
  }

  /**
   * Sends only client-only tags to a channel or a nick (IRC's TAGMSG). A reaction (a tag of
   * {@link STORED_TAGMSG_TAGS}) is stored and shown as {@link ChatHub.send} stores and shows
   * a message (never counted as one); anything else (`+typing`) is relayed at once and
   * forgotten.
   *
   * @param participant The sender: a member, or the device that sent it.
   * @param target A channel name or a nick.
   * @param clientTags The tags.
   * @param stamp Its msgid and time, when decided elsewhere (a cluster's log); new ones if not.
   * @returns The event once shown, or why it was not sent.
   */
  tag(
    participant: Participant,
    target: string,
    clientTags: Record<string, string>,
    stamp?: MessageStamp,
  ): Promise<ChatEvent | SendError> {
    const stored = this.history !== undefined &&
      STORED_TAGMSG_TAGS.some((name) => clientTags[name] !== undefined);
    return this.#message(participant, "tagmsg", target, "", clientTags, stored, stamp);
  }

  /**
   * Says something in #lobby as the server (the operator console of seed 002). Stored and
   * shown like any message (see {@link ChatHub.send}).
   *
   * @param text The text.
   * @param stamp The msgid and time to give it (a cluster's node applies its origin's).
   *   @default {new ones}
   * @returns The event once shown, or `unavailable` when history could not store it.
   */
  announce(text: string, stamp?: MessageStamp): Promise<ChatEvent | "unavailable"> {
    const lobby = this.channel(LOBBY)!;
    const event = createEvent({
      kind: "privmsg",
      source: this.serverMask,
      target: lobby.name,
      text,
      commit: this.history ? { lost: false } : undefined,
      ...stamp,
    });
    return this.#store({ sender: SERVER_NICK }, event, () => this.#publish(lobby, event));
  }

  /**
   * Routes, stores (a chat message always — `#store` counts it, and keeps it when there is
   * history —, a TAGMSG when `stored`) and shows one message from a participant.
   */
  #message(
    participant: Participant,
    kind: "privmsg" | "notice" | "tagmsg",
    target: string,
    text: string,
    clientTags: Record<string, string> | undefined,
    stored: boolean,
    stamp: MessageStamp | undefined,
  ): Promise<ChatEvent | SendError> {
    const member = memberOf(participant);
    const device = isDevice(participant) ? participant : undefined;
    const route = this.#route(member, target);
    if (typeof route === "string") return Promise.resolve(route);
    const event = createEvent({
      kind,
      ...stamp,
      ...sourceOf(member),
      target: route.channel ? route.channel.name : route.recipient.nick,
      text,
      clientTags,
      commit: stored && this.history ? { lost: false } : undefined,
    });
    const fanOut = () => this.#fanOut(member, device, event, route);
    if (!stored) {
      fanOut();
      return Promise.resolve(event);
    }
    const who = {
      sender: member.nick,
      senderAccount: member.account,
      targetAccount: route.recipient?.account,
    };
    const result = this.#store(who, event, fanOut);
    if (kind !== "tagmsg") this.#tellStored(result, who);
    if (member.account !== undefined) return result;
    return result.then((outcome) => {
      if (typeof outcome !== "string") this.#rememberGuestMessage(member, outcome.msgid);
      return outcome;
    });
  }

  /**
   * Tells the stored-message listener of a message once its commit succeeded, with the
   * accounts of both ends as they were when it was sent.
   */
  #tellStored(
    result: Promise<ChatEvent | SendError>,
    who: { senderAccount?: string; targetAccount?: string },
  ): void {
    const onStored = this.#onStored;
    if (onStored === undefined) return;
    void result.then((outcome) => {
      if (typeof outcome === "string") return;
      try {
        const { senderAccount, targetAccount } = who;
        onStored({ event: outcome, senderAccount, targetAccount });
      } catch (error) {
        log.error("A listener of stored messages failed: {error}", { error });
      }
    });
  }

  /**
   * Deletes a stored message (IRCv3 `draft/message-redaction`) and tells the conversation.
   * Who may: see `redaction.ts`. The deletion is committed before anyone is told — the
   * REDACT waits for it as a message does, and when the commit fails nobody is told and
   * nothing was deleted. Everyone in the channel (or both parties of a private conversation,
   * every device of each) gets the REDACT, the device that asked included: it is the asker's
   * confirmation. The statistics' recent messages forget the message too.
   *
   * @param participant Who deletes: a member, or the device that asked.
   * @param target The channel, or the other party's nick for a private message.
   * @param msgid The id of the message to delete.
   * @param reason Why ("" for no reason), relayed and stored.
   * @param owner The asker's account with its creation time, if logged in (what it may delete
   *   as its own, and which private conversations it reads).
   * @param stamp The REDACT's msgid and time, when decided elsewhere (a cluster's log).
   * @returns The REDACT event once committed and handed out, or why not.
   */
  async redact(
    participant: Participant,
    target: string,
    msgid: string,
    reason: string,
    owner?: HistoryOwner,
    stamp?: MessageStamp,
  ): Promise<ChatEvent | RedactError> {
    const history = this.history;
    if (history === undefined) return "no-history";
    const member = memberOf(participant);
    const device = isDevice(participant) ? participant : undefined;
    const channel = isChannelName(target) ? this.channel(target) : undefined;
    if (isChannelName(target) && channel === undefined) return "invalid-target";
    const redactor = { owner, sentAsGuest: this.#sentAsGuest.get(member) ?? new Set<string>() };
    const scope = channel === undefined ? { partner: target } : {
      channel: foldCase(channel.name),
      member: channel.members.has(member),
      moderator: channel.operators.has(member) || member.oper !== undefined,
    };
    const found = findRedactable(history, redactor, scope, msgid);
    if (typeof found === "string") return found;
    const recipient = channel === undefined ? this.find(target) : undefined;
    const event = createEvent({
      kind: "redact",
      ...sourceOf(member),
      target: channel?.name ?? recipient?.nick ?? target,
      text: reason,
      redacts: msgid,
      commit: { lost: false },
      ...stamp,
    });
    try {
      history.redact(found.id, {
        msgid: event.msgid,
        time: event.time,
        source: event.source,
        account: member.account,
        reason,
      });
    } catch (error) {
      log.error("History could not store {nick}'s deletion of {msgid}; nobody was told: {error}", {
        nick: member.nick,
        msgid,
        error,
      });
      return "unavailable";
    }
    const outcome = new Promise<ChatEvent | "unavailable">((settle) => {
      this.#uncommitted.push({ record: undefined, settle, event: event as Uncommitted["event"] });
    });
    if (channel !== undefined) {
      this.#publish(channel, event, undefined, device);
      if (!channel.members.has(member)) this.#copiesForSender(member, undefined, event);
    } else {
      if (recipient !== undefined) this.#hand(recipient, event);
      if (recipient !== member) this.#copiesForSender(member, undefined, event);
    }
    // Committed now, not at the next flush: until then this connection's queries would see
    // the message deleted while the deletion may still fail.
    this.#commit();
    const result = await outcome;
    if (result !== "unavailable") this.#recent = this.#recent.filter((m) => m.msgid !== msgid);
    return result;
  }

  /** Remembers a message a guest sent, so that it may delete it (see GUEST_REDACTABLE). */
  #rememberGuestMessage(member: Member, msgid: string): void {
    let sent = this.#sentAsGuest.get(member);
    if (sent === undefined) this.#sentAsGuest.set(member, sent = new Set());
    sent.add(msgid);
    if (sent.size > GUEST_REDACTABLE) sent.delete(sent.values().next().value!);
  }

  /**
   * Sets a channel's topic, stores it (a registered channel's for good, an unregistered
   * one's while it exists) and tells its members. With `+t` only operators may.
   *
   * @param participant Who sets it: a member, or the device that asked.
   * @param channel The channel.
   * @param topic The new topic ("" clears it).
   * @param at When it was set, ms since the epoch (a cluster's node applies its origin's time).
   * @returns Why it was refused, or undefined when it was set.
   */
  setTopic(
    participant: Participant,
    channel: Channel,
    topic: string,
    at: number = Date.now(),
  ): ChannelError | undefined {
    const member = memberOf(participant);
    if (!channel.members.has(member)) return "not-on-channel";
    if (channel.hasFlag("t") && !channel.operators.has(member)) return "not-operator";
    const settings = {
      ...channel.settings,
      topic,
      topicSetBy: maskOf(member),
      topicSetAt: at,
    };
    if (!this.#persist(channel, settings)) return "unavailable";
    channel.settings = settings;
    this.#publish(
      channel,
      this.#event("topic", member, channel.name, topic),
      undefined,
      isDevice(participant) ? participant : undefined,
    );
    return undefined;
  }

  /**
   * Changes a channel's modes as one of its operators (or as a service, `privileged`):
   * checks each change (see `planModes`), stores a registered channel's new state, then
   * tells the channel what changed, as few MODE events as fit a line.
   *
   * @param participant Who changes them: a member, or the device that asked.
   * @param channel The channel.
   * @param changes The changes, in order.
   * @param options `privileged`: skip the operator check (ChanServ); `stamp`: the msgid and
   *   time of the first MODE line (the next ones add `-2`, `-3` …) and of list entries (a
   *   cluster's node applies its origin's, so every node shows the same). @default {{}}
   * @returns The plan (what was applied and refused), or why nothing was.
   */
  changeModes(
    participant: Participant,
    channel: Channel,
    changes: readonly ModeChange[],
    options: { privileged?: boolean; stamp?: MessageStamp } = {},
  ): ModePlan | ChannelError {
    const member = memberOf(participant);
    if (!options.privileged && !channel.operators.has(member)) {
      return channel.members.has(member) ? "not-operator" : "not-on-channel";
    }
    const plan = planModes(channel, changes, {
      setBy: maskOf(member),
      now: options.stamp?.time ?? Date.now(),
      find: (nick) => this.find(nick),
    });
    if (plan.applied.length === 0) return plan;
    const kept = plan.applied.some((change) => change.mode !== "o" && change.mode !== "v");
    if (channel.registration !== undefined && kept) {
      if (!this.#persist(channel, plan.settings)) return "unavailable";
    }
    channel.settings = plan.settings;
    replace(channel.operators, plan.operators);
    replace(channel.voiced, plan.voiced);
    let group: ModeChange[] = [];
    let lines = 0;
    const flush = () => {
      const text = modeString(group);
      const stamp = options.stamp && {
        time: options.stamp.time,
        msgid: ++lines === 1 ? options.stamp.msgid : `${options.stamp.msgid}-${lines}`,
      };
      this.#publish(
        channel,
        createEvent({ kind: "mode", ...sourceOf(member), target: channel.name, text, ...stamp }),
        undefined,
        isDevice(participant) ? participant : undefined,
      );
      group = [];
    };
    for (const change of plan.applied) {
      if (group.length > 0 && modeString([...group, change]).length > MODE_TEXT_BUDGET) flush();
      group.push(change);
    }
    flush();
    return plan;
  }

  /**
   * Removes a member from a channel on an operator's order and tells the channel, the
   * member included.
   *
   * @param participant The operator: a member, or the device that asked.
   * @param channel The channel.
   * @param victim Who is kicked.
   * @param reason Why.
   * @param stamp The KICK line's msgid and time (a cluster's node applies its origin's).
   *   @default {new ones}
   * @returns Why it was refused, or undefined when the member was kicked.
   */
  kickFromChannel(
    participant: Participant,
    channel: Channel,
    victim: Member,
    reason: string,
    stamp?: MessageStamp,
  ): ChannelError | undefined {
    const member = memberOf(participant);
    if (!channel.members.has(member)) return "not-on-channel";
    if (!channel.operators.has(member)) return "not-operator";
    if (!channel.members.has(victim)) return "not-in-channel";
    if (this.#storeMembership(victim, channel, false) !== undefined) return "unavailable";
    this.#publish(
      channel,
      createEvent({
        kind: "kick",
        ...sourceOf(member),
        target: channel.name,
        victim: victim.nick,
        text: reason,
        ...stamp,
      }),
      undefined,
      isDevice(participant) ? participant : undefined,
    );
    this.#leave(victim, channel);
    return undefined;
  }

  /**
   * Invites a member to a channel: once, it may join past `+i`, `+k`, `+l` and bans. Only
   * members may invite, and only operators to a `+i` channel. The invited member is told, and
   * so are the channel's operators (transports show them the notice when asked, as IRCv3
   * `invite-notify`).
   *
   * @param participant Who invites: a member, or the device that asked.
   * @param name The channel's name.
   * @param target Who is invited.
   * @param stamp The INVITE line's msgid and time (a cluster's node applies its origin's).
   *   @default {new ones}
   * @returns The invite event, or why it was refused.
   */
  invite(
    participant: Participant,
    name: string,
    target: Member,
    stamp?: MessageStamp,
  ): ChatEvent | ChannelError {
    const member = memberOf(participant);
    const channel = this.channel(name);
    if (channel === undefined) return "no-such-channel";
    if (!channel.members.has(member)) return "not-on-channel";
    if (channel.hasFlag("i") && !channel.operators.has(member)) return "not-operator";
    if (channel.members.has(target)) return "already-on-channel";
    let invites = this.#invites.get(target);
    if (invites === undefined) this.#invites.set(target, invites = new Map());
    invites.set(channel.key, channel.name);
    const event = createEvent({
      kind: "invite",
      ...sourceOf(member),
      target: channel.name,
      victim: target.nick,
      text: "",
      ...stamp,
    });
    this.#hand(target, event);
    for (const operator of channel.operators) {
      if (operator !== member && operator !== target) this.#hand(operator, event);
    }
    return event;
  }

  /**
   * Remembers an invitation without telling anyone (a cluster's node loading its snapshot: the
   * invitation was shown when it was made).
   *
   * @param member Who is invited.
   * @param channel The channel.
   */
  addInvite(member: Member, channel: Channel): void {
    let invites = this.#invites.get(member);
    if (invites === undefined) this.#invites.set(member, invites = new Map());
    invites.set(channel.key, channel.name);
  }

  /**
   * The channels a member is invited to and has not joined yet.
   *
   * @param participant The member, or one of its devices.
   * @returns Their names.
   */
  invitesOf(participant: Participant): string[] {
    return [...this.#invites.get(memberOf(participant))?.values() ?? []];
  }

  /**
   * Tells one member something as a service, unstored: a NOTICE from the service.
   *
   * @param service The service (ChanServ).
   * @param member Whom.
   * @param text What.
   */
  notify(service: Member, member: Member, text: string): void {
    this.#hand(
      member,
      createEvent({ kind: "notice", source: maskOf(service), target: member.nick, text }),
    );
  }

  /**
   * Registers a channel to a founder (ChanServ `REGISTER`): its state is stored now and on
   * every change, it exists even when empty, and its founder is opped on joining.
   *
   * @param channel The channel.
   * @param founder The founder's account.
   * @param at When, ms since the epoch (a cluster's node applies its origin's time).
   * @returns False when there is no channel store or it could not store the registration.
   */
  registerChannel(channel: Channel, founder: string, at: number = Date.now()): boolean {
    const registration = { founder, registeredAt: at };
    try {
      if (this.#channelStore === undefined) return false;
      this.#channelStore.register(channel, registration);
    } catch (error) {
      log.error("Channel {channel} could not be registered: {error}", {
        channel: channel.name,
        error,
      });
      return false;
    }
    channel.registration = registration;
    return true;
  }

  /**
   * Drops a channel's registration (ChanServ `DROP`): it is an unregistered channel again,
   * and ceases to exist if nobody is in it.
   *
   * @param channel The channel.
   * @returns False when the store could not drop it (nothing changed).
   */
  unregisterChannel(channel: Channel): boolean {
    try {
      this.#channelStore?.drop(channel.key, channel);
    } catch (error) {
      log.error("Channel {channel} could not be unregistered: {error}", {
        channel: channel.name,
        error,
      });
      return false;
    }
    channel.registration = undefined;
    channel.access.clear();
    this.#release(channel);
    return true;
  }

  /**
   * Stops writing to the channel store, as the server stops: the channels that exist now
   * keep what is stored for them (an unregistered channel's topic included), so the next
   * start gives it back, although every member is about to leave.
   */
  detachChannelStore(): void {
    this.#channelStore = undefined;
  }

  /**
   * Marks a member away with a message, or back (`text` ""), and tells those who asked (see
   * {@link ChatHub.announceChange}) when that changed anything.
   *
   * @param participant The member, or the device that asked.
   * @param text The away message (the caller has cut it to length), or "" when back.
   * @returns Whether anything changed (coming back when not away changes nothing).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ChatHub } from "./hub.ts";
   *
   * const hub = new ChatHub();
   * const ann = {
   *   nick: "ann", user: "ann", host: "h", realname: "Ann", transport: "local",
   *   away: undefined as string | undefined, channels: new Set<string>(), echo: false,
   *   deliver() {}, disconnect() {},
   * };
   * hub.add(ann);
   * assert.ok(hub.setAway(ann, "lunch"));
   * assert.equal(ann.away, "lunch");
   * assert.ok(hub.setAway(ann, ""));
   * assert.ok(!hub.setAway(ann, ""), "back already");
   * ```
   */
  setAway(participant: Participant, text: string): boolean {
    const member = memberOf(participant);
    if (text === "" && member.away === undefined) return false;
    member.away = text === "" ? undefined : text;
    this.announceChange(participant, "away");
    return true;
  }

  /**
   * Changes a member's real name (IRCv3 SETNAME) and tells those who asked (see
   * {@link ChatHub.announceChange}), the member included.
   *
   * @param participant The member, or the device that asked.
   * @param realname The new real name (the caller has checked it).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ChatHub } from "./hub.ts";
   *
   * const hub = new ChatHub();
   * const ann = {
   *   nick: "ann", user: "ann", host: "h", realname: "Ann", transport: "local",
   *   channels: new Set<string>(), echo: false, deliver() {}, disconnect() {},
   * };
   * hub.add(ann);
   * hub.setRealname(ann, "Ann Smith");
   * assert.equal(ann.realname, "Ann Smith");
   * ```
   */
  setRealname(participant: Participant, realname: string): void {
    (memberOf(participant) as { realname: string }).realname = realname;
    this.announceChange(participant, "setname");
  }

  /**
   * Tells everyone who shares a channel with a member, and the devices watching it that asked
   * for it (`Device.watchesChanges`), that its own state changed: `away` (its away message, ""
   * when back), `account` (the account it logged in to) or `setname` (its real name). The
   * member has already changed the field; it is told too of a new real name, as a
   * confirmation, and its other devices of a new away message or account (the one that asked
   * knows). Transports show each kind only to clients that asked for it.
   *
   * @param participant The member, or the device that changed it.
   * @param change What changed.
   *
   * @example bob learns that ann went away; ann is not told
   * ```ts
   * import assert from "node:assert/strict";
   * import { ChatHub } from "./hub.ts";
   * import type { ChatEvent } from "./chat_event.ts";
   *
   * const hub = new ChatHub();
   * const seen: string[] = [];
   * const member = (nick: string) => ({
   *   nick, user: nick, host: "h", realname: nick, transport: "local",
   *   away: undefined as string | undefined,
   *   channels: new Set<string>(), echo: false,
   *   deliver: (e: ChatEvent) => seen.push(`${nick} got ${e.kind} ${e.text}`),
   *   disconnect() {},
   * });
   * const [ann, bob] = [member("ann"), member("bob")];
   * hub.add(ann);
   * hub.add(bob);
   * hub.join(ann, "#lobby");
   * hub.join(bob, "#lobby");
   * seen.length = 0;
   * ann.away = "lunch";
   * hub.announceChange(ann, "away");
   * assert.deepEqual(seen, ["bob got away lunch"]);
   * ```
   */
  announceChange(participant: Participant, change: StateChange): void {
    const member = memberOf(participant);
    const event = change === "away"
      ? this.#event("away", member, "", member.away ?? "")
      : change === "account"
      ? this.#event("account", member, member.account ?? "", "")
      : this.#event("setname", member, "", member.realname);
    for (const recipient of this.#neighbours(member)) this.#hand(recipient, event);
    const watchers = this.watchList.watchers(member.nick);
    for (const watcher of watchers) {
      if (watcher.watchesChanges && watcher.member !== member) watcher.deliver(event);
    }
    if (change === "setname") return this.#hand(member, event);
    for (const device of member.devices ?? []) if (device !== participant) device.deliver(event);
  }

  /**
   * Changes a member's user name and host (an operator's CHGHOST), and tells it, everyone who
   * shares a channel with it, and those who watch its nick with `watchesChanges`: one `chghost`
   * event from its old `nick!user@host`. Transports show it only to clients that asked for it
   * (IRCv3 `chghost`). Nothing happens when both are unchanged. The caller has checked them.
   *
   * @param participant The member, or one of its devices.
   * @param user The new user name.
   * @param host The new host.
   * @returns Whether anything changed.
   *
   * @example bob sees ann's new host as a CHGHOST from her old mask
   * ```ts
   * import assert from "node:assert/strict";
   * import { ChatHub } from "./hub.ts";
   * import type { ChatEvent } from "./chat_event.ts";
   *
   * const hub = new ChatHub();
   * const seen: string[] = [];
   * const member = (nick: string) => ({
   *   nick, user: nick, host: "192.0.2.1", realname: nick, transport: "local",
   *   channels: new Set<string>(), echo: false,
   *   deliver: (e: ChatEvent) => seen.push(`${nick}: ${e.source} ${e.kind} ${e.target} ${e.text}`),
   *   disconnect() {},
   * });
   * const [ann, bob] = [member("ann"), member("bob")];
   * hub.add(ann);
   * hub.add(bob);
   * hub.join(ann, "#lobby");
   * hub.join(bob, "#lobby");
   * seen.length = 0;
   * assert.ok(hub.changeHost(ann, "ann", "staff.example"));
   * assert.equal(ann.host, "staff.example");
   * assert.deepEqual(seen.sort(), [
   *   "ann: ann!ann@192.0.2.1 chghost ann staff.example",
   *   "bob: ann!ann@192.0.2.1 chghost ann staff.example",
   * ]);
   * assert.ok(!hub.changeHost(ann, "ann", "staff.example"));
   * ```
   */
  changeHost(participant: Participant, user: string, host: string): boolean {
    const member = memberOf(participant);
    if (member.user === user && member.host === host) return false;
    const event = this.#event("chghost", member, user, host);
    member.user = user;
    member.host = host;
    const recipients = this.#neighbours(member);
    recipients.add(member);
    for (const recipient of recipients) this.#hand(recipient, event);
    for (const watcher of this.watchList.watchers(member.nick)) {
      if (watcher.watchesChanges && !recipients.has(watcher.member)) watcher.deliver(event);
    }
    return true;
  }

  /**
   * Starts collecting the response to one command of a device (IRCv3 labeled-response): until
   * {@link ChatHub.endResponse}, the events it causes in its channels reach it through
   * `deliver`, which only it is handed, instead of the channel's shared stream, so it can tell
   * them apart and mark them as its response. Everyone else (its member's other devices
   * included) gets them as usual.
   *
   * @param device The device.
   */
  beginResponse(device: Device): void {
    this.#responding.add(device);
  }

  /**
   * Stops collecting a device's response (see {@link ChatHub.beginResponse}).
   *
   * @param device The device.
   */
  endResponse(device: Device): void {
    this.#responding.delete(device);
  }

  /**
   * The most recent chat messages, oldest first.
   *
   * @returns A copy.
   */
  recent(): RecentMessage[] {
    return [...this.#recent];
  }

  /** Where a message from `member` to `target` goes, or why it cannot. */
  #route(member: Member, target: string): Route | SendError {
    const channel = isChannelName(target) ? this.channel(target) : undefined;
    if (channel) return channel.speakRefusal(member) ?? { channel };
    if (isChannelName(target)) return "no-such-channel";
    const recipient = this.find(target);
    return recipient ? { recipient } : "no-such-nick";
  }

  /**
   * Hands a message to its channel, or to its recipient, and its copies to its sender: see
   * {@link ChatHub.send}.
   */
  #fanOut(member: Member, device: Device | undefined, event: ChatEvent, route: Route): void {
    if (route.channel) {
      const echo = device?.echo ?? member.echo;
      this.#publish(route.channel, event, echo ? undefined : device ?? member, device);
      // A `-n` channel takes messages from outside: the sender is not in it to get its copies.
      if (!route.channel.members.has(member)) this.#copiesForSender(member, device, event);
      return;
    }
    this.#hand(route.recipient, event);
    if (route.recipient !== member) return this.#copiesForSender(member, device, event);
    // A message to oneself comes twice with echo-message: once received, once echoed.
    if (device?.echo ?? member.echo) device ? device.deliver(event) : this.#hand(member, event);
  }

  /**
   * A message's copies for its sender: every device of it but the one that sent it, and that
   * one too if it asked for echo-message; a member without devices, if it asked.
   */
  #copiesForSender(member: Member, device: Device | undefined, event: ChatEvent): void {
    if (member.devices === undefined) {
      if (member.echo) this.#hand(member, event);
      return;
    }
    for (const other of member.devices) if (other !== device || other.echo) other.deliver(event);
  }

  /**
   * Members who share at least one channel with `member`, not counting itself.
   *
   * @param member The member.
   * @returns A new set.
   */
  #neighbours(member: Member): Set<Member> {
    const out = new Set<Member>();
    for (const key of member.channels) {
      const channel = this.channels.get(key);
      if (channel) { for (const other of channel.members) out.add(other); }
    }
    out.delete(member);
    return out;
  }

  /**
   * Appends a message to history and shows it (`fanOut`) once committed — at once when
   * there is no history. Resolves with the event, or `unavailable` when it was not stored.
   */
  #store(
    who: { sender: string; senderAccount?: string; targetAccount?: string },
    event: ChatEvent,
    fanOut: () => void,
  ): Promise<ChatEvent | "unavailable"> {
    const { sender, senderAccount, targetAccount } = who;
    const command = event.kind === "notice"
      ? "NOTICE"
      : event.kind === "tagmsg"
      ? "TAGMSG"
      : "PRIVMSG";
    const { msgid, time, target, text, clientTags } = event;
    // A TAGMSG (a reaction) is kept, but not counted as a chat message.
    const record: RecentMessage | undefined = command === "TAGMSG"
      ? undefined
      : { msgid, time, sender, target, command, text };
    const history = this.history;
    if (history === undefined) {
      if (record) this.#accepted(record);
      fanOut();
      return Promise.resolve(event);
    }
    try {
      // A private message belongs to the accounts of its two parties, never to their nicks.
      history.append({
        msgid,
        time,
        sender,
        senderMask: event.source,
        target,
        command,
        text,
        clientTags,
        senderAccount,
        targetAccount,
      });
    } catch (error) {
      this.storeFailures++;
      log.error("History could not store a message from {sender}; it was not sent: {error}", {
        sender,
        error,
      });
      return Promise.resolve("unavailable");
    }
    // Handed to every recipient now, so it keeps its place among what they get; written by
    // nobody before the commit (the flusher commits first), dropped unwritten if it fails.
    return new Promise((settle) => {
      this.#uncommitted.push({ record, settle, event: event as Uncommitted["event"] });
      fanOut();
      this.flusher.schedule();
    });
  }

  /** Commits the messages appended since the last flush, then shows them, in order. */
  #commit(): void {
    const batch = this.#uncommitted;
    if (batch.length === 0) return;
    this.#uncommitted = [];
    let stored = true;
    try {
      this.history!.commit();
    } catch (error) {
      stored = false;
      this.storeFailures += batch.length;
      log.error(
        "History could not store {count} messages; nobody saw them and their senders were told: {error}",
        { count: batch.length, error },
      );
      for (const { event } of batch) event.commit.lost = true;
    }
    const deferred = this.#deferred;
    this.#deferred = [];
    for (const { member, event } of deferred) if (!isLost(event)) member.deliver(event);
    for (const { record, settle, event } of batch) {
      if (!stored) {
        settle("unavailable");
        continue;
      }
      if (record) this.#accepted(record);
      settle(event);
    }
  }

  /**
   * Gives an event to one member. A member with devices takes it at once: each device's queue
   * keeps it unwritten until the commit (see `ChatEvent.commit`). A member without (the
   * bridge's local users) acts on it when told, so while a message waits for its commit,
   * what is meant for such a member waits too, in order, and a lost message never reaches it.
   */
  #hand(member: Member, event: ChatEvent): void {
    if (member.devices === undefined && this.#uncommitted.length > 0) {
      this.#deferred.push({ member, event });
    } else {
      member.deliver(event);
    }
  }

  /** Counts a message that was stored (or needs no storing) and is being shown. */
  #accepted(record: RecentMessage): void {
    this.totalMessages++;
    this.rate.add(1, record.time);
    this.#recent.push(record);
    if (this.#recent.length > this.#recentLimit) this.#recent.shift();
    this.onMessage?.(record);
  }

  /**
   * Hands a channel event to every member's devices and every member without devices but
   * `except` (a device, or a member without devices). The device that caused the event
   * (`origin`), when it is collecting its response (see {@link ChatHub.beginResponse}) and
   * the event is its member's own, gets it through `deliver`.
   */
  #publish(channel: Channel, event: ChatEvent, except?: Participant, origin?: Device): void {
    let stream = channel.stream;
    if (stream === undefined || !stream.open) {
      stream = new ChannelStream(this.flusher);
      for (const member of channel.members) {
        if (member.devices) { for (const device of member.devices) stream.follow(device.queue); }
      }
      channel.stream = stream;
    }
    const responding = origin !== undefined && this.#responding.has(origin) &&
        event.source === maskOf(origin.member)
      ? origin
      : undefined;
    const exceptDevice = except !== undefined && isDevice(except) ? except : undefined;
    stream.append(event, (responding ?? exceptDevice)?.queue);
    for (const member of channel.direct) if (member !== except) this.#hand(member, event);
    if (responding !== undefined && responding !== except) responding.deliver(event);
  }

  #event(
    kind: ChatEventKind,
    member: Member,
    target: string,
    text: string,
    stamp?: MessageStamp,
  ): ChatEvent {
    return createEvent({ kind, ...sourceOf(member), target, text, ...stamp });
  }

  /** Tells the watchers of a member's nick that it is online. */
  #online(member: Member): void {
    const watchers = this.watchList.watchers(member.nick);
    if (watchers.size === 0) return;
    const mask = maskOf(member);
    for (const watcher of [...watchers]) watcher.presence?.(member.nick, mask);
  }

  /** Remembers a member's nick for WHOWAS and tells the nick's watchers it is offline. */
  #offline(member: Member): void {
    const { nick, user, host, realname, account } = member;
    this.whowas.add({ nick, user, host, realname, account, time: Date.now() });
    for (const watcher of [...this.watchList.watchers(nick)]) watcher.presence?.(nick, undefined);
  }

  /**
   * Creates a channel: a registered one as it was stored, an unregistered one with the
   * topic it had before a restart, if any. #lobby starts `+n` (nobody creates it, so nobody
   * is its operator to lift `+t`), every other channel `+nt`. An unregistered one is created at
   * `createdAt` (a cluster's node gives its JOIN's origin time), else now.
   */
  #createChannel(name: string, createdAt?: number): Channel {
    const key = foldCase(name);
    let stored: ReturnType<ChannelStore["load"]>;
    try {
      stored = this.#channelStore?.load(key);
    } catch (error) {
      log.error("Channel {channel} could not be read from the channel store: {error}", {
        channel: name,
        error,
      });
    }
    let channel: Channel;
    if (stored?.kind === "registered") {
      channel = new Channel(stored.name, key, {
        createdAt: stored.createdAt,
        settings: stored.settings,
      });
      channel.registration = stored.registration;
      for (const entry of stored.access) channel.access.set(foldCase(entry.account), entry);
    } else {
      const settings = defaultSettings(key === LOBBY ? "n" : "nt");
      channel = new Channel(stored?.name ?? name, key, {
        createdAt,
        settings: stored === undefined ? settings : {
          ...settings,
          topic: stored.topic,
          topicSetBy: stored.topicSetBy,
          topicSetAt: stored.topicSetAt,
        },
      });
    }
    this.channels.set(channel.key, channel);
    return channel;
  }

  /** Writes a channel's new settings through to the store; false (logged) when it failed. */
  #persist(channel: Channel, settings: ChannelSettings): boolean {
    try {
      this.#channelStore?.save(channel, settings);
      return true;
    } catch (error) {
      log.error("Channel {channel} could not be stored; the change was refused: {error}", {
        channel: channel.name,
        error,
      });
      return false;
    }
  }

  #leave(member: Member, channel: Channel): void {
    this.memberships?.left(member, channel.name);
    channel.members.delete(member);
    channel.operators.delete(member);
    channel.voiced.delete(member);
    channel.direct.delete(member);
    const stream = channel.stream;
    if (member.devices && stream?.open) {
      for (const device of member.devices) stream.unfollow(device.queue);
    }
    member.channels.delete(channel.key);
    this.#release(channel);
  }

  /**
   * Stores that an always-on member joined (`inside`) or left a channel, before anyone is
   * shown it; `unavailable` when the store failed. Nothing to store for anyone else.
   */
  #storeMembership(member: Member, channel: Channel, inside: boolean): "unavailable" | undefined {
    if (!member.alwaysOn || member.account === undefined || this.#alwaysOn === undefined) {
      return undefined;
    }
    try {
      if (inside) this.#alwaysOn.addChannel(member.account, channel.name);
      else this.#alwaysOn.removeChannel(member.account, channel.key);
      return undefined;
    } catch (error) {
      log.error("The channels of always-on {account} could not be stored: {error}", {
        account: member.account,
        error,
      });
      return "unavailable";
    }
  }

  /**
   * Stores since when an always-on member has had no device (undefined: it has one again).
   * Only the replay of what it missed depends on it, so a failure is logged, not refused.
   */
  #storeDetached(member: Member, since: number | undefined): void {
    if (!member.alwaysOn || member.account === undefined) return;
    try {
      this.#alwaysOn?.setDetachedAt(member.account, since);
    } catch (error) {
      log.error("Always-on {account} could not store when it detached: {error}", {
        account: member.account,
        error,
      });
    }
  }

  /** The names of a member's channels, as the channels spell them. */
  #channelNames(member: Member): string[] {
    return [...member.channels].map((key) => this.channels.get(key)?.name ?? key);
  }

  /**
   * What becomes of a channel nobody is in: a registered one stays as it is; #lobby stays
   * too, with its topic but with the modes it started with, so nobody finds it locked (+i,
   * +k) and no operator to open it; any other ceases to exist, and its stored topic goes.
   */
  #release(channel: Channel): void {
    if (channel.members.size > 0 || channel.registration !== undefined) return;
    if (channel.key === LOBBY) {
      channel.settings = {
        ...defaultSettings("n"),
        topic: channel.topic,
        topicSetBy: channel.topicSetBy,
        topicSetAt: channel.topicSetAt,
      };
      return;
    }
    this.channels.delete(channel.key);
    try {
      this.#channelStore?.forget(channel.key);
    } catch (error) {
      log.error("Channel {channel} could not be forgotten in the channel store: {error}", {
        channel: channel.name,
        error,
      });
    }
  }
}

/** Makes `set` hold what `wanted` holds, in place (transports keep references to it). */
function replace<T>(set: Set<T>, wanted: ReadonlySet<T>): void {
  for (const item of set) if (!wanted.has(item)) set.delete(item);
  for (const item of wanted) set.add(item);
}

/** The fields of an event that describe its source. */
function sourceOf(member: Member): { source: string; account?: string; bot?: boolean } {
  const source = maskOf(member);
  if (member.account === undefined && !member.bot) return { source };
  return { source, account: member.account, bot: member.bot || undefined };
}
