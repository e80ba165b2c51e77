/**
 * Channel modes, protocol-neutral: the letters shmooze knows (IRC's, since every client
 * speaks them), what each takes, the limits on keys, user limits and lists, and the plan of
 * a set of changes — checked against a channel without changing it, so the hub can store the
 * result before anyone sees it.
 *
 * | Letter | Kind   | Parameter                 | Meaning                                         |
 * | ------ | ------ | ------------------------- | ----------------------------------------------- |
 * | b e I  | list   | a mask, to add or remove  | ban, ban exception, invite exception            |
 * | k      | key    | the key (any on removal)  | joining needs the key                           |
 * | l      | limit  | a count, only when set    | no joining once this many are in                |
 * | i m n s t | flag | none                     | invite only, moderated, no outside messages, secret, topic by operators |
 * | o v    | member | a nick                    | channel operator, voice                         |
 *
 * @module
 */
import { foldCase } from "./casemap.ts";
import type { Member } from "./member.ts";
import { maskProblem, normalizeMask } from "./masks.ts";

/** The list modes: bans, ban exceptions, invite exceptions. */
export type ListMode = "b" | "e" | "I";
/** The flag modes. */
export type FlagMode = "i" | "m" | "n" | "s" | "t";
/** The modes a member holds in a channel: operator and voice. */
export type MemberMode = "o" | "v";

/**
 * The mode letters by kind, in the order ISUPPORT `CHANMODES` lists them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CHANNEL_MODES } from "./channel_modes.ts";
 *
 * const { lists, key, limit, flags } = CHANNEL_MODES;
 * assert.equal([lists, key, limit, flags].join(","), "beI,k,l,imnst");
 * ```
 */
export const CHANNEL_MODES = {
  lists: "beI",
  key: "k",
  limit: "l",
  flags: "imnst",
  members: "ov",
} as const;

/**
 * The most masks one list (`+b`, `+e` or `+I`) holds (ISUPPORT `MAXLIST`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_LIST_LENGTH } from "./channel_modes.ts";
 *
 * assert.equal(MAX_LIST_LENGTH, 100);
 * ```
 */
export const MAX_LIST_LENGTH = 100;

/**
 * The longest channel key (ISUPPORT `KEYLEN`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KEY_LENGTH, keyProblem } from "./channel_modes.ts";
 *
 * assert.equal(keyProblem("k".repeat(KEY_LENGTH)), undefined);
 * assert.notEqual(keyProblem("k".repeat(KEY_LENGTH + 1)), undefined);
 * ```
 */
export const KEY_LENGTH = 32;

/**
 * The highest user limit `+l` takes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_USER_LIMIT, parseLimit } from "./channel_modes.ts";
 *
 * assert.equal(parseLimit(String(MAX_USER_LIMIT)), MAX_USER_LIMIT);
 * assert.equal(parseLimit(String(MAX_USER_LIMIT + 1)), undefined);
 * ```
 */
export const MAX_USER_LIMIT = 1_000_000;

/** One entry of a channel list: the mask, who set it and when. */
export interface ListEntry {
  /** The mask (normalized, see `normalizeMask`). */
  readonly mask: string;
  /** Who set it: `nick!user@host`. */
  readonly setBy: string;
  /** When, ms since the epoch. */
  readonly setAt: number;
}

/**
 * What a channel keeps beyond its members: its modes, lists and topic — what a registered
 * channel stores and gets back after a restart.
 */
export interface ChannelSettings {
  /** The flag modes set, in alphabetical order (`"nt"`). */
  readonly flags: string;
  /** The key (`+k`), "" for none. */
  readonly key: string;
  /** The user limit (`+l`), 0 for none. */
  readonly limit: number;
  /** The bans, ban exceptions and invite exceptions. */
  readonly lists: Readonly<Record<ListMode, readonly ListEntry[]>>;
  /** The topic, "" for none. */
  readonly topic: string;
  /** Who set the topic: `nick!user@host`. */
  readonly topicSetBy: string;
  /** When the topic was set, ms since the epoch (0 for never). */
  readonly topicSetAt: number;
}

/**
 * The settings of a channel nobody has changed.
 *
 * @param flags The flags it starts with.
 * @returns The settings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultSettings } from "./channel_modes.ts";
 *
 * const settings = defaultSettings("nt");
 * assert.equal(settings.flags, "nt");
 * assert.deepEqual(settings.lists.b, []);
 * assert.equal(settings.topic, "");
 * ```
 */
export function defaultSettings(flags: string): ChannelSettings {
  return {
    flags,
    key: "",
    limit: 0,
    lists: { b: [], e: [], I: [] },
    topic: "",
    topicSetBy: "",
    topicSetAt: 0,
  };
}

/** One mode change: `+o ann` is `{ add: true, mode: "o", param: "ann" }`. */
export interface ModeChange {
  /** Set (`+`) or unset (`-`). */
  readonly add: boolean;
  /** The mode letter. */
  readonly mode: string;
  /** Its parameter, when it has one. */
  readonly param?: string;
}

/** Why a mode change was refused. */
export type ModeError =
  | "unknown-mode"
  | "need-param"
  | "invalid-param"
  | "list-full"
  | "no-such-nick"
  | "not-in-channel";

/** A refused mode change and why. */
export interface ModeRefusal {
  /** The change as asked. */
  readonly change: ModeChange;
  /** Why, for the transport's error. */
  readonly error: ModeError;
  /** Why, in words (sentence case, no period). */
  readonly reason: string;
}

/**
 * When a mode letter takes a parameter: `always` (lists, key, member modes), `when-set`
 * (the limit), `never` (flags); undefined for a letter shmooze does not know.
 *
 * @param mode The letter.
 * @returns The rule.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paramRule } from "./channel_modes.ts";
 *
 * assert.equal(paramRule("b"), "always");
 * assert.equal(paramRule("l"), "when-set");
 * assert.equal(paramRule("t"), "never");
 * assert.equal(paramRule("x"), undefined);
 * ```
 */
export function paramRule(mode: string): "always" | "when-set" | "never" | undefined {
  if (mode.length !== 1) return undefined;
  const { lists, key, limit, flags, members } = CHANNEL_MODES;
  if (lists.includes(mode) || mode === key || members.includes(mode)) return "always";
  if (mode === limit) return "when-set";
  if (flags.includes(mode)) return "never";
  return undefined;
}

/**
 * What is wrong with a channel key, if anything: 1 to {@link KEY_LENGTH} characters, no
 * space, comma or control character (a key must fit in `JOIN #chan key`), not starting
 * with `:`.
 *
 * @param key The key.
 * @returns Why it cannot be a key, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { keyProblem } from "./channel_modes.ts";
 *
 * assert.equal(keyProblem("beer"), undefined);
 * assert.match(keyProblem("two words")!, /space/);
 * assert.match(keyProblem("")!, /empty/);
 * ```
 */
export function keyProblem(key: string): string | undefined {
  if (key === "") return "a key cannot be empty";
  if (key.length > KEY_LENGTH) return `a key cannot be longer than ${KEY_LENGTH} characters`;
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x20,\x7f]/.test(key) || key.startsWith(":")) {
    return "a key cannot hold a space, a comma or a control character, or start with a colon";
  }
  return undefined;
}

/**
 * Reads a user limit: digits only, 1 to {@link MAX_USER_LIMIT}.
 *
 * @param text The parameter of `+l`.
 * @returns The limit, or undefined when it is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLimit } from "./channel_modes.ts";
 *
 * assert.equal(parseLimit("10"), 10);
 * assert.equal(parseLimit("0"), undefined);
 * assert.equal(parseLimit("-1"), undefined);
 * assert.equal(parseLimit("abc"), undefined);
 * ```
 */
export function parseLimit(text: string): number | undefined {
  if (!/^[0-9]{1,7}$/.test(text)) return undefined;
  const limit = Number(text);
  return limit >= 1 && limit <= MAX_USER_LIMIT ? limit : undefined;
}

/**
 * A mode string as IRC writes it: `+ov-b ann bob *!*@spam`.
 *
 * @param changes The changes, in order.
 * @returns The letters with their signs, then the parameters, space-separated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { modeString } from "./channel_modes.ts";
 *
 * assert.equal(
 *   modeString([
 *     { add: true, mode: "o", param: "ann" },
 *     { add: true, mode: "t" },
 *     { add: false, mode: "b", param: "*!*@spam" },
 *   ]),
 *   "+ot-b ann *!*@spam",
 * );
 * ```
 */
export function modeString(changes: readonly ModeChange[]): string {
  let letters = "";
  let sign = "";
  const params: string[] = [];
  for (const change of changes) {
    const next = change.add ? "+" : "-";
    if (next !== sign) letters += sign = next;
    letters += change.mode;
    if (change.param !== undefined) params.push(change.param);
  }
  return [letters, ...params].join(" ");
}

/** What {@link planModes} needs besides the channel. */
export interface PlanContext {
  /** Who makes the changes: `nick!user@host`, kept with list entries. */
  readonly setBy: string;
  /** The time now, ms since the epoch. */
  readonly now: number;
  /** Finds a member by nick (for `+o`/`+v`). */
  find(nick: string): Member | undefined;
}

/** The outcome of {@link planModes}: the channel's state afterwards, and what changed. */
export interface ModePlan {
  /** The settings after the changes. */
  readonly settings: ChannelSettings;
  /** The operators after the changes. */
  readonly operators: ReadonlySet<Member>;
  /** The voiced members after the changes. */
  readonly voiced: ReadonlySet<Member>;
  /** The changes that change something, with their parameters as shown (normalized masks, nicks as spelled). */
  readonly applied: readonly ModeChange[];
  /** The changes refused, and why. */
  readonly refused: readonly ModeRefusal[];
}

/** What {@link planModes} reads from a channel. */
export interface ModeTarget {
  /** Its settings now. */
  readonly settings: ChannelSettings;
  /** Its members. */
  readonly members: ReadonlySet<Member>;
  /** Its operators. */
  readonly operators: ReadonlySet<Member>;
  /** Its voiced members. */
  readonly voiced: ReadonlySet<Member>;
}

/**
 * Works out what a list of mode changes does to a channel, in order, without changing it.
 * A change that changes nothing (setting a flag already set, removing a mask not listed) is
 * neither applied nor refused: it is dropped, as IRC servers do.
 *
 * @param channel The channel as it is.
 * @param changes The changes asked for.
 * @param context Who asks, when, and how to find a nick.
 * @returns The plan.
 *
 * @example Set a key, ban a nick, op a member; an unknown nick is refused
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultSettings, planModes } from "./channel_modes.ts";
 * import type { Member } from "./member.ts";
 *
 * const ann = { nick: "ann" } as Member;
 * const channel = {
 *   settings: defaultSettings("nt"),
 *   members: new Set([ann]),
 *   operators: new Set<Member>(),
 *   voiced: new Set<Member>(),
 * };
 * const plan = planModes(channel, [
 *   { add: true, mode: "k", param: "beer" },
 *   { add: true, mode: "b", param: "bob" },
 *   { add: true, mode: "o", param: "ANN" },
 *   { add: true, mode: "v", param: "ghost" },
 *   { add: true, mode: "t" },
 * ], { setBy: "op!o@h", now: 1, find: (nick) => nick.toLowerCase() === "ann" ? ann : undefined });
 * assert.deepEqual(plan.applied.map((c) => c.param), ["beer", "bob!*@*", "ann"]);
 * assert.equal(plan.settings.key, "beer");
 * assert.equal(plan.settings.lists.b[0].setBy, "op!o@h");
 * assert.ok(plan.operators.has(ann));
 * assert.deepEqual(plan.refused.map((r) => r.error), ["no-such-nick"]);
 * assert.equal(channel.settings.key, "", "the channel itself is unchanged");
 * ```
 */
export function planModes(
  channel: ModeTarget,
  changes: readonly ModeChange[],
  context: PlanContext,
): ModePlan {
  let { flags, key, limit } = channel.settings;
  const lists = {
    b: [...channel.settings.lists.b],
    e: [...channel.settings.lists.e],
    I: [...channel.settings.lists.I],
  };
  const operators = new Set(channel.operators);
  const voiced = new Set(channel.voiced);
  const applied: ModeChange[] = [];
  const refused: ModeRefusal[] = [];
  const refuse = (change: ModeChange, error: ModeError, reason: string) =>
    refused.push({ change, error, reason });
  for (const change of changes) {
    const { add, mode, param } = change;
    const rule = paramRule(mode);
    if (rule === undefined) {
      refuse(change, "unknown-mode", `${mode} is not a channel mode here`);
      continue;
    }
    // A key is removed whatever parameter comes with `-k`, or none.
    const needsParam = rule === "always" ? add || mode !== "k" : rule === "when-set" && add;
    if (param === undefined && needsParam) {
      refuse(change, "need-param", `Mode ${mode} needs a parameter`);
      continue;
    }
    if (rule === "never") {
      if (flags.includes(mode) === add) continue;
      flags = add ? [...flags, mode].sort().join("") : flags.replace(mode, "");
      applied.push({ add, mode });
    } else if (mode === "k") {
      if (!add) {
        if (key === "") continue;
        key = "";
        applied.push({ add, mode, param: "*" });
        continue;
      }
      const problem = keyProblem(param!);
      if (problem !== undefined) {
        refuse(change, "invalid-param", `Invalid key: ${problem}`);
      } else if (param !== key) {
        key = param!;
        applied.push({ add, mode, param });
      }
    } else if (mode === "l") {
      if (!add) {
        if (limit === 0) continue;
        limit = 0;
        applied.push({ add, mode });
        continue;
      }
      const value = parseLimit(param!);
      if (value === undefined) {
        refuse(
          change,
          "invalid-param",
          `Invalid limit: a whole number from 1 to ${MAX_USER_LIMIT}`,
        );
      } else if (value !== limit) {
        limit = value;
        applied.push({ add, mode, param: String(value) });
      }
    } else if (mode === "o" || mode === "v") {
      const member = context.find(param!);
      if (member === undefined) {
        refuse(change, "no-such-nick", `No such nick: ${param}`);
        continue;
      }
      if (!channel.members.has(member)) {
        refuse(change, "not-in-channel", `${member.nick} is not in the channel`);
        continue;
      }
      const holders = mode === "o" ? operators : voiced;
      if (holders.has(member) === add) continue;
      if (add) holders.add(member);
      else holders.delete(member);
      applied.push({ add, mode, param: member.nick });
    } else {
      const problem = maskProblem(param!);
      if (problem !== undefined) {
        refuse(change, "invalid-param", `Invalid mask: ${problem}`);
        continue;
      }
      const list = lists[mode as ListMode];
      const mask = normalizeMask(param!);
      const index = list.findIndex((entry) => foldCase(entry.mask) === foldCase(mask));
      if (add) {
        if (index >= 0) continue;
        if (list.length >= MAX_LIST_LENGTH) {
          refuse(change, "list-full", `The list is full (${MAX_LIST_LENGTH} masks)`);
          continue;
        }
        list.push({ mask, setBy: context.setBy, setAt: context.now });
        applied.push({ add, mode, param: mask });
      } else if (index >= 0) {
        applied.push({ add, mode, param: list[index].mask });
        list.splice(index, 1);
      }
    }
  }
  // The lists object stays the same when no list changed, so a store need not rewrite them.
  const listed = applied.some((change) => CHANNEL_MODES.lists.includes(change.mode));
  const settings = {
    ...channel.settings,
    flags,
    key,
    limit,
    lists: listed ? lists : channel.settings.lists,
  };
  return { settings, operators, voiced, applied, refused };
}
