// Over 600 lines: one class that keeps what the user sees of a connection and how every
// kind of server line reads on screen; a third is documentation, and the text helpers, read
// markers and recent messages it uses already live in _text.ts, _read_markers.ts, _recent.ts.
/**
 * One chat session on top of an {@link IrcClient}: which channels we are in, which one is
 * current, and how each message from the server reads on screen (one line per event,
 * timestamped, coloured when allowed; replies and reactions with what they answer; unread
 * messages under a line that counts them). Both the line-command interface and the menu
 * drive it through {@link ChatSession.perform}.
 *
 * @module
 */
import { action as ctcpAction, ACTION_OVERHEAD, actionText, isCtcp } from "../irc/ctcp.ts";
import type { styleText } from "node:util";
import { foldCase } from "../chat/casemap.ts";
import { privmsgBudget, splitWords } from "../chat/split_text.ts";
import { type IrcMessage, nickOf } from "../irc/message.ts";
import { type Action, COMMAND_HELP, type MessageRef } from "./input.ts";
import type { IrcClient } from "./irc_client.ts";
import { markerLine, ReadMarkers, unreadLine, type UnreadRequest } from "./_read_markers.ts";
import { RecentMessages, type ShownMessage } from "./_recent.ts";
import { clean, clock, isChannel, quote, timeOf } from "./_text.ts";

const NICK_STYLES: Style[] = ["cyan", "green", "yellow", "blue", "magenta", "red"];
const DEFAULT_HISTORY = 20;
const REDACTION = "draft/message-redaction";
/** What a deleted message reads as when quoted (a reply or reaction to it); our own choice. */
const DELETED = "[deleted]";

/** A node:util style name, or several. */
export type Style = Parameters<typeof styleText>[0];

/** Where lines go and how they are coloured. */
export interface SessionOutput {
  /** Writes one finished line. */
  print(line: string): void;
  /** Colours text, or returns it unchanged when colours are off. */
  style(style: Style, text: string): string;
}

/** What an open IRCv3 batch is collecting. */
interface Batch {
  type: string;
  target: string;
  count: number;
  /** For the answer to a request for unread messages: the request, and what came. */
  unread?: UnreadRequest & { messages: IrcMessage[] };
}

/** A message without its batch tag: shown as if it arrived now (with its own time). */
function unbatched(message: IrcMessage): IrcMessage {
  const { batch: _, ...tags } = message.tags;
  return { ...message, tags };
}

/**
 * The state of one connection as the user sees it, and the rendering of its events.
 *
 * @example Join a channel, then show what arrives, escaped, one line per event
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "../server/server.ts";
 * import { IrcClient } from "./irc_client.ts";
 * import { ChatSession } from "./_session.ts";
 *
 * const server = await startServer({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   dataDir: false,
 *   status: false,
 * });
 * const client = await IrcClient.connect({ nick: "ann", port: server.port });
 * const printed: string[] = [];
 * const session = new ChatSession(client, {
 *   print: (line) => printed.push(line),
 *   style: (_, text) => text,
 * });
 * await session.perform({ kind: "join", channel: "#lobby" });
 * assert.equal(session.current, "#lobby");
 * session.handle(await client.waitFor((message) => message.command === "JOIN", 5000));
 * assert.match(printed.at(-1)!, /^\d\d:\d\d:\d\d joined #lobby$/);
 * const params = ["#lobby", "hi\x1b[2J"];
 * session.handle({ tags: {}, source: "bob!bob@host", command: "PRIVMSG", params });
 * assert.match(printed.at(-1)!, / \[#lobby\] <bob> hi\^\[\[2J$/);
 * assert.equal(await session.perform({ kind: "quit" }), true);
 * await client.quit();
 * await server.close();
 * ```
 */
export class ChatSession {
  readonly #client: IrcClient;
  readonly #out: SessionOutput;
  #current: string | undefined;
  #channels = new Map<string, string>();
  #users = new Map<string, string[]>();
  #batches = new Map<string, Batch>();
  #channelCount = 0;
  /** Whether the welcome (001) has been shown: the "connected … as NICK" line precedes it. */
  #welcomed = false;
  readonly #recent = new RecentMessages();
  /** When we joined each channel we are in, by its folded name. */
  readonly #arrivals = new Map<string, { conversation: string; time: string }>();
  readonly #markers: ReadMarkers;
  /** Called when the current channel changes, so the prompt can follow. */
  onCurrentChange: (channel: string | undefined) => void = () => {};

  /**
   * Makes a session in no channel yet.
   *
   * @param client The registered connection.
   * @param out Where lines go and how they are coloured.
   */
  constructor(client: IrcClient, out: SessionOutput) {
    this.#client = client;
    this.#out = out;
    this.#markers = new ReadMarkers(client);
  }

  /**
   * Looks, after a login, for private conversations with unread messages (channels get
   * theirs when joined).
   *
   * @returns When the request is sent.
   */
  async start(): Promise<void> {
    await this.#markers.discover();
  }

  /**
   * Marks every conversation read up to the last message shown in it: the user quits on
   * purpose, having seen them. (A lost connection marks nothing.)
   */
  markAllRead(): void {
    this.#markers.markAll(this.#recent.latest(), this.#arrivals.values());
  }

  /** The channel plain text goes to. */
  get current(): string | undefined {
    return this.#current;
  }

  /** Prints a line of our own (a status or a local error) with the current time. */
  note(text: string, style?: Style): void {
    this.#line(new Date(), style ? this.#paint(style, text) : text);
  }

  /** Prints a local mistake. */
  error(text: string): void {
    this.note(`error: ${text}`, "red");
  }

  /**
   * Carries out one action.
   *
   * @param action What the user asked for.
   * @returns True when the action was a quit.
   */
  async perform(action: Action): Promise<boolean> {
    const client = this.#client;
    switch (action.kind) {
      case "nothing":
        return false;
      case "say":
      case "me": {
        const channel = this.#channelOr(undefined, "/join #CHANNEL first");
        if (channel) await this.#privmsg(channel, action.text, action.kind === "me");
        return false;
      }
      case "msg":
        await this.#privmsg(action.target, action.text);
        return false;
      case "join":
        // Made current now, so lines typed before the server's answer go to it (the server
        // handles JOIN before them).
        this.#setCurrent(action.channel);
        await client.send("JOIN", action.channel);
        return false;
      case "part": {
        const channel = this.#channelOr(action.channel, "nothing to leave");
        if (channel) await client.send("PART", channel, ...(action.reason ? [action.reason] : []));
        return false;
      }
      case "nick":
        await client.send("NICK", action.nick);
        return false;
      case "who": {
        const channel = this.#channelOr(action.channel, "/who #CHANNEL");
        if (channel) await client.send("WHO", channel);
        return false;
      }
      case "list":
        await client.send("LIST");
        return false;
      case "history":
        await this.#history(action.target, action.count);
        return false;
      case "register":
        await this.#register(action.password);
        return false;
      case "reply":
      case "react":
        await this.#answer(action.kind, action.to, action.text);
        return false;
      case "delete":
        await this.#delete(action.to, action.reason);
        return false;
      case "markread":
        this.#markRead(action.target);
        return false;
      case "alwayson":
        if (this.#client.account === undefined) {
          this.error("always-on belongs to an account: log in with --account, or /register");
        } else {
          await client.send("NS", "SET", "ALWAYS-ON", action.on ? "ON" : "OFF");
        }
        return false;
      case "help":
        for (const line of `Commands:\n${COMMAND_HELP}`.split("\n")) this.#out.print(line);
        return false;
      case "quit":
        return true;
    }
  }

  /**
   * Sends text as one PRIVMSG, or several cut between words when the line the server
   * relays (`:nick!user@host PRIVMSG target :text`) would be longer than its line limit.
   */
  async #privmsg(
    target: string,
    text: string,
    action = false,
    tags: Record<string, string> = {},
  ): Promise<void> {
    const client = this.#client;
    const budget = privmsgBudget(client.lineLimit, client.mask, target) -
      (action ? ACTION_OVERHEAD : 0);
    for (const piece of splitWords(text, budget)) {
      const body = action ? ctcpAction(piece) : piece;
      await client.sendTagged(tags, "PRIVMSG", target, body);
      // Without echo-message the server never shows us our own line: show it ourselves.
      if (!client.capabilities.has("echo-message")) {
        this.handle({ tags, source: client.nick, command: "PRIVMSG", params: [target, body] });
      }
    }
  }

  /**
   * Replies to a message (`+draft/reply`), or reacts to it (`+draft/react` on a TAGMSG), in
   * the conversation it belongs to. Without message-tags a reply is the IRC custom
   * "nick: text"; a reaction cannot be sent.
   */
  async #answer(kind: "reply" | "react", to: MessageRef, text: string): Promise<void> {
    const client = this.#client;
    const parent = this.#find(to);
    if (!parent) return;
    const tagged = client.capabilities.has("message-tags") && parent.msgid !== undefined;
    if (kind === "reply") {
      if (tagged) {
        await this.#privmsg(parent.conversation, text, false, { "+draft/reply": parent.msgid! });
      } else await this.#privmsg(parent.conversation, `${parent.nick}: ${text}`);
      return;
    }
    if (!tagged) {
      this.error(
        `reactions need message ids and client tags, which ${client.host}:${client.port} does not give (no message-tags)`,
      );
      return;
    }
    const tags = { "+draft/react": text, "+draft/reply": parent.msgid! };
    await client.sendTagged(tags, "TAGMSG", parent.conversation);
    if (!client.capabilities.has("echo-message")) {
      this.handle({ tags, source: client.nick, command: "TAGMSG", params: [parent.conversation] });
    }
  }

  /**
   * Deletes a message (IRCv3 `draft/message-redaction`): our own last one when none is named.
   * The server answers with the REDACT (shown as a deletion) or a FAIL saying why not.
   */
  async #delete(to: MessageRef | undefined, reason: string | undefined): Promise<void> {
    const client = this.#client;
    if (!client.capabilities.has(REDACTION)) {
      this.error(
        `deleting messages is not available on this server (${client.host}:${client.port} does not offer ${REDACTION})`,
      );
      return;
    }
    const message = this.#find(to ?? { nick: client.nick });
    if (!message) return;
    if (message.msgid === undefined) {
      this.error("that message has no id from the server, so it cannot be deleted");
      return;
    }
    await client.send("REDACT", message.conversation, message.msgid, ...(reason ? [reason] : []));
  }

  /** The message a reply or reaction points at; when there is none, says so. */
  #find(to: MessageRef): ShownMessage | undefined {
    if ("nick" in to) {
      const found = this.#recent.lastFrom(to.nick);
      if (!found) this.error(`no message from ${to.nick} has been shown yet`);
      return found;
    }
    const channel = this.#channelOr(undefined, "/reply NICK TEXT answers someone's last message");
    if (!channel) return undefined;
    const found = this.#recent.pick(channel, to.back);
    if (!found) {
      this.error(`there is no message number ${to.back} back in ${channel} (1 is the last)`);
    }
    return found;
  }

  /** Moves the account's marker of a conversation to the last message shown there. */
  #markRead(given: string | undefined): void {
    const client = this.#client;
    if (!this.#markers.available) {
      this.error(
        `read markers are not available on this server (${client.host}:${client.port} does not offer draft/read-marker)`,
      );
      return;
    }
    if (client.account === undefined) {
      this.error("read markers belong to an account: log in with --account, or /register");
      return;
    }
    const target = this.#channelOr(given, "/markread #CHANNEL or /markread NICK");
    if (target) this.#markers.mark(target, this.#recent.last(target)?.time);
  }

  async #history(target: string | undefined, count: number | undefined): Promise<void> {
    const client = this.#client;
    if (!client.capabilities.has("draft/chathistory")) {
      this.error(
        `history is not available on this server (${client.host}:${client.port} does not offer draft/chathistory)`,
      );
      return;
    }
    const conversation = this.#channelOr(target, "/history #CHANNEL or /history NICK");
    if (!conversation) return;
    const limit = Number(client.isupport.get("CHATHISTORY"));
    const wanted = count ?? DEFAULT_HISTORY;
    const n = limit > 0 ? Math.min(wanted, limit) : wanted;
    await client.send("CHATHISTORY", "LATEST", conversation, "*", String(n));
  }

  /** REGISTER for the current nick; the server answers REGISTER SUCCESS and 900, or FAIL. */
  async #register(password: string): Promise<void> {
    const client = this.#client;
    if (!client.offered.has("draft/account-registration")) {
      this.error(
        `accounts cannot be registered on this server (${client.host}:${client.port} does not offer draft/account-registration)`,
      );
      return;
    }
    await client.send("REGISTER", client.nick, "*", password);
  }

  /** The channel given, else the current one; with neither, says what to do instead. */
  #channelOr(given: string | undefined, hint: string): string | undefined {
    const channel = given ?? this.#current;
    if (!channel) this.error(`you are in no channel: ${hint}`);
    return channel;
  }

  #setCurrent(channel: string | undefined): void {
    this.#current = channel;
    this.onCurrentChange(channel);
  }

  #paint(style: Style, text: string): string {
    return this.#out.style(style, text);
  }

  #nick(nick: string): string {
    let hash = 0;
    for (const ch of foldCase(nick)) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
    return this.#paint(NICK_STYLES[hash % NICK_STYLES.length], clean(nick));
  }

  #line(time: Date, body: string): void {
    this.#out.print(`${this.#paint("dim", clock(time))} ${body}`);
  }

  /**
   * Shows one message from the server and updates the session's state from it.
   *
   * @param message The message.
   */
  handle(message: IrcMessage): void {
    const time = timeOf(message);
    const show = (body: string) => this.#line(time, body);
    const from = nickOf(message.source);
    const me = this.#client.nick;
    const self = foldCase(from) === foldCase(me);
    const p = message.params;
    const batch = message.tags.batch ? this.#batches.get(message.tags.batch) : undefined;
    if (batch?.unread) {
      // Shown when the batch ends, under a line that counts them; no more than were asked.
      // A deletion follows the message it deletes and, as in the server's limit, does not count.
      const { messages, limit } = batch.unread;
      const counted = messages.filter((m) => m.command !== "REDACT").length;
      if (message.command === "REDACT" || counted < limit) messages.push(message);
      return;
    }
    if (batch && message.command !== "REDACT") batch.count++;
    if (message.command === "001") this.#welcomed = true;
    switch (message.command) {
      case "PRIVMSG":
      case "NOTICE": {
        const [target, raw = ""] = p;
        // Users come as nick!user@host (our own echoed lines as our bare nick); a bare name
        // is the server.
        const fromServer = !message.source || (!message.source.includes("!") && !self);
        if (fromServer) {
          show(this.#paint("dim", `-${clean(message.source ?? "server")}- ${clean(raw)}`));
          return;
        }
        const where = this.#where(target, self);
        const action = actionText(raw);
        const conversation = isChannel(target) || self ? target : from;
        if (action !== undefined) {
          show(`${where} * ${this.#nick(from)} ${clean(action)}`);
        } else if (isCtcp(raw)) {
          show(`${where} ${this.#nick(from)} sent CTCP ${clean(raw)}`);
          return;
        } else if (message.command === "NOTICE") {
          // Notices (services, bots) are not answered, nor worth a read marker.
          show(`${where} -${this.#nick(from)}- ${clean(raw)}`);
          return;
        } else {
          show(`${where} <${this.#nick(from)}> ${this.#replyTo(message)}${clean(raw)}`);
        }
        this.#recent.add({
          conversation,
          nick: from,
          text: action ?? raw,
          time: message.tags.time ?? time.toISOString(),
          msgid: message.tags.msgid,
        });
        return;
      }
      case "TAGMSG": {
        // Typing notices (+typing) and other client tags are not shown; reactions are.
        const reaction = message.tags["+draft/react"];
        if (reaction === undefined || !p[0]) return;
        const parent = this.#recent.byId(message.tags["+draft/reply"] ?? "");
        const what = parent
          ? `${this.#nick(parent.nick)}: ${quote(parent.text)}`
          : "an earlier message";
        show(
          `${this.#where(p[0], self)} ${this.#nick(from)} reacted ${clean(reaction)} to ${what}`,
        );
        return;
      }
      case "REDACT": {
        // A deletion: the message (if shown) is said to be deleted — its words not repeated —
        // and a later reply or reaction to it no longer quotes it.
        const [target, msgid = "", reason] = p;
        if (!target) return;
        const conversation = isChannel(target) || self ? target : from;
        const shown = this.#recent.byId(msgid);
        // The spec: a REDACT naming a message of another conversation is ignored.
        if (shown && foldCase(shown.conversation) !== foldCase(conversation)) return;
        const whose = !shown
          ? "an earlier message"
          : `${
            foldCase(shown.nick) === foldCase(from) ? "their" : `${clean(shown.nick)}'s`
          } message of ${clock(new Date(shown.time))}`;
        if (shown) shown.text = DELETED;
        const why = reason ? ` (${clean(reason)})` : "";
        show(
          this.#paint(
            "yellow",
            `${this.#where(target, self)} ${clean(from)} deleted ${whose}${why}`,
          ),
        );
        return;
      }
      case "MARKREAD": {
        const news = this.#markers.receive(p);
        const line = news && markerLine(news);
        if (line) show(this.#paint("dim", line));
        return;
      }
      case "CHATHISTORY":
        this.#markers.target(p);
        return;
      case "JOIN": {
        const channel = p[0];
        if (self) {
          this.#markers.joined(channel);
          this.#arrivals.set(foldCase(channel), {
            conversation: channel,
            time: message.tags.time ?? time.toISOString(),
          });
          this.#channels.set(foldCase(channel), channel);
          if (!this.#current || foldCase(this.#current) === foldCase(channel)) {
            this.#setCurrent(channel);
          }
          show(this.#paint("green", `joined ${clean(channel)}`));
        } else {
          show(this.#paint("green", `${clean(from)} joined ${clean(channel)}`));
        }
        return;
      }
      case "PART":
      case "KICK": {
        const channel = p[0];
        const kicked = message.command === "KICK" ? p[1] : from;
        const reason = message.command === "KICK" ? p[2] : p[1];
        const why = reason ? ` (${clean(reason)})` : "";
        const leaving = foldCase(kicked) === foldCase(me);
        const [where, by, who] = [channel, from, kicked].map(clean);
        const text = message.command === "KICK"
          ? `${leaving ? "you were" : `${who} was`} kicked from ${where} by ${by}${why}`
          : leaving
          ? `left ${where}${why}`
          : `${by} left ${where}${why}`;
        show(this.#paint("yellow", text));
        if (leaving) this.#left(channel);
        return;
      }
      case "QUIT":
        show(this.#paint("yellow", `${clean(from)} quit${p[0] ? ` (${clean(p[0])})` : ""}`));
        return;
      case "NICK":
        // Before the welcome the server gave us a nick (an account's, shared by its
        // devices): the line that says we are connected already names it.
        if (!this.#welcomed) return;
        show(
          this.#paint(
            "yellow",
            self || foldCase(p[0]) === foldCase(me)
              ? `you are now known as ${clean(p[0])}`
              : `${clean(from)} is now known as ${clean(p[0])}`,
          ),
        );
        return;
      case "TOPIC":
        show(`${clean(from)} set the topic of ${clean(p[0])}: ${clean(p[1] ?? "")}`);
        return;
      case "332":
        show(`topic of ${clean(p[1])}: ${clean(p[2] ?? "")}`);
        return;
      case "353":
        this.#collect(p[2], (p[3] ?? "").split(" "));
        return;
      case "352":
        this.#collect(p[1], [p[5]]);
        return;
      case "366":
      case "315": {
        const key = foldCase(p[1]);
        const users = this.#users.get(key) ?? [];
        this.#users.delete(key);
        show(`users in ${clean(p[1])} (${users.length}): ${clean(users.join(" "))}`);
        return;
      }
      case "321":
        this.#channelCount = 0;
        return;
      case "322":
        this.#channelCount++;
        show(`channel ${clean(p[1])} (${clean(p[2])} users)${p[3] ? `: ${clean(p[3])}` : ""}`);
        return;
      case "323":
        show(`${this.#channelCount} channel${this.#channelCount === 1 ? "" : "s"} listed`);
        this.#channelCount = 0;
        return;
      case "BATCH":
        this.#onBatch(message, show);
        return;
      case "FAIL":
      case "WARN": {
        if (message.command === "FAIL" && p[0] === "CHATHISTORY") this.#markers.refused(p);
        // FAIL <command> <code> [<context>…] :<description>
        const label = message.command === "FAIL" ? "error" : "warning";
        show(this.#paint("red", `${label}: ${clean(`${p[0]} ${p[1]}`)}: ${clean(p.at(-1) ?? "")}`));
        return;
      }
      case "ERROR":
        show(this.#paint("red", `server closed the link: ${clean(p[0] ?? "")}`));
        return;
      case "REGISTER":
        // REGISTER SUCCESS <account> :<message> (other servers may ask for VERIFICATION_REQUIRED).
        show(
          this.#paint("green", `account ${clean(p[1])}: ${clean(p.slice(2).join(" ") || p[0])}`),
        );
        return;
      case "900":
        show(this.#paint("green", `logged in as ${clean(p[2])}`));
        return;
      case "AUTHENTICATE":
      case "CAP":
      case "903":
      case "PONG":
      case "004":
      case "005":
      case "329":
      case "333":
      case "375":
      case "376":
        return;
    }
    if (/^[45]\d\d$/.test(message.command)) {
      show(this.#paint("red", `error: ${p.slice(1).map(clean).join(": ")}`));
    } else if (/^\d\d\d$/.test(message.command)) {
      show(this.#paint("dim", p.slice(1).map(clean).join(" ")));
    } else {
      show(this.#paint("dim", `${clean(message.command)} ${p.map(clean).join(" ")}`));
    }
  }

  /** Where a message was said: `[#channel]`, `[to NICK]` for ours, `[private]`. */
  #where(target: string, self: boolean): string {
    return isChannel(target)
      ? this.#paint("bold", `[${clean(target)}]`)
      : self
      ? this.#paint("bold", `[to ${clean(target)}]`)
      : this.#paint("bold", "[private]");
  }

  /** What a reply answers, quoted, before its text; nothing for a message that is no reply. */
  #replyTo(message: IrcMessage): string {
    const msgid = message.tags["+draft/reply"];
    if (msgid === undefined) return "";
    const parent = this.#recent.byId(msgid);
    const what = parent
      ? `reply to ${clean(parent.nick)}: ${quote(parent.text)}`
      : "reply to an earlier message";
    return `${this.#paint("dim", `(${what})`)} `;
  }

  /** Shows the unread messages of a conversation under a line that counts them. */
  #showUnread(target: string, unread: UnreadRequest & { messages: IrcMessage[] }): void {
    const me = foldCase(this.#client.nick);
    const count =
      unread.messages.filter((message) =>
        (message.command === "PRIVMSG" || message.command === "NOTICE") &&
        foldCase(nickOf(message.source)) !== me
      ).length;
    const line = unreadLine(target, unread, count, unread.messages.length);
    this.note(line, count === 0 ? "dim" : "bold");
    if (count === 0) return;
    for (const message of unread.messages) this.handle(unbatched(message));
  }

  #collect(channel: string, nicks: string[]): void {
    const key = foldCase(channel);
    const list = this.#users.get(key) ?? [];
    list.push(...nicks.filter(Boolean));
    this.#users.set(key, list);
  }

  #left(channel: string): void {
    this.#channels.delete(foldCase(channel));
    this.#arrivals.delete(foldCase(channel));
    if (this.#current && foldCase(this.#current) === foldCase(channel)) {
      this.#setCurrent(this.#channels.values().next().value);
    }
  }

  #onBatch(message: IrcMessage, show: (body: string) => void): void {
    const [ref = "", type = "", target = ""] = message.params;
    const id = ref.slice(1);
    if (ref.startsWith("+")) {
      const unread = type === "chathistory" ? this.#markers.claim(target) : undefined;
      this.#batches.set(id, {
        type,
        target,
        count: 0,
        unread: unread && { ...unread, messages: [] },
      });
      if (type === "chathistory" && !unread) {
        show(this.#paint("bold", `history of ${clean(target)}:`));
      }
      return;
    }
    const batch = this.#batches.get(id);
    this.#batches.delete(id);
    if (batch?.unread) {
      this.#showUnread(batch.target, batch.unread);
    } else if (batch?.type === "chathistory") {
      show(
        this.#paint(
          "bold",
          batch.count === 0
            ? `no history for ${clean(batch.target)}`
            : `end of history of ${clean(batch.target)} (${batch.count} message${
              batch.count === 1 ? "" : "s"
            })`,
        ),
      );
    }
  }
}
