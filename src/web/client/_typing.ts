/**
 * The IRCv3 `typing` client tag, both ways: `@+typing=active|paused|done TAGMSG <target>`
 * while the user types in the message box (never a slash command; at most one notification
 * per 3 s for a target, as the spec requires), and "bob is typing…" under the log of the
 * conversation in view, for 6 s after an `active` and 30 s after a `paused`, or until bob's
 * message or `done` arrives. The server relays these and stores none.
 *
 * @module
 */
import { foldCase } from "../../chat/casemap.ts";
import { formatMessage } from "../../irc/message.ts";
import type { Conversation, Conversations } from "./_conversations.ts";
import { byId } from "./_dom.ts";

/** What a typing notification says. */
export type TypingState = "active" | "paused" | "done";

/** The spec's least gap between two notifications for one target. */
const THROTTLE_MS = 3000;
/** After this long without a keystroke, the user has paused. */
const PAUSE_MS = 5000;
/** How long a received notification holds, by state. */
const HOLD_MS: Record<Exclude<TypingState, "done">, number> = { active: 6000, paused: 30_000 };

/** What typing needs from the connection. */
export interface TypingLink {
  /** Sends one IRC line. */
  send(line: string): void;
  /** Whether the server relays the tag: message-tags is on and CLIENTTAGDENY allows it. */
  allowed(): boolean;
}

/** What the user's typing told one target, and what it is about to tell it. */
interface Outgoing {
  sent: TypingState;
  sentAt: number;
  pending: TypingState | undefined;
  timer: number | undefined;
  idle: number | undefined;
}

/** Someone typing in a conversation. */
interface Incoming {
  nick: string;
  state: Exclude<TypingState, "done">;
  timer: number;
}

/** Typing notifications of one page. */
export class Typing {
  readonly #conversations: Conversations;
  readonly #link: TypingLink;
  readonly #outgoing = new Map<string, Outgoing>();
  /** By folded conversation name, then by folded nick. */
  readonly #incoming = new Map<string, Map<string, Incoming>>();

  /**
   * Nobody typing yet.
   *
   * @param conversations The page's conversations.
   * @param link The connection.
   */
  constructor(conversations: Conversations, link: TypingLink) {
    this.#conversations = conversations;
    this.#link = link;
  }

  /**
   * The message box changed.
   *
   * @param conversation The conversation it writes to.
   * @param text What is in it now.
   */
  input(conversation: Conversation | undefined, text: string): void {
    if (!conversation || conversation.kind === "server") return;
    const writing = text !== "" && !(text[0] === "/" && text[1] !== "/");
    const out = this.#out(conversation.name);
    clearTimeout(out.idle);
    if (writing) {
      this.#want(conversation.name, "active");
      out.idle = setTimeout(() => this.#want(conversation.name, "paused"), PAUSE_MS);
    } else if (out.sent !== "done" || out.pending !== undefined) {
      this.#want(conversation.name, "done");
    }
  }

  /**
   * The user sent a message to a target: that ends the typing, with nothing more to say
   * (receivers stop showing it when the message arrives).
   *
   * @param target The channel or nick.
   */
  sent(target: string): void {
    const out = this.#out(target);
    clearTimeout(out.timer);
    clearTimeout(out.idle);
    out.pending = undefined;
    out.sent = "done";
  }

  /**
   * A notification arrived.
   *
   * @param conversation Where.
   * @param nick Who.
   * @param state What it says.
   */
  received(conversation: Conversation, nick: string, state: string): void {
    if (state !== "active" && state !== "paused") {
      this.stopped(conversation, nick);
      return;
    }
    const key = foldCase(conversation.name);
    const typing = this.#incoming.get(key) ?? new Map<string, Incoming>();
    this.#incoming.set(key, typing);
    clearTimeout(typing.get(foldCase(nick))?.timer);
    const timer = setTimeout(() => this.stopped(conversation, nick), HOLD_MS[state]);
    typing.set(foldCase(nick), { nick, state, timer });
    this.render();
  }

  /**
   * Someone is no longer typing in a conversation: their message came, or they left.
   *
   * @param conversation Where.
   * @param nick Who.
   */
  stopped(conversation: Conversation, nick: string): void {
    const typing = this.#incoming.get(foldCase(conversation.name));
    const entry = typing?.get(foldCase(nick));
    if (!entry) return;
    clearTimeout(entry.timer);
    typing!.delete(foldCase(nick));
    this.render();
  }

  /** The connection dropped: nobody is known to be typing any more. */
  clear(): void {
    for (const typing of this.#incoming.values()) {
      for (const entry of typing.values()) clearTimeout(entry.timer);
    }
    this.#incoming.clear();
    for (const out of this.#outgoing.values()) {
      clearTimeout(out.timer);
      clearTimeout(out.idle);
    }
    this.#outgoing.clear();
    this.render();
  }

  /** Says who is typing in the conversation in view. */
  render(): void {
    const current = this.#conversations.current;
    const typing = current ? this.#incoming.get(foldCase(current.name)) : undefined;
    // Someone who paused has stopped typing for now: only the active are named.
    const nicks = [...typing?.values() ?? []].filter((e) => e.state === "active")
      .map((e) => e.nick);
    const line = byId("typing");
    if (nicks.length === 0) {
      line.textContent = "";
      return;
    }
    const who = nicks.length <= 2
      ? nicks.join(" and ")
      : `${nicks.slice(0, 2).join(", ")} and ${nicks.length - 2} more`;
    line.textContent = `${who} ${nicks.length === 1 ? "is" : "are"} typing…`;
  }

  #out(target: string): Outgoing {
    const key = foldCase(target);
    let out = this.#outgoing.get(key);
    if (!out) {
      out = {
        sent: "done",
        sentAt: -Infinity,
        pending: undefined,
        timer: undefined,
        idle: undefined,
      };
      this.#outgoing.set(key, out);
    }
    return out;
  }

  /** Says a state to a target, now or as soon as the throttle allows. */
  #want(target: string, state: TypingState): void {
    const out = this.#out(target);
    // Still typing: an `active` is said again every 3 s, so that it does not expire.
    const repeat = state === "active" && Date.now() - out.sentAt >= THROTTLE_MS;
    if (state === out.sent && !repeat) {
      out.pending = undefined;
      clearTimeout(out.timer);
      return;
    }
    out.pending = state;
    clearTimeout(out.timer);
    const wait = out.sentAt + THROTTLE_MS - Date.now();
    if (wait <= 0) this.#flush(target);
    else out.timer = setTimeout(() => this.#flush(target), wait);
  }

  #flush(target: string): void {
    const out = this.#out(target);
    const state = out.pending;
    out.pending = undefined;
    if (state === undefined || !this.#link.allowed()) return;
    out.sent = state;
    out.sentAt = Date.now();
    this.#link.send(
      formatMessage({ tags: { "+typing": state }, command: "TAGMSG", params: [target] }),
    );
  }
}
