/**
 * The chat page's IRC client: it registers (IRCv3 capabilities, NICK, USER), keeps the
 * conversations in step with what the server says, loads each channel's history with
 * `CHATHISTORY LATEST` when the server offers `draft/chathistory`, and joins its channels
 * again after a reconnect. Lines go out through the outbox (`_outbox.ts`), cut between words
 * so that the line the server relays fits its `LINELEN` — by the same `splitWords` and
 * `privmsgBudget` the terminal client uses.
 *
 * @module
 */
import { ACTION_OVERHEAD, actionText, isCtcp } from "../../irc/ctcp.ts";
import { foldCase } from "../../chat/casemap.ts";
import { isChannelName, NICK_LENGTH } from "../../chat/names.ts";
import { privmsgBudget, splitWords } from "../../chat/split_text.ts";
import { type IrcMessage, nickOf, parseMessage } from "../../irc/message.ts";
import { ReconnectingSocket } from "./_connection.ts";
import { addUser, type Conversation, Conversations, SERVER } from "./_conversations.ts";
import { type HistoryMessage, Outbox } from "./_outbox.ts";

/** The IRCv3 capabilities the page uses, asked for when the server offers them. */
const WANTED_CAPS = [
  "message-tags",
  "server-time",
  "batch",
  "draft/chathistory",
  "echo-message",
  "multi-prefix",
];
/** How many messages of history to load on join, at most. */
const HISTORY_LIMIT = 100;
// Until the server says (LINELEN, and our nick!user@host in 001 or JOIN): RFC 1459's line and
// the longest user (~ and USERLEN 10) and host (HOSTLEN 63) parts.
const LINE_LIMIT = 512;
const ASSUMED_USER_HOST = `${"u".repeat(11)}@${"h".repeat(63)}`;

/** What the client tells the rest of the page. */
export interface ChatClientEvents {
  /**
   * How the connection is, for the status line.
   *
   * @param text What to say.
   * @param cls The status line's class: `connected`, `down` or none.
   * @param waiting Whether the page waits to retry, when "Reconnect now" makes sense.
   */
  status(text: string, cls: string, waiting: boolean): void;
  /** Our nick, set by the server. */
  nick(nick: string): void;
  /** The server refused the nick before registration: the connection is stopped. */
  nickRefused(reason: string): void;
}

/** A `chathistory` batch being received. */
interface HistoryBatch {
  target: string;
  messages: HistoryMessage[];
}

/** One visitor's IRC session over the page's WebSocket. */
export class ChatClient {
  /** The page's conversations. */
  readonly conversations: Conversations;
  readonly #events: ChatClientEvents;
  readonly #socket: ReconnectingSocket;
  readonly #outbox: Outbox;
  /** Our nick, as the server knows it (or as asked, before it says). */
  #nick = "";
  /** The nick asked for at registration. */
  #wanted = "";
  #registered = false;
  /** Capabilities the server offers, and those it granted, on this connection. */
  #available = new Set<string>();
  #acked = new Set<string>();
  /** History batches being received, by reference. */
  #batches = new Map<string, HistoryBatch>();
  #historyMax = HISTORY_LIMIT;
  #lineLimit = LINE_LIMIT;
  /** Our `user@host` as the server shows it to others; "" until seen. */
  #userHost = "";

  /**
   * A client, not connected yet.
   *
   * @param url The server's IRC WebSocket URL.
   * @param events What to tell the rest of the page.
   */
  constructor(url: string, events: ChatClientEvents) {
    this.#events = events;
    this.conversations = new Conversations({
      close: (conversation) => this.leave(conversation),
      isSelf: (nick) => foldCase(nick) === foldCase(this.#nick),
    });
    this.#socket = new ReconnectingSocket(url, "text.ircv3.net", {
      open: () => this.#register(),
      line: (line) => {
        const message = parseMessage(line);
        if (message) this.#onMessage(message);
      },
      dropped: () => this.#dropped(),
      status: events.status,
    });
    this.#outbox = new Outbox(this.conversations, {
      ready: () => this.#socket.connected && this.#registered,
      hasCap: (name) => this.#acked.has(name),
      send: (line) => this.#socket.send(line),
    });
  }

  /** Our nick. */
  get nick(): string {
    return this.#nick;
  }

  /**
   * Starts chatting: opens the channels and connects.
   *
   * @param nick The nick to ask for.
   * @param channels The channels to join.
   */
  start(nick: string, channels: string[]): void {
    this.#wanted = nick;
    this.#nick = nick;
    try {
      localStorage.setItem("shmooze.nick", nick);
    } catch { /* private mode */ }
    for (const name of channels) {
      this.conversations.open(isChannelName(name) ? name : `#${name}`, "channel");
    }
    this.#saveChannels();
    this.conversations.open(SERVER, "server");
    this.conversations.show(this.conversations.firstName());
    this.reconnectNow();
  }

  /** Connects now, without waiting for the backoff. */
  reconnectNow(): void {
    this.#socket.resetBackoff();
    this.#socket.connect();
  }

  /**
   * Sends a raw IRC line, if connected.
   *
   * @param line The line, without CR LF.
   */
  send(line: string): void {
    this.#socket.send(line);
  }

  /**
   * Joins a channel and shows it once joined.
   *
   * @param name The channel; `#` is added when missing.
   */
  join(name: string): void {
    if (!name) return;
    const channel = isChannelName(name) ? name : `#${name}`;
    const conversation = this.conversations.open(channel, "channel");
    conversation.wanted = true;
    conversation.pendingShow = true;
    this.send(`JOIN ${channel}`);
  }

  /**
   * Closes a conversation; a channel is left. Its unsent lines fail.
   *
   * @param conversation The conversation.
   */
  leave(conversation: Conversation): void {
    this.#outbox.abandon(conversation.name);
    if (conversation.kind === "channel") {
      conversation.wanted = false;
      if (conversation.joined) this.send(`PART ${conversation.name}`);
    }
    this.conversations.remove(conversation);
    this.#saveChannels();
  }

  /**
   * Shows a line in a conversation at once, and sends it, in pieces that fit the server's
   * line limit, as soon as it can.
   *
   * @param target The channel or nick.
   * @param text The text.
   * @param action Whether it is a `/me`.
   */
  say(target: string, text: string, action: boolean): void {
    const conversation = this.conversations.open(
      target,
      isChannelName(target) ? "channel" : "query",
    );
    const mask = `${this.#nick}!${this.#userHost || ASSUMED_USER_HOST}`;
    const budget = privmsgBudget(this.#lineLimit, mask, target) - (action ? ACTION_OVERHEAD : 0);
    this.#outbox.queue(conversation, splitWords(text, budget), action, this.#nick);
  }

  #register(): void {
    this.#registered = false;
    this.#available = new Set();
    this.#acked = new Set();
    this.#batches = new Map();
    this.send("CAP LS 302");
    this.send(`NICK ${this.#wanted}`);
    this.send(`USER ${this.#wanted} 0 * :shmooze web`);
  }

  #dropped(): void {
    this.#registered = false;
    this.#outbox.dropped();
    for (const conversation of this.conversations.values()) {
      conversation.joined = false;
      conversation.users.clear();
    }
    this.conversations.renderUsers();
  }

  #saveChannels(): void {
    try {
      localStorage.setItem("shmooze.channels", this.conversations.wantedChannels().join(" "));
    } catch { /* private mode */ }
  }

  #learnUserHost(mask: string | undefined): void {
    const match = /^([^!@\s]+)!([^!@\s]+@[^!@\s]+)$/.exec(mask ?? "");
    if (match && foldCase(match[1]) === foldCase(this.#nick)) this.#userHost = match[2];
  }

  #historyBatch(message: IrcMessage): HistoryBatch | undefined {
    const ref = message.tags.batch;
    return ref ? this.#batches.get(ref) : undefined;
  }

  /** Where the server's complaints go: the conversation shown. */
  #error(text: string): void {
    this.conversations.system(this.conversations.current, text, "error");
  }

  #onMessage(m: IrcMessage): void {
    const from = nickOf(m.source);
    const self = foldCase(from) === foldCase(this.#nick);
    const time = m.tags.time ? new Date(m.tags.time) : new Date();
    const conversations = this.conversations;
    switch (m.command) {
      case "PING":
        this.send(`PONG :${m.params[0] ?? ""}`);
        break;
      case "PONG":
        this.#outbox.pong(m.params.at(-1) ?? "");
        break;
      case "CAP":
        this.#onCap(m);
        break;
      case "001":
        this.#onWelcome(m);
        break;
      case "005":
        for (const token of m.params.slice(1, -1)) {
          const [key, value] = token.split("=");
          if (key === "CHATHISTORY" && Number(value) > 0) this.#historyMax = Number(value);
          if (key === "LINELEN" && Number(value) > 0) this.#lineLimit = Number(value);
        }
        break;
      case "433":
        if (this.#registered) this.#error(`Nickname ${m.params[1]} is already in use`);
        else this.#nickTaken();
        break;
      case "432":
        if (!this.#registered) {
          this.#socket.stop();
          this.#events.nickRefused(`The server refused that nickname: ${m.params.at(-1)}`);
        } else {
          this.#error(m.params.at(-1) ?? "");
        }
        break;
      case "NICK":
        if (self) {
          this.#nick = m.params[0];
          this.#events.nick(this.#nick);
        }
        for (const conversation of conversations.values()) {
          const user = conversation.users.get(foldCase(from));
          if (!user) continue;
          conversation.users.delete(foldCase(from));
          conversation.users.set(foldCase(m.params[0]), { nick: m.params[0], prefix: user.prefix });
          conversations.system(conversation, `${from} is now known as ${m.params[0]}`);
          conversations.usersChanged(conversation);
        }
        break;
      case "JOIN":
        this.#onJoin(m, from, self);
        break;
      case "PART":
      case "KICK":
        this.#onPart(m, from);
        break;
      case "QUIT":
        for (const conversation of conversations.values()) {
          if (!conversation.users.delete(foldCase(from))) continue;
          conversations.system(
            conversation,
            `${from} quit${m.params[0] ? ` (${m.params[0]})` : ""}`,
          );
          conversations.usersChanged(conversation);
        }
        break;
      case "353": {
        const conversation = conversations.open(m.params[2], "channel");
        conversation.names ??= new Map();
        for (const entry of m.params[3].split(" ")) {
          if (entry) addUser(conversation.names, entry);
        }
        break;
      }
      case "366": {
        const conversation = conversations.get(m.params[1]);
        if (conversation) {
          conversation.users = conversation.names ?? new Map();
          conversation.names = null;
          conversations.usersChanged(conversation);
        }
        break;
      }
      case "332":
        conversations.setTopic(conversations.open(m.params[1], "channel"), m.params[2] ?? "");
        break;
      case "TOPIC": {
        const conversation = conversations.open(m.params[0], "channel");
        const topic = m.params[1] ?? "";
        conversations.system(conversation, `${from} set the topic: ${topic}`);
        conversations.setTopic(conversation, topic);
        break;
      }
      case "BATCH":
        this.#onBatch(m);
        break;
      case "FAIL":
        if (m.params[0] === "CHATHISTORY") {
          this.#outbox.historyRefused();
          this.#outbox.flush();
        }
        this.#error(m.params.at(-1) ?? "");
        break;
      case "PRIVMSG":
      case "NOTICE":
        this.#onChat(m, from, self, time);
        break;
      case "ERROR":
        conversations.system(
          undefined,
          `Server closed the connection: ${m.params[0] ?? ""}`,
          "error",
        );
        break;
      default:
        if (/^[45]\d\d$/.test(m.command)) {
          this.#error(m.params.slice(1).join(" "));
        } else if (/^\d\d\d$/.test(m.command)) {
          conversations.system(undefined, m.params.slice(1).join(" "));
        }
    }
  }

  /**
   * The nick asked for at registration is taken: ask for it with a `_` added, or, at
   * NICKLEN, in place of its last character. When that gives the same nick again, every
   * variant is taken: the user picks another rather than the page asking forever.
   */
  #nickTaken(): void {
    const variant = `${this.#wanted.slice(0, NICK_LENGTH - 1)}_`;
    if (variant === this.#wanted) {
      this.#socket.stop();
      this.#events.nickRefused(`The nickname ${this.#nick} is in use, and so are its variants`);
      return;
    }
    this.#wanted = variant;
    this.send(`NICK ${variant}`);
  }

  #onCap(m: IrcMessage): void {
    const sub = m.params[1];
    const more = m.params[2] === "*";
    const list = (m.params[more ? 3 : 2] ?? "").split(" ").filter(Boolean);
    if (sub === "LS") {
      for (const cap of list) this.#available.add(cap.split("=")[0]);
      if (more) return;
      const wanted = WANTED_CAPS.filter((cap) => this.#available.has(cap));
      this.send(wanted.length ? `CAP REQ :${wanted.join(" ")}` : "CAP END");
    } else if (sub === "ACK") {
      for (const cap of list) this.#acked.add(cap.replace(/^-/, ""));
      if (!more) this.send("CAP END");
    } else if (sub === "NAK") {
      this.send("CAP END");
    }
  }

  #onWelcome(m: IrcMessage): void {
    this.#registered = true;
    this.#nick = m.params[0];
    this.#socket.resetBackoff();
    // Most servers end the welcome with our mask: "Welcome to … ann!ann@127.0.0.1".
    this.#learnUserHost((m.params[1] ?? "").split(" ").pop());
    this.#events.nick(this.#nick);
    this.#events.status("Connected", "connected", false);
    this.#outbox.registered(this.#acked.has("draft/chathistory"));
    const channels = this.conversations.wantedChannels();
    if (channels.length) this.send(`JOIN ${channels.join(",")}`);
    this.#outbox.flush();
  }

  #onJoin(m: IrcMessage, from: string, self: boolean): void {
    const conversations = this.conversations;
    const conversation = conversations.open(m.params[0], "channel");
    if (!self) {
      addUser(conversation.users, from);
      conversations.system(conversation, `${from} joined`);
      conversations.usersChanged(conversation);
      return;
    }
    this.#learnUserHost(m.source);
    conversation.joined = true;
    conversation.wanted = true;
    conversation.item.classList.remove("parted");
    conversation.users.clear();
    this.#saveChannels();
    if (this.#acked.has("draft/chathistory")) {
      const limit = Math.min(HISTORY_LIMIT, this.#historyMax);
      this.send(`CHATHISTORY LATEST ${conversation.name} * ${limit}`);
    }
    if (conversations.current?.name === SERVER || conversation.pendingShow) {
      conversation.pendingShow = false;
      conversations.show(conversation.name);
    }
    this.#outbox.flush();
  }

  #onPart(m: IrcMessage, from: string): void {
    const conversation = this.conversations.get(m.params[0]);
    if (!conversation) return;
    const kick = m.command === "KICK";
    const gone = kick ? m.params[1] : from;
    const reason = m.params[kick ? 2 : 1];
    if (foldCase(gone) === foldCase(this.#nick)) {
      conversation.joined = false;
      conversation.item.classList.add("parted");
      this.conversations.system(
        conversation,
        kick ? `You were kicked by ${from}` : `You left ${conversation.name}`,
      );
    } else {
      conversation.users.delete(foldCase(gone));
      this.conversations.system(conversation, `${gone} left${reason ? ` (${reason})` : ""}`);
    }
    this.conversations.usersChanged(conversation);
  }

  #onBatch(m: IrcMessage): void {
    const [reference, type, target] = m.params;
    const ref = reference.slice(1);
    if (reference[0] === "+" && type === "chathistory") {
      this.#batches.set(ref, { target, messages: [] });
      return;
    }
    const batch = this.#batches.get(ref);
    if (reference[0] !== "-" || !batch) return;
    this.#batches.delete(ref);
    const conversation = this.conversations.get(batch.target);
    if (conversation) conversation.historyLoaded = true;
    this.#outbox.reconcile(batch.target, batch.messages);
    this.#outbox.flush();
  }

  #onChat(m: IrcMessage, from: string, self: boolean, time: Date): void {
    const target = m.params[0];
    let text = m.params[1] ?? "";
    const history = this.#historyBatch(m);
    history?.messages.push({ msgid: m.tags.msgid ?? "", nick: from, text });
    if (
      self && !history && m.command === "PRIVMSG" &&
      this.#outbox.confirmEcho(target, text, m.tags.msgid, time)
    ) return;
    if (!m.source || (from.includes(".") && !isChannelName(target) && !this.#registered)) {
      this.conversations.system(undefined, text);
      return;
    }
    const name = isChannelName(target) || self ? target : from;
    const conversation = this.conversations.open(name, isChannelName(name) ? "channel" : "query");
    let cls = history ? "history" : "";
    const action = actionText(text);
    if (action !== undefined) {
      text = action;
      cls += " action";
    } else if (isCtcp(text)) {
      return;
    }
    if (m.command === "NOTICE") cls += " notice";
    const id = m.tags.msgid || (history ? `${time.getTime()}${from}${text}` : "");
    this.conversations.addMessage(conversation, id, {
      time,
      msgid: m.tags.msgid,
      nick: from,
      text,
      cls,
      quiet: !!history || self,
      self,
    });
  }
}
