/**
 * IRCv3 `draft/read-marker`: where the account has read each conversation up to, kept by
 * the server and shared by all its devices. The server tells the marker of a channel after
 * each JOIN, and any move of it (`MARKREAD <target> timestamp=…`, or `*` when there is none);
 * the page asks for a private chat's, and moves a marker forward when the user has read the
 * conversation, never back. A guest has no markers: the page counts what arrived unseen.
 *
 * @module
 */
import { foldCase } from "../../chat/casemap.ts";
import type { Conversation, Conversations } from "./_conversations.ts";

/** The least time between two MARKREADs of one conversation. */
const MARK_INTERVAL_MS = 1000;

/** What the markers need from the connection. */
export interface MarkerLink {
  /** Sends one IRC line. */
  send(line: string): void;
  /** Whether markers can be used: the capability is on and the client is logged in. */
  enabled(): boolean;
}

/** The account's read markers, as far as this page knows them. */
export class ReadMarkers {
  readonly #conversations: Conversations;
  readonly #link: MarkerLink;
  /**
   * Conversations whose marker was sent less than a second ago, by folded name: with the
   * conversation when a newer marker waits to be sent.
   */
  readonly #waiting = new Map<string, Conversation | undefined>();

  /**
   * Markers of a page.
   *
   * @param conversations The page's conversations.
   * @param link The connection.
   */
  constructor(conversations: Conversations, link: MarkerLink) {
    this.#conversations = conversations;
    this.#link = link;
  }

  /**
   * A `MARKREAD` from the server: the marker of a conversation, now.
   *
   * @param target The channel or nick.
   * @param value `timestamp=…`, or `*` when the account has none.
   */
  received(target: string, value: string | undefined): void {
    const conversation = this.#conversations.get(target);
    if (!conversation || !value?.startsWith("timestamp=")) return;
    const time = Date.parse(value.slice("timestamp=".length));
    if (!Number.isFinite(time)) return;
    if (conversation.readMarker !== undefined && time <= conversation.readMarker) return;
    this.#conversations.applyMarker(conversation, time);
  }

  /**
   * Asks the server for a conversation's marker (a channel's comes after its JOIN).
   *
   * @param conversation A private chat.
   */
  ask(conversation: Conversation): void {
    if (this.#link.enabled()) this.#link.send(`MARKREAD ${conversation.name}`);
  }

  /**
   * The user has read a conversation to its end: its marker moves to its newest message. In a
   * busy conversation in view that is every message: the server hears of it at most once a
   * second per conversation (the last position, when the second is over).
   *
   * @param conversation The conversation in view.
   */
  read(conversation: Conversation): void {
    const newest = this.#conversations.clearUnread(conversation);
    if (newest === undefined || conversation.kind === "server") return;
    if (conversation.readMarker !== undefined && newest <= conversation.readMarker) return;
    if (!this.#link.enabled()) return;
    conversation.readMarker = newest;
    const key = foldCase(conversation.name);
    if (this.#waiting.has(key)) {
      this.#waiting.set(key, conversation);
      return;
    }
    this.#send(conversation);
    this.#waiting.set(key, undefined);
    const settle = () => {
      const next = this.#waiting.get(key);
      if (next === undefined) {
        this.#waiting.delete(key);
        return;
      }
      this.#waiting.set(key, undefined);
      this.#send(next);
      setTimeout(settle, MARK_INTERVAL_MS);
    };
    setTimeout(settle, MARK_INTERVAL_MS);
  }

  #send(conversation: Conversation): void {
    const time = new Date(conversation.readMarker!).toISOString();
    this.#link.send(`MARKREAD ${conversation.name} timestamp=${time}`);
  }
}
