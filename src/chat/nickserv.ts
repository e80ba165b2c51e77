/**
 * NickServ: the pseudo-user for an account's settings, as Ergo spells them. Any transport
 * reaches it: a private message to `NickServ` is a command (IRC also has the `NS` and
 * `NICKSERV` commands), and it answers with NOTICEs.
 *
 * | Command                        | What                                                      |
 * | ------------------------------ | --------------------------------------------------------- |
 * | `SET ALWAYS-ON ON\|OFF`         | stay in your channels with no device connected, or not    |
 * | `HELP`                         | this list                                                 |
 *
 * An always-on account keeps its nick and channels when its last device disconnects, and
 * across server restarts; what is said meanwhile waits in history for its next device.
 *
 * @module
 */
import type { ChatEvent } from "./chat_event.ts";
import { takeCommand } from "./_service_command.ts";
import type { ChatHub } from "./hub.ts";
import type { Member } from "./member.ts";

/**
 * NickServ's nick; nobody else can take it while it runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NICKSERV_NICK } from "./nickserv.ts";
 *
 * assert.equal(NICKSERV_NICK, "NickServ");
 * ```
 */
export const NICKSERV_NICK = "NickServ";

const HELP = [
  "NickServ keeps your account's settings. Commands:",
  "SET ALWAYS-ON ON|OFF — stay in your channels, with messages kept for you, while no device is connected (also across server restarts)",
];

const ON = new Set(["ON", "TRUE", "YES", "1"]);
const OFF = new Set(["OFF", "FALSE", "NO", "0"]);

/**
 * The NickServ pseudo-user. {@link NickServ.start} adds it to a hub.
 *
 * @example Asking for always-on needs an account
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatHub } from "./hub.ts";
 * import { NickServ } from "./nickserv.ts";
 * import type { ChatEvent } from "./chat_event.ts";
 *
 * const hub = new ChatHub();
 * const nickServ = NickServ.start(hub);
 * const told: string[] = [];
 * const bob = {
 *   nick: "bob", user: "b", host: "h", realname: "Bob", transport: "local",
 *   channels: new Set<string>(), echo: false,
 *   deliver: (e: ChatEvent) => { if (e.kind === "notice") told.push(e.text); },
 *   disconnect() {},
 * };
 * hub.add(bob);
 * nickServ.command(bob, "SET ALWAYS-ON ON");
 * assert.match(told.at(-1)!, /^Log in to an account/);
 * ```
 */
export class NickServ implements Member {
  /** {@link NICKSERV_NICK}. */
  nick: string = NICKSERV_NICK;
  /** The user name. */
  readonly user: string = NICKSERV_NICK;
  /** The host. */
  readonly host: string = "services";
  /** The real name. */
  readonly realname: string = "Account settings services";
  /** `service`. */
  readonly transport: string = "service";
  /** Always empty: NickServ joins no channel. */
  readonly channels: Set<string> = new Set();
  /** No echo. */
  readonly echo: boolean = false;
  readonly #hub: ChatHub;
  readonly #clustered: boolean;

  /**
   * Use {@link NickServ.start}.
   *
   * @param hub The chat.
   * @param clustered Whether the hub is a cluster's node: then NickServ takes no message as a
   *   command by itself — the node runs each command as it applies its log entry, so that
   *   every node changes its own store alike, in the log's order. @default {false}
   */
  constructor(hub: ChatHub, clustered = false) {
    this.#hub = hub;
    this.#clustered = clustered;
  }

  /**
   * Makes NickServ and adds it to a hub as a pseudo-user.
   *
   * @param hub The chat.
   * @param clustered Whether the hub is a cluster's node (see the constructor). @default {false}
   * @returns NickServ.
   * @throws Error when a user holds the nick NickServ.
   */
  static start(hub: ChatHub, clustered = false): NickServ {
    const nickServ = new NickServ(hub, clustered);
    if (!hub.addService(nickServ)) {
      throw new Error(`Cannot start ${NICKSERV_NICK}: the nick is taken`);
    }
    return nickServ;
  }

  /**
   * Takes a private message as a command (after its commit, as the hub hands it over).
   *
   * @param event What the hub hands NickServ.
   */
  deliver(event: ChatEvent): void {
    if (!this.#clustered) takeCommand(this.#hub, this, event);
  }

  /** NickServ never leaves. */
  disconnect(): void {}

  /**
   * Runs one command from a member and answers it with NOTICEs.
   *
   * @param member Who asks.
   * @param text The command line (`SET ALWAYS-ON ON`).
   */
  command(member: Member, text: string): void {
    const [verb = "", setting = "", value = ""] = text.trim().split(/\s+/);
    const reply = (line: string) => this.#hub.notify(this, member, line);
    switch (verb.toUpperCase()) {
      case "SET":
        if (setting.toUpperCase() !== "ALWAYS-ON") {
          return reply(`Unknown setting ${setting || "(none)"}; HELP lists the settings`);
        }
        return this.#alwaysOn(member, value.toUpperCase(), reply);
      case "HELP":
      case "":
        for (const line of HELP) reply(line);
        return;
      default:
        reply(`Unknown command ${verb}; HELP lists the commands`);
    }
  }

  #alwaysOn(member: Member, value: string, reply: (line: string) => void): void {
    if (!ON.has(value) && !OFF.has(value)) return reply("Usage: SET ALWAYS-ON ON|OFF");
    const on = ON.has(value);
    const refusal = this.#hub.setAlwaysOn(member, on);
    if (refusal === "account-required") {
      return reply("Log in to an account first (SASL, or REGISTER): always-on belongs to accounts");
    }
    if (refusal === "unavailable") {
      return reply(
        "Always-on could not be changed: the server could not store it; try again later",
      );
    }
    reply(
      on
        ? `Always-on is on for ${member.account}: you stay in your channels when your last device disconnects, and messages wait for you`
        : `Always-on is off for ${member.account}: you leave IRC when your last device disconnects`,
    );
  }
}
