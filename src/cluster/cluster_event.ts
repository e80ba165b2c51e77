/**
 * The state changes that nodes of a cluster append to the shared log, and the heartbeats they
 * send beside it: their format on the bus (JSON, versioned) and its check. A node trusts no
 * bytes from the bus: {@link decodeEvent} accepts only a well-formed event of a version it
 * knows, with every field of the right type and within its limit, so a bad publisher (a bug, an
 * older or newer node, anyone else on the bus) makes every node skip the same entry — the same
 * decision everywhere, so they still agree — instead of throwing or corrupting state.
 *
 * @module
 */
import { isPasswordHash } from "../chat/accounts.ts";
import { banMask } from "../chat/server_bans.ts";

/** The version of the format this node writes and reads. */
export const EVENT_VERSION = 1;

/** What every event has: its format, its id, and where it comes from (`conn` of `node`). */
export interface EventOrigin {
  /** The format's version ({@link EVENT_VERSION}). */
  readonly v: typeof EVENT_VERSION;
  /** A unique id: the `Nats-Msg-Id` of its publish (and a message's IRC msgid). */
  readonly id: string;
  /** The node that published it. */
  readonly node: string;
  /** The connection on that node it is about. */
  readonly conn: string;
}

/** A user registered on a node: it claims its nick (the first claim in the log wins). */
export interface ConnectEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "connect";
  /** The nick it claims. */
  readonly nick: string;
  /** Its user name (ident). */
  readonly user: string;
  /** The host shown in its mask. */
  readonly host: string;
  /** Its real name. */
  readonly realname: string;
  /** The account it logged in to before registering (SASL), if any. */
  readonly account?: string;
  /** When it connected, ms since the epoch. */
  readonly time: number;
}

/** A user asks for another nick (the first claim in the log wins). */
export interface NickEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "nick";
  /** The nick it claims. */
  readonly nick: string;
  /**
   * When, ms since the epoch: the line's `time` on every node. Absent in entries written before
   * it was added: a node then uses the latest time an earlier entry of the log carried
   * ({@link carriedTime}), the same on every node.
   */
  readonly time?: number;
}

/** A user joins a channel. */
export interface JoinEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "join";
  /** The channel. */
  readonly channel: string;
  /** The key it gave (`+k`), "" when none. */
  readonly key: string;
  /**
   * When, ms since the epoch: the line's `time` on every node, and the creation time (329) of a
   * channel it creates. Absent in entries written before it was added: a node then uses the
   * latest time an earlier entry of the log carried ({@link carriedTime}), the same on every node.
   */
  readonly time?: number;
}

/** A user leaves a channel. */
export interface PartEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "part";
  /** The channel. */
  readonly channel: string;
  /** The part message. */
  readonly reason: string;
  /**
   * When, ms since the epoch: the line's `time` on every node. Absent in entries written before
   * it was added: a node then uses the latest time an earlier entry of the log carried
   * ({@link carriedTime}), the same on every node.
   */
  readonly time?: number;
}

/** A user sets a channel's topic. */
export interface TopicEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "topic";
  /** The channel. */
  readonly channel: string;
  /** The new topic ("" clears it). */
  readonly topic: string;
  /** When it was set, ms since the epoch: the time every node shows (333). */
  readonly time: number;
}

/** A user quits (its connection closed). */
export interface QuitEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "quit";
  /** The quit message. */
  readonly reason: string;
  /**
   * When, ms since the epoch: the line's `time` on every node. Absent in entries written before
   * it was added: a node then uses the latest time an earlier entry of the log carried
   * ({@link carriedTime}), the same on every node.
   */
  readonly time?: number;
}

/** A chat message (PRIVMSG, NOTICE) or a TAGMSG; `id` is its IRC msgid on every node. */
export interface MessageEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "message";
  /** The IRC command, lower case. */
  readonly command: "privmsg" | "notice" | "tagmsg";
  /** A channel or a nick. */
  readonly target: string;
  /** The text ("" for a TAGMSG). */
  readonly text: string;
  /** When its node took it, ms since the epoch: the `time` every node shows. */
  readonly time: number;
  /** Client-only tags (`+name`) relayed with it. */
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * A node is gone (it stopped, or stopped sending heartbeats): every user on it quits, on
 * every node. Its `node` is the node gone, `conn` is empty; whoever noticed publishes it, and
 * the id (`down:<node>`) makes the stream keep one however many survivors noticed.
 */
export interface NodeDownEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "node-down";
  /** The quit message its users get. */
  readonly reason: string;
  /** When, ms since the epoch: its QUIT lines' `time` on every node (absent: see {@link carriedTime}). */
  readonly time?: number;
}

// User and account state (issue #15, state15b).

/** A user sets its away message, or comes back (`text` ""). */
export interface AwayEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "away";
  /** The away message; "" when it is back. */
  readonly text: string;
}

/** A user changes its real name (IRCv3 SETNAME). */
export interface SetnameEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "setname";
  /** The new real name. */
  readonly realname: string;
}

/** An operator (the user of `conn`) gives the holder of `target` another user name and host. */
export interface ChghostEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "chghost";
  /** The nick whose mask changes. */
  readonly target: string;
  /** The new user name. */
  readonly user: string;
  /** The new host. */
  readonly host: string;
}

/** A registered user logs in to an account (SASL after registration). */
export interface LoginEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "login";
  /** The account, as registered. */
  readonly account: string;
}

/**
 * An account is registered: every node stores it (the first registration of a name in the log
 * wins). It carries the password hash its origin computed — never the password. `conn` is the
 * user who registered, logged in to it on applying; "" when it had not registered its
 * connection yet (its node logs it in for the registration to come).
 */
export interface AccountRegisterEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "account-register";
  /** The account name, as registered. */
  readonly account: string;
  /** Its password hash (argon2id, PHC string). */
  readonly hash: string;
  /** When it was registered, ms since the epoch. */
  readonly time: number;
}

/** A session token is issued to an account: every node stores its SHA-256 (never the token). */
export interface TokenIssueEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "token-issue";
  /** The account. */
  readonly account: string;
  /** The token's SHA-256, 64 hex digits. */
  readonly hash: string;
  /** When it was issued, ms since the epoch. */
  readonly time: number;
}

/** A session token is revoked on every node. */
export interface TokenRevokeEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "token-revoke";
  /** The token's SHA-256, 64 hex digits. */
  readonly hash: string;
}

/** An account's read marker of a conversation moves forward (IRCv3 MARKREAD). */
export interface ReadMarkerEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "read-marker";
  /** The account. */
  readonly account: string;
  /** The channel or nick. */
  readonly target: string;
  /** The marker, ms since the epoch (an earlier one than stored leaves it where it is). */
  readonly time: number;
}

/** The user and account events (state15b's part of {@link ClusterEvent}). */
export type UserStateEvent =
  | AwayEvent
  | SetnameEvent
  | ChghostEvent
  | LoginEvent
  | AccountRegisterEvent
  | TokenIssueEvent
  | TokenRevokeEvent
  | ReadMarkerEvent;
// Channel and server state (MODE, KICK, INVITE, ChanServ, KILL, KLINE, UNKLINE, announcements).
// Whether the one who asked may do it is decided on applying, on every node alike.

/** One channel mode change of a {@link ModeEvent}. */
export interface ModeEventChange {
  /** Set (`+`) or unset (`-`). */
  readonly add: boolean;
  /** The mode letter. */
  readonly mode: string;
  /** Its parameter, when it has one. */
  readonly param?: string;
}

/** A user changes a channel's modes (flags, key, limit, ops and voice, lists). */
export interface ModeEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "mode";
  /** The channel. */
  readonly channel: string;
  /** The changes, in order. */
  readonly changes: readonly ModeEventChange[];
  /** When, ms since the epoch: the MODE line's `time` and a list entry's on every node. */
  readonly time: number;
}

/** A user kicks another out of a channel. */
export interface KickEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "kick";
  /** The channel. */
  readonly channel: string;
  /** The nick of who is kicked. */
  readonly victim: string;
  /** Why. */
  readonly reason: string;
  /** When, ms since the epoch: the KICK line's `time` on every node. */
  readonly time: number;
}

/** A user invites another to a channel. */
export interface InviteEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "invite";
  /** The channel. */
  readonly channel: string;
  /** The nick of who is invited. */
  readonly target: string;
  /** When, ms since the epoch: the INVITE line's `time` on every node. */
  readonly time: number;
}

/** A user gives a service (ChanServ) a command. */
export interface ServiceEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "service";
  /** The service's nick. */
  readonly service: string;
  /** The command line. */
  readonly text: string;
  /** When, ms since the epoch: a registration's time on every node. */
  readonly time: number;
}

/**
 * A server operator (or the operator console: `conn` empty) disconnects a user; `reason` is the
 * quit message everyone sees.
 */
export interface KillEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "kill";
  /** The nick of who is disconnected. */
  readonly victim: string;
  /** The quit message. */
  readonly reason: string;
  /** Who did it, as audit lines name it. */
  readonly by: string;
  /** What the audit line says after "KILL nick (mask) by …: ". */
  readonly audit: string;
  /** When, ms since the epoch: the QUIT line's `time` on every node (absent: see {@link carriedTime}). */
  readonly time?: number;
}

/** A server ban is set (`KLINE`): every node keeps it and disconnects its users it matches. */
export interface KlineEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "kline";
  /** The mask, as `banMask` gives it. */
  readonly mask: string;
  /** Why. */
  readonly reason: string;
  /** How long, ms; 0 for no expiry. */
  readonly durationMs: number;
  /** Who set it, as audit lines name it. */
  readonly by: string;
  /** When, ms since the epoch. */
  readonly time: number;
}

/** A server ban is lifted (`UNKLINE`). */
export interface UnklineEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "unkline";
  /** The ban's mask. */
  readonly mask: string;
  /** Who lifted it, as audit lines name it. */
  readonly by: string;
  /** When, ms since the epoch. */
  readonly time: number;
}

/** The operator console says something in #lobby as the server. */
export interface AnnounceEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "announce";
  /** The text. */
  readonly text: string;
  /** When, ms since the epoch: the `time` every node shows. */
  readonly time: number;
}

/** The kinds of channel and server state. */
export type StateEvent =
  | ModeEvent
  | KickEvent
  | InviteEvent
  | ServiceEvent
  | KillEvent
  | KlineEvent
  | UnklineEvent
  | AnnounceEvent;

// The smaller gaps (issue #15, gaps15): WALLOPS on every node, a KLINE on another node's user.

/**
 * A server operator (or the operator console: `conn` empty) writes to the operators and `+w`
 * users of every node.
 */
export interface WallopsEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "wallops";
  /** The line's source: the operator's mask, or its node's server name for the console. */
  readonly source: string;
  /** The text. */
  readonly text: string;
  /** When, ms since the epoch: the `time` every node shows. */
  readonly time: number;
}

/**
 * A server ban on the address of the user who holds a nick, when that user is on another node
 * than the operator's: only the user's own node knows its address, so as it applies this entry
 * that node appends the `kline` on it (id `<id>/mask`, same reason, setter and time); every
 * other node applies nothing until that `kline` comes. A nick nobody holds then bans nothing,
 * on every node alike.
 */
export interface KlineNickEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "kline-nick";
  /** The nick whose address is banned. */
  readonly nick: string;
  /** Why. */
  readonly reason: string;
  /** How long, ms; 0 for no expiry. */
  readonly durationMs: number;
  /** Who set it, as audit lines name it. */
  readonly by: string;
  /** When, ms since the epoch. */
  readonly time: number;
}

/** The kinds of the smaller gaps (gaps15's part of {@link ClusterEvent}). */
export type GapEvent = WallopsEvent | KlineNickEvent;

// Presence across nodes (presence15).

/**
 * A device (a connection of this node, `conn`) logs in to an account that is present already —
 * connected through any node, or always-on with no device — and becomes one more device of it.
 * Its `quit` is its detach: the user quits when its last device on any node has left.
 */
export interface AttachEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "attach";
  /** The account whose presence the device joins. */
  readonly account: string;
}

// Deleting a stored message (redact15).

/**
 * A user of this node deletes a stored message (IRCv3 `draft/message-redaction`): every node
 * decides on applying it whether the user may (`chat/redaction.ts`, with the state it has at
 * that point of the log), erases it from its own history and tells its users; the event's id
 * is the REDACT's msgid on every node.
 */
export interface RedactEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "redact";
  /** The channel, or the other party's nick, as the REDACT names it. */
  readonly target: string;
  /** The msgid of the message deleted. */
  readonly msgid: string;
  /** Why ("" for no reason). */
  readonly reason: string;
  /** When its node took it, ms since the epoch: the `time` every node shows. */
  readonly time: number;
}

/** One entry of the cluster's log. */
export type ClusterEvent =
  | RedactEvent
  | AttachEvent
  | ConnectEvent
  | NickEvent
  | JoinEvent
  | PartEvent
  | TopicEvent
  | QuitEvent
  | MessageEvent
  | NodeDownEvent
  | UserStateEvent
  | StateEvent
  | GapEvent;

/** A node's sign of life, sent over core NATS (not stored) every second. */
export interface Heartbeat {
  /** The format's version ({@link EVENT_VERSION}). */
  readonly v: typeof EVENT_VERSION;
  /** The node. */
  readonly node: string;
  /** The last log sequence it applied. */
  readonly applied: number;
  /** How many users are connected to it. */
  readonly clients: number;
  // What `shmooze status --cluster` shows of each node; optional, as nodes built before them
  // send none (and nodes built after read those beats still).
  /** When it started, ms since the epoch. */
  readonly startedAt?: number;
  /** Log entries it refused as invalid. */
  readonly refused?: number;
  /** The log's last sequence as it last asked the log. */
  readonly head?: number;
  /** Bytes its bus received. */
  readonly inBytes?: number;
  /** Bytes its bus sent. */
  readonly outBytes?: number;
  /** Messages its bus received. */
  readonly inMsgs?: number;
  /** Messages its bus sent. */
  readonly outMsgs?: number;
}

/** The longest id, node or connection name accepted. */
const MAX_NAME = 128;
/** The longest nick, user, host, channel, target or account accepted (IRC lines are shorter). */
const MAX_FIELD = 512;
/** The longest text accepted: a message of an 8 KiB line (multiline batches are longer). */
const MAX_TEXT = 8192;
/** The most client tags on one message. */
const MAX_TAGS = 32;
/** The most changes in one MODE event (a MODE command makes at most 6 with a parameter). */
const MAX_MODE_CHANGES = 64;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The bytes of an event or heartbeat on the bus.
 *
 * @param value The event or heartbeat.
 * @returns Its JSON, UTF-8.
 *
 * @example An event survives the trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeEvent, encodeEvent, type ClusterEvent } from "./cluster_event.ts";
 *
 * const event: ClusterEvent = {
 *   v: 1, id: "m1", node: "a", conn: "7", kind: "message", command: "privmsg",
 *   target: "#lobby", text: "hi", time: 5,
 * };
 * assert.deepEqual(decodeEvent(encodeEvent(event)), event);
 * ```
 */
export function encodeEvent(value: ClusterEvent | Heartbeat): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

type Fields = Record<string, unknown>;

function name(fields: Fields, key: string, allowEmpty = false): string {
  const value = fields[key];
  if (typeof value !== "string" || value.length > MAX_NAME || (!allowEmpty && value === "")) {
    throw new TypeError(`"${key}" is not a name of 1 to ${MAX_NAME} characters`);
  }
  return value;
}

function text(fields: Fields, key: string, limit = MAX_FIELD): string {
  const value = fields[key];
  if (typeof value !== "string" || value.length > limit) {
    throw new TypeError(`"${key}" is not a string of at most ${limit} characters`);
  }
  if (/[\0\r\n]/.test(value)) throw new TypeError(`"${key}" holds NUL, CR or LF`);
  return value;
}

function word(fields: Fields, key: string): string {
  const value = text(fields, key);
  if (value === "" || /[\s,]/.test(value)) throw new TypeError(`"${key}" is not one word`);
  return value;
}

function time(fields: Fields, key: string): number {
  const value = fields[key];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`"${key}" is not a time in ms`);
  }
  return value;
}

/** A time that entries written before it was added lack: absent stays absent. */
function optionalTime(fields: Fields): { time?: number } {
  return fields.time === undefined ? {} : { time: time(fields, "time") };
}

function tags(fields: Fields): Record<string, string> | undefined {
  const value = fields.tags;
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`"tags" is not an object`);
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_TAGS) throw new TypeError(`"tags" has more than ${MAX_TAGS} tags`);
  const out: Record<string, string> = {};
  for (const [key, tag] of entries) {
    if (!/^\+[A-Za-z0-9./-]{1,64}$/.test(key)) throw new TypeError(`Tag "${key}" is no client tag`);
    out[key] = text({ [key]: tag }, key);
  }
  return out;
}

/** A MODE event's changes: each a letter, a sign and an optional one-word parameter. */
function modeChanges(fields: Fields): ModeEventChange[] {
  const value = fields.changes;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_MODE_CHANGES) {
    throw new TypeError(`"changes" is not a list of 1 to ${MAX_MODE_CHANGES} changes`);
  }
  return value.map((change: unknown) => {
    if (change === null || typeof change !== "object" || Array.isArray(change)) {
      throw new TypeError(`A change is not an object`);
    }
    const entry = change as Fields;
    if (typeof entry.add !== "boolean") throw new TypeError(`A change's "add" is not a boolean`);
    if (typeof entry.mode !== "string" || !/^[A-Za-z]$/.test(entry.mode)) {
      throw new TypeError(`A change's "mode" is not one letter`);
    }
    if (entry.param === undefined) return { add: entry.add, mode: entry.mode };
    return { add: entry.add, mode: entry.mode, param: word(entry, "param") };
  });
}

/** A KLINE's mask: one `banMask` gives back as it is (so never one that bans everyone). */
function serverBanMask(fields: Fields): string {
  const mask = word(fields, "mask");
  const normal = banMask(mask);
  if (typeof normal !== "string") throw new TypeError(`"mask" is no ban mask: ${normal.problem}`);
  if (normal !== mask) throw new TypeError(`"mask" is not written as a ban mask (${normal})`);
  return mask;
}

/** The fields every event has, checked. */
function origin(fields: Fields, conn = true): EventOrigin {
  return {
    v: EVENT_VERSION,
    id: name(fields, "id"),
    node: name(fields, "node"),
    conn: name(fields, "conn", !conn),
  };
}

/** Parses JSON bytes into an object, or says why not. */
function parse(bytes: Uint8Array): Fields {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new TypeError(`Not UTF-8 JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError("Not a JSON object");
  }
  const fields = value as Fields;
  if (fields.v !== EVENT_VERSION) {
    throw new TypeError(`Version ${JSON.stringify(fields.v)} is not ${EVENT_VERSION}`);
  }
  return fields;
}

/**
 * Reads an event from the bus, checking every field.
 *
 * @param bytes What the bus delivered.
 * @returns The event (only the fields its kind has, so nothing unchecked rides along).
 * @throws {TypeError} Naming what was wrong, when the bytes are no valid event.
 *
 * @example Bad bytes are refused with a reason
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeEvent } from "./cluster_event.ts";
 *
 * const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
 * assert.throws(() => decodeEvent(bytes({ v: 2, kind: "quit" })), /Version 2 is not 1/);
 * assert.throws(
 *   () => decodeEvent(bytes({ v: 1, id: "x", node: "a", conn: "1", kind: "nick", nick: "a b" })),
 *   /"nick" is not one word/,
 * );
 * const quit = decodeEvent(bytes({ v: 1, id: "x", node: "a", conn: "1", kind: "quit", reason: "bye", extra: 1 }));
 * assert.deepEqual(quit, { v: 1, id: "x", node: "a", conn: "1", kind: "quit", reason: "bye" });
 * ```
 */
export function decodeEvent(bytes: Uint8Array): ClusterEvent {
  const fields = parse(bytes);
  switch (fields.kind) {
    case "connect": {
      const account = fields.account === undefined ? undefined : word(fields, "account");
      return {
        ...origin(fields),
        kind: "connect",
        nick: word(fields, "nick"),
        user: word(fields, "user"),
        host: word(fields, "host"),
        realname: text(fields, "realname"),
        ...(account === undefined ? {} : { account }),
        time: time(fields, "time"),
      };
    }
    case "nick":
      return {
        ...origin(fields),
        kind: "nick",
        nick: word(fields, "nick"),
        ...optionalTime(fields),
      };
    case "join":
      return {
        ...origin(fields),
        kind: "join",
        channel: word(fields, "channel"),
        key: text(fields, "key"),
        ...optionalTime(fields),
      };
    case "part":
      return {
        ...origin(fields),
        kind: "part",
        channel: word(fields, "channel"),
        reason: text(fields, "reason"),
        ...optionalTime(fields),
      };
    case "topic":
      return {
        ...origin(fields),
        kind: "topic",
        channel: word(fields, "channel"),
        topic: text(fields, "topic"),
        time: time(fields, "time"),
      };
    case "quit":
      return {
        ...origin(fields),
        kind: "quit",
        reason: text(fields, "reason"),
        ...optionalTime(fields),
      };
    case "message": {
      const command = fields.command;
      if (command !== "privmsg" && command !== "notice" && command !== "tagmsg") {
        throw new TypeError(`"command" is not privmsg, notice or tagmsg`);
      }
      const checked = tags(fields);
      return {
        ...origin(fields),
        kind: "message",
        command,
        target: word(fields, "target"),
        text: text(fields, "text", MAX_TEXT),
        time: time(fields, "time"),
        ...(checked === undefined ? {} : { tags: checked }),
      };
    }
    case "redact":
      return {
        ...origin(fields),
        kind: "redact",
        target: word(fields, "target"),
        msgid: word(fields, "msgid"),
        reason: text(fields, "reason"),
        time: time(fields, "time"),
      };
    case "node-down":
      return {
        ...origin(fields, false),
        kind: "node-down",
        reason: text(fields, "reason"),
        ...optionalTime(fields),
      };
    case "attach":
      return { ...origin(fields), kind: "attach", account: word(fields, "account") };
    case "away":
    case "setname":
    case "chghost":
    case "login":
    case "account-register":
    case "token-issue":
    case "token-revoke":
    case "read-marker":
      return decodeUserState(fields, fields.kind);
    default:
      return decodeStateEvent(fields);
  }
}

/** The channel and server state kinds of {@link decodeEvent}. */
function decodeStateEvent(fields: Fields): StateEvent | GapEvent {
  switch (fields.kind) {
    case "mode":
      return {
        ...origin(fields),
        kind: "mode",
        channel: word(fields, "channel"),
        changes: modeChanges(fields),
        time: time(fields, "time"),
      };
    case "kick":
      return {
        ...origin(fields),
        kind: "kick",
        channel: word(fields, "channel"),
        victim: word(fields, "victim"),
        reason: text(fields, "reason"),
        time: time(fields, "time"),
      };
    case "invite":
      return {
        ...origin(fields),
        kind: "invite",
        channel: word(fields, "channel"),
        target: word(fields, "target"),
        time: time(fields, "time"),
      };
    case "service":
      return {
        ...origin(fields),
        kind: "service",
        service: word(fields, "service"),
        text: text(fields, "text"),
        time: time(fields, "time"),
      };
    case "kill":
      return {
        ...origin(fields, false),
        kind: "kill",
        victim: word(fields, "victim"),
        reason: text(fields, "reason"),
        by: text(fields, "by"),
        audit: text(fields, "audit"),
        ...optionalTime(fields),
      };
    case "kline":
      return {
        ...origin(fields, false),
        kind: "kline",
        mask: serverBanMask(fields),
        reason: text(fields, "reason"),
        durationMs: time(fields, "durationMs"),
        by: text(fields, "by"),
        time: time(fields, "time"),
      };
    case "unkline":
      return {
        ...origin(fields, false),
        kind: "unkline",
        mask: word(fields, "mask"),
        by: text(fields, "by"),
        time: time(fields, "time"),
      };
    case "announce":
      return {
        ...origin(fields, false),
        kind: "announce",
        text: text(fields, "text", MAX_TEXT),
        time: time(fields, "time"),
      };
    default:
      return decodeGapEvent(fields);
  }
}

/** The kinds of the smaller gaps, checked (see {@link decodeEvent}). */
function decodeGapEvent(fields: Fields): GapEvent {
  switch (fields.kind) {
    case "wallops": {
      const said = text(fields, "text");
      if (said === "") throw new TypeError(`"text" is empty`);
      return {
        ...origin(fields, false),
        kind: "wallops",
        source: word(fields, "source"),
        text: said,
        time: time(fields, "time"),
      };
    }
    case "kline-nick":
      return {
        ...origin(fields, false),
        kind: "kline-nick",
        nick: word(fields, "nick"),
        reason: text(fields, "reason"),
        durationMs: time(fields, "durationMs"),
        by: text(fields, "by"),
        time: time(fields, "time"),
      };
    default:
      throw new TypeError(`Kind ${JSON.stringify(fields.kind)} is unknown`);
  }
}

/** A SHA-256 in hex. */
const SHA256_HEX = /^[0-9a-f]{64}$/;

function matching(fields: Fields, key: string, shape: RegExp): string {
  const value = fields[key];
  if (typeof value !== "string" || !shape.test(value)) {
    throw new TypeError(`"${key}" is not of the expected form`);
  }
  return value;
}

/**
 * The costliest hash accepted (1 GiB, 16 passes): checking a password against a hash costs what
 * the hash says, so a bad publisher must not make a node's login allocate without limit.
 */
const MAX_HASH_COST = { memoryKiB: 1 << 20, iterations: 16 };

/** A password hash as `hashPassword` writes it (argon2id, PHC string), of a bounded cost. */
function passwordHash(fields: Fields): string {
  const value = text(fields, "hash");
  if (!isPasswordHash(value)) throw new TypeError(`"hash" is not an argon2id password hash`);
  const [, memory, passes] = /\$m=(\d+),t=(\d+),/.exec(value)!.map(Number);
  if (memory > MAX_HASH_COST.memoryKiB || passes > MAX_HASH_COST.iterations) {
    throw new TypeError(
      `"hash" costs more than ${MAX_HASH_COST.memoryKiB} KiB or ${MAX_HASH_COST.iterations} passes`,
    );
  }
  return value;
}

/** The user and account events, checked (see {@link decodeEvent}). */
function decodeUserState(fields: Fields, kind: UserStateEvent["kind"]): UserStateEvent {
  switch (kind) {
    case "away":
      return { ...origin(fields), kind, text: text(fields, "text") };
    case "setname": {
      const realname = text(fields, "realname");
      if (realname === "") throw new TypeError(`"realname" is empty`);
      return { ...origin(fields), kind, realname };
    }
    case "chghost":
      return {
        ...origin(fields),
        kind,
        target: word(fields, "target"),
        user: word(fields, "user"),
        host: word(fields, "host"),
      };
    case "login":
      return { ...origin(fields), kind, account: word(fields, "account") };
    case "account-register":
      return {
        ...origin(fields, false),
        kind,
        account: word(fields, "account"),
        hash: passwordHash(fields),
        time: time(fields, "time"),
      };
    case "token-issue":
      return {
        ...origin(fields, false),
        kind,
        account: word(fields, "account"),
        hash: matching(fields, "hash", SHA256_HEX),
        time: time(fields, "time"),
      };
    case "token-revoke":
      return { ...origin(fields, false), kind, hash: matching(fields, "hash", SHA256_HEX) };
    case "read-marker":
      return {
        ...origin(fields, false),
        kind,
        account: word(fields, "account"),
        target: word(fields, "target"),
        time: time(fields, "time"),
      };
  }
}

/**
 * The clock time an entry carries, which a node keeps the latest of as it applies the log: an
 * entry written before JOIN, PART, NICK, QUIT, node-down and KILL events carried a `time` shows
 * that latest time of the entries before it (every node read the same ones, so it is the same on
 * every node, and close: a user's `connect`, messages and topics carry their origin's time). A
 * read marker's time is a client's word, not a clock's: it counts for nothing.
 *
 * @param event An entry's event.
 * @returns Its origin's time when it was taken, or undefined.
 *
 * @example An old JOIN carries no time; a new one does
 * ```ts
 * import assert from "node:assert/strict";
 * import { carriedTime, decodeEvent } from "./cluster_event.ts";
 *
 * const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
 * const join = { v: 1, id: "j", node: "a", conn: "1", kind: "join", channel: "#c", key: "" };
 * assert.equal(carriedTime(decodeEvent(bytes(join))), undefined);
 * assert.equal(carriedTime(decodeEvent(bytes({ ...join, time: 7 }))), 7);
 * ```
 */
export function carriedTime(event: ClusterEvent): number | undefined {
  if (event.kind === "read-marker" || !("time" in event)) return undefined;
  return event.time;
}

/**
 * Reads a heartbeat from the bus, checking every field.
 *
 * @param bytes What the bus delivered.
 * @returns The heartbeat.
 * @throws {TypeError} Naming what was wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeHeartbeat, encodeEvent } from "./cluster_event.ts";
 *
 * const beat = { v: 1, node: "a", applied: 7, clients: 2 } as const;
 * assert.deepEqual(decodeHeartbeat(encodeEvent(beat)), beat);
 * assert.throws(() => decodeHeartbeat(encodeEvent({ ...beat, applied: -1 })), /"applied"/);
 * // The optional numbers are checked too, when a node sends them.
 * assert.deepEqual(decodeHeartbeat(encodeEvent({ ...beat, head: 9 })), { ...beat, head: 9 });
 * assert.throws(() => decodeHeartbeat(encodeEvent({ ...beat, inBytes: -1 })), /"inBytes"/);
 * ```
 */
export function decodeHeartbeat(bytes: Uint8Array): Heartbeat {
  const fields = parse(bytes);
  const count = (key: string) => {
    const value = fields[key];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new TypeError(`"${key}" is not a count`);
    }
    return value;
  };
  const beat: Record<string, unknown> = {
    v: EVENT_VERSION,
    node: name(fields, "node"),
    applied: count("applied"),
    clients: count("clients"),
  };
  for (const key of HEARTBEAT_OPTIONAL) if (fields[key] !== undefined) beat[key] = count(key);
  return beat as unknown as Heartbeat;
}

/** The heartbeat's optional counts, each checked when present. */
const HEARTBEAT_OPTIONAL = [
  "startedAt",
  "refused",
  "head",
  "inBytes",
  "outBytes",
  "inMsgs",
  "outMsgs",
] as const;
