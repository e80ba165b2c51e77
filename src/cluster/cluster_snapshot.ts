/**
 * A cluster's state at one log sequence, so that a node can start from it instead of from the
 * log's first entry (which the log's retention removes in time).
 *
 * The contract: **a snapshot is a list of log events that, applied in order to an empty hub
 * through the same `#change` as the log's entries (as history: messages are not shown), gives
 * the state every node has after applying the log up to `seq`** — plus, for each channel, the
 * one thing events cannot restore (they are users' commands, checked against modes and
 * permissions): its settings and who holds `+o`/`+v`, set after its members' joins. Three more
 * kinds of rows hold what no event sets as such: each registered channel as the ChanServ
 * store holds it (written before the events, so that their joins find it), and for each user
 * its always-on flag, since when it has had no device (an always-on user with none), and the
 * channels it is invited to.
 *
 * Its bytes are lines (UTF-8, `\n` between): a header `{"v":1,"kind":"snapshot","seq":…,
 * "time":…}`, then each event exactly as the log carries it (read by `decodeEvent`, checked
 * field by field like any entry), then `channel-state`, `registered-channel` and `user-state`
 * lines. Nothing read from the bus is trusted: {@link decodeSnapshot} checks every line, and a
 * node refuses the whole snapshot at the first bad one.
 *
 * @module
 */
import type { ChannelSettings, ListEntry, ListMode, MemberMode } from "../chat/channel_modes.ts";
import type { RegisteredChannel } from "../chat/channel_store.ts";
import { type ClusterEvent, decodeEvent, EVENT_VERSION } from "./cluster_event.ts";

/** A user as a snapshot names it: the node it is connected to and its connection there. */
export interface MemberRef {
  /** Its node. */
  readonly node: string;
  /** Its connection on that node. */
  readonly conn: string;
}

/** What a channel's members' joins do not restore: its settings and its members' modes. */
export interface ChannelState {
  /** The channel. */
  readonly channel: string;
  /** Its modes, lists and topic. */
  readonly settings: ChannelSettings;
  /** Its operators (`+o`). */
  readonly operators: readonly MemberRef[];
  /** Its voiced members (`+v`). */
  readonly voiced: readonly MemberRef[];
}

/** What a user's events do not restore. */
export interface UserState {
  /** The user, by the connection its `connect` names. */
  readonly node: string;
  /** Its connection on that node. */
  readonly conn: string;
  /** Whether it stays with no device (always-on). */
  readonly alwaysOn: boolean;
  /**
   * Since when it has had no device, ms since the epoch (an always-on user): its `connect`
   * names no real connection, which it leaves as the snapshot is loaded.
   */
  readonly detachedAt?: number;
  /** The channels it is invited to and has not joined. */
  readonly invites: readonly string[];
}

/** The state of a cluster after the log's entries up to {@link ClusterSnapshot.seq}. */
export interface ClusterSnapshot {
  /** The last log entry the state includes: a node goes on reading from `seq + 1`. */
  readonly seq: number;
  /** When it was written, ms since the epoch. */
  readonly time: number;
  /** The state as events, in the order they are applied. */
  readonly events: readonly ClusterEvent[];
  /** Each channel's settings and modes, set after the events. */
  readonly channels: readonly ChannelState[];
  /** The registered channels (ChanServ's store), written before the events. */
  readonly registered: readonly RegisteredChannel[];
  /** Each user's always-on state and invitations, set after the channels. */
  readonly users: readonly UserState[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const LF = 10;
const MAX_NAME = 128;
const MAX_FIELD = 512;
const MAX_TEXT = 8192;
/** The most entries in one ban, exception or invite-exception list. */
const MAX_LIST = 10_000;
const LISTS: readonly ListMode[] = ["b", "e", "I"];
/** The most accounts with a mode on joining one registered channel. */
const MAX_ACCESS = 10_000;
/** The most channels one user is invited to. */
const MAX_INVITES = 10_000;

/**
 * The bytes of a snapshot.
 *
 * @param snapshot The snapshot.
 * @returns Its lines, UTF-8.
 *
 * @example A snapshot survives the trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSnapshot, encodeSnapshot } from "./cluster_snapshot.ts";
 * import { defaultSettings } from "../chat/channel_modes.ts";
 *
 * const snapshot = {
 *   seq: 42, time: 1000,
 *   events: [
 *     { v: 1, id: "s", node: "a-1", conn: "1", kind: "connect", nick: "ann", user: "ann", host: "h", realname: "Ann", time: 5 },
 *     { v: 1, id: "s", node: "a-1", conn: "1", kind: "join", channel: "#c", key: "" },
 *   ] as const,
 *   channels: [{ channel: "#c", settings: defaultSettings("nt"), operators: [{ node: "a-1", conn: "1" }], voiced: [] }],
 *   registered: [{
 *     kind: "registered", name: "#c", createdAt: 4, settings: defaultSettings("nt"),
 *     registration: { founder: "ann", registeredAt: 6 },
 *     access: [{ account: "bob", mode: "v", setBy: "ann", setAt: 7 }],
 *   }] as const,
 *   users: [{ node: "a-1", conn: "1", alwaysOn: true, detachedAt: 9, invites: ["#d"] }],
 * };
 * assert.deepEqual(decodeSnapshot(encodeSnapshot(snapshot)), snapshot);
 * ```
 */
export function encodeSnapshot(snapshot: ClusterSnapshot): Uint8Array {
  const lines = [
    JSON.stringify({ v: EVENT_VERSION, kind: "snapshot", seq: snapshot.seq, time: snapshot.time }),
  ];
  for (const event of snapshot.events) lines.push(JSON.stringify(event));
  for (const state of snapshot.channels) {
    lines.push(JSON.stringify({ v: EVENT_VERSION, kind: "channel-state", ...state }));
  }
  for (const { kind: _, ...stored } of snapshot.registered) {
    lines.push(JSON.stringify({ v: EVENT_VERSION, kind: "registered-channel", ...stored }));
  }
  for (const state of snapshot.users) {
    lines.push(JSON.stringify({ v: EVENT_VERSION, kind: "user-state", ...state }));
  }
  return encoder.encode(lines.join("\n"));
}

type Fields = Record<string, unknown>;

function object(value: unknown, what: string): Fields {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${what} is not a JSON object`);
  }
  return value as Fields;
}

function count(fields: Fields, key: string): number {
  const value = fields[key];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`"${key}" is not a whole number ≥ 0`);
  }
  return value;
}

function text(fields: Fields, key: string, limit = MAX_FIELD, word = false): string {
  const value = fields[key];
  if (typeof value !== "string" || value.length > limit) {
    throw new TypeError(`"${key}" is not a string of at most ${limit} characters`);
  }
  if (/[\0\r\n]/.test(value)) throw new TypeError(`"${key}" holds NUL, CR or LF`);
  if (word && /[\s,]/.test(value)) throw new TypeError(`"${key}" is not one word`);
  return value;
}

function array(fields: Fields, key: string, limit: number): unknown[] {
  const value = fields[key];
  if (!Array.isArray(value) || value.length > limit) {
    throw new TypeError(`"${key}" is not a list of at most ${limit}`);
  }
  return value;
}

function refs(fields: Fields, key: string): MemberRef[] {
  return array(fields, key, Number.MAX_SAFE_INTEGER).map((value) => {
    const ref = object(value, `An entry of "${key}"`);
    const node = text(ref, "node", MAX_NAME, true);
    const conn = text(ref, "conn", MAX_NAME, true);
    if (node === "" || conn === "") throw new TypeError(`An entry of "${key}" names no user`);
    return { node, conn };
  });
}

function settings(value: unknown): ChannelSettings {
  const fields = object(value, `"settings"`);
  const flags = text(fields, "flags", 52);
  if (!/^[A-Za-z]*$/.test(flags)) throw new TypeError(`"flags" is not mode letters`);
  const listsField = object(fields.lists, `"lists"`);
  const lists = {} as Record<ListMode, ListEntry[]>;
  for (const mode of LISTS) {
    lists[mode] = array(listsField, mode, MAX_LIST).map((item) => {
      const entry = object(item, `An entry of list "${mode}"`);
      const mask = text(entry, "mask", MAX_FIELD, true);
      if (mask === "") throw new TypeError(`An entry of list "${mode}" has no mask`);
      return { mask, setBy: text(entry, "setBy", MAX_FIELD, true), setAt: count(entry, "setAt") };
    });
  }
  return {
    flags,
    key: text(fields, "key", MAX_FIELD, true),
    limit: count(fields, "limit"),
    lists,
    topic: text(fields, "topic", MAX_TEXT),
    topicSetBy: text(fields, "topicSetBy", MAX_FIELD, true),
    topicSetAt: count(fields, "topicSetAt"),
  };
}

/** One `channel-state` line, checked. */
function channelState(fields: Fields): ChannelState {
  const channel = text(fields, "channel", MAX_FIELD, true);
  if (channel === "") throw new TypeError(`"channel" is empty`);
  return {
    channel,
    settings: settings(fields.settings),
    operators: refs(fields, "operators"),
    voiced: refs(fields, "voiced"),
  };
}

/** One `registered-channel` line, checked. */
function registeredChannel(fields: Fields): RegisteredChannel {
  const name = text(fields, "name", MAX_FIELD, true);
  if (name === "") throw new TypeError(`"name" is empty`);
  const registration = object(fields.registration, `"registration"`);
  const founder = text(registration, "founder", MAX_NAME, true);
  if (founder === "") throw new TypeError(`"founder" is empty`);
  const access = array(fields, "access", MAX_ACCESS).map((item) => {
    const entry = object(item, `An entry of "access"`);
    const account = text(entry, "account", MAX_NAME, true);
    if (account === "") throw new TypeError(`An entry of "access" names no account`);
    const mode = entry.mode;
    if (mode !== "o" && mode !== "v") throw new TypeError(`"mode" is not o or v`);
    return {
      account,
      mode: mode as MemberMode,
      setBy: text(entry, "setBy", MAX_NAME),
      setAt: count(entry, "setAt"),
    };
  });
  return {
    kind: "registered",
    name,
    createdAt: count(fields, "createdAt"),
    settings: settings(fields.settings),
    registration: { founder, registeredAt: count(registration, "registeredAt") },
    access,
  };
}

/** One `user-state` line, checked. */
function userState(fields: Fields): UserState {
  const [ref] = refs({ ref: [{ node: fields.node, conn: fields.conn }] }, "ref");
  if (typeof fields.alwaysOn !== "boolean") throw new TypeError(`"alwaysOn" is not true or false`);
  const invites = array(fields, "invites", MAX_INVITES).map((item) =>
    text({ channel: item }, "channel", MAX_FIELD, true)
  );
  return {
    ...ref,
    alwaysOn: fields.alwaysOn,
    ...(fields.detachedAt === undefined ? {} : { detachedAt: count(fields, "detachedAt") }),
    invites,
  };
}

/**
 * Reads a snapshot's header line: the sequence it is at and when it was taken.
 *
 * @param line The first line of a snapshot's bytes (without its `\n`).
 * @returns Its sequence and time.
 * @throws {TypeError} When the line is no snapshot header.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSnapshotHeader } from "./cluster_snapshot.ts";
 *
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * assert.deepEqual(
 *   decodeSnapshotHeader(bytes('{"v":1,"kind":"snapshot","seq":3,"time":1}')),
 *   { seq: 3, time: 1 },
 * );
 * assert.throws(() => decodeSnapshotHeader(bytes('{"v":1,"kind":"quit"}')), /no snapshot header/);
 * ```
 */
export function decodeSnapshotHeader(line: Uint8Array): { seq: number; time: number } {
  const header = parse(line);
  if (header.kind !== "snapshot") throw new TypeError("The first line is no snapshot header");
  return { seq: count(header, "seq"), time: count(header, "time") };
}

/**
 * Reads a snapshot from the bus, checking every line: the header, each event (as
 * `decodeEvent` checks a log entry), each channel's state.
 *
 * @param bytes What the bus delivered.
 * @returns The snapshot.
 * @throws {TypeError} Naming the line and what was wrong, when the bytes are no valid snapshot.
 *
 * @example Bad bytes are refused, naming where
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSnapshot } from "./cluster_snapshot.ts";
 *
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * assert.throws(() => decodeSnapshot(new Uint8Array([0xff, 0xfe])), /line 1: Not UTF-8 JSON/);
 * assert.throws(
 *   () => decodeSnapshot(bytes('{"v":1,"kind":"snapshot","seq":3,"time":1}\n{"v":1,"kind":"quit"}')),
 *   /line 2: "id" is not a name/,
 * );
 * ```
 */
export function decodeSnapshot(bytes: Uint8Array): ClusterSnapshot {
  const events: ClusterEvent[] = [];
  const channels: ChannelState[] = [];
  const registered: RegisteredChannel[] = [];
  const users: UserState[] = [];
  let rows = false;
  let seq = 0;
  let time = 0;
  let line = 0;
  for (let start = 0; start <= bytes.length;) {
    let end = bytes.indexOf(LF, start);
    if (end < 0) end = bytes.length;
    const piece = bytes.subarray(start, end);
    start = end + 1;
    line++;
    try {
      if (line === 1) {
        ({ seq, time } = decodeSnapshotHeader(piece));
        continue;
      }
      const fields = parse(piece);
      const row = ROWS[fields.kind as string];
      if (row !== undefined) {
        rows = true;
        if (row === "channel-state") channels.push(channelState(fields));
        else if (row === "registered-channel") registered.push(registeredChannel(fields));
        else users.push(userState(fields));
      } else if (rows) throw new TypeError("An event follows the state rows");
      else events.push(decodeEvent(piece));
    } catch (error) {
      throw new TypeError(`Snapshot line ${line}: ${(error as Error).message}`);
    }
  }
  return { seq, time, events, channels, registered, users };
}

const ROWS: Record<string, "channel-state" | "registered-channel" | "user-state"> = {
  __proto__: null,
  "channel-state": "channel-state",
  "registered-channel": "registered-channel",
  "user-state": "user-state",
} as never;

/** Parses one line into an object of this version, or says why not. */
function parse(bytes: Uint8Array): Fields {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new TypeError(`Not UTF-8 JSON: ${(error as Error).message}`);
  }
  const fields = object(value, "The line");
  if (fields.v !== EVENT_VERSION) {
    throw new TypeError(`Version ${JSON.stringify(fields.v)} is not ${EVENT_VERSION}`);
  }
  return fields;
}
