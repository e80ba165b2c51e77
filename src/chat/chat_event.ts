/**
 * What happens in the chat, as the core hands it to every member who should see it —
 * protocol-neutral. A transport encodes an event for its wire once per encoding variant
 * and caches the bytes on the event, so every recipient with the same variant shares them.
 *
 * @module
 */

/** The kinds of event members see. */
export type ChatEventKind =
  | "privmsg"
  | "notice"
  | "tagmsg"
  | "join"
  | "part"
  | "quit"
  | "nick"
  | "topic"
  | "kick"
  | "wallops"
  | "mode"
  | "invite"
  | "away"
  | "account"
  | "setname"
  | "chghost"
  | "redact";

/** One event, delivered to many members. Treat as immutable. */
export interface ChatEvent {
  /** What happened. */
  readonly kind: ChatEventKind;
  /** A unique id (the IRCv3 `msgid`). */
  readonly msgid: string;
  /** When the server accepted it, ms since the epoch. */
  readonly time: number;
  /** Who did it: `nick!user@host`. */
  readonly source: string;
  /**
   * privmsg/notice/tagmsg/redact: the channel or the recipient's nick; join/part/topic/kick/mode/invite:
   * the channel; nick: the new nick; account: the account logged in to ("" when logged out);
   * chghost: the new user name; quit/away/setname/wallops: empty.
   */
  readonly target: string;
  /**
   * The message, reason or topic text; join: the member's real name (IRCv3 extended-join);
   * away: the away message ("" when back); setname: the new real name; chghost: the new host
   * (the source is the old `nick!user@host`); mode: the changes as IRC writes them, letters then
   * parameters (`+ov ann bob`); redact: the reason. "" when there is none.
   */
  readonly text: string;
  /** kick: the nick removed; invite: the nick invited. */
  readonly victim?: string;
  /** redact: the `msgid` of the message deleted (IRCv3 `draft/message-redaction`). */
  readonly redacts?: string;
  /** Client-only tags (IRCv3 `+name`) relayed with a message, or alone (tagmsg). */
  readonly clientTags?: Readonly<Record<string, string>>;
  /** The account the source was logged in to when it happened, if any (IRCv3 `account-tag`). */
  readonly account?: string;
  /** Whether the source is a bot (user mode `+B`, the IRCv3 `bot` tag). */
  readonly bot?: boolean;
  /**
   * For a message that history has not committed yet: its fate. Such a message is handed to
   * its recipients' queues at once, so it keeps its place among everything else they get,
   * but no queue writes it before the commit; if the commit fails, `lost` turns true and
   * every queue drops it unwritten. Absent on everything else.
   */
  readonly commit?: CommitState;
  /** Encoded forms, filled in by transports; index = the transport's encoding variant. */
  readonly encoded: (Uint8Array | undefined)[];
}

/** Whether a message's commit to history failed (see {@link ChatEvent.commit}). */
export interface CommitState {
  /** True once the commit failed: nobody may be shown the message. */
  lost: boolean;
}

/**
 * Whether an event was lost with a failed history commit and must not be shown.
 *
 * @param event The event.
 * @returns True when its commit failed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent, isLost } from "./chat_event.ts";
 *
 * const commit = { lost: false };
 * const event = createEvent({ kind: "privmsg", source: "a!a@h", target: "#c", text: "hi", commit });
 * assert.ok(!isLost(event));
 * commit.lost = true;
 * assert.ok(isLost(event));
 * ```
 */
export function isLost(event: ChatEvent): boolean {
  return event.commit?.lost === true;
}

const prefix = `${Date.now().toString(36)}${Deno.pid.toString(36)}`;
let counter = 0;

/**
 * Makes a new event with a fresh id (or the one it was given: a cluster's node applies an
 * event under the id its origin gave it, so every node shows the same msgid).
 *
 * @param fields Everything but `encoded`; `time` defaults to now, `msgid` to a new one.
 * @returns The event.
 *
 * @example Each event gets its own id and, unless given, the time now
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent } from "./chat_event.ts";
 *
 * const before = Date.now();
 * const fields = { kind: "privmsg", source: "ann!ann@h", target: "#lobby", text: "hi" } as const;
 * const event = createEvent(fields);
 * assert.equal(event.kind, "privmsg");
 * assert.notEqual(event.msgid, "");
 * assert.notEqual(createEvent(fields).msgid, event.msgid);
 * assert.ok(event.time >= before && event.time <= Date.now());
 * assert.equal(createEvent({ ...fields, time: 5 }).time, 5);
 * assert.equal(createEvent({ ...fields, msgid: "m1" }).msgid, "m1");
 * assert.deepEqual(event.encoded, []);
 * ```
 */
export function createEvent(
  fields: Omit<ChatEvent, "msgid" | "encoded" | "time"> & { time?: number; msgid?: string },
): ChatEvent {
  return {
    ...fields,
    time: fields.time ?? Date.now(),
    msgid: fields.msgid ?? newMsgId(),
    encoded: [],
  };
}

/**
 * A message id unique across restarts: the process start time, its pid and a counter, in
 * base 36.
 *
 * @returns The id.
 *
 * @example Ids of one process share a prefix and never repeat
 * ```ts
 * import assert from "node:assert/strict";
 * import { newMsgId } from "./chat_event.ts";
 *
 * const [first, second] = [newMsgId(), newMsgId()];
 * assert.notEqual(first, second);
 * assert.match(first, /^[0-9a-z]+-[0-9a-z]+$/);
 * assert.equal(first.split("-")[0], second.split("-")[0]);
 * ```
 */
export function newMsgId(): string {
  return `${prefix}-${(++counter).toString(36)}`;
}
