/**
 * What others (and the account's other devices) say: PRIVMSG and NOTICE shown in their
 * conversation, live or from history, as a reply when they answer a message, marked when
 * they name us; TAGMSG for reactions and typing; REDACT for deletions. An echo of a line typed here settles it in
 * the outbox instead.
 *
 * @module
 */
import { isChannelName } from "../../chat/names.ts";
import { actionText, isCtcp } from "../../irc/ctcp.ts";
import { type IrcMessage, nickOf } from "../../irc/message.ts";
import type { Conversation, Conversations } from "./_conversations.ts";
import type { History } from "./_history.ts";
import type { Outbox } from "./_outbox.ts";
import type { Reactions } from "./_reactions.ts";
import type { Redactions } from "./_redactions.ts";
import { mentions } from "./_text.ts";
import type { Typing } from "./_typing.ts";

/** What the incoming messages need from the client. */
export interface IncomingParts {
  conversations: Conversations;
  history: History;
  outbox: Outbox;
  reactions: Reactions;
  redactions: Redactions;
  typing: Typing;
  /** Our nick now. */
  nick(): string;
  /** Whether registration is complete on this connection. */
  registered(): boolean;
  /** A live message names us while its conversation is not read. */
  mentioned(conversation: Conversation, nick: string, text: string): void;
}

/** The handler of chat messages and tags from the server. */
export class Incoming {
  readonly #parts: IncomingParts;

  /**
   * Handles what arrives for the page's conversations.
   *
   * @param parts The client's parts.
   */
  constructor(parts: IncomingParts) {
    this.#parts = parts;
  }

  /**
   * A PRIVMSG or NOTICE.
   *
   * @param m The line.
   * @param self Whether it comes from our nick (this device's echo, or another device's).
   */
  chat(m: IrcMessage, self: boolean): void {
    const { conversations, history, outbox } = this.#parts;
    const from = nickOf(m.source);
    const target = m.params[0];
    let text = m.params[1] ?? "";
    const time = m.tags.time ? new Date(m.tags.time) : new Date();
    const old = history.inBatch(m);
    if (old) history.collect(m, from);
    if (
      self && !old && m.command === "PRIVMSG" &&
      outbox.confirmEcho(target, text, m.tags.msgid, time)
    ) return;
    if (!m.source || (from.includes(".") && !isChannelName(target) && !this.#parts.registered())) {
      conversations.system(undefined, text);
      return;
    }
    const conversation = this.#conversationOf(target, from, self);
    this.#parts.typing.stopped(conversation, from);
    let cls = old ? "history" : "";
    const action = actionText(text);
    if (action !== undefined) {
      text = action;
      cls += " action";
    } else if (isCtcp(text)) {
      return;
    }
    if (m.command === "NOTICE") cls += " notice";
    const mention = !self && (conversation.kind === "query" || mentions(text, this.#parts.nick()));
    const id = m.tags.msgid || (old ? `${time.getTime()}${from}${text}` : "");
    const li = conversations.addMessage(conversation, id, {
      time,
      msgid: m.tags.msgid,
      nick: from,
      text,
      cls,
      quiet: old,
      self,
      mention,
      replyTo: m.tags["+draft/reply"],
      after: old ? history.previous(m) : undefined,
    });
    if (old) history.follow(m, li ?? conversations.find(conversation, m.tags.msgid));
    if (!li) return;
    this.#parts.reactions.render(conversation, li);
    this.#parts.redactions.render(conversation, li);
    if (mention && !old && li.classList.contains("unseen")) {
      this.#parts.mentioned(conversation, from, text);
    }
  }

  /**
   * A TAGMSG: a reaction (live or from history) or a typing notification (live only).
   *
   * @param m The line.
   * @param self Whether it comes from our nick.
   */
  tags(m: IrcMessage, self: boolean): void {
    const from = nickOf(m.source);
    const target = m.params[0];
    if (!target) return;
    const old = this.#parts.history.inBatch(m);
    if (old) this.#parts.history.collect(m, from);
    const react = m.tags["+draft/react"];
    const parent = m.tags["+draft/reply"];
    if (react && parent) {
      this.#parts.reactions.add(this.#conversationOf(target, from, self), parent, react, from);
    }
    const typing = m.tags["+typing"];
    if (typing && !old && !self) {
      this.#parts.typing.received(this.#conversationOf(target, from, self), from, typing);
    }
  }

  /**
   * A REDACT: a message deleted (live, or in history after its placeholder).
   *
   * @param m The line.
   * @param self Whether it comes from our nick.
   */
  redact(m: IrcMessage, self: boolean): void {
    const target = m.params[0];
    if (!target) return;
    const from = nickOf(m.source);
    // A deletion in a conversation not open concerns nothing shown: it opens none.
    const name = isChannelName(target) || self ? target : from;
    const conversation = this.#parts.conversations.get(name);
    if (conversation) this.#parts.redactions.received(conversation, m);
  }

  /** The conversation a message or tag belongs to: the channel, or the other person. */
  #conversationOf(target: string, from: string, self: boolean): Conversation {
    const name = isChannelName(target) || self ? target : from;
    return this.#parts.conversations.open(name, isChannelName(name) ? "channel" : "query");
  }
}
