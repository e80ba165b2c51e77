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
}

/** A user joins a channel. */
export interface JoinEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "join";
  /** The channel. */
  readonly channel: string;
  /** The key it gave (`+k`), "" when none. */
  readonly key: string;
}

/** A user leaves a channel. */
export interface PartEvent extends EventOrigin {
  /** What happened. */
  readonly kind: "part";
  /** The channel. */
  readonly channel: string;
  /** The part message. */
  readonly reason: string;
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
}

/** One entry of the cluster's log. */
export type ClusterEvent =
  | ConnectEvent
  | NickEvent
  | JoinEvent
  | PartEvent
  | TopicEvent
  | QuitEvent
  | MessageEvent
  | NodeDownEvent;

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
      return { ...origin(fields), kind: "nick", nick: word(fields, "nick") };
    case "join":
      return {
        ...origin(fields),
        kind: "join",
        channel: word(fields, "channel"),
        key: text(fields, "key"),
      };
    case "part":
      return {
        ...origin(fields),
        kind: "part",
        channel: word(fields, "channel"),
        reason: text(fields, "reason"),
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
      return { ...origin(fields), kind: "quit", reason: text(fields, "reason") };
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
    case "node-down":
      return { ...origin(fields, false), kind: "node-down", reason: text(fields, "reason") };
    default:
      throw new TypeError(`Kind ${JSON.stringify(fields.kind)} is unknown`);
  }
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
