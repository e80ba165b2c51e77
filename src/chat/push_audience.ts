/**
 * Whom a stored message is pushed to (Web Push, IRCv3 `draft/webpush`): the accounts it
 * concerns that have no device to show it on. A private message concerns its recipient's
 * account; a channel message concerns each account it mentions by name or nick, among the
 * account's channels — those it is in, and the registered channels whose founder it is or
 * whose access list names it (they may always join and read them). Only PRIVMSG and NOTICE
 * count (a CTCP request does not, `/me` does), and never to the sender's own account.
 *
 * @module
 */
import { foldCase } from "./casemap.ts";
import type { Channel } from "./channel.ts";
import { isChannelName } from "./names.ts";
import type { ChatHub, StoredMessage } from "./hub.ts";

/** An account to push a message to, and why. */
export interface PushRecipient {
  /** The account, as it spells itself. */
  readonly account: string;
  /** A private message to it, or a mention of it in a channel. */
  readonly reason: "private" | "mention";
}

/** The characters of a nick: what a mention is cut out of. */
const WORD = /[A-Za-z0-9[\]\\`_^{|}-]+/g;

/**
 * Whether an account has a device that shows its messages, so pushing them would only
 * repeat them: whether a connection is logged in to it (an always-on user with none connected
 * has no device; a member that is not a network client counts as one).
 *
 * @param hub The chat.
 * @param account The account.
 * @returns True when one is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatHub } from "./hub.ts";
 * import { hasActiveDevice } from "./push_audience.ts";
 *
 * const hub = new ChatHub();
 * hub.add({
 *   nick: "annie", user: "a", host: "h", realname: "Ann", transport: "tcp", account: "Ann",
 *   channels: new Set(), echo: false, deliver() {}, disconnect() {},
 * });
 * assert.ok(hasActiveDevice(hub, "ann"));
 * assert.ok(!hasActiveDevice(hub, "bob"));
 * ```
 */
export function hasActiveDevice(hub: ChatHub, account: string): boolean {
  const key = foldCase(account);
  for (const member of hub.members.values()) {
    if (member.account === undefined || foldCase(member.account) !== key) continue;
    // An always-on user with no device connected is not reading: it is pushed to.
    if (member.devices === undefined || member.devices.size > 0) return true;
  }
  return false;
}

/**
 * The accounts a stored message should be pushed to.
 *
 * @param hub The chat.
 * @param message The stored message and the accounts of its ends.
 * @param subscribed Whether an account has push subscriptions (any case).
 * @param active Whether an account has a device. @default {hasActiveDevice}
 * @returns The accounts, each once.
 *
 * @example A mention of the founder of a registered channel, who is not connected
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent } from "./chat_event.ts";
 * import { ChatHub } from "./hub.ts";
 * import { pushAudience } from "./push_audience.ts";
 *
 * const hub = new ChatHub();
 * hub.channel("#lobby")!.registration = { founder: "Ann", registeredAt: 0 };
 * const said = (text: string) => ({
 *   event: createEvent({ kind: "privmsg", source: "bob!b@h", target: "#lobby", text }),
 *   senderAccount: "bob",
 * });
 * const subscribed = (account: string) => account.toLowerCase() === "ann";
 * assert.deepEqual(pushAudience(hub, said("ann: lunch?"), subscribed), [
 *   { account: "Ann", reason: "mention" },
 * ]);
 * assert.deepEqual(pushAudience(hub, said("annual report"), subscribed), []);
 * assert.deepEqual(pushAudience(hub, said("\x01VERSION ann\x01"), subscribed), []);
 * ```
 */
export function pushAudience(
  hub: ChatHub,
  message: StoredMessage,
  subscribed: (account: string) => boolean,
  active: (hub: ChatHub, account: string) => boolean = hasActiveDevice,
): PushRecipient[] {
  const { event, senderAccount, targetAccount } = message;
  if (event.kind !== "privmsg" && event.kind !== "notice") return [];
  // A CTCP request is for the client, not its user; an ACTION (/me) is said to people.
  if (event.text.startsWith("\x01") && !event.text.startsWith("\x01ACTION ")) return [];
  const sender = senderAccount === undefined ? undefined : foldCase(senderAccount);
  const wanted = (account: string) =>
    foldCase(account) !== sender && subscribed(account) && !active(hub, account);
  if (!isChannelName(event.target)) {
    return targetAccount !== undefined && wanted(targetAccount)
      ? [{ account: targetAccount, reason: "private" }]
      : [];
  }
  const channel = hub.channel(event.target);
  if (channel === undefined) return [];
  const found = new Map<string, PushRecipient>();
  for (const [word] of event.text.matchAll(WORD)) {
    // The word may be an account's name, or the nick of a member logged in to an account.
    for (const account of [word, hub.find(word)?.account]) {
      // Subscribed first: one map look-up, so most words cost nothing more.
      if (account === undefined || !subscribed(account) || found.has(foldCase(account))) continue;
      const name = accountOf(channel, account);
      if (name !== undefined && wanted(name)) {
        found.set(foldCase(account), { account: name, reason: "mention" });
      }
    }
  }
  return [...found.values()];
}

/** The account as the channel knows it, if the channel is one of its channels. */
function accountOf(channel: Channel, account: string): string | undefined {
  const key = foldCase(account);
  const founder = channel.registration?.founder;
  if (founder !== undefined && foldCase(founder) === key) return founder;
  const entry = channel.access.get(key);
  if (entry !== undefined) return entry.account;
  for (const member of channel.members) {
    if (member.account !== undefined && foldCase(member.account) === key) return member.account;
  }
  return undefined;
}
