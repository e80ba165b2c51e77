/**
 * Turns chat events into IRC lines, once per encoding variant: every recipient whose
 * capabilities produce the same bytes shares one encoded line.
 *
 * @module
 */
import type { ChatEvent } from "../chat/chat_event.ts";
import { formatMessage, type IrcMessage } from "./message.ts";

/**
 * Variant bit: the client asked for `server-time` (a `time` tag).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventTags, VARIANT_TIME } from "./encode.ts";
 *
 * assert.deepEqual(eventTags({ time: 0, msgid: "m1" }, VARIANT_TIME), {
 *   time: "1970-01-01T00:00:00.000Z",
 * });
 * ```
 */
export const VARIANT_TIME = 1;
/**
 * Variant bit: the client asked for `message-tags` (`msgid` and client-only tags).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventTags, VARIANT_TAGS } from "./encode.ts";
 *
 * const typing = { time: 0, msgid: "m1", clientTags: { "+typing": "active" } };
 * assert.deepEqual(eventTags(typing, VARIANT_TAGS), { msgid: "m1", "+typing": "active" });
 * ```
 */
export const VARIANT_TAGS = 2;
/** `account-tag`: events from a logged-in user carry `account=<name>`. */
const ACCOUNT_TAG = 4;
/** `extended-join`: JOIN carries the account and the real name. */
const EXTENDED_JOIN = 8;
/** `away-notify`: AWAY of users in a shared channel. */
const AWAY_NOTIFY = 16;
/** `account-notify`: ACCOUNT of users in a shared channel. */
const ACCOUNT_NOTIFY = 32;
/** `setname`: SETNAME of users in a shared channel, and of oneself. */
const SETNAME = 64;
/** `chghost`: CHGHOST of users in a shared channel, and of oneself. */
const CHGHOST = 128;
/**
 * Variant bit: the client asked for `draft/message-redaction`: it is sent REDACT, which a
 * client without it never is (the spec's rule), and deleted messages in history.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VARIANT_OF_CAPABILITY, VARIANT_REDACTION } from "./encode.ts";
 *
 * assert.equal(VARIANT_OF_CAPABILITY["draft/message-redaction"], VARIANT_REDACTION);
 * ```
 */
export const VARIANT_REDACTION = 256;

/**
 * The capabilities that change the bytes of events, each with its variant bit: a client's
 * variant is the sum of the bits of the capabilities it enabled.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VARIANT_OF_CAPABILITY, VARIANT_TAGS, VARIANT_TIME } from "./encode.ts";
 *
 * assert.equal(VARIANT_OF_CAPABILITY["server-time"], VARIANT_TIME);
 * assert.equal(VARIANT_OF_CAPABILITY["message-tags"], VARIANT_TAGS);
 * assert.equal(VARIANT_OF_CAPABILITY["echo-message"], undefined);
 * ```
 */
export const VARIANT_OF_CAPABILITY: Readonly<Record<string, number>> = Object.freeze({
  "server-time": VARIANT_TIME,
  "message-tags": VARIANT_TAGS,
  "account-tag": ACCOUNT_TAG,
  "extended-join": EXTENDED_JOIN,
  "away-notify": AWAY_NOTIFY,
  "account-notify": ACCOUNT_NOTIFY,
  "setname": SETNAME,
  "chghost": CHGHOST,
  "draft/message-redaction": VARIANT_REDACTION,
});

/** The variant bits every kind of event depends on. */
const COMMON_BITS = VARIANT_TIME | VARIANT_TAGS | ACCOUNT_TAG;
/** Kinds a client sees only with a capability (else they are no bytes). */
const NEEDS: Partial<Record<ChatEvent["kind"], number>> = {
  tagmsg: VARIANT_TAGS,
  away: AWAY_NOTIFY,
  account: ACCOUNT_NOTIFY,
  setname: SETNAME,
  chghost: CHGHOST,
  redact: VARIANT_REDACTION,
};

const encoder = new TextEncoder();
const NOTHING = new Uint8Array(0);
/** Events whose last parameter is a name or a mode, written with a colon only when needed. */
/**
 * The IRC message for an event, without tags.
 *
 * @param event The event.
 * @param variant The recipient's variant bits (`extended-join` changes JOIN).
 * @returns The message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent } from "../chat/chat_event.ts";
 * import { formatMessage } from "./message.ts";
 * import { eventMessage } from "./encode.ts";
 *
 * const part = createEvent({ kind: "part", source: "ann!a@h", target: "#lobby", text: "bye" });
 * assert.equal(formatMessage(eventMessage(part)), ":ann!a@h PART #lobby :bye");
 * const join = createEvent({ kind: "join", source: "ann!a@h", target: "#lobby", text: "Ann" });
 * assert.equal(formatMessage(eventMessage(join)), ":ann!a@h JOIN #lobby");
 * const mode = createEvent({ kind: "mode", source: "ann!a@h", target: "#c", text: "+ov bob cat" });
 * assert.equal(formatMessage(eventMessage(mode)), ":ann!a@h MODE #c +ov bob cat");
 * const invite = createEvent({
 *   kind: "invite",
 *   source: "ann!a@h",
 *   target: "#c",
 *   victim: "bob",
 *   text: "",
 * });
 * assert.equal(formatMessage(eventMessage(invite)), ":ann!a@h INVITE bob #c");
 * const chghost = createEvent({
 *   kind: "chghost",
 *   source: "ann!a@h",
 *   target: "ann",
 *   text: "staff.example",
 * });
 * assert.equal(formatMessage(eventMessage(chghost)), ":ann!a@h CHGHOST ann staff.example");
 * const redact = createEvent({
 *   kind: "redact",
 *   source: "ann!a@h",
 *   target: "#c",
 *   redacts: "m1",
 *   text: "typo",
 * });
 * assert.equal(formatMessage(eventMessage(redact)), ":ann!a@h REDACT #c m1 :typo");
 * assert.equal(formatMessage(eventMessage({ ...redact, text: "" })), ":ann!a@h REDACT #c m1");
 * const extended = eventMessage(join, VARIANT_OF_CAPABILITY["extended-join"]);
 * assert.equal(formatMessage(extended), ":ann!a@h JOIN #lobby * :Ann");
 * ```
 */
export function eventMessage(event: ChatEvent, variant = 0): IrcMessage & { trailing: boolean } {
  let trailing = true;
  const params = (() => {
    switch (event.kind) {
      case "privmsg":
      case "notice":
      case "topic":
        return [event.target, event.text];
      case "join":
        if (variant & EXTENDED_JOIN) return [event.target, event.account ?? "*", event.text];
        trailing = false;
        return [event.target];
      case "tagmsg":
        trailing = false;
        return [event.target];
      case "part":
        return event.text === "" ? [event.target] : [event.target, event.text];
      case "quit":
      case "wallops":
        return [event.text];
      case "nick":
        trailing = false;
        return [event.target];
      case "kick":
        return [event.target, event.victim ?? "", event.text];
      case "mode":
        trailing = false;
        return [event.target, ...event.text.split(" ")];
      case "invite":
        trailing = false;
        return [event.victim ?? "", event.target];
      case "away":
        return event.text === "" ? [] : [event.text];
      case "account":
        trailing = false;
        return [event.target === "" ? "*" : event.target];
      case "setname":
        return [event.text];
      case "chghost":
        trailing = false;
        return [event.target, event.text];
      case "redact":
        if (event.text !== "") return [event.target, event.redacts ?? "", event.text];
        trailing = false;
        return [event.target, event.redacts ?? ""];
    }
  })();
  return { tags: {}, source: event.source, command: event.kind.toUpperCase(), params, trailing };
}

/** What {@link eventTags} makes tags of: an event, or a message read back from history. */
export type TaggedFields = Pick<ChatEvent, "time" | "msgid" | "clientTags" | "account" | "bot">;

/**
 * The tags an event carries for a variant, with `extra` (such as `batch`) first.
 *
 * @param fields When it happened (ms since the epoch), its id, its client-only tags (sent with
 *   {@link VARIANT_TAGS}), its source's account (`account-tag`) and bot flag (`message-tags`).
 * @param variant The variant bits.
 * @param extra Other tags, sent whatever the variant.
 * @returns The tags.
 *
 * @example A history line in a batch, for a client with both capabilities
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventTags, VARIANT_OF_CAPABILITY, VARIANT_TAGS, VARIANT_TIME } from "./encode.ts";
 *
 * const tags = eventTags({ time: 0, msgid: "m1" }, VARIANT_TIME | VARIANT_TAGS, { batch: "h1" });
 * assert.deepEqual(Object.keys(tags), ["batch", "time", "msgid"]);
 * const typing = { time: 0, msgid: "m1", clientTags: { "+typing": "active" } };
 * assert.deepEqual(eventTags(typing, 0), {});
 * const bot = { time: 0, msgid: "m1", account: "ann", bot: true };
 * const all = VARIANT_TAGS | VARIANT_OF_CAPABILITY["account-tag"];
 * assert.deepEqual(eventTags(bot, all), { msgid: "m1", account: "ann", bot: "" });
 * ```
 */
export function eventTags(
  fields: TaggedFields,
  variant: number,
  extra?: Record<string, string>,
): Record<string, string> {
  const tags: Record<string, string> = { ...extra };
  if (variant & VARIANT_TIME) tags.time = new Date(fields.time).toISOString();
  if (variant & VARIANT_TAGS) tags.msgid = fields.msgid;
  if (variant & ACCOUNT_TAG && fields.account !== undefined) tags.account = fields.account;
  if (variant & VARIANT_TAGS) {
    if (fields.bot) tags.bot = "";
    if (fields.clientTags) Object.assign(tags, fields.clientTags);
  }
  return tags;
}

/**
 * Encodes a line with its CR LF.
 *
 * @param message The message.
 * @returns The bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeLine } from "./encode.ts";
 *
 * const bytes = encodeLine({ command: "PING", params: ["irc.test"] });
 * assert.equal(new TextDecoder().decode(bytes), "PING irc.test\r\n");
 * ```
 */
export function encodeLine(message: Parameters<typeof formatMessage>[0]): Uint8Array {
  return encoder.encode(`${formatMessage(message)}\r\n`);
}

/**
 * The bytes of an event for one variant, encoded on first use and cached on the event (once
 * for all the variants that differ only in bits this kind of event does not depend on).
 * TAGMSG carries nothing but tags: for a variant without {@link VARIANT_TAGS} it is no bytes;
 * AWAY, ACCOUNT, SETNAME, CHGHOST and REDACT are no bytes without their capability.
 *
 * @param event The event.
 * @param variant The recipient's variant bits.
 * @returns The shared bytes.
 *
 * @example One encoding per variant, shared; a TAGMSG is nothing without message-tags
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent } from "../chat/chat_event.ts";
 * import { encodeEvent, VARIANT_TAGS } from "./encode.ts";
 *
 * const event = createEvent({ kind: "privmsg", source: "ann!a@h", target: "#lobby", text: "hi" });
 * const plain = encodeEvent(event, 0);
 * assert.equal(new TextDecoder().decode(plain), ":ann!a@h PRIVMSG #lobby :hi\r\n");
 * assert.equal(encodeEvent(event, 0), plain);
 * const tagged = new TextDecoder().decode(encodeEvent(event, VARIANT_TAGS));
 * assert.equal(tagged, `@msgid=${event.msgid} :ann!a@h PRIVMSG #lobby :hi\r\n`);
 * const typing = createEvent({
 *   kind: "tagmsg",
 *   source: "ann!a@h",
 *   target: "#lobby",
 *   text: "",
 *   clientTags: { "+typing": "active" },
 * });
 * assert.equal(encodeEvent(typing, 0).length, 0);
 * ```
 */
export function encodeEvent(event: ChatEvent, variant: number): Uint8Array {
  const bits = variant &
    (COMMON_BITS | (event.kind === "join" ? EXTENDED_JOIN : NEEDS[event.kind] ?? 0));
  let bytes = event.encoded[bits];
  if (bytes === undefined) {
    bytes = encodeTagged(event, bits);
    event.encoded[bits] = bytes;
  }
  return bytes;
}

/**
 * The bytes of an event for one variant with more tags, such as the `label` of a response
 * (IRCv3 labeled-response) or its `batch`; encoded afresh, never cached.
 *
 * @param event The event.
 * @param variant The recipient's variant bits.
 * @param extra Tags put first.
 * @returns The bytes; none when the variant does not see this event.
 *
 * @example The echo of a labeled PRIVMSG
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent } from "../chat/chat_event.ts";
 * import { encodeTagged } from "./encode.ts";
 *
 * const event = createEvent({ kind: "privmsg", source: "ann!a@h", target: "bob", text: "hi" });
 * const line = new TextDecoder().decode(encodeTagged(event, 0, { label: "l1" }));
 * assert.equal(line, "@label=l1 :ann!a@h PRIVMSG bob :hi\r\n");
 * ```
 */
export function encodeTagged(
  event: ChatEvent,
  variant: number,
  extra?: Record<string, string>,
): Uint8Array {
  const needs = NEEDS[event.kind];
  if (needs !== undefined && !(variant & needs)) return NOTHING;
  const message = eventMessage(event, variant);
  message.tags = eventTags(event, variant, extra);
  return encodeLine(message);
}
