/**
 * The room protocol between `shmooze local` and a bridging server: what the bridge's
 * participant (`irc`) writes into a shared-memory room, and what local participants write to
 * reach the network. Both sides use these functions, so the wire format has one home.
 *
 * - The network in the room: `irc` says `<bob> hello` (`* bob waves` for /me, `-bob- hi` for
 *   a notice, `* bob joined #lobby` …); `shmooze local` shows it as `<bob@irc> hello`
 *   ({@link relayedMessage}).
 * - A local participant to one network user: a private message to `irc` whose text is
 *   `NICK TEXT` ({@link toNetworkUser}, read back by {@link fromLocalUser}).
 * - A local participant on the network: its name made a nick and marked, `ann|local`
 *   ({@link localNick}).
 *
 * @module
 */
import type { ChatEvent } from "../chat/chat_event.ts";
import { LOCAL_SUFFIX, toNick } from "../chat/names.ts";
import { splitWords } from "../chat/split_text.ts";
import { MAX_MESSAGE_BYTES, type RoomEvent } from "../ipc/room.ts";
import { actionText, isCtcp } from "../irc/ctcp.ts";

/**
 * The bridge's name in the room.
 *
 * @example What the bridge relays comes from this name
 * ```ts
 * import assert from "node:assert/strict";
 * import { BRIDGE_NAME, relayedMessage } from "./room_protocol.ts";
 *
 * assert.equal(BRIDGE_NAME, "irc");
 * const from = { id: 1, name: BRIDGE_NAME };
 * assert.equal(relayedMessage({ from, text: "<bob> hi" })?.sender, "bob@irc");
 * ```
 */
export const BRIDGE_NAME = "irc";

const RELAYED = /^<([^\s>]+)> ([\s\S]*)$/;
const PRIVATE = /^(\S+)\s+([\s\S]+)$/;
const BRIDGE_MARK = new RegExp(`@${BRIDGE_NAME}$`);
const encoder = new TextEncoder();

/**
 * The network nick of a local participant: its name with characters IRC does not allow
 * in a nick made `_`, cut so the mark fits in NICKLEN, then the mark `|local` (`|local2`,
 * `|local3` … when that nick is taken).
 *
 * @param name The participant's name in the room.
 * @param nickLength The longest nick.
 * @param free Whether a nick may be taken.
 * @returns The nick, or undefined when `|local` to `|local99` are all taken.
 *
 * @example Marked, made a valid nick, cut to fit, numbered when taken
 * ```ts
 * import assert from "node:assert/strict";
 * import { localNick } from "./room_protocol.ts";
 *
 * assert.equal(localNick("ann", 32, () => true), "ann|local");
 * assert.equal(localNick("2.éa", 32, () => true), "_2__a|local");
 * assert.equal(localNick("annabelle", 9, () => true), "ann|local");
 * assert.equal(localNick("ann", 32, (nick) => nick !== "ann|local"), "ann|local2");
 * assert.equal(localNick("ann", 32, () => false), undefined);
 * ```
 */
export function localNick(
  name: string,
  nickLength: number,
  free: (nick: string) => boolean,
): string | undefined {
  const base = toNick(name);
  for (let n = 1; n < 100; n++) {
    const mark = n === 1 ? LOCAL_SUFFIX : `${LOCAL_SUFFIX}${n}`;
    const nick = base.slice(0, nickLength - mark.length) + mark;
    if (free(nick)) return nick;
  }
  return undefined;
}

/**
 * Who really said a room message the bridge relayed: `<bob> hi` from `irc` is bob's, shown
 * as `bob@irc`. For `shmooze local`'s display.
 *
 * @param event A room message.
 * @returns The network sender and the text, or undefined when it is not a relayed message.
 *
 * @example Only the bridge's `<nick> text` lines are relayed messages
 * ```ts
 * import assert from "node:assert/strict";
 * import { relayedMessage } from "./room_protocol.ts";
 *
 * const irc = { id: 1, name: "irc" };
 * assert.deepEqual(relayedMessage({ from: irc, text: "<bob> hi" }), {
 *   sender: "bob@irc",
 *   text: "hi",
 * });
 * assert.equal(relayedMessage({ from: irc, text: "* bob joined #lobby" }), undefined);
 * assert.equal(relayedMessage({ from: { id: 2, name: "ann" }, text: "<bob> hi" }), undefined);
 * ```
 */
export function relayedMessage(
  event: Pick<RoomEvent, "from" | "text">,
): { sender: string; text: string } | undefined {
  if (event.from.name !== BRIDGE_NAME) return undefined;
  const match = RELAYED.exec(event.text);
  return match ? { sender: `${match[1]}@${BRIDGE_NAME}`, text: match[2] } : undefined;
}

/**
 * The room messages that carry `text` from a local participant to the network user `nick`:
 * `NICK TEXT` sent privately to the bridge, split to fit a room message.
 *
 * @param nick The network user's nick.
 * @param text What to say.
 * @returns The messages to send to {@link BRIDGE_NAME}, in order.
 *
 * @example One message, or several that each fit a room message
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_MESSAGE_BYTES } from "../ipc/room.ts";
 * import { toNetworkUser } from "./room_protocol.ts";
 *
 * assert.deepEqual(toNetworkUser("bob", "hi"), ["bob hi"]);
 * const long = toNetworkUser("bob", "word ".repeat(400));
 * assert.equal(long.length, 2);
 * for (const message of long) {
 *   assert.ok(message.startsWith("bob "));
 *   assert.ok(new TextEncoder().encode(message).length <= MAX_MESSAGE_BYTES);
 * }
 * ```
 */
export function toNetworkUser(nick: string, text: string): string[] {
  const limit = MAX_MESSAGE_BYTES - encoder.encode(`${nick} `).length;
  return splitWords(text, limit).map((piece) => `${nick} ${piece}`);
}

/**
 * Reads what a local participant sent the bridge privately: the network user it is for and
 * the text (`bob hi`; `bob@irc hi`, as `shmooze local` shows network users, works too).
 *
 * @param text The private room message to the bridge.
 * @returns The nick and the text, or undefined when it is not `NICK TEXT`.
 *
 * @example `NICK TEXT`, the nick as the room shows it or bare
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromLocalUser } from "./room_protocol.ts";
 *
 * assert.deepEqual(fromLocalUser("bob@irc hi there"), { nick: "bob", text: "hi there" });
 * assert.deepEqual(fromLocalUser("bob hi"), { nick: "bob", text: "hi" });
 * assert.equal(fromLocalUser("hello"), undefined);
 * ```
 */
export function fromLocalUser(text: string): { nick: string; text: string } | undefined {
  const match = PRIVATE.exec(text);
  return match ? { nick: match[1].replace(BRIDGE_MARK, ""), text: match[2] } : undefined;
}

/**
 * A chat message as the room shows it, or undefined for a CTCP request it cannot use.
 *
 * @param kind `privmsg` or `notice`.
 * @param nick Who said it.
 * @param text What was said.
 * @returns The room's text.
 *
 * @example A message, an action, a notice, and a CTCP request the room cannot use
 * ```ts
 * import assert from "node:assert/strict";
 * import { chatText } from "./room_protocol.ts";
 *
 * assert.equal(chatText("privmsg", "bob", "hello"), "<bob> hello");
 * assert.equal(chatText("privmsg", "bob", "\x01ACTION waves\x01"), "* bob waves");
 * assert.equal(chatText("notice", "bob", "hi"), "-bob- hi");
 * assert.equal(chatText("privmsg", "bob", "\x01VERSION\x01"), undefined);
 * ```
 */
export function chatText(
  kind: "privmsg" | "notice",
  nick: string,
  text: string,
): string | undefined {
  const action = actionText(text);
  if (kind === "privmsg" && action !== undefined) return `* ${nick} ${action}`;
  if (isCtcp(text)) return undefined;
  return kind === "privmsg" ? `<${nick}> ${text}` : `-${nick}- ${text}`;
}

/**
 * A channel event as the room shows it, or undefined for one it does not show.
 *
 * @param event The event.
 * @param nick Who did it.
 * @returns The room's text.
 *
 * @example A join, a quit and a mode change as the room shows them; a TAGMSG is not shown
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent } from "../chat/chat_event.ts";
 * import { eventText } from "./room_protocol.ts";
 *
 * const source = "bob!b@h";
 * const join = createEvent({ kind: "join", source, target: "#lobby", text: "" });
 * assert.equal(eventText(join, "bob"), "* bob joined #lobby");
 * const quit = createEvent({ kind: "quit", source, target: "", text: "gone" });
 * assert.equal(eventText(quit, "bob"), "* bob quit (gone)");
 * const tagmsg = createEvent({ kind: "tagmsg", source, target: "#lobby", text: "" });
 * assert.equal(eventText(tagmsg, "bob"), undefined);
 * const mode = createEvent({ kind: "mode", source, target: "#lobby", text: "+o ann|local" });
 * assert.equal(eventText(mode, "bob"), "* bob set mode +o ann|local on #lobby");
 * ```
 */
export function eventText(event: ChatEvent, nick: string): string | undefined {
  const reason = event.text === "" ? "" : ` (${event.text})`;
  switch (event.kind) {
    case "privmsg":
    case "notice":
      return chatText(event.kind, nick, event.text);
    case "join":
      return `* ${nick} joined ${event.target}`;
    case "part":
      return `* ${nick} left ${event.target}${reason}`;
    case "quit":
      return `* ${nick} quit${reason}`;
    case "nick":
      return `* ${nick} is now known as ${event.target}`;
    case "topic":
      return `* ${nick} set the topic of ${event.target}: ${event.text}`;
    case "kick":
      return `* ${event.victim} was kicked from ${event.target} by ${nick}${reason}`;
    case "mode":
      return `* ${nick} set mode ${event.text} on ${event.target}`;
    case "invite":
      return `* ${nick} invited ${event.victim} to ${event.target}`;
    case "tagmsg":
    case "wallops":
    case "away":
    case "account":
    case "setname":
    case "chghost":
    case "redact":
      return undefined;
  }
}
