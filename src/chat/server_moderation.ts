/**
 * What server operators do — log in (`OPER`), disconnect a user (`KILL`), ban from the
 * server and lift the ban (`KLINE`, `UNKLINE`), change a user's user name and host
 * (`CHGHOST`), write to every operator and `+w` user (`WALLOPS`), re-read the operator file
 * (`REHASH`) — in one place, so IRC operators and the operator console do exactly the same
 * thing.
 *
 * Every action leaves an audit line: in the log (category `shmooze.audit`) and as a server
 * NOTICE to every operator online. Audit lines say who did what to whom and why; they never
 * hold a private message (nothing here sees one).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { foldCase } from "./casemap.ts";
import { createEvent } from "./chat_event.ts";
import type { ChatHub } from "./hub.ts";
import { maskOf, type Member } from "./member.ts";
import { hostProblem, userNameProblem } from "./names.ts";
import { type OperatorList, type OperCheck, readOperatorFile } from "./operators.ts";
import {
  banMask,
  banMatcher,
  type BanSubject,
  parseDuration,
  type ServerBan,
  type ServerBans,
} from "./server_bans.ts";

const log = getLogger(["shmooze", "audit"]);

/** Who acts: an operator's member, or the console on the server's standard input. */
export type Actor = Member | "console";

/** What `KLINE [duration] mask [reason]` asks for. */
export interface BanRequest {
  /** The mask, as {@link banMask} stores it. */
  mask: string;
  /** How long, ms; 0 for no expiry. */
  durationMs: number;
  /** Why. */
  reason: string;
}

/** The outcome of {@link ServerModeration.ban}. */
export interface BanOutcome {
  /** The ban as stored. */
  ban: ServerBan;
  /** The nicks of the users it disconnected. */
  disconnected: string[];
}

/**
 * The outcome of {@link ServerModeration.chghost}: the user's new mask, or why nothing changed
 * (`no-such-nick`, or `invalid` for a user name or host that cannot be given, or a member that
 * is not a network client).
 */
export type HostChangeOutcome =
  | { ok: true; mask: string }
  | { ok: false; reason: "no-such-nick" | "invalid"; problem: string };

/** The outcome of {@link ServerModeration.rehash}. */
export type RehashOutcome =
  | { ok: true; operators: number; demoted: string[] }
  | { ok: false; operators: number; error: string };

/** Options for {@link ServerModeration}. */
export interface ModerationOptions {
  /** The server's name: the source of its notices and of the console's WALLOPS. */
  serverName: string;
  /** The configured operators. */
  operators: OperatorList;
  /** The operator file {@link ServerModeration.rehash} re-reads; none for a fixed list. */
  operFile?: string;
  /** The server bans. */
  bans: ServerBans;
}

/**
 * Reads the words of `KLINE [duration] mask [reason…]`: a first word that is a duration
 * (see {@link parseDuration}) when a mask follows it.
 *
 * @param words The command's parameters (the reason may be one parameter or many words).
 * @param hostOf The host of a connected user by nick: a nick in place of the mask then bans
 *   that host (`*!*@host`), as Hybrid and Solanum do. @default {no such lookup}
 * @returns The request, or `{ problem }` saying what is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBanRequest } from "./server_moderation.ts";
 *
 * assert.deepEqual(parseBanRequest(["1h", "*@203.0.113.9", "go", "away"]), {
 *   mask: "*!*@203.0.113.9",
 *   durationMs: 3_600_000,
 *   reason: "go away",
 * });
 * assert.deepEqual(parseBanRequest(["~a:spammer"]), {
 *   mask: "~a:spammer",
 *   durationMs: 0,
 *   reason: "No reason given",
 * });
 * assert.deepEqual(parseBanRequest(["*@*"]), {
 *   problem: 'Cannot ban "*@*": it would ban everyone',
 * });
 * ```
 */
export function parseBanRequest(
  words: readonly string[],
  hostOf: (nick: string) => string | undefined = () => undefined,
): BanRequest | { problem: string } {
  let rest = words.filter((word) => word !== "");
  const duration = rest.length >= 2 ? parseDuration(rest[0]) : undefined;
  if (duration !== undefined) rest = rest.slice(1);
  const [text, ...reason] = rest;
  if (text === undefined) return { problem: "Name a mask to ban: [duration] mask [reason]" };
  let mask = banMask(text);
  const host = typeof mask === "string" ? undefined : hostOf(text);
  if (host !== undefined) mask = banMask(`*@${host}`);
  if (typeof mask !== "string") return { problem: `Cannot ban "${text}": ${mask.problem}` };
  return { mask, durationMs: duration ?? 0, reason: reason.join(" ") || "No reason given" };
}

/**
 * How long a ban lasts, for people: `permanent`, or its duration in the largest units.
 *
 * @param ban The ban.
 * @returns The text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { banLength } from "./server_moderation.ts";
 *
 * const ban = { mask: "~a:x", reason: "", setBy: "ann", setAt: 0 };
 * assert.equal(banLength({ ...ban, expiresAt: undefined }), "permanent");
 * assert.equal(banLength({ ...ban, expiresAt: 5_400_000 }), "1h30m");
 * ```
 */
export function banLength(ban: ServerBan): string {
  if (ban.expiresAt === undefined) return "permanent";
  let seconds = Math.round((ban.expiresAt - ban.setAt) / 1000);
  let text = "";
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (seconds >= size) {
      text += `${Math.floor(seconds / size)}${unit}`;
      seconds %= size;
    }
  }
  return text || "0s";
}

/**
 * The server operators' powers over a hub, with their audit trail.
 *
 * @example An operator logs in, bans a host, and the user there is disconnected
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashPassword } from "./accounts.ts";
 * import type { ChatEvent } from "./chat_event.ts";
 * import { ChatHub } from "./hub.ts";
 * import { OperatorList } from "./operators.ts";
 * import { ServerBans } from "./server_bans.ts";
 * import { ServerModeration } from "./server_moderation.ts";
 *
 * const hub = new ChatHub();
 * const seen: string[] = [];
 * const member = (nick: string, host: string) => ({
 *   nick, user: nick, host, realname: nick, transport: "local", oper: undefined as string | undefined,
 *   channels: new Set<string>(), echo: false,
 *   deliver: (e: ChatEvent) => seen.push(`${nick}: ${e.text}`),
 *   disconnect: (reason: string) => seen.push(`${nick} disconnected: ${reason}`),
 * });
 * const ann = member("ann", "192.0.2.1");
 * const bob = member("bob", "203.0.113.9");
 * hub.add(ann);
 * hub.add(bob);
 * const hash = await hashPassword("a long password", { memoryKiB: 64, iterations: 1 });
 * const desk = new ServerModeration(hub, {
 *   serverName: "irc.test",
 *   operators: new OperatorList([{ name: "ann", hash }]),
 *   bans: ServerBans.open(false),
 * });
 * assert.ok((await desk.oper(ann, "ann", "a long password", "192.0.2.1")).ok);
 * assert.equal(ann.oper, "ann");
 * const outcome = desk.ban(ann, { mask: "*!*@203.0.113.9", durationMs: 0, reason: "spam" });
 * assert.deepEqual(outcome.disconnected, ["bob"]);
 * assert.equal(hub.find("bob"), undefined);
 * assert.ok(seen.includes("bob disconnected: Banned: spam"));
 * assert.ok(seen.includes("ann: *** KLINE *!*@203.0.113.9 (permanent) by ann: spam; disconnected bob"));
 * desk.close();
 * ```
 */
export class ServerModeration {
  /** The configured operators. */
  readonly operators: OperatorList;
  /** The server bans. */
  readonly bans: ServerBans;
  /** The operator file, when the list comes from one. */
  readonly operFile: string | undefined;
  readonly #hub: ChatHub;
  readonly #serverName: string;

  /**
   * Makes the desk over a hub.
   *
   * @param hub The chat core whose members operators act on.
   * @param options The server's name, the operators and the bans.
   */
  constructor(hub: ChatHub, options: ModerationOptions) {
    this.#hub = hub;
    this.#serverName = options.serverName;
    this.operators = options.operators;
    this.operFile = options.operFile;
    this.bans = options.bans;
  }

  /**
   * The members logged in as operators.
   *
   * @returns Them, in the hub's order.
   */
  online(): Member[] {
    return [...this.#hub.members.values()].filter((member) => member.oper !== undefined);
  }

  /**
   * Writes an audit line to the log and, as a server NOTICE (`*** …`), to every operator.
   *
   * @param text What happened.
   * @param level The log level: `warning` for refusals worth a look.
   */
  audit(text: string, level: "info" | "warning" = "info"): void {
    // The text goes in as a property: a brace in a mask or reason would read as a placeholder.
    log[level === "info" ? "info" : "warn"]("{text}", { text });
    for (const member of this.online()) {
      member.deliver(createEvent({
        kind: "notice",
        source: this.#serverName,
        target: member.nick,
        text: `*** ${text}`,
      }));
    }
  }

  /**
   * Checks `OPER name password` for a member and, when right, makes it an operator.
   *
   * @param member Who asks.
   * @param name The operator name.
   * @param password The password.
   * @param address The member's address key, for the throttle.
   * @returns The check's outcome (see `OperatorList.check`).
   */
  async oper(
    member: Member,
    name: string,
    password: string,
    address: string,
  ): Promise<OperCheck> {
    const result = await this.operators.check(name, password, address);
    if (result.ok) {
      member.oper = result.operator.name;
      this.audit(`OPER ${member.nick} (${maskOf(member)}) logged in as oper ${member.oper}`);
    } else if (result.reason === "invalid") {
      this.audit(`OPER failed for ${maskOf(member)} as oper ${name}`, "warning");
    }
    return result;
  }

  /**
   * Takes a member's operator status away (it dropped user mode +o).
   *
   * @param member The member.
   */
  deoper(member: Member): void {
    const name = member.oper;
    if (name === undefined) return;
    member.oper = undefined;
    this.audit(`DEOPER ${member.nick} is no longer oper ${name}`);
  }

  /**
   * Disconnects a user: the user is told `Killed (killer (reason))`, and so is everyone who
   * shares a channel with it, as its quit message.
   *
   * @param by Who kills.
   * @param nick Whom.
   * @param reason Why.
   * @returns False when nobody has that nick.
   */
  kill(by: Actor, nick: string, reason: string): boolean {
    const victim = this.#hub.find(nick);
    if (victim === undefined) return false;
    const { quit, audit } = this.killReason(by, reason);
    this.#hub.kick(victim.nick, quit);
    this.audit(`KILL ${victim.nick} (${maskOf(victim)}) by ${actorName(by)}: ${audit}`);
    return true;
  }

  /**
   * What a KILL says: the quit message everyone sees, and the reason its audit line gives.
   *
   * @param by Who kills.
   * @param reason Why.
   * @returns The quit message (`Killed (killer (reason))`) and the audit's reason.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ServerModeration } from "./server_moderation.ts";
   * import { ServerBans } from "./server_bans.ts";
   * import { OperatorList } from "./operators.ts";
   * import { ChatHub } from "./hub.ts";
   *
   * const bans = ServerBans.open(false);
   * const desk = new ServerModeration(new ChatHub(), {
   *   serverName: "irc.test", operators: new OperatorList([]), bans,
   * });
   * assert.deepEqual(desk.killReason("console", "spam"), {
   *   quit: "Killed (irc.test (spam))",
   *   audit: "spam",
   * });
   * desk.close();
   * ```
   */
  killReason(by: Actor, reason: string): { quit: string; audit: string } {
    const killer = by === "console" ? this.#serverName : by.nick;
    return { quit: `Killed (${killer} (${reason}))`, audit: reason };
  }

  /**
   * Reads `KLINE [duration] mask [reason…]` (see {@link parseBanRequest}); a connected
   * user's nick in place of the mask bans that user's address (not a host CHGHOST gave it).
   *
   * @param words The command's parameters.
   * @returns The request, or `{ problem }` saying what is wrong.
   */
  banRequest(words: readonly string[]): BanRequest | { problem: string } {
    return parseBanRequest(words, (nick) => {
      const member = this.#hub.find(nick);
      return member && (member.address ?? member.host);
    });
  }

  /**
   * Bans a mask or account from the server (replacing a ban on the same mask) and
   * disconnects the users it matches now, operators excepted.
   *
   * @param by Who bans.
   * @param request The mask, duration and reason (see {@link parseBanRequest}).
   * @returns The ban and whom it disconnected.
   * @throws Error when the ban cannot be stored (then nothing changed).
   */
  ban(by: Actor, request: BanRequest): BanOutcome {
    const ban = this.bans.add({ ...request, setBy: actorName(by) });
    const disconnected: string[] = [];
    const matches = banMatcher(ban.mask);
    for (const member of [...this.#hub.members.values()]) {
      if (member.oper !== undefined || !matches(member)) continue;
      disconnected.push(member.nick);
      this.#hub.kick(member.nick, `Banned: ${ban.reason}`);
    }
    const whom = disconnected.length === 0 ? "" : `; disconnected ${disconnected.join(", ")}`;
    this.audit(`KLINE ${ban.mask} (${banLength(ban)}) by ${ban.setBy}: ${ban.reason}${whom}`);
    return { ban, disconnected };
  }

  /**
   * Lifts a server ban.
   *
   * @param by Who lifts it.
   * @param mask The ban's mask.
   * @returns The ban lifted, or undefined when there was none.
   * @throws Error when the change cannot be stored.
   */
  unban(by: Actor, mask: string): ServerBan | undefined {
    const ban = this.bans.remove(mask);
    if (ban !== undefined) {
      this.audit(`UNKLINE ${ban.mask} by ${actorName(by)} (set by ${ban.setBy}: ${ban.reason})`);
    }
    return ban;
  }

  /**
   * The ban that refuses a user (at registration, or after logging in to an account), if
   * one matches; the refusal is logged, not sent to operators (a banned client that
   * reconnects in a loop must not flood them).
   *
   * @param subject The user.
   * @returns The ban, or undefined.
   */
  refusal(subject: BanSubject): ServerBan | undefined {
    const ban = this.bans.match(subject);
    if (ban !== undefined) {
      log.info("Refused {who}: banned by {mask}", { who: maskOf(subject), mask: ban.mask });
    }
    return ban;
  }

  /**
   * Disconnects a member when a ban matches it now (it has just logged in to a banned
   * account).
   *
   * @param member The member.
   * @returns True when it was banned and disconnected.
   */
  enforce(member: Member): boolean {
    if (this.#hub.find(member.nick) !== member || member.oper !== undefined) return false;
    const ban = this.refusal(member);
    if (ban === undefined) return false;
    this.#hub.kick(member.nick, `Banned: ${ban.reason}`);
    return true;
  }

  /**
   * Gives a user another user name and host (`CHGHOST nick user host`, as InspIRCd and
   * UnrealIRCd spell it): everyone who shares a channel with it and asked for IRCv3 `chghost`
   * sees it change (`ChatHub.changeHost`); the user is told by a server notice. Only network
   * clients can be changed: a bridged room's participants and services keep theirs. Server bans
   * still match the user's address, whatever host it shows.
   *
   * @param by Who changes it.
   * @param nick Whose.
   * @param user The new user name (see `userNameProblem`).
   * @param host The new host (see `hostProblem`).
   * @returns The new mask, or why nothing changed.
   */
  chghost(by: Actor, nick: string, user: string, host: string): HostChangeOutcome {
    const member = this.#hub.find(nick);
    if (member === undefined) {
      return { ok: false, reason: "no-such-nick", problem: `There is no user named ${nick}` };
    }
    const problem = userNameProblem(user) ?? hostProblem(host) ??
      (member.devices === undefined
        ? "it is not a network client (a bridged room's participant or a service)"
        : undefined);
    if (problem !== undefined) {
      return {
        ok: false,
        reason: "invalid",
        problem: `Cannot change the host of ${member.nick}: ${problem}`,
      };
    }
    const old = maskOf(member);
    if (!this.#hub.changeHost(member, user, host)) return { ok: true, mask: old };
    const mask = maskOf(member);
    if (member !== by) {
      member.deliver(createEvent({
        kind: "notice",
        source: this.#serverName,
        target: member.nick,
        text: `*** Your user name and host are now ${user}@${host} (an operator changed them)`,
      }));
    }
    this.audit(`CHGHOST ${member.nick} (${old}) is now ${mask}, by ${actorName(by)}`);
    return { ok: true, mask };
  }

  /**
   * Sends WALLOPS to every operator and every member with user mode +w.
   *
   * @param by Who writes (the console writes as the server).
   * @param text The text.
   * @returns How many members it reached.
   */
  wallops(by: Actor, text: string): number {
    const event = createEvent({
      kind: "wallops",
      source: by === "console" ? this.#serverName : maskOf(by),
      target: "",
      text,
    });
    let reached = 0;
    for (const member of this.#hub.members.values()) {
      if (member.oper === undefined && member.wallops !== true) continue;
      member.deliver(event);
      reached++;
    }
    return reached;
  }

  /**
   * Re-reads the operator file. A file that cannot be used leaves the list as it was;
   * members logged in as an operator the new file no longer has lose operator status.
   *
   * @param by Who asks (`SIGHUP` names the signal).
   * @returns How many operators there are now, and who lost the status; or why the file
   *   was refused.
   */
  rehash(by: Actor | "SIGHUP"): RehashOutcome {
    const who = by === "SIGHUP" ? "SIGHUP" : actorName(by);
    const before = this.operators.size;
    if (this.operFile === undefined) {
      const error = "the operators were not read from a file (serve --oper-file)";
      this.audit(`REHASH by ${who} failed, keeping ${before} operator(s): ${error}`, "warning");
      return { ok: false, operators: before, error };
    }
    try {
      this.operators.replace(readOperatorFile(this.operFile));
    } catch (error) {
      const message = (error as Error).message;
      this.audit(`REHASH by ${who} failed, keeping ${before} operator(s): ${message}`, "warning");
      return { ok: false, operators: before, error: message };
    }
    const demoted: string[] = [];
    for (const member of this.online()) {
      if (this.operators.has(member.oper!)) continue;
      const name = member.oper!;
      member.oper = undefined;
      demoted.push(member.nick);
      member.deliver(createEvent({
        kind: "notice",
        source: this.#serverName,
        target: member.nick,
        text:
          `*** You are no longer an operator: oper ${name} is not in the operator file any more`,
      }));
    }
    const lost = demoted.length === 0 ? "" : `; no longer operators: ${demoted.join(", ")}`;
    this.audit(
      `REHASH by ${who}: ${this.operators.size} operator(s) from ${this.operFile}${lost}`,
    );
    return { ok: true, operators: this.operators.size, demoted };
  }

  /** Stops waiting OPER checks and closes the ban store. */
  close(): void {
    this.operators.close();
    this.bans.close();
  }
}

/**
 * How an actor is named in audit lines and a ban's `set by`: the nick, with the operator name
 * in braces when it differs (as Hybrid names K-line setters), or `console`.
 *
 * @param by The actor.
 * @returns Its name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { actorName } from "./server_moderation.ts";
 * import type { Member } from "./member.ts";
 *
 * assert.equal(actorName("console"), "console");
 * assert.equal(actorName({ nick: "ann", oper: "root" } as Member), "ann{root}");
 * ```
 */
export function actorName(by: Actor): string {
  if (by === "console") return "console";
  const oper = by.oper;
  return oper === undefined || foldCase(oper) === foldCase(by.nick)
    ? by.nick
    : `${by.nick}{${oper}}`;
}
