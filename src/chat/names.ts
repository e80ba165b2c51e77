/**
 * The naming rules of the chat, in one place for every side: the server, the terminal
 * client, the bridge and the browser page all check nicks and channel names here, so a name
 * one accepts the others accept too.
 *
 * Nicks follow RFC 2812 (a letter or one of `[]\`_^{|}` first, then those, digits and `-`),
 * at most NICKLEN characters. Channels start with `#` (CHANTYPES=#) and hold no space, comma
 * or control character, at most CHANNELLEN characters. Nicks ending in `|local` (or
 * `|local2` …) belong to the participants of a bridged shared-memory room: a network client
 * cannot take one, so nobody can pose as a local user.
 *
 * @module
 */

/**
 * NICKLEN: the longest nick.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NICK_LENGTH, nickProblem } from "./names.ts";
 *
 * assert.equal(nickProblem("a".repeat(NICK_LENGTH)), undefined);
 * assert.notEqual(nickProblem("a".repeat(NICK_LENGTH + 1)), undefined);
 * ```
 */
export const NICK_LENGTH = 32;
/**
 * CHANNELLEN: the longest channel name, `#` included.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CHANNEL_LENGTH, channelProblem } from "./names.ts";
 *
 * assert.equal(channelProblem("#" + "a".repeat(CHANNEL_LENGTH - 1)), undefined);
 * assert.notEqual(channelProblem("#" + "a".repeat(CHANNEL_LENGTH)), undefined);
 * ```
 */
export const CHANNEL_LENGTH = 64;
/**
 * What marks a bridged local participant's nick: `ann` in the room is `ann|local`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isLocalNick, LOCAL_SUFFIX } from "./names.ts";
 *
 * assert.ok(isLocalNick(`ann${LOCAL_SUFFIX}`));
 * ```
 */
export const LOCAL_SUFFIX = "|local";

const NICK = /^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]*$/;
const NICK_OTHER = /[^A-Za-z0-9\[\]\\`_^{|}-]/g;
const NICK_FIRST = /^[A-Za-z\[\]\\`_^{|}]/;
// deno-lint-ignore no-control-regex
const CHANNEL = /^#[^\x00-\x20,\x7f]+$/;
const LOCAL_MARK = /\|local\d*$/i;

/**
 * What is wrong with a nick, if anything.
 *
 * @param nick The nick.
 * @param maxLength NICKLEN. @default {NICK_LENGTH}
 * @returns Why it is not a valid nick, or undefined when it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nickProblem } from "./names.ts";
 *
 * assert.equal(nickProblem("ann"), undefined);
 * assert.equal(nickProblem("[bot]_2"), undefined);
 * assert.match(nickProblem("2ann")!, /cannot start/);
 * assert.match(nickProblem("a".repeat(33))!, /longer than 32/);
 * ```
 */
export function nickProblem(nick: string, maxLength: number = NICK_LENGTH): string | undefined {
  if (nick === "") return "a nick cannot be empty";
  if (nick.length > maxLength) return `a nick cannot be longer than ${maxLength} characters`;
  if (!NICK_FIRST.test(nick)) return "a nick cannot start with a digit, '-' or that character";
  if (!NICK.test(nick)) return "a nick is letters, digits and []\\`_^{|}-, nothing else";
  return undefined;
}

/**
 * Whether a nick is reserved for a bridged local participant (`ann|local`, `bob|local2`).
 *
 * @param nick The nick.
 * @returns True when it ends in the local mark.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isLocalNick } from "./names.ts";
 *
 * assert.ok(isLocalNick("ann|local"));
 * assert.ok(isLocalNick("ann|LOCAL2"));
 * assert.ok(!isLocalNick("ann|locals"));
 * ```
 */
export function isLocalNick(nick: string): boolean {
  return LOCAL_MARK.test(nick);
}

/**
 * Turns any text into a valid nick: characters a nick cannot hold become `_`, and a `_`
 * goes first when the first one cannot start a nick.
 *
 * @param text The text (a room participant's name).
 * @returns A nick (not cut to any length).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toNick } from "./names.ts";
 *
 * assert.equal(toNick("ann"), "ann");
 * assert.equal(toNick("2.éa"), "_2__a");
 * ```
 */
export function toNick(text: string): string {
  const nick = text.replace(NICK_OTHER, "_");
  return NICK_FIRST.test(nick) ? nick : `_${nick}`;
}

/**
 * What is wrong with a channel name, if anything.
 *
 * @param name The name.
 * @param maxLength CHANNELLEN. @default {CHANNEL_LENGTH}
 * @returns Why it is not a valid channel name, or undefined when it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { channelProblem } from "./names.ts";
 *
 * assert.equal(channelProblem("#lobby"), undefined);
 * assert.notEqual(channelProblem("lobby"), undefined);
 * assert.notEqual(channelProblem("#a b"), undefined);
 * ```
 */
export function channelProblem(
  name: string,
  maxLength: number = CHANNEL_LENGTH,
): string | undefined {
  return CHANNEL.test(name) && name.length <= maxLength
    ? undefined
    : `a channel name is # and up to ${
      maxLength - 1
    } characters, none of them spaces, commas or control characters`;
}

/**
 * Whether a message target names a channel rather than a nick (no nick can start with `#`).
 *
 * @param target A channel name or a nick.
 * @returns True for a channel.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isChannelName } from "./names.ts";
 *
 * assert.ok(isChannelName("#lobby"));
 * assert.ok(!isChannelName("ann"));
 * ```
 */
export function isChannelName(target: string): boolean {
  return target.startsWith("#");
}

const USER_UNSAFE = /[^A-Za-z0-9._~-]/g;
const USER_LENGTH = 16;

/**
 * A user name (ident) made safe for `nick!user@host`: letters, digits and `._~-` only, at most
 * 16 characters; `user` when nothing is left.
 *
 * @param text What the client asked for (USER), or an account name.
 * @returns The user name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toUserName } from "./names.ts";
 *
 * assert.equal(toUserName("ann"), "ann");
 * assert.equal(toUserName("[ann]@home"), "annhome");
 * assert.equal(toUserName("|||"), "user");
 * ```
 */
export function toUserName(text: string): string {
  return text.replace(USER_UNSAFE, "").slice(0, USER_LENGTH) || "user";
}
