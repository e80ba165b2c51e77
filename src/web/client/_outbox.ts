/**
 * The lines the user typed, from the moment they are shown until the server has them. What
 * the page says about a line is true: each shows its state at once (`data-state` on its list
 * item) and changes it only on evidence from the server.
 *
 * | State         | Meaning                                                                  |
 * | ------------- | ------------------------------------------------------------------------ |
 * | `queued`      | waiting for a connection, or for its channel to be joined                |
 * | `sending`     | sent; waiting for the server's echo (echo-message)                       |
 * | `checking`    | the connection dropped before the echo: looked for in history            |
 * | `sent`        | echoed, or found in the channel's history                                |
 * | `failed`      | no echo before the barrier PING's PONG: the server refused it            |
 * | `unconfirmed` | dropped in flight and not decidable from history: the user decides       |
 *
 * A `PING` after each burst of lines marks where the server's answers end, because the server
 * answers in order. After a reconnect, a line that was `checking` is looked for in its
 * conversation's `CHATHISTORY LATEST` (a private chat's needs an account), after the newest message the page had shown when it sent
 * the line, from the nick it had then: found, it is `sent`; not found while that anchor is in
 * the history, it never arrived and is queued again, once.
 *
 * @module
 */
import { action as ctcpAction, ACTION_OVERHEAD } from "../../irc/ctcp.ts";
import { foldCase } from "../../chat/casemap.ts";
import { isChannelName } from "../../chat/names.ts";
import { privmsgBudget, splitWords } from "../../chat/split_text.ts";
import { formatMessage } from "../../irc/message.ts";
import type { Conversation, Conversations } from "./_conversations.ts";
import { addActions, retime } from "./_message_view.ts";

/** Where a typed line is on its way to the server. */
export type LineState = "queued" | "sending" | "checking" | "sent" | "failed" | "unconfirmed";

/** A channel message as `CHATHISTORY` returned it. */
export interface HistoryMessage {
  msgid: string;
  nick: string;
  /** The text as sent: a CTCP ACTION keeps its wrapping. */
  text: string;
}

/** What the outbox needs from the connection. */
export interface OutboxLink {
  /** Connected and registered: lines can go. */
  ready(): boolean;
  /** Whether the server granted an IRCv3 capability on this connection. */
  hasCap(name: string): boolean;
  /** The longest line the server takes and relays (ISUPPORT `LINELEN`). */
  lineLimit(): number;
  /** Sends one IRC line. */
  send(line: string): void;
}

/** What the state labels say, after the line (none once sent). */
const STATE_TEXT: Record<Exclude<LineState, "sent">, string> = {
  queued: "queued: sent when the connection is back",
  sending: "sending…",
  checking: "checking whether it arrived…",
  failed: "not sent",
  unconfirmed: "not confirmed: the connection dropped before the server answered",
};

// Until the server says our nick!user@host (in 001 or JOIN): the longest user (~ and USERLEN
// 10) and host (HOSTLEN 63) parts.
const ASSUMED_USER_HOST = `${"u".repeat(11)}@${"h".repeat(63)}`;

/** The PING token of a barrier: this prefix and the barrier's number. */
const BARRIER = "shmooze-sent-";

/** A line the user typed. */
interface Entry {
  readonly target: string;
  /** What the server relays: the text, or the text in a CTCP ACTION. */
  readonly body: string;
  /** Our nick when it was typed: its copy in history comes from that nick. */
  readonly nick: string;
  /** Its client tags: `+draft/reply` when it answers a message. */
  readonly tags: Record<string, string>;
  /** Its list item; the history's copy when that was shown first. */
  li: HTMLLIElement;
  state: LineState;
  /** The msgid shown last before it when it was sent; "" for none; null when unknowable. */
  after: string | null;
  /** The number of the barrier PING that follows it. */
  barrier: number;
}

function settled(entry: Entry): boolean {
  return entry.state === "sent" || entry.state === "failed" || entry.state === "unconfirmed";
}

/**
 * The msgid of the newest message shown before a line, which it follows in history; "" when
 * there is none (the channel's history was empty).
 */
function newestMsgid(li: HTMLLIElement): string {
  for (let node = li.previousElementSibling; node; node = node.previousElementSibling) {
    const msgid = (node as HTMLElement).dataset.msgid;
    if (msgid) return msgid;
  }
  return "";
}

/** The typed lines not settled yet, in the order they were typed. */
export class Outbox {
  readonly #conversations: Conversations;
  readonly #link: OutboxLink;
  #entries: Entry[] = [];
  #barrier = 0;
  /** Our `user@host` as the server shows it to others; "" until seen. */
  #userHost = "";

  /**
   * An empty outbox.
   *
   * @param conversations Where the lines are shown.
   * @param link The connection.
   */
  constructor(conversations: Conversations, link: OutboxLink) {
    this.#conversations = conversations;
    this.#link = link;
  }

  /**
   * Learns our `user@host` from a mask the server shows, when it is ours: the line the server
   * relays starts with it.
   *
   * @param mask A `nick!user@host`, if any.
   * @param nick Our nick.
   */
  learnUserHost(mask: string | undefined, nick: string): void {
    const match = /^([^!@\s]+)!([^!@\s]+@[^!@\s]+)$/.exec(mask ?? "");
    if (match && foldCase(match[1]) === foldCase(nick)) this.#userHost = match[2];
  }

  /**
   * Shows a line at once and sends it as soon as it can, cut between words into pieces that
   * fit the line the server relays (`LINELEN`, less our mask and the target), by the same
   * `splitWords` and `privmsgBudget` the terminal client uses.
   *
   * @param conversation Where the line goes.
   * @param text The line.
   * @param action Whether it is a `/me`.
   * @param nick Our nick now.
   * @param replyTo The msgid of the message it answers, if any.
   */
  say(
    conversation: Conversation,
    text: string,
    action: boolean,
    nick: string,
    replyTo?: string,
  ): void {
    const mask = `${nick}!${this.#userHost || ASSUMED_USER_HOST}`;
    const budget = privmsgBudget(this.#link.lineLimit(), mask, conversation.name) -
      (action ? ACTION_OVERHEAD : 0);
    this.#queue(conversation, splitWords(text, budget), action, nick, replyTo);
  }

  /**
   * Shows each piece of a line at once, queued, and sends what can be sent.
   *
   * @param conversation Where the line goes.
   * @param pieces The line, cut to fit the server's line limit.
   * @param action Whether it is a `/me`.
   * @param nick Our nick now.
   * @param replyTo The msgid of the message it answers (its first piece does), if any.
   */
  #queue(
    conversation: Conversation,
    pieces: string[],
    action: boolean,
    nick: string,
    replyTo?: string,
  ): void {
    for (const [i, piece] of pieces.entries()) {
      const reply = i === 0 ? replyTo : undefined;
      const li = this.#conversations.addLine(conversation, {
        nick,
        text: piece,
        cls: action ? "action" : "",
        self: true,
        quiet: true,
        replyTo: reply,
      });
      const entry: Entry = {
        target: conversation.name,
        body: action ? ctcpAction(piece) : piece,
        nick,
        tags: reply ? { "+draft/reply": reply } : {},
        li,
        state: "queued",
        after: null,
        barrier: 0,
      };
      this.#entries.push(entry);
      this.#mark(entry, "queued");
    }
    this.flush();
  }

  /**
   * Sends the queued lines in the order typed. A line waits while its channel is not joined
   * yet, and so does everything after it, as do all lines after one whose fate is checked.
   */
  flush(): void {
    if (!this.#link.ready()) return;
    let any = false;
    for (const entry of this.#entries) {
      if (entry.state === "checking") break;
      if (entry.state !== "queued") continue;
      const conversation = this.#conversations.get(entry.target);
      if (isChannelName(entry.target) && !conversation?.joined) break;
      entry.after = conversation?.historyLoaded && this.#link.hasCap("message-tags")
        ? newestMsgid(entry.li)
        : null;
      entry.barrier = this.#barrier + 1;
      this.#link.send(formatMessage({
        tags: this.#link.hasCap("message-tags") ? entry.tags : {},
        command: "PRIVMSG",
        params: [entry.target, entry.body],
        trailing: true,
      }));
      this.#mark(entry, "sending");
      any = true;
    }
    // The server answers in order: its PONG comes after the echo of every line before it.
    if (any) this.#link.send(`PING :${BARRIER}${++this.#barrier}`);
    this.#prune();
  }

  /**
   * The user left a channel or closed a private chat: its unsent lines will not go.
   *
   * @param target The channel or nick.
   */
  abandon(target: string): void {
    for (const entry of this.#entries) {
      if (foldCase(entry.target) === foldCase(target) && !settled(entry)) {
        this.#mark(entry, "failed", `you left ${target}`);
      }
    }
    this.#prune();
  }

  /** The connection dropped: whether the lines in flight arrived is now unknown. */
  dropped(): void {
    for (const entry of this.#entries) {
      if (entry.state === "sending") this.#mark(entry, "checking");
    }
  }

  /**
   * Registered again: the lines in flight that no history can vouch for are left to the
   * user. Private messages have history only for an account.
   *
   * @param historyAvailable Whether the server offers `draft/chathistory` on this connection.
   * @param privateHistory Whether private history can be read too (logged in to an account).
   */
  registered(historyAvailable: boolean, privateHistory: boolean): void {
    for (const entry of this.#entries) {
      const checkable = historyAvailable && (isChannelName(entry.target) || privateHistory);
      if (entry.state === "checking" && !checkable) this.#mark(entry, "unconfirmed");
    }
  }

  /** The server refused a history request: the lines being checked cannot be. */
  historyRefused(): void {
    for (const entry of this.#entries) {
      if (entry.state === "checking") this.#mark(entry, "unconfirmed");
    }
  }

  /**
   * The echo of a line we sent (echo-message): it has arrived.
   *
   * @param target The echoed message's target.
   * @param body Its text.
   * @param msgid Its msgid, if any.
   * @param time Its server time.
   * @returns True when it was one of ours, now sent.
   */
  confirmEcho(target: string, body: string, msgid: string | undefined, time: Date): boolean {
    const entry = this.#entries.find((e) =>
      e.state === "sending" && foldCase(e.target) === foldCase(target) && e.body === body
    );
    if (!entry) return false;
    this.#markSent(entry, msgid, time);
    this.#prune();
    return true;
  }

  /**
   * A PONG: every line sent before its barrier that has no echo was refused (the server said
   * why); without echo-message, the PONG is all the confirmation there is.
   *
   * @param token The PONG's last parameter.
   */
  pong(token: string): void {
    if (!token.startsWith(BARRIER)) return;
    const barrier = Number(token.slice(BARRIER.length));
    for (const entry of this.#entries) {
      if (entry.state !== "sending" || entry.barrier > barrier) continue;
      if (this.#link.hasCap("echo-message")) this.#mark(entry, "failed", "the server refused it");
      else this.#mark(entry, "sent");
    }
    this.#prune();
  }

  /**
   * After a reconnect: which of the lines in flight when the connection dropped are in the
   * channel's history? The same nick, the same text, after the message each followed.
   *
   * @param target The channel.
   * @param messages Its latest history, oldest first.
   */
  reconcile(target: string, messages: HistoryMessage[]): void {
    const used = new Set<number>();
    for (const entry of this.#entries) {
      if (entry.state !== "checking" || foldCase(entry.target) !== foldCase(target)) continue;
      if (entry.after === null) {
        this.#mark(entry, "unconfirmed");
        continue;
      }
      let start = 0;
      if (entry.after) {
        start = messages.findIndex((m) => m.msgid === entry.after) + 1;
        if (start === 0) {
          this.#mark(entry, "unconfirmed");
          continue;
        }
      }
      const found = messages.findIndex((m, i) =>
        i >= start && !used.has(i) && foldCase(m.nick) === foldCase(entry.nick) &&
        m.text === entry.body
      );
      if (found >= 0) {
        used.add(found);
        this.#markSent(entry, messages[found].msgid, undefined);
      } else {
        this.#mark(entry, "queued"); // not in history: it never arrived
      }
    }
    this.#prune();
  }

  #mark(entry: Entry, state: LineState, why?: string): void {
    entry.state = state;
    entry.li.dataset.state = state;
    let label = entry.li.querySelector<HTMLElement>(".state");
    if (state === "sent") {
      label?.remove();
      return;
    }
    if (!label) {
      label = document.createElement("span");
      label.className = "state";
      (entry.li.querySelector(".line") ?? entry.li).appendChild(label);
    }
    label.textContent = STATE_TEXT[state] + (why ? ` (${why})` : "");
  }

  #markSent(entry: Entry, msgid: string | undefined, time: Date | undefined): void {
    const conversation = this.#conversations.get(entry.target);
    if (msgid && conversation) {
      // Found in history, the line is shown twice: keep the history's, in its place.
      const shown = conversation.log.querySelector<HTMLLIElement>(
        `li[data-msgid="${CSS.escape(msgid)}"]`,
      );
      if (shown && shown !== entry.li) {
        this.#conversations.removeLine(conversation, entry.li);
        entry.li = shown;
      }
      entry.li.dataset.msgid = msgid;
      conversation.seen.add(msgid);
      addActions(entry.li, entry.nick);
    }
    if (time) retime(entry.li, time);
    this.#mark(entry, "sent");
  }

  #prune(): void {
    this.#entries = this.#entries.filter((entry) => !settled(entry));
  }
}
