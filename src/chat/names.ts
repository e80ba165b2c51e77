/**
 * The naming rules of the chat, in one place for every side: the server, the terminal
 * client, the bridge and the browser page all check nicks and channel names here, so a name
 * one accepts the others accept too.
 *
 * Nicks follow RFC 2812 (a letter or one of `[]\`_^{|}` first, then those, digits and `-`),
 * at most NICKLEN characters. Channels start with `#` (CHANTYPES=#) and hold no space, comma
 * or control character, at most CHANNELLEN characters. Nicks ending in `|local` (or
 * `|local2` …) belong to the participants of a bridged shared-memory room: a network client
 * cannot take one, so nobody can pose as a local user. User names (idents) and the hosts an
 * operator gives with CHGHOST have their rules here too.
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
 * USERLEN: the longest user name (ident); `USER` cuts a longer one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { USER_LENGTH, userNameProblem } from "./names.ts";
 *
 * assert.equal(userNameProblem("u".repeat(USER_LENGTH)), undefined);
 * ```
 */
export const USER_LENGTH = 16;

/**
 * HOSTLEN: the longest host an operator may give a user (CHGHOST).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HOST_LENGTH, hostProblem } from "./names.ts";
 *
 * assert.notEqual(hostProblem(`${"h".repeat(HOST_LENGTH)}.example`), undefined);
 * ```
 */
export const HOST_LENGTH = 64;

/**
 * Turns what a client sends in `USER` into a user name: only letters, digits and `._~-` are
 * kept, at most {@link USER_LENGTH} of them ("" when none is left).
 *
 * @param text The user name as sent.
 * @returns The user name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toUserName } from "./names.ts";
 *
 * assert.equal(toUserName("~ann!@x"), "~annx");
 * assert.equal(toUserName("u".repeat(20)), "u".repeat(16));
 * ```
 */
export function toUserName(text: string): string {
  return text.replace(USER_OTHER, "").slice(0, USER_LENGTH);
}

const USER_OTHER = /[^A-Za-z0-9._~-]/g;
const HOST = /^[A-Za-z0-9_/][A-Za-z0-9._/:-]*$/;

/**
 * What is wrong with a user name an operator gives (CHGHOST), if anything: letters, digits and
 * `._~-`, at most {@link USER_LENGTH}, as `USER` leaves them.
 *
 * @param user The user name.
 * @returns Why it cannot be one, or undefined when it can.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { userNameProblem } from "./names.ts";
 *
 * assert.equal(userNameProblem("~ann"), undefined);
 * assert.match(userNameProblem("a@b")!, /letters, digits/);
 * assert.match(userNameProblem("")!, /empty/);
 * ```
 */
export function userNameProblem(user: string): string | undefined {
  if (user === "") return "a user name cannot be empty";
  if (user.length > USER_LENGTH) {
    return `a user name cannot be longer than ${USER_LENGTH} characters`;
  }
  if (toUserName(user) !== user) {
    return "a user name is letters, digits and ._~-, nothing else";
  }
  return undefined;
}

/**
 * What is wrong with a host an operator gives (CHGHOST), if anything: letters, digits and
 * `._/:-`, at most {@link HOST_LENGTH}, not starting with `.`, `:` or `-` (a `:` first would
 * end a line's parameters), and with at least one `.`, `:` or `/`, as host names, addresses
 * and cloaks (`staff/ann`) have — so no user can be given a bare word such as `local`, the
 * host that marks a bridged room's participants.
 *
 * @param host The host.
 * @returns Why it cannot be one, or undefined when it can.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostProblem } from "./names.ts";
 *
 * assert.equal(hostProblem("staff.example.org"), undefined);
 * assert.equal(hostProblem("staff/ann"), undefined);
 * assert.equal(hostProblem("2001:db8::7"), undefined);
 * assert.match(hostProblem(":x.example")!, /cannot start/);
 * assert.match(hostProblem("a b.example")!, /letters, digits/);
 * assert.match(hostProblem("local")!, /\./);
 * ```
 */
export function hostProblem(host: string): string | undefined {
  if (host === "") return "a host cannot be empty";
  if (host.length > HOST_LENGTH) return `a host cannot be longer than ${HOST_LENGTH} characters`;
  if (/^[.:-]/.test(host)) return "a host cannot start with '.', ':' or '-'";
  if (!HOST.test(host)) return "a host is letters, digits and ._/:-, nothing else";
  if (!/[.:/]/.test(host)) return "a host holds a '.', ':' or '/' (a name, an address or a cloak)";
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
