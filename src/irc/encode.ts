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
 * assert.deepEqual(eventTags(0, "m1", VARIANT_TIME), { time: "1970-01-01T00:00:00.000Z" });
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
 * assert.deepEqual(eventTags(0, "m1", VARIANT_TAGS, { "+typing": "active" }), {
 *   msgid: "m1",
 *   "+typing": "active",
 * });
 * ```
 */
export const VARIANT_TAGS = 2;

const encoder = new TextEncoder();
const NOTHING = new Uint8Array(0);
/** Events whose last parameter is a name or a mode, written with a colon only when needed. */
const TRAILING_OPTIONAL = new Set<ChatEvent["kind"]>(["join", "nick", "tagmsg", "mode", "invite"]);

/**
 * The IRC message for an event, without tags.
 *
 * @param event The event.
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
 * const join = createEvent({ kind: "join", source: "ann!a@h", target: "#lobby", text: "" });
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
 * ```
 */
export function eventMessage(event: ChatEvent): IrcMessage & { trailing: boolean } {
  const params = (() => {
    switch (event.kind) {
      case "privmsg":
      case "notice":
      case "topic":
        return [event.target, event.text];
      case "join":
      case "tagmsg":
        return [event.target];
      case "part":
        return event.text === "" ? [event.target] : [event.target, event.text];
      case "quit":
      case "wallops":
        return [event.text];
      case "nick":
        return [event.target];
      case "kick":
        return [event.target, event.victim ?? "", event.text];
      case "mode":
        return [event.target, ...event.text.split(" ")];
      case "invite":
        return [event.victim ?? "", event.target];
    }
  })();
  const trailing = !TRAILING_OPTIONAL.has(event.kind);
  return { tags: {}, source: event.source, command: event.kind.toUpperCase(), params, trailing };
}

/**
 * The tags an event carries for a variant, with `extra` (such as `batch`) first.
 *
 * @param time When the event happened, ms since the epoch.
 * @param msgid Its id.
 * @param variant The variant bits.
 * @param clientTags Client-only tags, sent with {@link VARIANT_TAGS}.
 * @param extra Other tags, sent whatever the variant.
 * @returns The tags.
 *
 * @example A history line in a batch, for a client with both capabilities
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventTags, VARIANT_TAGS, VARIANT_TIME } from "./encode.ts";
 *
 * const tags = eventTags(0, "m1", VARIANT_TIME | VARIANT_TAGS, undefined, { batch: "h1" });
 * assert.deepEqual(Object.keys(tags), ["batch", "time", "msgid"]);
 * assert.deepEqual(eventTags(0, "m1", 0, { "+typing": "active" }), {});
 * ```
 */
export function eventTags(
  time: number,
  msgid: string,
  variant: number,
  clientTags?: Readonly<Record<string, string>>,
  extra?: Record<string, string>,
): Record<string, string> {
  const tags: Record<string, string> = { ...extra };
  if (variant & VARIANT_TIME) tags.time = new Date(time).toISOString();
  if (variant & VARIANT_TAGS) {
    tags.msgid = msgid;
    if (clientTags) Object.assign(tags, clientTags);
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
 * The bytes of an event for one variant, encoded on first use and cached on the event.
 * TAGMSG carries nothing but tags: for a variant without {@link VARIANT_TAGS} it is no bytes.
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
  let bytes = event.encoded[variant];
  if (bytes === undefined) {
    if (event.kind === "tagmsg" && !(variant & VARIANT_TAGS)) return NOTHING;
    const message = eventMessage(event);
    message.tags = eventTags(event.time, event.msgid, variant, event.clientTags);
    bytes = encodeLine(message);
    event.encoded[variant] = bytes;
  }
  return bytes;
}
