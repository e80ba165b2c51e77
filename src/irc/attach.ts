/**
 * What a connection is shown when it joins a user who is already present (multiclient: it
 * logged in to an account connected on another device, or to an always-on account): after
 * the welcome, each of the user's channels as if it had just joined it — JOIN, topic, read
 * marker, NAMES — and, when the user had no device at all and this one cannot ask for history
 * (no `draft/chathistory`), a replay of what it missed. A client with chathistory asks for it
 * itself (from its read markers).
 *
 * @module
 */
import { createEvent } from "../chat/chat_event.ts";
import { maskOf } from "../chat/member.ts";
import { replayMissed } from "./chathistory.ts";
import { sendJoinReplies } from "./commands/channels.ts";
import type { IrcSession } from "./session.ts";

/**
 * Shows a new device of a present user the user's channels, then what it missed.
 *
 * @param session The device, just registered as one more device of its member.
 * @param missedSince Since when the user had had no device, if it had none (ms since the
 *   epoch); undefined when another device was connected.
 *
 * @example A second connection is put in the channel the first one joined
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatHub } from "../chat/hub.ts";
 * import { Presence } from "../chat/presence.ts";
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * import { IrcSession } from "./session.ts";
 * import { attachBurst } from "./attach.ts";
 *
 * const hub = new ChatHub();
 * const ann = new Presence({ nick: "ann", user: "ann", host: "h", realname: "Ann", account: "ann" });
 * ann.alwaysOn = true; // so that it stays when the connection below ends
 * hub.add(ann);
 * hub.join(ann, "#team");
 * let output = "";
 * const connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {
 *     for (const line of ["NICK ann", "USER ann 0 * :Ann"]) yield new TextEncoder().encode(line);
 *   },
 *   write(chunks: Uint8Array[]) {
 *     for (const chunk of chunks) output += new TextDecoder().decode(chunk);
 *     return Promise.resolve();
 *   },
 *   close() {},
 * };
 * const session = new IrcSession(connection, {
 *   hub,
 *   flusher: hub.flusher,
 *   limits: DEFAULT_LIMITS,
 *   serverName: "irc.test",
 *   version: "0.1.0",
 *   createdAt: Date.now(),
 *   motd: [],
 *   counters: { sendQDrops: 0 },
 * }, () => {});
 * session.logIn("ann"); // as SASL does before registration
 * await session.run(); // registers as a device of ann's presence, then the lines end
 * const lines = output.split("\r\n");
 * const join = lines.indexOf(":ann!ann@h JOIN #team");
 * assert.ok(join > lines.findIndex((line) => line.includes(" 001 ann ")));
 * assert.equal(lines[join + 1], ":irc.test 353 ann = #team :@ann", "its creator is its operator");
 * assert.equal(hub.find("ann"), ann, "an always-on presence stays when its device leaves");
 * ```
 */
export function attachBurst(session: IrcSession, missedSince: number | undefined): void {
  const { hub } = session.context;
  const member = session.member;
  for (const key of member.channels) {
    const channel = hub.channels.get(key);
    if (channel === undefined) continue;
    session.replyEvent(createEvent({
      kind: "join",
      source: maskOf(member),
      target: channel.name,
      text: member.realname,
      account: member.account,
      bot: member.bot || undefined,
    }));
    sendJoinReplies(session, channel);
  }
  if (missedSince !== undefined && !session.hasCap("draft/chathistory")) {
    replayMissed(session, missedSince);
  }
}
