/**
 * The chat page's conversations (IRC clients call them buffers): a channel, a private chat
 * or the server's own messages, each with its message log, its entry in the list on the left
 * (with its unread count, marked when a message names us) and, for a channel, its members.
 * This module owns that part of the page; what arrives from the server is decided in
 * `_chat_client.ts`, and how a line looks in `_message_view.ts`.
 *
 * A message is unread (`li.unseen`) when it came after the account's read marker
 * (`draft/read-marker`, kept by the server for every device), or, while the server has given
 * no marker, when it arrived while its conversation was not in view.
 *
 * @module
 */
import { foldCase } from "../../chat/casemap.ts";
import { append, byId } from "./_dom.ts";
import { attachLogFocus, forgetActive } from "./_log_focus.ts";
import { fillQuote, type Line, placeLine, renderLine } from "./_message_view.ts";

/** The name of the server's conversation: notices and numerics that belong to no other. */
export const SERVER = "";

/** What a conversation is with. */
export type ConversationKind = "server" | "channel" | "query";

/** A channel member as NAMES shows it: the nick and its highest prefix (`@`, `+` …). */
export interface ChannelUser {
  nick: string;
  prefix: string;
}

/** Whether a conversation has older history to load: `unknown` before its first answer. */
export type OlderState = "unknown" | "more" | "loading" | "none";

/** One conversation and its part of the page. */
export interface Conversation {
  /** The channel or nick, as first seen; {@link SERVER} for the server's. */
  readonly name: string;
  readonly kind: ConversationKind;
  /** Its messages, shown while it is the current conversation. */
  readonly log: HTMLOListElement;
  /** Its entry in the conversation list. */
  readonly item: HTMLLIElement;
  /** The entry's button that shows it. */
  readonly opener: HTMLButtonElement;
  /** How many messages are unread; marked `mention` when one of them names us. */
  readonly badge: HTMLSpanElement;
  /** The top of the log: the button that loads older history, or where it ends. */
  readonly older: HTMLLIElement;
  /** A channel's members, by folded nick. */
  users: Map<string, ChannelUser>;
  /** Members gathered from NAMES replies until their end (366) replaces `users`. */
  names: Map<string, ChannelUser> | null;
  /** The msgids shown, so a message that comes again (history after live) shows once. */
  readonly seen: Set<string>;
  /** A channel we are in now. */
  joined: boolean;
  /** A channel the user wants to be in: joined again after a reconnect, kept for next time. */
  wanted: boolean;
  topic: string;
  /** Its history (`CHATHISTORY LATEST`) has arrived: a sent line can be found in it. */
  historyLoaded: boolean;
  /** Shown once the server confirms the JOIN the user asked for. */
  pendingShow: boolean;
  /** The account's read marker (ms since the epoch); undefined while the server gave none. */
  readMarker: number | undefined;
  /** Whether older history may be loaded (the top of its log says). */
  olderState: OlderState;
}

/** What the conversations ask of the rest of the page. */
export interface ConversationEvents {
  /** The user closed a conversation (for a channel: left it). */
  close(conversation: Conversation): void;
  /** Whether a nick is ours: clicking oneself in the user list opens no private chat. */
  isSelf(nick: string): boolean;
  /** A conversation was made: the page may want to remember it or ask about it. */
  opened(conversation: Conversation): void;
  /** The user has a conversation in view with something new in it: it is read. */
  viewed(conversation: Conversation): void;
  /** The user asked for older messages (the button, or scrolling to the top). */
  older(conversation: Conversation): void;
  /** The conversation shown changed. */
  switched(conversation: Conversation): void;
  /** The image to preview for a link in a message, if any (`_file_links.ts`). */
  previewOf(href: string): string | undefined;
}

/**
 * Adds a member from a NAMES entry (`@ann`, `+bob`, `tom`; several prefixes with
 * multi-prefix) to a member map.
 *
 * @param users The map, by folded nick.
 * @param entry The entry.
 */
export function addUser(users: Map<string, ChannelUser>, entry: string): void {
  const [, prefixes, nick] = /^([~&@%+]*)(.*)$/.exec(entry)!;
  users.set(foldCase(nick), { nick, prefix: prefixes.slice(0, 1) });
}

/** Near the top of a log by this much, older history is loaded. */
const NEAR_TOP_PX = 40;

/**
 * Whether the user can be taken to be reading the page: it is visible and has the focus.
 *
 * @returns True when the page is in view.
 */
export function pageInView(): boolean {
  return document.visibilityState === "visible" && document.hasFocus();
}

/** The page's conversations, by folded name, and which one is shown. */
export class Conversations {
  readonly #all = new Map<string, Conversation>();
  readonly #events: ConversationEvents;
  #current = SERVER;

  /**
   * Takes over the conversation list, logs and user list of the page.
   *
   * @param events What the user's clicks ask of the rest of the page.
   */
  constructor(events: ConversationEvents) {
    this.#events = events;
    const viewCurrent = () => {
      const current = this.current;
      if (current && pageInView()) this.#events.viewed(current);
    };
    addEventListener("focus", viewCurrent);
    document.addEventListener("visibilitychange", viewCurrent);
  }

  /**
   * A conversation by name, in any case.
   *
   * @param name The channel or nick.
   * @returns The conversation, or undefined when there is none.
   */
  get(name: string): Conversation | undefined {
    return this.#all.get(foldCase(name));
  }

  /** The conversation shown, if any. */
  get current(): Conversation | undefined {
    return this.get(this.#current);
  }

  /**
   * Whether a conversation is the one shown.
   *
   * @param conversation The conversation.
   * @returns True when it is.
   */
  isCurrent(conversation: Conversation): boolean {
    return foldCase(conversation.name) === foldCase(this.#current);
  }

  /** Every conversation, in the order they were opened. */
  values(): IterableIterator<Conversation> {
    return this.#all.values();
  }

  /**
   * The names of the conversations of a kind; for channels, those the user wants to be in.
   *
   * @param kind Channels or private chats.
   * @returns Their names.
   */
  names(kind: "channel" | "query"): string[] {
    return [...this.#all.values()].filter((c) =>
      c.kind === kind && (kind !== "channel" || c.wanted)
    )
      .map((c) => c.name);
  }

  /**
   * The conversation with this name, made (and listed, not shown) when there is none.
   *
   * @param name The channel or nick, or {@link SERVER}.
   * @param kind What it is, for a new one.
   * @returns The conversation.
   */
  open(name: string, kind: ConversationKind): Conversation {
    const known = this.get(name);
    if (known) return known;
    const log = document.createElement("ol");
    log.className = "log";
    log.setAttribute("role", "log");
    log.setAttribute("aria-label", `Messages in ${name === SERVER ? "server messages" : name}`);
    log.hidden = true;
    attachLogFocus(log, () => byId("message"));
    const older = append(log, "li", "more");
    older.dataset.time = "-Infinity";
    older.hidden = true;
    const more = append(older, "button", "plain", "Load older messages");
    more.type = "button";
    more.addEventListener("click", () => this.#events.older(conversation));
    log.addEventListener("scroll", () => {
      if (log.scrollTop < NEAR_TOP_PX && conversation.olderState === "more") {
        this.#events.older(conversation);
      }
    });
    byId("logs").appendChild(log);
    const item = document.createElement("li");
    const opener = append(item, "button", "open", name === SERVER ? "server" : name);
    opener.type = "button";
    opener.appendChild(document.createTextNode(" "));
    const badge = append(opener, "span", "unread");
    const conversation: Conversation = {
      name,
      kind,
      log,
      item,
      opener,
      badge,
      older,
      users: new Map(),
      names: null,
      seen: new Set(),
      joined: false,
      wanted: kind === "channel",
      topic: "",
      historyLoaded: false,
      pendingShow: false,
      readMarker: undefined,
      olderState: "unknown",
    };
    opener.addEventListener("click", () => this.show(name));
    if (name !== SERVER) {
      const close = append(item, "button", "plain", "×");
      close.type = "button";
      close.setAttribute("aria-label", `${kind === "channel" ? "Leave" : "Close"} ${name}`);
      close.addEventListener("click", () => this.#events.close(conversation));
    }
    byId("buffer-list").appendChild(item);
    this.#all.set(foldCase(name), conversation);
    this.#events.opened(conversation);
    return conversation;
  }

  /**
   * Shows a conversation: its log, title, topic and members. Its unread messages are marked
   * by a "new" line above the first of them, and are read from now on.
   *
   * @param name The channel or nick; nothing happens when there is no such conversation.
   */
  show(name: string): void {
    const next = this.get(name);
    if (!next) return;
    for (const c of this.#all.values()) {
      c.log.hidden = c !== next;
      c.item.classList.toggle("current", c === next);
      c.opener.removeAttribute("aria-current");
      if (c !== next) c.log.querySelector("li.new-divider")?.remove();
    }
    next.opener.setAttribute("aria-current", "page");
    const changed = !this.isCurrent(next);
    this.#current = next.name;
    byId("buffer-title").textContent = next.name === SERVER ? "Server messages" : next.name;
    byId("topic").textContent = next.topic;
    this.renderUsers();
    const first = next.log.querySelector<HTMLElement>("li.unseen");
    if (first && !next.log.querySelector("li.new-divider")) {
      const divider = document.createElement("li");
      divider.className = "new-divider";
      divider.dataset.time = String(Number(first.dataset.time) - 0.25);
      append(divider, "span", "", "New messages");
      next.log.insertBefore(divider, first);
    }
    if (first) first.scrollIntoView({ block: "center" });
    else next.log.scrollTop = next.log.scrollHeight;
    byId("message").focus();
    if (changed) this.#events.switched(next);
    if (pageInView()) this.#events.viewed(next);
  }

  /**
   * Takes a conversation off the page; another is shown if it was the current one.
   *
   * @param conversation The conversation.
   */
  remove(conversation: Conversation): void {
    this.#all.delete(foldCase(conversation.name));
    conversation.log.remove();
    conversation.item.remove();
    if (this.isCurrent(conversation)) this.show(this.firstName());
  }

  /**
   * The conversation to show when there is no better choice: the first one opened that is
   * not the server's.
   *
   * @returns Its name.
   */
  firstName(): string {
    const names = [...this.#all.values()].map((c) => c.name);
    return names.find((name) => name !== SERVER) ?? SERVER;
  }

  /**
   * Sets a channel's topic, and shows it if the channel is.
   *
   * @param conversation The channel.
   * @param topic The topic.
   */
  setTopic(conversation: Conversation, topic: string): void {
    conversation.topic = topic;
    if (this.isCurrent(conversation)) byId("topic").textContent = topic;
  }

  /**
   * Adds a line to a log, in time order (a history batch that arrives after a live message
   * still lands above it). A message the user has not seen counts as unread.
   *
   * @param conversation Whose log.
   * @param line The line.
   * @returns The line's list item.
   */
  addLine(conversation: Conversation, line: Line): HTMLLIElement {
    const li = renderLine(
      line,
      conversation.kind !== "server" && !!line.msgid,
      (href) => this.#events.previewOf(href),
    );
    const { log } = conversation;
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    placeLine(log, li, line.after);
    if (line.replyTo) fillQuote(log, li);
    if (line.msgid) {
      for (
        const reply of log.querySelectorAll<HTMLElement>(
          `li[data-reply="${CSS.escape(line.msgid)}"]`,
        )
      ) {
        fillQuote(log, reply);
      }
    }
    if (atBottom || line.self) log.scrollTop = log.scrollHeight;
    if (line.nick && !line.self) {
      const viewing = this.isCurrent(conversation) && pageInView();
      const marker = conversation.readMarker;
      const unread = marker === undefined
        ? !line.quiet && !viewing
        : Number(li.dataset.time) > marker && !viewing;
      if (unread) li.classList.add("unseen");
      if (viewing && !line.quiet) this.#events.viewed(conversation);
    }
    this.refreshBadge(conversation);
    return li;
  }

  /** The connection dropped: no channel is joined, and none has members. */
  dropped(): void {
    for (const conversation of this.#all.values()) {
      conversation.joined = false;
      conversation.users.clear();
    }
    this.renderUsers();
  }

  /**
   * A message's list item in a log.
   *
   * @param conversation Whose log.
   * @param msgid The message's msgid, if any.
   * @returns The item, or undefined when it is not shown.
   */
  find(conversation: Conversation, msgid: string | undefined): HTMLElement | undefined {
    if (!msgid) return undefined;
    return conversation.log.querySelector<HTMLElement>(
      `li.msg[data-msgid="${CSS.escape(msgid)}"]`,
    ) ?? undefined;
  }

  /**
   * Shows a message found by a search: scrolled to, focused and highlighted (until another
   * is).
   *
   * @param conversation Whose log.
   * @param msgid The message.
   * @returns False when the message is not in the log.
   */
  highlight(conversation: Conversation, msgid: string): boolean {
    const li = this.find(conversation, msgid);
    if (!li) return false;
    for (const other of byId("logs").querySelectorAll("li.found")) other.classList.remove("found");
    li.classList.add("found");
    li.scrollIntoView({ block: "center" });
    li.focus({ preventScroll: true });
    return true;
  }

  /**
   * Takes a line out of its log.
   *
   * @param conversation Whose log.
   * @param li The line.
   */
  removeLine(conversation: Conversation, li: HTMLElement): void {
    const next = li.nextElementSibling;
    li.remove();
    if (next instanceof HTMLElement) next.classList.remove("continued");
    forgetActive(conversation.log);
  }

  /**
   * Adds a message to a log unless a message with the same id is there already.
   *
   * @param conversation Whose log.
   * @param id The message's msgid, or another key that tells it apart; "" for none.
   * @param line The line.
   * @returns The line's list item, or undefined when it was there already.
   */
  addMessage(conversation: Conversation, id: string, line: Line): HTMLLIElement | undefined {
    if (id) {
      if (conversation.seen.has(id)) return undefined;
      conversation.seen.add(id);
    }
    return this.addLine(conversation, line);
  }

  /**
   * Adds a notice of the page or the server (joins, errors …) to a log.
   *
   * @param conversation Whose log; the server's when undefined.
   * @param text The text.
   * @param cls More classes: `error`.
   */
  system(conversation: Conversation | undefined, text: string, cls = ""): void {
    this.addLine(conversation ?? this.open(SERVER, "server"), {
      text,
      cls: `system ${cls}`,
      quiet: true,
    });
  }

  /**
   * The account's read marker moved: the messages up to it are read, the later ones not.
   *
   * @param conversation The conversation.
   * @param marker The marker, in ms since the epoch.
   */
  applyMarker(conversation: Conversation, marker: number): void {
    conversation.readMarker = marker;
    for (const li of conversation.log.querySelectorAll<HTMLElement>("li.msg:not(.self)")) {
      li.classList.toggle("unseen", Number(li.dataset.time) > marker);
    }
    this.refreshBadge(conversation);
    if (this.isCurrent(conversation) && pageInView()) this.#events.viewed(conversation);
  }

  /**
   * The user has seen every message of a conversation.
   *
   * @param conversation The conversation.
   * @returns The time of its newest message the server has (ms), or undefined when none.
   */
  clearUnread(conversation: Conversation): number | undefined {
    for (const li of conversation.log.querySelectorAll("li.unseen")) {
      li.classList.remove("unseen");
    }
    this.refreshBadge(conversation);
    let newest: number | undefined;
    for (const li of conversation.log.querySelectorAll<HTMLElement>("li.msg[data-msgid]")) {
      newest = Math.max(newest ?? 0, Number(li.dataset.time));
    }
    return newest;
  }

  /**
   * Shows a conversation's unread count, and whether a message among them names us.
   *
   * @param conversation The conversation.
   */
  refreshBadge(conversation: Conversation): void {
    const unread = conversation.log.querySelectorAll("li.unseen").length;
    const mentions = conversation.log.querySelectorAll("li.unseen.mention").length;
    const { badge } = conversation;
    badge.textContent = unread ? String(unread) : "";
    badge.classList.toggle("mention", mentions > 0);
    if (unread) {
      badge.setAttribute(
        "aria-label",
        `${unread} unread${mentions ? `, ${mentions} mentioning you` : ""}`,
      );
    } else {
      badge.removeAttribute("aria-label");
    }
  }

  /**
   * Draws the user list again if the channel is the one shown.
   *
   * @param conversation The channel whose members changed.
   */
  usersChanged(conversation: Conversation | undefined): void {
    if (conversation && this.isCurrent(conversation)) this.renderUsers();
  }

  /** Draws the current channel's members, operators first; a click opens a private chat. */
  renderUsers(): void {
    const list = byId("user-list");
    list.textContent = "";
    const current = this.current;
    const users = current?.kind === "channel" ? [...current.users.values()] : [];
    users.sort((x, y) =>
      (y.prefix ? 1 : 0) - (x.prefix ? 1 : 0) || foldCase(x.nick).localeCompare(foldCase(y.nick))
    );
    byId("users-title").textContent = `Users${users.length ? ` (${users.length})` : ""}`;
    byId("users-toggle").textContent = `Users${users.length ? ` (${users.length})` : ""}`;
    // A channel's operators may delete anyone's message in it: their delete buttons show.
    current?.log.classList.toggle(
      "moderator",
      users.some((user) => user.prefix === "@" && this.#events.isSelf(user.nick)),
    );
    for (const user of users) {
      const button = append(append(list, "li"), "button", "", user.prefix + user.nick);
      button.type = "button";
      button.setAttribute("aria-label", `Private message ${user.nick}`);
      button.addEventListener("click", () => {
        if (this.#events.isSelf(user.nick)) return;
        this.open(user.nick, "query");
        this.show(user.nick);
      });
    }
  }
}
