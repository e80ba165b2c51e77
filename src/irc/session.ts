// Over 600 lines: one class, a client's whole conversation (reading and its limits,
// registration as a new user or one more device of a present one, dispatch, labeled answers,
// closing), whose parts share its private state; about 240 lines are documentation and the
// runnable example.
/**
 * One IRC client on any transport: reads its lines, enforces the limits, runs registration
 * and capability negotiation, dispatches commands, and queues what it should receive.
 *
 * A session is one device of a chat member — its {@link Presence}: the user's nick,
 * channels and modes, shared by every connection logged in to the same account (multiclient).
 * A connection that logs in (SASL) to an account that is present becomes one more device of
 * that presence (see `attach.ts`); any other gets a presence of its own. The session has a
 * bounded {@link SendQueue}: its member's channels' events reach the queue through each
 * channel's stream, encoded once per capability variant for all members; other events the hub
 * hands to `deliver`, which pushes their bytes (also encoded once per variant and shared).
 * Nothing it does waits on another client.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { AccountStore } from "../chat/accounts.ts";
import { foldCase } from "../chat/casemap.ts";
import type { Channel } from "../chat/channel.ts";
import type { ChatEvent } from "../chat/chat_event.ts";
import type { Connection } from "../chat/connection.ts";
import type { ChatHub } from "../chat/hub.ts";
import type { ServerModeration } from "../chat/server_moderation.ts";
import { type Device, maskOf, type Member } from "../chat/member.ts";
import { isLocalNick, LOCAL_SUFFIX, nickProblem, toUserName } from "../chat/names.ts";
import { Presence, restorePresence } from "../chat/presence.ts";
import { type Flusher, SendQueue } from "../chat/delivery.ts";
import { COMMANDS } from "./_commands.ts";
import { attachBurst } from "./attach.ts";
import { sendJoinReplies } from "./commands/channels.ts";
import { welcome } from "./welcome.ts";
import { encodeEvent, encodeLine } from "./encode.ts";
import { LabeledResponse, type Outgoing } from "./labeled_response.ts";
import { Capabilities, capCommand } from "./capabilities.ts";
import type { IrcLimits } from "./limits.ts";
import { type IrcMessage, parseMessage } from "./message.ts";
import { Numeric } from "./numerics.ts";
import type { PushNotifications } from "./push_notifications.ts";
import { SaslExchange } from "./sasl.ts";
import type { ReplicatedHub } from "../cluster/replicated_hub.ts";
import type { HistoryReader } from "./chathistory.ts";

/** What sessions share: the chat core, the flusher, the limits and the server's identity. */
export interface IrcContext {
  /** The chat core. */
  readonly hub: ChatHub;
  /** Flushes every session's queue on one timer. */
  readonly flusher: Flusher;
  /** Limits and timers. */
  readonly limits: IrcLimits;
  /** The server's name, the source of its replies. */
  readonly serverName: string;
  /** The software version shown in 002/004/351. */
  readonly version: string;
  /** When the server started, ms since the epoch. */
  readonly createdAt: number;
  /** Message of the day, one entry per line; empty for none. */
  readonly motd: readonly string[];
  /** Registered accounts (SASL, REGISTER, nick protection); none without a data directory. */
  readonly accounts?: AccountStore;
  /** Server operators and server bans; without it nobody can OPER and nobody is banned. */
  readonly moderation?: ServerModeration;
  /** Counts that sessions add to, for metrics. */
  readonly counters: IrcCounters;
  /** The upload URL advertised in ISUPPORT (`draft/FILEHOST`), once the HTTP side serves uploads. */
  fileHost?: string;
  /** Push notifications (IRCv3 `draft/webpush`); none without a data directory. */
  readonly push?: PushNotifications;
  /**
   * This server as a node of a cluster (`serve --cluster`): registrations, nick changes,
   * joins, parts, quits and messages go through its log, and are answered once applied.
   */
  readonly cluster?: ReplicatedHub;
  /** Where CHATHISTORY reads instead of the hub's history: a cluster's PostgreSQL. */
  readonly historyReader?: HistoryReader;
}

/** What sessions count, for the server's metrics. */
export interface IrcCounters {
  /** Clients dropped because they did not read what they were sent (SendQ exceeded). */
  sendQDrops: number;
}

const log = getLogger(["shmooze", "irc"]);
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const lenientUtf8 = new TextDecoder();
const AT = 0x40;
const SPACE = 0x20;
const NUL = 0x00;
const CR = 0x0d;
/** How long a closing session may take to send its last lines. */
const CLOSE_GRACE_MS = 1000;

/** The handlers that run before registration; everything else answers 451 until then. */
const REGISTRATION = new Set([
  "AUTHENTICATE",
  "CAP",
  "NICK",
  "USER",
  "PASS",
  "PING",
  "PONG",
  "QUIT",
]);

/**
 * One client's IRC conversation with the server.
 *
 * @example Serve one client over a connection in memory: it registers, joins and leaves
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Connection } from "../chat/connection.ts";
 * import { ChatHub } from "../chat/hub.ts";
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * import { IrcSession } from "./session.ts";
 *
 * let output = "";
 * const connection: Connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {
 *     for (const line of ["NICK ann", "USER ann 0 * :Ann", "JOIN #lobby"]) {
 *       yield new TextEncoder().encode(line);
 *     }
 *   },
 *   write(chunks) {
 *     for (const chunk of chunks) output += new TextDecoder().decode(chunk);
 *     return Promise.resolve();
 *   },
 *   close() {},
 * };
 * const hub = new ChatHub();
 * const context = {
 *   hub,
 *   flusher: hub.flusher,
 *   limits: DEFAULT_LIMITS,
 *   serverName: "irc.test",
 *   version: "0.1.0",
 *   createdAt: Date.now(),
 *   motd: [],
 *   counters: { sendQDrops: 0 },
 * };
 * let closed = 0;
 * const session = new IrcSession(connection, context, () => closed++);
 * await session.run(); // until the lines end: the client has gone
 * await session.close("Connection closed"); // the close run() started
 * const lines = output.split("\r\n");
 * assert.match(lines[0], /^:irc\.test 001 ann :Welcome/);
 * assert.ok(lines.includes(":ann!ann@127.0.0.1 JOIN #lobby"));
 * assert.equal(lines.at(-2), "ERROR :Closing Link: 127.0.0.1 (Connection closed)");
 * assert.equal(hub.find("ann"), undefined);
 * assert.equal(closed, 1);
 * ```
 */
export class IrcSession implements Device {
  /** The peer's address: what server bans, throttles and the loopback checks go by. */
  readonly address: string;
  /** The transport's name. */
  readonly transport: string;
  /** Whether the link is encrypted (TLS, WSS). */
  readonly secure: boolean;
  /** When the connection was attached, ms since the epoch. */
  readonly connectedAt: number = Date.now();
  /** The shared context. */
  readonly context: IrcContext;
  /**
   * The session token this connection logged in with (SASL IRCV3BEARER) or made last (TOKEN
   * GENERATE): the one `TOKEN REVOKE` revokes.
   */
  token: string | undefined;
  #connection: Connection;
  #queue: SendQueue;
  #onClose: (session: IrcSession) => void;
  readonly #caps = new Capabilities();
  /** What the client asked for before registering; afterwards its member's are shown. */
  #nick = "";
  #user = "";
  #realname = "";
  /** The account logged in to before registering (SASL), until the member has it. */
  #account: string | undefined;
  #member: Presence | undefined;
  #registered = false;
  #closed = false;
  /** A registration waits for the cluster's log (see `#completeRegistration`). */
  #connecting = false;
  #closing: Promise<void> | undefined;
  #lastActivity = Date.now();
  #pingSentAt = 0;
  #tokens: number;
  #tokenTime = performance.now();
  #sasl: SaslExchange | undefined;
  /** The answer to the labeled command being handled, while it is collected. */
  #response: LabeledResponse | undefined;
  /** The last event delivered, to tell the echo of a message to oneself from its receipt. */
  #lastDelivered: ChatEvent | undefined;

  /**
   * Makes an unregistered session; {@link IrcSession.run} starts reading.
   *
   * @param connection The client's connection.
   * @param context What sessions share.
   * @param onClose Called once when the session has closed its connection.
   */
  constructor(
    connection: Connection,
    context: IrcContext,
    onClose: (session: IrcSession) => void,
  ) {
    this.#connection = connection;
    this.context = context;
    this.#onClose = onClose;
    this.transport = connection.transport;
    this.secure = connection.secure ?? false;
    // An IPv6 address starting with ':' would read as the last parameter in `nick!user@host`.
    this.address = connection.remoteAddress.startsWith(":")
      ? `0${connection.remoteAddress}`
      : connection.remoteAddress;
    this.#tokens = context.limits.floodBurst;
    this.#queue = new SendQueue(connection, {
      flusher: context.flusher,
      limit: context.limits.sendQ,
      onOverflow: () => {
        context.counters.sendQDrops++;
        log.warn("Dropped {nick} ({host}): SendQ exceeded ({limit} bytes not read)", {
          nick: this.nick || "*",
          host: this.host,
          limit: context.limits.sendQ,
        });
        this.close("SendQ exceeded");
      },
      encode: encodeEvent,
    });
  }

  /**
   * The host shown in `nick!user@host`: the member's once registered (an operator's CHGHOST
   * changes it); before, the peer's address.
   */
  get host(): string {
    return this.#member?.host ?? this.address;
  }

  /**
   * The nick: the member's once registered (every device of it shares it); before, what the
   * client asked for ("" until NICK). Set it only before registering.
   */
  get nick(): string {
    return this.#member?.nick ?? this.#nick;
  }

  set nick(nick: string) {
    this.#nick = nick;
  }

  /** The user name (ident): the member's once registered; "" until USER. */
  get user(): string {
    return this.#member?.user ?? this.#user;
  }

  set user(user: string) {
    this.#user = user;
  }

  /** The real name: the member's once registered; "" until USER. */
  get realname(): string {
    return this.#member?.realname ?? this.#realname;
  }

  /** The account the client is logged in to (SASL or REGISTER), if any. */
  get account(): string | undefined {
    return this.#member ? this.#member.account : this.#account;
  }

  /**
   * The member this session is a device of: the user as everyone else sees it.
   *
   * @throws Error before registration: there is no member yet (command handlers run after).
   */
  get member(): Presence {
    if (this.#member === undefined) {
      throw new Error("Cannot use the member of an IRC session before it has registered");
    }
    return this.#member;
  }

  /**
   * Every session of this session's member (itself included): the client's other devices.
   *
   * @returns The sessions; only itself before registration.
   */
  devices(): IrcSession[] {
    if (this.#member === undefined) return [this];
    return [...this.#member.devices].filter((device): device is IrcSession =>
      device instanceof IrcSession
    );
  }

  /**
   * Logs the client in to an account: before registration, for the registration to come
   * (which joins the account's presence if it has one); after, its member (see
   * `ChatHub.logIn`).
   *
   * @param account The account, as registered.
   * @returns False when the client is registered and another user is logged in to the account
   *   (nothing changed); in a cluster, once every node applied it, or `unavailable` when the
   *   log could not take it.
   */
  logIn(account: string): boolean | Promise<boolean | "unavailable"> {
    if (this.#member === undefined) {
      this.#account = account;
      return true;
    }
    const cluster = this.context.cluster;
    if (cluster !== undefined) return cluster.logIn(this, account);
    return this.context.hub.logIn(this, account);
  }

  /** Whether registration is complete (the client is a member of the hub). */
  get registered(): boolean {
    return this.#registered;
  }

  /** Whether the session has been closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the client asked for `echo-message`. */
  get echo(): boolean {
    return this.#caps.has("echo-message");
  }

  /**
   * Whether the client asked for `extended-monitor`: the nicks it monitors then bring it their
   * away, account and real-name changes.
   */
  get watchesChanges(): boolean {
    return this.#caps.has("extended-monitor");
  }

  /** The capability bits that decide how events are encoded for this client. */
  get variant(): number {
    return this.#caps.variant;
  }

  /** Bytes waiting in the send queue. */
  get queuedBytes(): number {
    return this.#queue.size;
  }

  /** The send queue: channel events reach it through their channel's stream. */
  get queue(): SendQueue {
    return this.#queue;
  }

  /**
   * Whether the client enabled a capability.
   *
   * @param name The capability.
   * @returns True when enabled.
   */
  hasCap(name: string): boolean {
    return this.#caps.has(name);
  }

  /**
   * Reads and handles the client's lines until the connection ends, then closes.
   *
   * @returns Resolves when the connection has ended.
   */
  async run(): Promise<void> {
    const { maxTags, maxLine, maxUnregisteredBytes } = this.context.limits;
    let reason = "Connection closed";
    let unregisteredBytes = 0;
    try {
      for await (const raw of this.#connection.lines(maxTags + maxLine)) {
        if (this.#closed) break;
        // Flood control starts at registration; until then the budget is this byte count.
        if (!this.#registered && (unregisteredBytes += raw.length + 2) > maxUnregisteredBytes) {
          reason = `Sent more than ${maxUnregisteredBytes} bytes before registering`;
          break;
        }
        this.#lastActivity = Date.now();
        this.#pingSentAt = 0;
        if (this.#registered && !this.#takeToken()) await this.#floodDelay();
        // A client that asks and does not read its answers gets no more answers queued:
        // its next command waits until what it was sent fits in its SendQ again.
        if (this.#queue.size > this.context.limits.sendQ) await this.#queue.belowLimit();
        if (this.#closed) break;
        // Commands are handled one at a time, in order: a reply never overtakes the reply
        // to an earlier command, even when that one had to wait (for history, a password).
        const handled = this.#handleRaw(raw);
        if (handled !== undefined) await handled;
      }
    } catch (error) {
      reason = `Read error: ${error instanceof Error ? error.message : String(error)}`;
    }
    await this.close(reason);
  }

  /**
   * Queues an event the hub delivers.
   *
   * @param event The event.
   */
  deliver(event: ChatEvent): void {
    // Someone else's invitation is IRCv3 invite-notify: only for clients that asked for it.
    if (event.kind === "invite" && event.victim !== this.nick && !this.hasCap("invite-notify")) {
      return;
    }
    const echo = event === this.#lastDelivered;
    this.#lastDelivered = event;
    if (this.#response?.take(event, { nick: this.nick, mask: maskOf(this) }, echo)) return;
    const bytes = encodeEvent(event, this.#caps.variant);
    if (bytes.length > 0) this.#queue.push(bytes, "event", event);
  }

  /**
   * Queues an event for this client only, as an answer to it (the JOINs a new device of a
   * present user is shown): encoded for its capabilities, never counted against its SendQ.
   *
   * @param event The event.
   */
  replyEvent(event: ChatEvent): void {
    const bytes = encodeEvent(event, this.#caps.variant);
    if (bytes.length > 0) this.#queue.push(bytes, "reply", event);
  }

  /**
   * Shows the client a channel its user joined through a device of another node of a cluster
   * (the JOIN came through the channel): its topic and names.
   *
   * @param channel The channel.
   */
  joined(channel: Channel): void {
    sendJoinReplies(this, channel);
  }

  /**
   * Tells the client that a nick it monitors came online (730, with its mask) or went
   * offline (731).
   *
   * @param nick The nick.
   * @param mask Its holder's `nick!user@host` when online.
   */
  presence(nick: string, mask: string | undefined): void {
    const numeric = mask === undefined ? Numeric.RPL_MONOFFLINE : Numeric.RPL_MONONLINE;
    this.#unsolicited({ command: numeric, params: [this.nick || "*", mask ?? nick] });
  }

  /**
   * Closes on the operator's order (the hub has already removed this member).
   *
   * @param reason Why.
   */
  disconnect(reason: string): void {
    this.close(reason);
  }

  /**
   * Queues one line for this client only: a reply to its own command, which never overflows
   * its SendQ (see `PushKind`).
   *
   * @param message The message; the source defaults to the server; `trailing` forces a
   *   colon before the last parameter.
   */
  send(message: Outgoing): void {
    if (this.#response !== undefined) return this.#response.reply(message);
    this.#queue.push(encodeLine({ source: this.context.serverName, ...message }), "reply");
  }

  /**
   * Sends a numeric reply: `:server NNN nick params…`.
   *
   * @param numeric The three digits.
   * @param params Parameters after the client's nick.
   */
  reply(numeric: string, ...params: string[]): void {
    this.send({ command: numeric, params: [this.nick || "*", ...params] });
  }

  /**
   * Answers 461 for a command that lacks parameters.
   *
   * @param command The command.
   */
  needMoreParams(command: string): void {
    this.reply(Numeric.ERR_NEEDMOREPARAMS, command, "Not enough parameters");
  }

  /**
   * Sends an IRCv3 standard reply `FAIL COMMAND CODE [context…] :description`.
   *
   * @param command The command that failed, or `*`.
   * @param code The machine-readable code.
   * @param params Context parameters, then the description last.
   */
  fail(command: string, code: string, ...params: string[]): void {
    this.send({ command: "FAIL", params: [command, code, ...params] });
  }

  /**
   * Checks the timers: registration deadline, idle PING, ping timeout.
   *
   * @param now The time, ms since the epoch.
   */
  tick(now: number): void {
    if (this.#closed) return;
    const limits = this.context.limits;
    if (!this.#registered) {
      if (now - this.connectedAt > limits.registrationTimeout * 1000) {
        this.close("Registration timed out");
      }
      return;
    }
    if (this.#pingSentAt !== 0) {
      if (now - this.#pingSentAt > limits.pingTimeout * 1000) {
        this.close(`Ping timeout: ${limits.pingTimeout} seconds`);
      }
    } else if (now - this.#lastActivity > limits.pingInterval * 1000) {
      this.#pingSentAt = now;
      this.#unsolicited({ command: "PING", params: [this.context.serverName] });
    }
  }

  /**
   * Ends the session: detaches it from its member — whose QUIT the others see when this was
   * its last device, unless it is always-on —, sends `ERROR`, waits (briefly) for the queue to
   * drain, closes the connection. Safe to call twice: both calls get the same promise.
   *
   * @param reason Why, for the client's ERROR line.
   * @param quit The quit message the others see.
   * @returns Resolves when the connection is closed.
   */
  close(reason: string, quit: string = reason): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    if (this.#registered) {
      const cluster = this.context.cluster;
      // In a cluster each device leaves through the log: the user quits when its last device
      // on any node has left.
      if (cluster === undefined) this.context.hub.detach(this, quit);
      else void cluster.quit(this, quit);
    }
    this.#queue.push(
      encodeLine({ command: "ERROR", params: [`Closing Link: ${this.host} (${reason})`] }),
      "last",
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, CLOSE_GRACE_MS));
    this.#closing = Promise.race([this.#queue.drained(), grace]).then(() => {
      clearTimeout(timer);
      this.#queue.close();
      this.#connection.close();
      this.#onClose(this);
    });
    return this.#closing;
  }

  /** Queues a line the client did not ask for (a PING, a MONITOR notice): never a response. */
  #unsolicited(message: Outgoing): void {
    this.#queue.push(encodeLine({ source: this.context.serverName, ...message }), "event");
  }

  /** Starts collecting the answer to a labeled command (IRCv3 labeled-response). */
  #beginResponse(label: string): void {
    this.#response = new LabeledResponse(label, maskOf(this));
    this.context.hub.beginResponse(this);
  }

  /** Sends the collected answer with its label. */
  #endResponse(): void {
    const response = this.#response;
    this.#response = undefined;
    this.context.hub.endResponse(this);
    if (this.#closed || response === undefined) return;
    const options = { batch: this.#caps.has("batch"), serverName: this.context.serverName };
    for (const { bytes, event } of response.lines(this.#caps.variant, options)) {
      this.#queue.push(bytes, "reply", event);
    }
  }

  #takeToken(): boolean {
    const { floodBurst, floodRate } = this.context.limits;
    if (floodBurst === 0) return true;
    const now = performance.now();
    this.#tokens = Math.min(floodBurst, this.#tokens + (now - this.#tokenTime) * floodRate / 1000);
    this.#tokenTime = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Fake lag (as Ergo does): a flooding client's lines are delayed, not dropped. */
  async #floodDelay(): Promise<void> {
    const waitMs = (1 - this.#tokens) * 1000 / this.context.limits.floodRate;
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    this.#tokens = 0;
    this.#tokenTime = performance.now();
  }

  #handleRaw(raw: Uint8Array): Promise<void> | undefined {
    const { maxTags, maxLine } = this.context.limits;
    let tagBytes = 0;
    if (raw[0] === AT) {
      const space = raw.indexOf(SPACE);
      tagBytes = space < 0 ? raw.length : space + 1;
    }
    if (tagBytes > maxTags || raw.length - tagBytes + 2 > maxLine) {
      this.reply(Numeric.ERR_INPUTTOOLONG, "Input line was too long");
      return;
    }
    // A NUL cuts strings in C clients and storage; a CR that does not end the line would
    // end it on clients that split at CR, letting the rest pose as a line from the server.
    if (raw.includes(NUL) || raw.includes(CR)) {
      this.fail(
        commandOf(raw),
        "INVALID_CHARACTERS",
        "Message rejected: it contains a NUL, or a CR that does not end the line",
      );
      return;
    }
    let line: string;
    try {
      line = strictUtf8.decode(raw);
    } catch {
      this.fail(
        commandOf(raw),
        "INVALID_UTF8",
        "Message rejected, your IRC software MUST use UTF-8",
      );
      return;
    }
    const message = parseMessage(line);
    if (message === undefined) return;
    const label = this.#registered && this.#caps.has("labeled-response")
      ? message.tags.label
      : undefined;
    if (label === undefined) return this.#handle(message);
    this.#beginResponse(label);
    const handled = this.#handle(message);
    if (handled !== undefined) return handled.then(() => this.#endResponse());
    this.#endResponse();
    return undefined;
  }

  /** Runs one command's handler; a failure inside it is logged and answered. */
  #handle(message: IrcMessage): Promise<void> | undefined {
    const failed = (error: unknown) => {
      log.error("{command} from {nick} failed: {error}", {
        command: message.command,
        nick: this.nick,
        error,
      });
      this.fail(message.command, "INTERNAL_ERROR", "The server failed to handle the command");
    };
    try {
      return this.#dispatch(message)?.catch(failed);
    } catch (error) {
      failed(error);
      return undefined;
    }
  }

  #dispatch(message: IrcMessage): Promise<void> | void {
    const command = message.command;
    if (REGISTRATION.has(command)) return this.#registration(message);
    if (!this.#registered) {
      if (command === "REGISTER") {
        return this.fail(
          "REGISTER",
          "COMPLETE_CONNECTION_REQUIRED",
          message.params[0] ?? "*",
          "Register the account after connection registration completes",
        );
      }
      this.reply(Numeric.ERR_NOTREGISTERED, "You have not registered");
      return;
    }
    const handler = COMMANDS[command];
    if (handler === undefined) {
      this.reply(Numeric.ERR_UNKNOWNCOMMAND, command, "Unknown command");
      return;
    }
    return handler(this, message);
  }

  #registration(message: IrcMessage): Promise<void> | void {
    const params = message.params;
    switch (message.command) {
      case "AUTHENTICATE":
        this.#sasl ??= new SaslExchange(this, () => this.#completeRegistration());
        return this.#sasl.handle(params);
      case "CAP":
        if (capCommand(this, this.#caps, params) === "end") {
          // Ending negotiation with a SASL exchange open abandons it (IRCv3 SASL 3.1): 906,
          // then register without an account, instead of waiting for the timeout.
          if (this.#sasl?.pending) this.#sasl.abort();
          this.#queue.variant = this.#caps.variant;
          return this.#completeRegistration();
        }
        this.#queue.variant = this.#caps.variant;
        return;
      case "NICK":
        return this.#nickCommand(params[0]);
      case "USER":
        if (this.#registered || this.user !== "") {
          return this.reply(Numeric.ERR_ALREADYREGISTERED, "You may not reregister");
        }
        if (params.length < 4 || params[0] === "" || params[3] === "") {
          return this.needMoreParams("USER");
        }
        this.#user = toUserName(params[0]) || "user";
        this.#realname = params[3];
        return this.#completeRegistration();
      case "PASS":
        if (this.#registered) {
          return this.reply(Numeric.ERR_ALREADYREGISTERED, "You may not reregister");
        }
        // No password is configured, so any PASS is accepted.
        return;
      case "PING":
        if (params.length === 0) return this.reply(Numeric.ERR_NOORIGIN, "No origin specified");
        return this.send({ command: "PONG", params: [this.context.serverName, params[0]] });
      case "PONG":
        return;
      case "QUIT": {
        const text = params[0] ?? "";
        this.close(`Quit: ${text}`);
        return;
      }
    }
  }

  #nickCommand(nick: string | undefined): Promise<void> | void {
    const limits = this.context.limits;
    if (nick === undefined || nick === "") {
      return this.reply(Numeric.ERR_NONICKNAMEGIVEN, "No nickname given");
    }
    if (nickProblem(nick, limits.nickLength) !== undefined) {
      return this.reply(Numeric.ERR_ERRONEUSNICKNAME, nick, "Erroneous nickname");
    }
    if (isLocalNick(nick)) {
      return this.reply(
        Numeric.ERR_ERRONEUSNICKNAME,
        nick,
        `Nicknames ending in ${LOCAL_SUFFIX} belong to the users of a bridged local room`,
      );
    }
    if (nick === this.nick) return;
    const hub = this.context.hub;
    if (!this.#registered) {
      // A user's nick may be asked for by its next device, which logs in to the user's account
      // (SASL) before registration ends: while negotiation lasts, the check waits for the end.
      const holder = hub.find(nick);
      const mayBeOwn = holder?.account !== undefined &&
        (this.#caps.negotiating || foldCase(holder.account) === foldCase(this.#account ?? ""));
      if (holder !== undefined && !mayBeOwn) {
        return this.reply(Numeric.ERR_NICKNAMEINUSE, nick, "Nickname is already in use");
      }
      this.#nick = nick;
      return this.#completeRegistration();
    }
    if (this.#nickOfAnotherAccount(nick)) return this.#refuseRegisteredNick(nick);
    const cluster = this.context.cluster;
    if (cluster !== undefined) {
      return cluster.changeNick(this, nick).then((changed) => this.#nickChanged(nick, changed));
    }
    this.#nickChanged(nick, hub.changeNick(this, nick));
  }

  /** Answers a NICK that was refused: taken, or (in a cluster) not taken by the log. */
  #nickChanged(nick: string, changed: boolean | "unavailable"): void {
    if (changed === "unavailable") {
      this.fail(
        "NICK",
        "TEMPORARILY_UNAVAILABLE",
        nick,
        "The nick change could not be made; try again later",
      );
    } else if (!changed) {
      this.reply(Numeric.ERR_NICKNAMEINUSE, nick, "Nickname is already in use");
    }
  }

  /** Whether `nick` is a registered account this client is not logged in to. */
  #nickOfAnotherAccount(nick: string): boolean {
    const owner = this.context.accounts?.find(nick);
    return owner !== undefined &&
      (this.account === undefined || foldCase(owner.name) !== foldCase(this.account));
  }

  /** 433, as for a nick in use, so clients pick their alternative nick as usual. */
  #refuseRegisteredNick(nick: string): void {
    this.reply(
      Numeric.ERR_NICKNAMEINUSE,
      nick,
      "Nickname is registered to an account; log in to it with SASL to use it",
    );
  }

  #completeRegistration(): Promise<void> | void {
    if (this.#registered || this.#caps.negotiating || this.#nick === "" || this.#user === "") {
      return;
    }
    if (this.#sasl?.pending) return;
    const ban = this.context.moderation?.refusal(this);
    if (ban !== undefined) {
      this.reply(Numeric.ERR_YOUREBANNEDCREEP, `You are banned from this server: ${ban.reason}`);
      this.close(`Banned: ${ban.reason}`);
      return;
    }
    const present = this.#account === undefined ? undefined : this.#presenceOf(this.#account);
    if (present === "cluster") return this.#attachThroughLog(this.#account!);
    if (present !== undefined) return this.#attachTo(present);
    if (this.#nickOfAnotherAccount(this.#nick)) {
      const nick = this.#nick;
      this.#nick = "";
      this.#refuseRegisteredNick(nick);
      return;
    }
    const presence = new Presence({
      nick: this.#nick,
      user: this.#user,
      host: this.host,
      realname: this.#realname,
      account: this.#account,
      connectedAt: this.connectedAt,
    });
    const cluster = this.context.cluster;
    if (cluster === undefined) return this.#added(presence, this.context.hub.add(presence));
    // Until the log answers, a second attempt (SASL's end racing CAP END) waits its turn.
    if (this.#connecting) return;
    this.#connecting = true;
    // Registered as the log adds it, in the same turn, so it misses nothing in between.
    // Registered and welcomed as the log adds it, in the same turn: the next entry applied
    // may already be a message to it, which must come after its 001.
    const onAdded = () => {
      if (!this.#closed) this.#added(presence, true);
    };
    return cluster.connect(presence, onAdded, this).then(async (result) => {
      this.#connecting = false;
      if (this.#registered) return;
      // Closed before the log added it: it must not stay, on any node.
      if (result === true) await cluster.quit(this, "Connection closed");
      else if (this.#closed) return;
      // Another device of the account connected first (through any node): join it.
      else if (result === false && this.#presenceOf(this.#account ?? "") === "cluster") {
        return this.#completeRegistration();
      } else this.#added(presence, result);
    });
  }

  /**
   * Registers as one more device of an account's presence in a cluster (connected through any
   * node, or always-on): an `attach` entry in the log, applied by every node; the device
   * attaches as it is applied here.
   */
  #attachThroughLog(account: string): Promise<void> | void {
    const cluster = this.context.cluster!;
    if (this.#connecting) return;
    this.#connecting = true;
    const attached = (member: Member) => {
      if (!this.#closed && member instanceof Presence) this.#attachTo(member);
    };
    return cluster.attach(this, account, attached).then(async (result) => {
      this.#connecting = false;
      if (this.#registered) return;
      // Closed before the log attached it: its connection must not stay, on any node.
      if (result === true) await cluster.quit(this, "Connection closed");
      else if (this.#closed) return;
      // The presence quit in between: this device starts a new one.
      else if (result === false) return this.#completeRegistration();
      else {
        this.fail(
          "NICK",
          "TEMPORARILY_UNAVAILABLE",
          this.#nick,
          "Registration could not be completed; try again later",
        );
        this.#nick = "";
      }
    });
  }

  /** Registers a new user once the hub added it, or says why it did not. */
  #added(presence: Presence, added: boolean | "unavailable"): void {
    if (added !== true) {
      if (added === "unavailable") {
        this.fail(
          "NICK",
          "TEMPORARILY_UNAVAILABLE",
          this.#nick,
          "Registration could not be completed; try again later",
        );
      } else {
        this.reply(Numeric.ERR_NICKNAMEINUSE, this.#nick, "Nickname is already in use");
      }
      this.#nick = "";
      return;
    }
    this.#register(presence);
    this.context.hub.attach(this);
    welcome(this);
  }

  /**
   * The presence of an account, if it has one: the user connected on another device, or an
   * always-on account (brought back in its channels if an operator had removed it).
   */
  #presenceOf(account: string): Presence | "cluster" | undefined {
    const { hub, accounts, cluster } = this.context;
    const member = hub.memberOfAccount(account);
    // In a cluster every device attaches through the log, whichever node holds the others.
    if (cluster !== undefined) return member instanceof Presence ? "cluster" : undefined;
    if (member instanceof Presence) return member;
    if (member !== undefined) return undefined;
    const stored = accounts?.alwaysOn.get(account);
    return stored && restorePresence(hub, stored);
  }

  /**
   * Registers as one more device of a present user: its nick (a NICK line says so when the
   * client asked for another), the welcome, then the user's channels (see `attachBurst`).
   */
  #attachTo(presence: Presence): void {
    const asked = this.#nick;
    this.#register(presence);
    if (foldCase(asked) !== foldCase(presence.nick)) {
      const source = maskOf({ nick: asked, user: this.#user, host: this.host });
      this.send({ source, command: "NICK", params: [presence.nick] });
    }
    welcome(this);
    attachBurst(this, this.context.hub.attach(this));
    log.info("{nick} connected another device ({host}) for {account}", {
      nick: presence.nick,
      host: this.host,
      account: presence.account,
    });
  }

  #register(presence: Presence): void {
    this.#member = presence;
    this.#registered = true;
    this.#tokenTime = performance.now();
  }
}

/** The command of a rejected line, to name in the FAIL; `*` unless it is plain letters. */
function commandOf(raw: Uint8Array): string {
  const command = parseMessage(lenientUtf8.decode(raw))?.command;
  return command !== undefined && /^[A-Z0-9]+$/.test(command) ? command : "*";
}
