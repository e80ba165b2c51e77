/**
 * A channel: a name, its members, their operator and voice status, and its settings
 * (modes, lists, topic) — with the rules of who may join and who may speak.
 *
 * @module
 */
import { foldCase } from "./casemap.ts";
import {
  type ChannelSettings,
  defaultSettings,
  type FlagMode,
  type ListMode,
  type MemberMode,
} from "./channel_modes.ts";
import type { ChannelStream } from "./delivery.ts";
import { maskMatches } from "./masks.ts";
import { maskOf, type Member } from "./member.ts";

/** A registered channel's founder: the account that registered it. */
export interface ChannelRegistration {
  /** The founder's account, as the account spells it. */
  readonly founder: string;
  /** When it was registered, ms since the epoch. */
  readonly registeredAt: number;
}

/** An account a registered channel gives a mode on joining (ChanServ `AMODE`). */
export interface AccessEntry {
  /** The account, as the account spells it. */
  readonly account: string;
  /** The mode it gets: operator or voice. */
  readonly mode: MemberMode;
  /** Who gave it (an account). */
  readonly setBy: string;
  /** When, ms since the epoch. */
  readonly setAt: number;
}

/**
 * Why a member may not join: a ban (474), invite only (473), a wrong key (475), full (471); or
 * the server could not store the channels of an always-on member (437, `unavailable`: a full
 * disk).
 */
export type JoinRefusal = "banned" | "invite-only" | "bad-key" | "full" | "unavailable";

/**
 * Why a member may not speak in a channel: it is outside a `+n` channel, the channel is
 * moderated (`+m`) and it has no voice, or it is banned.
 */
export type SpeakRefusal = "not-in-channel" | "moderated" | "banned";

/** Options for a new {@link Channel}. */
export interface ChannelOptions {
  /** When it was first created (a registered channel keeps it). @default {Date.now()} */
  createdAt?: number;
  /** Its settings. @default {defaultSettings("nt")} */
  settings?: ChannelSettings;
}

/**
 * One channel. The hub changes it; transports read it.
 *
 * @example A new channel keeps its spelling, has no members or topic, and is `+nt`
 * ```ts
 * import assert from "node:assert/strict";
 * import { Channel } from "./channel.ts";
 *
 * const lobby = new Channel("#Lobby", "#lobby");
 * assert.equal(lobby.name, "#Lobby");
 * assert.equal(lobby.key, "#lobby");
 * assert.equal(lobby.members.size, 0);
 * assert.equal(lobby.topic, "");
 * assert.equal(lobby.modeString(true), "+nt");
 * ```
 */
export class Channel {
  /** The name as first created (`#Lobby` keeps its capital). */
  readonly name: string;
  /** The folded name, the channel's key. */
  readonly key: string;
  /** When it was created, ms since the epoch. */
  readonly createdAt: number;
  /** Modes, lists and topic; replaced as a whole by the hub on every change. */
  settings: ChannelSettings;
  /** The founder, when the channel is registered. */
  registration: ChannelRegistration | undefined;
  /** Accounts given a mode on joining, by folded account name (registered channels). */
  readonly access: Map<string, AccessEntry> = new Map();
  /** Members in join order. */
  readonly members: Set<Member> = new Set();
  /** Channel operators (`+o`, prefix `@`): they may change modes, kick and invite. */
  readonly operators: Set<Member> = new Set();
  /** Voiced members (`+v`, prefix `+`): they may speak in a moderated channel. */
  readonly voiced: Set<Member> = new Set();
  /** Members without a send queue (virtual users): the hub hands them each event. */
  readonly direct: Set<Member> = new Set();
  /** This tick's events for members with a send queue, once something was said. */
  stream: ChannelStream | undefined;
  /** Whether each member is banned, for the settings and mask it was worked out for. */
  readonly #bans: WeakMap<Member, { settings: ChannelSettings; subject: string; banned: boolean }> =
    new WeakMap();

  /**
   * Makes an empty channel.
   *
   * @param name The channel's name.
   * @param key Its folded name.
   * @param options When it was created and its settings.
   */
  constructor(name: string, key: string, options: ChannelOptions = {}) {
    this.name = name;
    this.key = key;
    this.createdAt = options.createdAt ?? Date.now();
    this.settings = options.settings ?? defaultSettings("nt");
  }

  /** The topic ("" when none). */
  get topic(): string {
    return this.settings.topic;
  }

  /** Who set the topic (a mask). */
  get topicSetBy(): string {
    return this.settings.topicSetBy;
  }

  /** When the topic was set, ms since the epoch. */
  get topicSetAt(): number {
    return this.settings.topicSetAt;
  }

  /**
   * Whether a flag mode is set.
   *
   * @param flag The letter.
   * @returns True when set.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Channel } from "./channel.ts";
   *
   * const channel = new Channel("#c", "#c");
   * assert.ok(channel.hasFlag("t"));
   * assert.ok(!channel.hasFlag("i"));
   * ```
   */
  hasFlag(flag: FlagMode): boolean {
    return this.settings.flags.includes(flag);
  }

  /**
   * The channel's modes as `324 RPL_CHANNELMODEIS` shows them: `+iklnt key 10`; the key and
   * limit values only with `params` (IRC shows them to members only).
   *
   * @param params Whether to add the key and limit.
   * @returns The mode string (`+` alone for none).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Channel } from "./channel.ts";
   * import { defaultSettings } from "./channel_modes.ts";
   *
   * const channel = new Channel("#c", "#c", {
   *   settings: { ...defaultSettings("int"), key: "beer", limit: 10 },
   * });
   * assert.equal(channel.modeString(true), "+intkl beer 10");
   * assert.equal(channel.modeString(false), "+intkl");
   * assert.equal(new Channel("#d", "#d", { settings: defaultSettings("") }).modeString(true), "+");
   * ```
   */
  modeString(params: boolean): string {
    const { flags, key, limit } = this.settings;
    const letters = `+${flags}${key !== "" ? "k" : ""}${limit > 0 ? "l" : ""}`;
    if (!params) return letters;
    return [letters, ...(key !== "" ? [key] : []), ...(limit > 0 ? [String(limit)] : [])].join(
      " ",
    );
  }

  /**
   * Whether a member is logged in to the founder's account of this registered channel.
   *
   * @param member The member.
   * @returns True for the founder.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Channel } from "./channel.ts";
   * import { maskOf, type Member } from "./member.ts";
   *
   * const channel = new Channel("#c", "#c");
   * channel.registration = { founder: "Ann", registeredAt: 0 };
   * assert.ok(channel.isFounder({ account: "ann" } as Member));
   * assert.ok(!channel.isFounder({ nick: "ann" } as Member));
   * ```
   */
  isFounder(member: Pick<Member, "account">): boolean {
    const founder = this.registration?.founder;
    return founder !== undefined && member.account !== undefined &&
      foldCase(member.account) === foldCase(founder);
  }

  /**
   * The mode a registered channel gives a member on joining: `o` for its founder, else what
   * its access list gives the member's account.
   *
   * @param member The member.
   * @returns The mode, if any.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Channel } from "./channel.ts";
   * import { maskOf, type Member } from "./member.ts";
   *
   * const channel = new Channel("#c", "#c");
   * channel.registration = { founder: "ann", registeredAt: 0 };
   * channel.access.set("bob", { account: "bob", mode: "v", setBy: "ann", setAt: 0 });
   * assert.equal(channel.autoMode({ account: "ann" } as Member), "o");
   * assert.equal(channel.autoMode({ account: "Bob" } as Member), "v");
   * assert.equal(channel.autoMode({} as Member), undefined);
   * ```
   */
  autoMode(member: Pick<Member, "account">): MemberMode | undefined {
    if (this.registration === undefined || member.account === undefined) return undefined;
    if (this.isFounder(member)) return "o";
    return this.access.get(foldCase(member.account))?.mode;
  }

  /**
   * Why a member may not join, if it may not. An invitation, or being the founder or on the
   * access list of a registered channel, lets it past every mode; otherwise a ban (unless
   * an exception `+e` matches), `+i` (unless an invite exception `+I` matches), `+k` and
   * `+l` keep it out.
   *
   * @param member Who wants to join.
   * @param key The key it gave ("" for none).
   * @param invited Whether it was invited.
   * @returns Why not, or undefined.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Channel } from "./channel.ts";
   * import { defaultSettings } from "./channel_modes.ts";
   * import { maskOf, type Member } from "./member.ts";
   *
   * const bob = { nick: "bob", user: "b", host: "h" } as Member;
   * const ban = { mask: "bob!*@*", setBy: "op", setAt: 0 };
   * const settings = defaultSettings("int");
   * const channel = new Channel("#c", "#c", {
   *   settings: { ...settings, key: "beer", lists: { ...settings.lists, b: [ban] } },
   * });
   * assert.equal(channel.joinRefusal(bob, "", false), "banned");
   * assert.equal(channel.joinRefusal(bob, "", true), undefined);
   * channel.settings = { ...channel.settings, lists: { ...settings.lists } };
   * assert.equal(channel.joinRefusal(bob, "", false), "invite-only");
   * channel.settings = { ...channel.settings, flags: "nt" };
   * assert.equal(channel.joinRefusal(bob, "wine", false), "bad-key");
   * assert.equal(channel.joinRefusal(bob, "beer", false), undefined);
   * ```
   */
  joinRefusal(member: Member, key: string, invited: boolean): JoinRefusal | undefined {
    if (invited || this.autoMode(member) !== undefined) return undefined;
    if (this.isBanned(member)) return "banned";
    if (this.hasFlag("i") && !this.#listed("I", member)) return "invite-only";
    if (this.settings.key !== "" && key !== this.settings.key) return "bad-key";
    if (this.settings.limit > 0 && this.members.size >= this.settings.limit) return "full";
    return undefined;
  }

  /**
   * Why a member may not speak in the channel, if it may not. Operators and voiced members
   * always may; others not from outside a `+n` channel, nor in a moderated one, nor while
   * banned (a banned member stays, but is quiet).
   *
   * @param member Who wants to speak.
   * @returns Why not, or undefined.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Channel } from "./channel.ts";
   * import { maskOf, type Member } from "./member.ts";
   *
   * const channel = new Channel("#c", "#c");
   * const bob = { nick: "bob", user: "b", host: "h" } as Member;
   * assert.equal(channel.speakRefusal(bob), "not-in-channel");
   * channel.members.add(bob);
   * assert.equal(channel.speakRefusal(bob), undefined);
   * channel.settings = { ...channel.settings, flags: "mnt" };
   * assert.equal(channel.speakRefusal(bob), "moderated");
   * channel.voiced.add(bob);
   * assert.equal(channel.speakRefusal(bob), undefined);
   * ```
   */
  speakRefusal(member: Member): SpeakRefusal | undefined {
    const inside = this.members.has(member);
    if (inside && (this.operators.has(member) || this.voiced.has(member))) return undefined;
    if (!inside && this.hasFlag("n")) return "not-in-channel";
    if (this.hasFlag("m")) return "moderated";
    if (this.isBanned(member)) return "banned";
    return undefined;
  }

  /**
   * Whether a ban matches a member and no ban exception does.
   *
   * @param member The member.
   * @returns True when banned.
   *
   * @example An exception beats a ban
   * ```ts
   * import assert from "node:assert/strict";
   * import { Channel } from "./channel.ts";
   * import { defaultSettings } from "./channel_modes.ts";
   * import { maskOf, type Member } from "./member.ts";
   *
   * const entry = (mask: string) => ({ mask, setBy: "op", setAt: 0 });
   * const channel = new Channel("#c", "#c", {
   *   settings: { ...defaultSettings("nt"), lists: { b: [entry("*!*@*")], e: [entry("~a:ann")], I: [] } },
   * });
   * assert.ok(channel.isBanned({ nick: "bob", user: "b", host: "h" } as Member));
   * assert.ok(!channel.isBanned({ nick: "x", user: "a", host: "h", account: "ann" } as Member));
   * ```
   */
  isBanned(member: Member): boolean {
    // Checked for every message a member without voice sends: matching up to 200 masks is
    // done once per member, then again only when the lists or the member's mask change.
    const subject = `${maskOf(member)} ${member.account ?? ""}`;
    const cached = this.#bans.get(member);
    if (cached?.settings === this.settings && cached.subject === subject) return cached.banned;
    const banned = this.#listed("b", member) && !this.#listed("e", member);
    this.#bans.set(member, { settings: this.settings, subject, banned });
    return banned;
  }

  /**
   * Whether a member may see the channel and who is in it: everyone may see a public one; only
   * its own members a secret one (`+s`), which LIST, NAMES, TOPIC, WHO and WHOIS treat as
   * missing for everyone else.
   *
   * @param member Who asks.
   * @returns True when visible.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Channel } from "./channel.ts";
   * import { defaultSettings } from "./channel_modes.ts";
   * import type { Member } from "./member.ts";
   *
   * const ann = { nick: "ann" } as Member;
   * const bob = { nick: "bob" } as Member;
   * const channel = new Channel("#c", "#c", { settings: defaultSettings("ns") });
   * channel.members.add(ann);
   * assert.ok(channel.visibleTo(ann));
   * assert.ok(!channel.visibleTo(bob));
   * assert.ok(new Channel("#d", "#d").visibleTo(bob));
   * ```
   */
  visibleTo(member: Member): boolean {
    return !this.hasFlag("s") || this.members.has(member);
  }

  /**
   * A member's prefix as NAMES and WHO show it: `@` for an operator, else `+` for voice;
   * with `all` (IRCv3 `multi-prefix`) every prefix it has, highest first.
   *
   * @param member A member of the channel.
   * @param all Whether to give every prefix, not just the highest.
   * @returns The prefix ("" for none).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Channel } from "./channel.ts";
   * import { maskOf, type Member } from "./member.ts";
   *
   * const channel = new Channel("#c", "#c");
   * const ann = { nick: "ann" } as Member;
   * channel.members.add(ann);
   * channel.operators.add(ann);
   * channel.voiced.add(ann);
   * assert.equal(channel.prefixOf(ann), "@");
   * assert.equal(channel.prefixOf(ann, true), "@+");
   * ```
   */
  prefixOf(member: Member, all = false): string {
    const op = this.operators.has(member) ? "@" : "";
    const voice = this.voiced.has(member) ? "+" : "";
    return all ? op + voice : op || voice;
  }

  #listed(list: ListMode, member: Member): boolean {
    return this.settings.lists[list].some((entry) => maskMatches(entry.mask, member));
  }
}
