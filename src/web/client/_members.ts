/**
 * Who is in each channel, as the server tells it: NAMES (353, 366), JOIN and PART and KICK
 * of others, QUIT, NICK, and the topic (332, TOPIC), each said in the channel's log. Our
 * own JOIN is the client's (`_chat_client.ts`): it loads history and flushes the outbox.
 *
 * @module
 */
import { foldCase } from "../../chat/casemap.ts";
import type { IrcMessage } from "../../irc/message.ts";
import { addUser, type Conversations } from "./_conversations.ts";
import type { Typing } from "./_typing.ts";

/** The members of the page's channels. */
export class Members {
  readonly #conversations: Conversations;
  readonly #typing: Typing;
  readonly #isSelf: (nick: string) => boolean;

  /**
   * Keeps the member lists of a page.
   *
   * @param conversations The page's conversations.
   * @param typing Who is typing (someone who leaves stops).
   * @param isSelf Whether a nick is ours.
   */
  constructor(conversations: Conversations, typing: Typing, isSelf: (nick: string) => boolean) {
    this.#conversations = conversations;
    this.#typing = typing;
    this.#isSelf = isSelf;
  }

  /**
   * Someone else joined a channel.
   *
   * @param channel The channel.
   * @param nick Who.
   */
  joined(channel: string, nick: string): void {
    const conversation = this.#conversations.open(channel, "channel");
    addUser(conversation.users, nick);
    this.#conversations.system(conversation, `${nick} joined`);
    this.#conversations.usersChanged(conversation);
  }

  /**
   * A PART or KICK. Ours (from this device or another of the account) leaves the channel's
   * log in place, marked; a PART is not undone by joining again after a reconnect.
   *
   * @param m The line.
   * @param from Its source's nick.
   * @returns True when we are the one who left.
   */
  parted(m: IrcMessage, from: string): boolean {
    const conversation = this.#conversations.get(m.params[0]);
    if (!conversation) return false;
    const kick = m.command === "KICK";
    const gone = kick ? m.params[1] : from;
    const reason = m.params[kick ? 2 : 1];
    this.#typing.stopped(conversation, gone);
    const self = this.#isSelf(gone);
    if (self) {
      conversation.joined = false;
      if (!kick) conversation.wanted = false;
      conversation.item.classList.add("parted");
      this.#conversations.system(
        conversation,
        kick ? `You were kicked by ${from}` : `You left ${conversation.name}`,
      );
    } else {
      conversation.users.delete(foldCase(gone));
      this.#conversations.system(conversation, `${gone} left${reason ? ` (${reason})` : ""}`);
    }
    this.#conversations.usersChanged(conversation);
    return self;
  }

  /**
   * Someone quit: out of every channel they were in.
   *
   * @param m The line.
   * @param from Who.
   */
  quit(m: IrcMessage, from: string): void {
    for (const conversation of this.#conversations.values()) {
      this.#typing.stopped(conversation, from);
      if (!conversation.users.delete(foldCase(from))) continue;
      this.#conversations.system(
        conversation,
        `${from} quit${m.params[0] ? ` (${m.params[0]})` : ""}`,
      );
      this.#conversations.usersChanged(conversation);
    }
  }

  /**
   * Someone changed nick: renamed in every channel they are in.
   *
   * @param from The old nick.
   * @param to The new one.
   */
  renamed(from: string, to: string): void {
    for (const conversation of this.#conversations.values()) {
      const user = conversation.users.get(foldCase(from));
      if (!user) continue;
      conversation.users.delete(foldCase(from));
      conversation.users.set(foldCase(to), { nick: to, prefix: user.prefix });
      this.#conversations.system(conversation, `${from} is now known as ${to}`);
      this.#conversations.usersChanged(conversation);
    }
  }

  /**
   * A NAMES line (353): members gathered until its end.
   *
   * @param m The line.
   */
  names(m: IrcMessage): void {
    const conversation = this.#conversations.open(m.params[2], "channel");
    conversation.names ??= new Map();
    for (const entry of (m.params[3] ?? "").split(" ")) {
      if (entry) addUser(conversation.names, entry);
    }
  }

  /**
   * The end of NAMES (366): the members gathered are the channel's.
   *
   * @param m The line.
   */
  endOfNames(m: IrcMessage): void {
    const conversation = this.#conversations.get(m.params[1]);
    if (!conversation) return;
    conversation.users = conversation.names ?? new Map();
    conversation.names = null;
    this.#conversations.usersChanged(conversation);
  }

  /**
   * A channel MODE: members given or taken operator (`o`) or voice (`v`) status get the prefix
   * that shows it (the highest one known; the next NAMES corrects the rest).
   *
   * @param m The line.
   */
  mode(m: IrcMessage): void {
    const [channel, modes = "", ...args] = m.params;
    const conversation = this.#conversations.get(channel ?? "");
    if (conversation?.kind !== "channel") return;
    let adding = true;
    let changed = false;
    for (const char of modes) {
      if (char === "+" || char === "-") {
        adding = char === "+";
        continue;
      }
      // The modes with an argument: lists, key and prefixes always, the limit when set.
      const arg = "beIkov".includes(char) || (char === "l" && adding) ? args.shift() : undefined;
      const user = arg === undefined ? undefined : conversation.users.get(foldCase(arg));
      if ((char !== "o" && char !== "v") || !user) continue;
      const prefix = char === "o" ? "@" : "+";
      if (adding && (prefix === "@" || user.prefix !== "@")) user.prefix = prefix;
      else if (!adding && user.prefix === prefix) user.prefix = "";
      changed = true;
    }
    if (changed) this.#conversations.usersChanged(conversation);
  }

  /**
   * A channel's topic: as it is on joining (332), or as someone set it (TOPIC).
   *
   * @param m The line.
   * @param from Who set it (TOPIC).
   */
  topic(m: IrcMessage, from: string): void {
    const numeric = m.command === "332";
    const conversation = this.#conversations.open(m.params[numeric ? 1 : 0], "channel");
    const topic = m.params[numeric ? 2 : 1] ?? "";
    if (!numeric) this.#conversations.system(conversation, `${from} set the topic: ${topic}`);
    this.#conversations.setTopic(conversation, topic);
  }
}
