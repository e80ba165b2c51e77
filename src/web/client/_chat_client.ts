/**
 * The chat page's IRC client: it registers (IRCv3 capabilities, a login when there is one,
 * NICK, USER), keeps the conversations in step with what the server says, and joins its
 * channels again after a reconnect. The parts live beside it: logging in (`_auth.ts`),
 * history (`_history.ts`), read markers (`_read_markers.ts`), typing (`_typing.ts`),
 * reactions (`_reactions.ts`), deletions (`_redactions.ts`), search (`_search.ts`), uploads
 * (`_uploads.ts`), push subscriptions (`_push.ts`). Lines go out through the outbox
 * (`_outbox.ts`), cut between words so that the line the server relays fits its `LINELEN`.
 *
 * @module
 */
import { foldCase } from "../../chat/casemap.ts";
import { isChannelName, NICK_LENGTH } from "../../chat/names.ts";
import { type IrcMessage, nickOf, parseMessage } from "../../irc/message.ts";
import { Auth, type Credentials } from "./_auth.ts";
import { ReconnectingSocket } from "./_connection.ts";
import { type Conversation, Conversations, pageInView, SERVER } from "./_conversations.ts";
import { byId } from "./_dom.ts";
import { imagePreview, uploadEndpoint } from "./_file_links.ts";
import { History } from "./_history.ts";
import { Incoming } from "./_incoming.ts";
import { Members } from "./_members.ts";
import { Outbox } from "./_outbox.ts";
import { PushSwitch } from "./_push.ts";
import { Reactions } from "./_reactions.ts";
import { Redactions } from "./_redactions.ts";
import { Search } from "./_search.ts";
import { ReadMarkers } from "./_read_markers.ts";
import { type SavedSession, saveSession } from "./_session_store.ts";
import { ServerFeatures } from "./_server_features.ts";
import { Typing } from "./_typing.ts";
import { Uploads } from "./_uploads.ts";

/** What the page shows of a history batch: messages, reactions and deletions. */
const HISTORY_COMMANDS = new Set(["PRIVMSG", "NOTICE", "TAGMSG", "REDACT"]);

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
  /** Who we are: the nick set by the server, and the account when logged in. */
  identity(nick: string, account: string | undefined): void;
  /**
   * The server refused the nick or the login: the connection is stopped.
   *
   * @param reason What to tell the user.
   */
  refused(reason: string): void;
  /** A message names us, or is a private message to us, while its conversation is not read. */
  mentioned(conversation: Conversation, nick: string, text: string): void;
  /** Another conversation is shown. */
  switched(conversation: Conversation): void;
}

/** One visitor's IRC session over the page's WebSocket. */
export class ChatClient {
  /** The page's conversations. */
  readonly conversations: Conversations;
  /** Reactions to messages: the page's react buttons use it. */
  readonly reactions: Reactions;
  /** Typing notifications: the message box tells it what is typed. */
  readonly typing: Typing;
  /** Deletions: the page's delete buttons use it. */
  readonly redactions: Redactions;
  /** Message search: the header's box. */
  readonly search: Search;
  /** Web Push: the header's switch. */
  readonly push: PushSwitch;
  /** Uploads: the page gives it the files pasted, dropped or picked. */
  readonly uploads: Uploads;
  readonly #events: ChatClientEvents;
  readonly #socket: ReconnectingSocket;
  readonly #outbox: Outbox;
  readonly #auth: Auth;
  readonly #history: History;
  readonly #markers: ReadMarkers;
  readonly #members: Members;
  readonly #incoming: Incoming;
  #session: SavedSession = { nick: "", channels: [], queries: [] };
  /**
   * The session is worth keeping: registered as a guest, or logged in. Until then nothing is
   * saved, so a refused password leaves no session for the next visit to resume.
   */
  #established = false;
  /** Our nick, as the server knows it (or as asked, before it says). */
  #nick = "";
  /** The nick asked for at registration. */
  #wanted = "";
  #registered = false;
  /** What the server offers on this connection. */
  #server = new ServerFeatures();

  /**
   * A client, not connected yet.
   *
   * @param url The server's IRC WebSocket URL.
   * @param events What to tell the rest of the page.
   */
  constructor(url: string, events: ChatClientEvents) {
    this.#events = events;
    const send = (line: string) => this.send(line);
    this.conversations = new Conversations({
      close: (conversation) => this.leave(conversation),
      isSelf: (nick) => this.isSelf(nick),
      opened: (conversation) => this.#opened(conversation),
      viewed: (conversation) => this.#markers.read(conversation),
      older: (conversation) => this.#history.older(conversation),
      switched: (conversation) => {
        this.typing.render();
        this.search.switched();
        events.switched(conversation);
      },
      previewOf: (href) => imagePreview(href, location.href, this.#server.fileHost),
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
      hasCap: (name) => this.#server.has(name),
      lineLimit: () => this.#server.lineLimit,
      send,
    });
    this.#auth = new Auth({
      send,
      loggedIn: (account) => {
        this.#session.account = account;
        this.#established = true;
        this.#save();
        this.#events.identity(this.#nick, account);
        this.push.connected();
      },
      token: (token) => {
        this.#session.token = token;
        this.#save();
      },
      failed: (reason, expired) => {
        if (expired) {
          delete this.#session.token;
          this.#save();
        }
        this.#stop(reason);
      },
    });
    this.#history = new History(this.conversations, {
      send,
      pageSize: () => this.#server.historyMax,
      latest: (target, messages) => {
        this.#outbox.reconcile(target, messages);
        this.#outbox.flush();
        // What came while the page was away is read now if its conversation is in view.
        const conversation = this.conversations.get(target);
        if (conversation && this.conversations.isCurrent(conversation) && pageInView()) {
          this.#markers.read(conversation);
        }
      },
    });
    this.#markers = new ReadMarkers(this.conversations, {
      send,
      enabled: () => this.#server.has("draft/read-marker") && this.#auth.account !== undefined,
    });
    this.typing = new Typing(this.conversations, {
      send,
      allowed: () => this.#server.relays("typing"),
    });
    this.#members = new Members(this.conversations, this.typing, (nick) => this.isSelf(nick));
    this.reactions = new Reactions({
      send: (line) => {
        if (!this.#registered || !this.#server.relays("draft/react")) return false;
        this.send(line);
        return true;
      },
      isSelf: (nick) => this.isSelf(nick),
      nick: () => this.#nick,
    });
    this.redactions = new Redactions(this.conversations, {
      send: (line) => this.#registered && (this.send(line), true),
      enabled: () => this.#server.has("draft/message-redaction"),
      isSelf: (nick) => this.isSelf(nick),
    });
    this.search = new Search({
      send: (line) => this.#registered && (this.send(line), true),
      isSelf: (nick) => this.isSelf(nick),
      conversations: this.conversations,
      history: this.#history,
    });
    this.push = new PushSwitch(byId<HTMLButtonElement>("push"), {
      send,
      account: () => this.#auth.account,
      vapidKey: () => this.#server.has("draft/webpush") ? this.#server.vapidKey : undefined,
      say: (text) => this.#error(text),
    });
    this.uploads = new Uploads(this.conversations, {
      endpoint: () => uploadEndpoint(this.#server.fileHost, location.href),
      account: () => this.#auth.account,
      token: () => this.#session.token,
      post: (conversation, url) => this.say(conversation.name, url, false),
    });
    this.#incoming = new Incoming({
      conversations: this.conversations,
      history: this.#history,
      outbox: this.#outbox,
      reactions: this.reactions,
      redactions: this.redactions,
      typing: this.typing,
      nick: () => this.#nick,
      registered: () => this.#registered,
      mentioned: (conversation, nick, text) => events.mentioned(conversation, nick, text),
    });
  }

  /** Our nick. */
  get nick(): string {
    return this.#nick;
  }

  /**
   * Whether a nick is ours.
   *
   * @param nick The nick.
   * @returns True when it is.
   */
  isSelf(nick: string): boolean {
    return foldCase(nick) === foldCase(this.#nick);
  }

  /**
   * Starts chatting: opens the conversations and connects.
   *
   * @param session The nick, channels and private chats (a new or a saved session).
   * @param credentials How to log in.
   */
  start(session: SavedSession, credentials: Credentials): void {
    this.#session = session;
    this.#auth.credentials = credentials;
    this.#wanted = session.nick;
    this.#nick = session.nick;
    for (const name of session.channels) {
      this.conversations.open(isChannelName(name) ? name : `#${name}`, "channel");
    }
    for (const nick of session.queries) this.conversations.open(nick, "query");
    this.conversations.open(SERVER, "server");
    this.#save();
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
    this.#save();
  }

  /**
   * Shows a line in a conversation at once, and sends it, in pieces that fit the server's
   * line limit, as soon as it can.
   *
   * @param target The channel or nick.
   * @param text The text.
   * @param action Whether it is a `/me`.
   * @param replyTo The msgid of the message it answers, if any.
   */
  say(target: string, text: string, action: boolean, replyTo?: string): void {
    const kind = isChannelName(target) ? "channel" : "query";
    const conversation = this.conversations.open(target, kind);
    this.typing.sent(target);
    this.#outbox.say(conversation, text, action, this.#nick, replyTo);
  }

  /**
   * Logs out: the push subscription is dropped, the session token revoked and the connection
   * closed by the server, which handles the lines in order, so both are gone once the socket
   * is.
   *
   * @returns Resolves when the connection is closed (after 3 s at most).
   */
  async logout(): Promise<void> {
    this.#established = false;
    for (const line of await this.push.logout()) this.send(line);
    for (const line of this.#auth.logout()) this.send(line);
    this.send("QUIT :Logged out");
    return this.#socket.finish(3000);
  }

  #save(): void {
    if (!this.#established) return;
    this.#session.nick = this.#nick || this.#session.nick;
    this.#session.channels = this.conversations.names("channel");
    this.#session.queries = this.conversations.names("query");
    saveSession(this.#session);
  }

  #stop(reason: string): void {
    this.send("QUIT");
    this.#socket.stop();
    this.#events.refused(reason);
  }

  #opened(conversation: Conversation): void {
    if (conversation.kind !== "query") return;
    this.#save();
    if (!this.#registered) return;
    this.#markers.ask(conversation);
    if (this.#server.has("draft/chathistory") && this.#auth.account !== undefined) {
      this.#history.latest(conversation);
    }
  }

  #register(): void {
    this.#registered = false;
    this.#server = new ServerFeatures();
    this.#history.reset();
    this.#auth.reset(this.#wanted);
    this.send("CAP LS 302");
    this.send(`NICK ${this.#wanted}`);
    this.send(`USER ${this.#wanted} 0 * :shmooze web`);
  }

  #dropped(): void {
    this.#registered = false;
    this.#outbox.dropped();
    this.typing.clear();
    this.conversations.dropped();
  }

  /** Where the server's complaints go: the conversation shown. */
  #error(text: string): void {
    this.conversations.system(this.conversations.current, text, "error");
  }

  #onMessage(m: IrcMessage): void {
    const from = nickOf(m.source);
    const self = this.isSelf(from);
    const conversations = this.conversations;
    if (this.search.collect(m)) return;
    if (this.#history.inBatch(m) && !HISTORY_COMMANDS.has(m.command)) {
      // Event playback may bring old JOINs, PARTs … : they are not news, and not shown.
      this.#history.collect(m, from);
      return;
    }
    switch (m.command) {
      case "PING":
        this.send(`PONG :${m.params[0] ?? ""}`);
        break;
      case "PONG":
        this.#outbox.pong(m.params.at(-1) ?? "");
        break;
      case "CAP": {
        const answer = this.#server.negotiate(
          m,
          (offered) => this.#auth.capabilities(offered),
          (acked) => this.#auth.start(acked),
        );
        if (answer) this.send(answer);
        if (m.params[1] === "LS") this.search.offered(this.#server.offered.has("soju.im/search"));
        break;
      }
      case "AUTHENTICATE":
        if (m.params[0] === "+") this.#auth.payload();
        break;
      case "900":
      case "903":
      case "904":
      case "905":
      case "906":
        if (this.#auth.numeric(m) && !this.#registered) this.send("CAP END");
        break;
      case "REGISTER":
        this.#auth.registerSucceeded(m);
        this.#joinWanted();
        break;
      case "TOKEN":
        this.#auth.tokenReceived(m);
        break;
      case "001":
        this.#onWelcome(m);
        break;
      case "005":
        this.#server.support(m);
        break;
      case "433":
        if (this.#registered) this.#error(`Nickname ${m.params[1]} is already in use`);
        else this.#nickTaken(m.params.at(-1) ?? "");
        break;
      case "432":
        if (!this.#registered) this.#stop(`The server refused that nickname: ${m.params.at(-1)}`);
        else this.#error(m.params.at(-1) ?? "");
        break;
      case "NICK":
        if (self) {
          this.#nick = m.params[0];
          this.#save();
          this.#events.identity(this.#nick, this.#auth.account);
        }
        this.#members.renamed(from, m.params[0]);
        break;
      case "JOIN":
        if (self) this.#onJoin(m);
        else this.#members.joined(m.params[0], from);
        break;
      case "PART":
      case "KICK":
        if (this.#members.parted(m, from)) this.#save();
        break;
      case "QUIT":
        this.#members.quit(m, from);
        break;
      case "353":
        this.#members.names(m);
        break;
      case "366":
        this.#members.endOfNames(m);
        break;
      case "MODE":
        this.#members.mode(m);
        break;
      case "332":
      case "TOPIC":
        this.#members.topic(m, from);
        break;
      case "BATCH":
        if (this.search.batch(m)) break;
        for (const nick of this.#history.batch(m)) this.#openQuery(nick);
        break;
      case "CHATHISTORY":
        if (m.params[0] === "TARGETS") this.#history.target(m);
        break;
      case "WEBPUSH":
        this.push.answered(m);
        break;
      case "MARKREAD":
        this.#markers.received(m.params[0], m.params[1]);
        break;
      case "FAIL":
        this.#onFail(m);
        break;
      case "WARN":
        if (m.params[0] === "SEARCH") this.search.refused(m);
        break;
      case "PRIVMSG":
      case "NOTICE":
        this.#incoming.chat(m, self);
        break;
      case "TAGMSG":
        this.#incoming.tags(m, self);
        break;
      case "REDACT":
        this.#incoming.redact(m, self);
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
          // The welcome is over (ISUPPORT's VAPID known): push renews its subscription (or, for
          // an account made now, once REGISTER has logged it in).
          if (m.command === "376" || m.command === "422") this.push.connected();
          conversations.system(undefined, m.params.slice(1).join(" "));
        }
    }
  }

  /**
   * The nick asked for at registration is taken: ask for it with a `_` added, or, at
   * NICKLEN, in place of its last character. When that gives the same nick again, every
   * variant is taken: the user picks another rather than the page asking forever. A nick
   * to register as an account is that account: no variant will do.
   */
  #nickTaken(reason: string): void {
    const variant = `${this.#wanted.slice(0, NICK_LENGTH - 1)}_`;
    if (this.#auth.credentials.kind === "register") {
      this.#stop(`Cannot create the account ${this.#wanted}: ${reason}`);
    } else if (variant === this.#wanted) {
      this.#stop(`The nickname ${this.#nick} is in use, and so are its variants`);
    } else {
      this.#wanted = variant;
      this.send(`NICK ${variant}`);
    }
  }

  #onWelcome(m: IrcMessage): void {
    this.#registered = true;
    this.#nick = m.params[0];
    this.#socket.resetBackoff();
    // Most servers end the welcome with our mask: "Welcome to … ann!ann@127.0.0.1".
    this.#outbox.learnUserHost((m.params[1] ?? "").split(" ").pop(), this.#nick);
    this.#events.identity(this.#nick, this.#auth.account);
    this.#events.status("Connected", "connected", false);
    this.#outbox.registered(
      this.#server.has("draft/chathistory"),
      this.#auth.account !== undefined,
    );
    if (this.#auth.credentials.kind === "guest") this.#established = true;
    this.#save();
    if (this.#auth.registered()) return;
    this.#joinWanted();
  }

  /** Registered (and logged in, when asked): into the channels, and the private chats back. */
  #joinWanted(): void {
    const channels = this.conversations.names("channel");
    if (channels.length) this.send(`JOIN ${channels.join(",")}`);
    const queries = this.conversations.names("query");
    if (this.#auth.account !== undefined && this.#server.has("draft/chathistory")) {
      for (const nick of queries) this.#opened(this.conversations.get(nick)!);
      if (queries.length === 0) this.#history.targets();
    }
    this.#outbox.flush();
  }

  #openQuery(nick: string): void {
    if (!this.isSelf(nick)) this.conversations.open(nick, "query");
  }

  /** Our JOIN (from this device or another of the account): the channel's history comes. */
  #onJoin(m: IrcMessage): void {
    const conversations = this.conversations;
    const conversation = conversations.open(m.params[0], "channel");
    this.#outbox.learnUserHost(m.source, this.#nick);
    const rejoined = conversation.joined;
    conversation.joined = true;
    conversation.wanted = true;
    conversation.item.classList.remove("parted");
    if (!rejoined) conversation.users.clear();
    this.#save();
    if (this.#server.has("draft/chathistory") && !rejoined) this.#history.latest(conversation);
    if (conversations.current?.name === SERVER || conversation.pendingShow) {
      conversation.pendingShow = false;
      conversations.show(conversation.name);
    }
    this.#outbox.flush();
  }

  #onFail(m: IrcMessage): void {
    const [command, code] = m.params;
    if (command === "CHATHISTORY") {
      if (this.#history.failed(m)) this.#outbox.historyRefused();
      this.#outbox.flush();
      if (code === "ACCOUNT_REQUIRED") return;
    } else if (command === "REGISTER") {
      this.#stop(m.params.at(-1) ?? "The server did not create the account");
      return;
    } else if (command === "MARKREAD" && code === "ACCOUNT_REQUIRED") {
      return;
    } else if (command === "WEBPUSH" || command === "REDACT" || command === "SEARCH") {
      ({ WEBPUSH: this.push, REDACT: this.redactions, SEARCH: this.search })[command].refused(m);
      return;
    }
    this.#error(m.params.at(-1) ?? "");
  }
}
