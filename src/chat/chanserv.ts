/**
 * ChanServ: the pseudo-user that registers channels, as IRC networks' services do (Ergo's
 * `CS REGISTER`, Atheme's `/msg ChanServ REGISTER`). Any transport reaches it: a private
 * message to `ChanServ` is a command, and it answers with NOTICEs. A registered channel
 * belongs to its founder's account: the founder gets operator status on joining, and the
 * channel's topic, modes, key, limit and lists are kept across restarts
 * (`channel_store.ts`).
 *
 * | Command                                  | Who                               | What                                       |
 * | ---------------------------------------- | --------------------------------- | ------------------------------------------ |
 * | `REGISTER #chan`                         | a logged-in operator of the channel | registers it to their account            |
 * | `DROP #chan`                             | the founder                       | unregisters it                             |
 * | `INFO #chan`                             | anyone                            | founder, registration time, modes          |
 * | `OP #chan [nick]`, `DEOP #chan [nick]`   | the founder, `AMODE +o` accounts  | gives or takes operator status             |
 * | `AMODE #chan [+o\|-o\|+v\|-v ACCOUNT]`    | the founder                       | lists or changes who is opped/voiced on join |
 * | `HELP`                                   | anyone                            | this list                                  |
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { foldCase } from "./casemap.ts";
import type { Channel } from "./channel.ts";
import { MAX_LIST_LENGTH, type MemberMode } from "./channel_modes.ts";
import type { ChatEvent } from "./chat_event.ts";
import { takeCommand } from "./_service_command.ts";
import type { ChannelStore } from "./channel_store.ts";
import { CHANSERV_NICK, type ChatHub, LOBBY, type MessageStamp } from "./hub.ts";
import type { Member } from "./member.ts";
import { channelProblem, nickProblem } from "./names.ts";

/** Options for {@link ChanServ}. */
export interface ChanServOptions {
  /** How many channels one account may register. @default {20} */
  maxChannelsPerAccount?: number;
}

const log = getLogger(["shmooze", "chat"]);

const HELP = [
  "ChanServ registers channels to accounts: the founder gets operator status on joining, and",
  "the channel's topic, modes and lists are kept across restarts. Commands:",
  "REGISTER #channel — register a channel you are an operator of (log in first)",
  "DROP #channel — unregister a channel you founded",
  "INFO #channel — who founded a channel, and when",
  "OP #channel [nick] / DEOP #channel [nick] — give or take operator status (founder, AMODE +o)",
  "AMODE #channel [+o|-o|+v|-v account] — list or change who is opped or voiced on joining",
];

/**
 * The ChanServ pseudo-user. {@link ChanServ.start} adds it to a hub.
 *
 * @example Register a channel, drop it
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChanServ } from "./chanserv.ts";
 * import { ChannelStore } from "./channel_store.ts";
 * import { ChatHub } from "./hub.ts";
 * import type { ChatEvent } from "./chat_event.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const store = ChannelStore.open(dir);
 * const hub = new ChatHub({ channels: store });
 * const chanServ = ChanServ.start(hub, store);
 * const told: string[] = [];
 * const ann = {
 *   nick: "ann", user: "a", host: "h", realname: "Ann", transport: "local", account: "ann",
 *   channels: new Set<string>(), echo: false,
 *   deliver: (e: ChatEvent) => { if (e.kind === "notice") told.push(e.text); },
 *   disconnect() {},
 * };
 * hub.add(ann);
 * hub.join(ann, "#team");
 * chanServ.command(ann, "REGISTER #team");
 * assert.match(told.at(-1)!, /^#team is registered to ann/);
 * assert.equal(hub.channel("#team")?.registration?.founder, "ann");
 * chanServ.command(ann, "DROP #team");
 * assert.equal(hub.channel("#team")?.registration, undefined);
 * store.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class ChanServ implements Member {
  /** {@link CHANSERV_NICK}. */
  nick: string = CHANSERV_NICK;
  /** The user name. */
  readonly user: string = CHANSERV_NICK;
  /** The host. */
  readonly host: string = "services";
  /** The real name. */
  readonly realname: string = "Channel registration services";
  /** `service`. */
  readonly transport: string = "service";
  /** Always empty: ChanServ joins no channel. */
  readonly channels: Set<string> = new Set();
  /** No echo. */
  readonly echo: boolean = false;
  /**
   * Whether a private message it is handed runs as a command. A cluster's node sets it false:
   * there every node runs each command as it applies its log entry, in the log's order.
   */
  commandsFromMessages = true;
  readonly #hub: ChatHub;
  readonly #store: ChannelStore;
  readonly #maxChannels: number;

  /**
   * Use {@link ChanServ.start}.
   *
   * @param hub The chat.
   * @param store Where registrations are kept.
   * @param options Limits.
   */
  constructor(hub: ChatHub, store: ChannelStore, options: ChanServOptions = {}) {
    this.#hub = hub;
    this.#store = store;
    this.#maxChannels = options.maxChannelsPerAccount ?? 20;
  }

  /**
   * Makes ChanServ and adds it to a hub as a pseudo-user.
   *
   * @param hub The chat.
   * @param store Where registrations are kept (the hub's channel store).
   * @param options Limits.
   * @returns ChanServ.
   * @throws Error when a user holds the nick ChanServ.
   */
  static start(hub: ChatHub, store: ChannelStore, options: ChanServOptions = {}): ChanServ {
    const chanServ = new ChanServ(hub, store, options);
    if (!hub.addService(chanServ)) {
      throw new Error(`Cannot start ${CHANSERV_NICK}: the nick is taken`);
    }
    return chanServ;
  }

  /**
   * Takes a private message as a command (after its commit, as the hub hands it over).
   *
   * @param event What the hub hands ChanServ.
   */
  deliver(event: ChatEvent): void {
    if (this.commandsFromMessages) takeCommand(this.#hub, this, event);
  }

  /** ChanServ never leaves. */
  disconnect(): void {}

  /**
   * Runs one command from a member and answers it with NOTICEs.
   *
   * @param member Who asks.
   * @param text The command line (`REGISTER #chan`).
   * @param now The time it is taken at: a registration's and an AMODE entry's (a cluster's
   *   node applies its origin's time, so every node keeps the same). @default {now}
   * @param msgid What the MODE lines it makes (`OP`, `DEOP`) take their msgid from:
   *   `<msgid>/mode`, at `now` (a cluster's node gives its entry's id, so every node shows the
   *   same). @default {new msgids}
   */
  command(member: Member, text: string, now: number = Date.now(), msgid?: string): void {
    const [verb = "", ...args] = text.trim().split(/\s+/);
    const reply = (line: string) => this.#hub.notify(this, member, line);
    switch (verb.toUpperCase()) {
      case "REGISTER":
        return this.#register(member, args, now, reply);
      case "DROP":
        return this.#drop(member, args, reply);
      case "INFO":
        return this.#info(args, reply);
      case "OP":
      case "DEOP": {
        const stamp = msgid === undefined ? undefined : { msgid: `${msgid}/mode`, time: now };
        return this.#op(member, args, verb.toUpperCase() === "OP", stamp, reply);
      }
      case "AMODE":
        return this.#amode(member, args, now, reply);
      case "HELP":
      case "":
        for (const line of HELP) reply(line);
        return;
      default:
        reply(`Unknown command ${verb}; HELP lists the commands`);
    }
  }

  #register(
    member: Member,
    [name]: string[],
    now: number,
    reply: (line: string) => void,
  ): void {
    if (name === undefined || channelProblem(name) !== undefined) {
      return reply("Usage: REGISTER #channel");
    }
    const account = member.account;
    if (account === undefined) {
      return reply(`To register ${name}, log in to an account first (SASL, or REGISTER)`);
    }
    const channel = this.#hub.channel(name);
    if (channel === undefined || !channel.members.has(member)) {
      return reply(`To register ${name}, join it first`);
    }
    if (channel.registration !== undefined) {
      return reply(`${channel.name} is already registered to ${channel.registration.founder}`);
    }
    // Nobody creates #lobby, so nobody is its operator: any account may claim it first.
    const claimable = channel.operators.size === 0 && channel.key === LOBBY;
    if (!channel.operators.has(member) && !claimable) {
      return reply(`To register ${channel.name}, you must be one of its operators`);
    }
    if (this.#store.foundedBy(account) >= this.#maxChannels) {
      return reply(
        `${account} has registered ${this.#maxChannels} channels, the most one account may`,
      );
    }
    if (!this.#hub.registerChannel(channel, account, now)) return reply(unstored(channel));
    reply(
      `${channel.name} is registered to ${account}: you get operator status when you join it, and its topic, modes and lists are kept across restarts`,
    );
  }

  #drop(member: Member, [name]: string[], reply: (line: string) => void): void {
    const channel = this.#founded(member, name, "DROP", reply);
    if (channel === undefined) return;
    if (!this.#hub.unregisterChannel(channel)) return reply(unstored(channel));
    reply(`${channel.name} is no longer registered`);
  }

  #info([name]: string[], reply: (line: string) => void): void {
    if (name === undefined || channelProblem(name) !== undefined) {
      return reply("Usage: INFO #channel");
    }
    const channel = this.#hub.channel(name);
    const registration = channel?.registration;
    if (registration === undefined) return reply(`${name} is not registered`);
    const since = new Date(registration.registeredAt).toISOString();
    reply(`${channel!.name} is registered to ${registration.founder} since ${since}`);
    reply(`${channel!.name} has modes ${channel!.modeString(false)}`);
  }

  #op(
    member: Member,
    [name, nick]: string[],
    add: boolean,
    stamp: MessageStamp | undefined,
    reply: (line: string) => void,
  ): void {
    const verb = add ? "OP" : "DEOP";
    if (name === undefined || channelProblem(name) !== undefined) {
      return reply(`Usage: ${verb} #channel [nick]`);
    }
    const channel = this.#hub.channel(name);
    if (channel?.registration === undefined) return reply(`${name} is not registered`);
    if (channel.autoMode(member) !== "o") {
      return reply(`Only ${channel.name}'s founder and AMODE +o accounts may use ${verb}`);
    }
    const target = nick ?? member.nick;
    const result = this.#hub.changeModes(this, channel, [
      { add, mode: "o", param: target },
    ], { privileged: true, stamp });
    if (result === "unavailable") {
      reply(`${channel.name} could not be changed: the server could not store it`);
    } else if (typeof result !== "string" && result.refused.length > 0) {
      reply(result.refused[0].reason);
    }
  }

  #amode(
    member: Member,
    [name, change, account]: string[],
    now: number,
    reply: (line: string) => void,
  ): void {
    const channel = this.#founded(member, name, "AMODE", reply);
    if (channel === undefined) return;
    if (change === undefined) {
      reply(`${channel.name}: ${channel.registration!.founder} +o (founder)`);
      for (const entry of channel.access.values()) {
        reply(`${channel.name}: ${entry.account} +${entry.mode}`);
      }
      return reply(`End of ${channel.name}'s AMODE list`);
    }
    const match = /^([+-])([ov])$/.exec(change);
    if (match === null || account === undefined || nickProblem(account) !== undefined) {
      return reply("Usage: AMODE #channel [+o|-o|+v|-v account]");
    }
    const mode = match[2] as MemberMode;
    if (match[1] === "-") {
      if (!this.#stored(() => this.#store.removeAccess(channel.key, account), channel, reply)) {
        return;
      }
      channel.access.delete(foldCase(account));
      return reply(`${account} is no longer given +${mode} in ${channel.name}`);
    }
    if (channel.access.size >= MAX_LIST_LENGTH && !channel.access.has(foldCase(account))) {
      return reply(`${channel.name}'s AMODE list is full (${MAX_LIST_LENGTH} accounts)`);
    }
    const entry = { account, mode, setBy: member.account!, setAt: now };
    if (!this.#stored(() => this.#store.setAccess(channel.key, entry), channel, reply)) return;
    channel.access.set(foldCase(account), entry);
    reply(`${account} gets +${mode} on joining ${channel.name}`);
  }

  /** A registered channel the member founded, or undefined (and why, told). */
  #founded(
    member: Member,
    name: string | undefined,
    verb: string,
    reply: (line: string) => void,
  ): Channel | undefined {
    if (name === undefined || channelProblem(name) !== undefined) {
      reply(`Usage: ${verb} #channel`);
      return undefined;
    }
    const channel = this.#hub.channel(name);
    if (channel?.registration === undefined) {
      reply(`${name} is not registered`);
      return undefined;
    }
    if (!channel.isFounder(member)) {
      reply(
        `Only ${channel.name}'s founder (${channel.registration.founder}) may use ${verb} on it`,
      );
      return undefined;
    }
    return channel;
  }

  /** Runs a store write; false (and the member told) when it failed. */
  #stored(write: () => void, channel: { name: string }, reply: (line: string) => void): boolean {
    try {
      write();
      return true;
    } catch (error) {
      log.error("ChanServ could not store a change to {channel}: {error}", {
        channel: channel.name,
        error,
      });
      reply(unstored(channel));
      return false;
    }
  }
}

/** What a member is told when the store failed (a full disk …). */
function unstored(channel: { name: string }): string {
  return `${channel.name} could not be changed: the server could not store it; try again later`;
}
