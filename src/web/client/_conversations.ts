/**
 * The chat page's conversations (IRC clients call them buffers): a channel, a private chat
 * or the server's own messages, each with its message log, its entry in the list on the left
 * and, for a channel, its members on the right. This module owns that part of the page; what
 * arrives from the server is decided in `_chat_client.ts`.
 *
 * @module
 */
import { foldCase } from "../../chat/casemap.ts";
import { append, byId } from "./_dom.ts";

/** The name of the server's conversation: notices and numerics that belong to no other. */
export const SERVER = "";

/** What a conversation is with. */
export type ConversationKind = "server" | "channel" | "query";

/** A channel member as NAMES shows it: the nick and its highest prefix (`@`, `+` …). */
export interface ChannelUser {
  nick: string;
  prefix: string;
}

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
  /** How many messages arrived while another conversation was shown. */
  readonly badge: HTMLSpanElement;
  /** A channel's members, by folded nick. */
  users: Map<string, ChannelUser>;
  /** Members gathered from NAMES replies until their end (366) replaces `users`. */
  names: Map<string, ChannelUser> | null;
  /** The msgids shown, so a message that comes again (history after live) shows once. */
  readonly seen: Set<string>;
  unread: number;
  /** A channel we are in now. */
  joined: boolean;
  /** A channel the user wants to be in: joined again after a reconnect, kept for next time. */
  wanted: boolean;
  topic: string;
  /** Its history (`CHATHISTORY LATEST`) has arrived: a sent line can be found in it. */
  historyLoaded: boolean;
  /** Shown once the server confirms the JOIN the user asked for. */
  pendingShow: boolean;
}

/** One line of a log. */
export interface Line {
  text: string;
  /** The server's time; now when absent. */
  time?: Date;
  /** The message's IRCv3 msgid, kept on the line so a later copy of it is recognised. */
  msgid?: string;
  nick?: string;
  /** Classes of the list item: `system`, `error`, `history`, `action`, `notice`. */
  cls?: string;
  /** No unread count: the user has seen it or need not. */
  quiet?: boolean;
  /** Typed by the user: scroll to it wherever the log was. */
  self?: boolean;
}

/** What the conversations ask of the rest of the page. */
export interface ConversationEvents {
  /** The user closed a conversation (for a channel: left it). */
  close(conversation: Conversation): void;
  /** Whether a nick is ours: clicking oneself in the user list opens no private chat. */
  isSelf(nick: string): boolean;
}

/**
 * The time of a line as the log shows it.
 *
 * @param time The time.
 * @returns Hours and minutes in the user's locale.
 */
export function clock(time: Date): string {
  return time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
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

/** A stable colour for a nick, so one person looks the same everywhere. */
function nickHue(nick: string): number {
  let hue = 0;
  for (let i = 0; i < nick.length; i++) hue = (hue * 31 + nick.charCodeAt(i)) >>> 0;
  return hue % 360;
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
   * The channels the user wants to be in.
   *
   * @returns Their names.
   */
  wantedChannels(): string[] {
    return [...this.#all.values()].filter((c) => c.kind === "channel" && c.wanted)
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
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-label", `Messages in ${name}`);
    log.hidden = true;
    byId("logs").appendChild(log);
    const item = document.createElement("li");
    const opener = append(item, "button", "open", name === SERVER ? "server" : name);
    opener.type = "button";
    opener.appendChild(document.createTextNode(" "));
    const badge = append(opener, "span", "unread");
    badge.setAttribute("aria-label", "unread messages");
    const conversation: Conversation = {
      name,
      kind,
      log,
      item,
      opener,
      badge,
      users: new Map(),
      names: null,
      seen: new Set(),
      unread: 0,
      joined: false,
      wanted: kind === "channel",
      topic: "",
      historyLoaded: false,
      pendingShow: false,
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
    return conversation;
  }

  /**
   * Shows a conversation: its log, title, topic and members; its unread count goes.
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
    }
    next.opener.setAttribute("aria-current", "page");
    this.#current = next.name;
    next.unread = 0;
    next.badge.textContent = "";
    byId("buffer-title").textContent = next.name === SERVER ? "Server messages" : next.name;
    byId("topic").textContent = next.topic;
    this.renderUsers();
    next.log.scrollTop = next.log.scrollHeight;
    byId("message").focus();
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
   * Adds a line to a log. Lines are ordered by their time, so a history batch that arrives
   * after a live message still lands above it.
   *
   * @param conversation Whose log.
   * @param line The line.
   * @returns The line's list item.
   */
  addLine(conversation: Conversation, line: Line): HTMLLIElement {
    const time = line.time ?? new Date();
    const cls = line.cls ?? "";
    const li = document.createElement("li");
    li.className = cls;
    li.dataset.time = String(time.getTime());
    if (line.msgid) li.dataset.msgid = line.msgid;
    const shown = append(li, "time", "", clock(time));
    shown.dateTime = time.toISOString();
    if (line.nick) {
      const nick = append(
        li,
        "span",
        "nick",
        cls.includes("action") ? `* ${line.nick}` : line.nick,
      );
      nick.style.setProperty("--h", String(nickHue(line.nick)));
    }
    append(li, "span", "text", line.text);
    const { log } = conversation;
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    let before: HTMLElement | null = null;
    for (
      let node = log.lastElementChild as HTMLElement | null;
      node;
      node = node.previousElementSibling as HTMLElement | null
    ) {
      if (Number(node.dataset.time) <= time.getTime()) break;
      before = node;
    }
    log.insertBefore(li, before);
    if (atBottom || line.self) log.scrollTop = log.scrollHeight;
    if (!this.isCurrent(conversation) && !line.quiet) {
      conversation.unread++;
      conversation.badge.textContent = String(conversation.unread);
    }
    return li;
  }

  /**
   * Adds a message to a log unless a message with the same id is there already.
   *
   * @param conversation Whose log.
   * @param id The message's msgid, or another key that tells it apart; "" for none.
   * @param line The line.
   */
  addMessage(conversation: Conversation, id: string, line: Line): void {
    if (id) {
      if (conversation.seen.has(id)) return;
      conversation.seen.add(id);
    }
    this.addLine(conversation, line);
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
