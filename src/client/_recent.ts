/**
 * The messages the client has shown lately, per conversation: what a reply or a reaction
 * points at (by msgid), what `/reply 2` or `/reply bob` means, and up to which message
 * `/markread` marks a conversation read.
 *
 * @module
 */
import { foldCase } from "../chat/casemap.ts";

/** One message as shown. */
export interface ShownMessage {
  /** The conversation: a channel, or the other person's nick for a private message. */
  conversation: string;
  /** The sender's nick. */
  nick: string;
  /** The text (an action's text for /me). */
  text: string;
  /** The server's time (the `time` tag, as sent), else the time it arrived. */
  time: string;
  /** The server's id for it (the `msgid` tag), when it gave one. */
  msgid?: string;
}

/** How many messages are kept per conversation. */
const PER_CONVERSATION = 200;
/** How many conversations are kept: those with the most recent messages. */
const CONVERSATIONS = 500;

/**
 * Recent messages, oldest first within each conversation (history that arrives later is put
 * in time order), bounded: the last 200 of each conversation, the 500 conversations active
 * last.
 *
 * @example Find what a reply answers, and what "/reply 2" and "/reply bob" mean
 * ```ts
 * import assert from "node:assert/strict";
 * import { RecentMessages } from "./_recent.ts";
 *
 * const recent = new RecentMessages();
 * const at = (s: number) => `2026-01-01T00:00:0${s}.000Z`;
 * recent.add({ conversation: "#lobby", nick: "bob", text: "lunch?", time: at(1), msgid: "a" });
 * recent.add({ conversation: "#lobby", nick: "cy", text: "yes", time: at(2), msgid: "b" });
 * recent.add({ conversation: "cy", nick: "cy", text: "psst", time: at(3), msgid: "c" });
 * assert.equal(recent.byId("a")?.text, "lunch?");
 * assert.equal(recent.pick("#LOBBY", 2)?.msgid, "a");
 * assert.equal(recent.pick("#lobby", 3), undefined);
 * assert.equal(recent.lastFrom("BOB")?.msgid, "a");
 * assert.equal(recent.lastFrom("cy")?.msgid, "c");
 * assert.equal(recent.last("#lobby")?.time, at(2));
 * // 500 newer conversations: #lobby and cy, the stalest, are forgotten.
 * for (let i = 0; i < 500; i++) {
 *   recent.add({ conversation: `n${i}`, nick: `n${i}`, text: "hi", time: at(4) });
 * }
 * assert.equal(recent.byId("a"), undefined);
 * assert.equal(recent.last("cy"), undefined);
 * assert.equal(recent.last("n0")?.text, "hi");
 * ```
 */
export class RecentMessages {
  #byConversation = new Map<string, ShownMessage[]>();
  #byId = new Map<string, ShownMessage>();

  /**
   * Remembers a message, dropping the oldest of its conversation past the bound.
   *
   * @param message The message.
   */
  add(message: ShownMessage): void {
    const key = foldCase(message.conversation);
    const list = this.#byConversation.get(key) ?? [];
    // Set again, so the map's order is that of the latest activity: the first is the stalest.
    this.#byConversation.delete(key);
    this.#byConversation.set(key, list);
    let at = list.length;
    while (at > 0 && list[at - 1].time > message.time) at--;
    list.splice(at, 0, message);
    if (message.msgid !== undefined) this.#byId.set(message.msgid, message);
    if (list.length > PER_CONVERSATION) this.#forget(list.shift()!);
    if (this.#byConversation.size > CONVERSATIONS) {
      const [stalest, dropped] = this.#byConversation.entries().next().value!;
      this.#byConversation.delete(stalest);
      for (const old of dropped) this.#forget(old);
    }
  }

  #forget(message: ShownMessage): void {
    if (message.msgid !== undefined && this.#byId.get(message.msgid) === message) {
      this.#byId.delete(message.msgid);
    }
  }

  /**
   * The message with this msgid, if it is still kept.
   *
   * @param msgid The id.
   * @returns The message, or undefined.
   */
  byId(msgid: string): ShownMessage | undefined {
    return this.#byId.get(msgid);
  }

  /**
   * The `n`th newest message of a conversation (1 = the last).
   *
   * @param conversation The conversation.
   * @param n How far back.
   * @returns The message, or undefined when there is none such.
   */
  pick(conversation: string, n: number): ShownMessage | undefined {
    const list = this.#byConversation.get(foldCase(conversation)) ?? [];
    return n >= 1 ? list[list.length - n] : undefined;
  }

  /**
   * The newest message a nick sent anywhere: in a channel, or privately.
   *
   * @param nick The nick.
   * @returns The message, or undefined.
   */
  lastFrom(nick: string): ShownMessage | undefined {
    const folded = foldCase(nick);
    let found: ShownMessage | undefined;
    for (const list of this.#byConversation.values()) {
      const candidate = list.findLast((message) => foldCase(message.nick) === folded);
      if (candidate && (!found || candidate.time > found.time)) found = candidate;
    }
    return found;
  }

  /**
   * The newest message of a conversation.
   *
   * @param conversation The conversation.
   * @returns The message, or undefined when none was shown.
   */
  last(conversation: string): ShownMessage | undefined {
    return this.#byConversation.get(foldCase(conversation))?.at(-1);
  }

  /** The conversations with a message shown, each with its newest message. */
  *latest(): IterableIterator<ShownMessage> {
    for (const list of this.#byConversation.values()) {
      const newest = list.at(-1);
      if (newest) yield newest;
    }
  }
}
