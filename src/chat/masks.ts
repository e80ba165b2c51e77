/**
 * Ban masks, as channel lists (`+b`, `+e`, `+I`) hold them: IRC wildcard masks over
 * `nick!user@host` (`*` any run of characters, `?` one character, compared with the one
 * case folding every name uses), and the account extban `~a:ACCOUNT`, which matches the
 * account a member is logged in to, never its nick. `~a:` is UnrealIRCd's short spelling
 * and the IRCv3 account-extban example's (`EXTBAN=~,a ACCOUNTEXTBAN=a`); InspIRCd 3 spells
 * it `R:account`, Solanum `$a:account`, and Ergo has none (its nicks are its accounts).
 *
 * @module
 */
import { foldCase } from "./casemap.ts";

/**
 * The prefix of an account extban: `~a:ann` matches whoever is logged in to the account ann.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACCOUNT_EXTBAN, maskMatches } from "./masks.ts";
 *
 * const ann = { nick: "ann", user: "a", host: "h", account: "Ann" };
 * assert.ok(maskMatches(`${ACCOUNT_EXTBAN}ann`, ann));
 * ```
 */
export const ACCOUNT_EXTBAN = "~a:";

/**
 * The longest mask a list holds, so a MODE line that carries a few of them fits in 512 bytes.
 *
 * @example A full mask of the longest nick, user and IPv6 host fits
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_MASK_LENGTH } from "./masks.ts";
 *
 * const longest = `${"n".repeat(32)}!${"u".repeat(16)}@${"h".repeat(45)}`;
 * assert.ok(longest.length <= MAX_MASK_LENGTH);
 * ```
 */
export const MAX_MASK_LENGTH = 128;

/** What a mask is matched against: a member's mask parts and its account. */
export interface MaskSubject {
  /** The nick. */
  readonly nick: string;
  /** The user name. */
  readonly user: string;
  /** The host. */
  readonly host: string;
  /** The account it is logged in to, if any. */
  readonly account?: string;
}

/**
 * Completes a mask the way clients expect servers to: `bob` is `bob!*@*`, `bob!b` is
 * `bob!b@*`, `b@host` is `*!b@host`; an account extban is kept as it is.
 *
 * @param text The mask as given.
 * @returns The full mask.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeMask } from "./masks.ts";
 *
 * assert.equal(normalizeMask("bob"), "bob!*@*");
 * assert.equal(normalizeMask("bob!b"), "bob!b@*");
 * assert.equal(normalizeMask("b@example.org"), "*!b@example.org");
 * assert.equal(normalizeMask("*!*@*.example.org"), "*!*@*.example.org");
 * assert.equal(normalizeMask("~a:ann"), "~a:ann");
 * ```
 */
export function normalizeMask(text: string): string {
  if (text.startsWith(ACCOUNT_EXTBAN)) return text;
  const at = text.lastIndexOf("@");
  const userHost = at < 0 ? text : text.slice(0, at);
  const host = at < 0 ? "*" : text.slice(at + 1) || "*";
  const bang = userHost.indexOf("!");
  let nick: string;
  let user: string;
  if (bang >= 0) {
    nick = userHost.slice(0, bang);
    user = userHost.slice(bang + 1);
  } else if (at >= 0) {
    nick = "*";
    user = userHost;
  } else {
    nick = userHost;
    user = "*";
  }
  return `${nick || "*"}!${user || "*"}@${host}`;
}

/**
 * What is wrong with a mask for a channel list, if anything.
 *
 * @param text The mask as given.
 * @returns Why it cannot be listed, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskProblem } from "./masks.ts";
 *
 * assert.equal(maskProblem("bob!*@*"), undefined);
 * assert.equal(maskProblem("~a:ann"), undefined);
 * assert.match(maskProblem("~a:")!, /account/);
 * assert.match(maskProblem("~q:x")!, /extban/);
 * assert.match(maskProblem("x".repeat(200))!, /longer than 128/);
 * ```
 */
export function maskProblem(text: string): string | undefined {
  if (text === "") return "a mask cannot be empty";
  if (text.length > MAX_MASK_LENGTH) {
    return `a mask cannot be longer than ${MAX_MASK_LENGTH} characters`;
  }
  if (/[\s,]/.test(text)) return "a mask cannot hold spaces or commas";
  if (text.startsWith(ACCOUNT_EXTBAN)) {
    return text.length === ACCOUNT_EXTBAN.length
      ? `an account extban names an account: ${ACCOUNT_EXTBAN}ACCOUNT`
      : undefined;
  }
  if (text.startsWith("~")) {
    return `the only extban is ${ACCOUNT_EXTBAN}ACCOUNT (a logged-in account)`;
  }
  return undefined;
}

/**
 * Whether a mask matches a member: an account extban its account, any other mask its
 * `nick!user@host`.
 *
 * @param mask A mask from a channel list (normalized).
 * @param subject The member.
 * @returns True when it matches.
 *
 * @example A host mask, and an account extban that ignores the nick
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskMatches } from "./masks.ts";
 *
 * const bob = { nick: "Bob", user: "b", host: "10.0.0.7" };
 * assert.ok(maskMatches("bob!*@*", bob));
 * assert.ok(maskMatches("*!*@10.0.0.?", bob));
 * assert.ok(!maskMatches("*!*@10.0.0.1?", bob));
 * assert.ok(!maskMatches("~a:bob", bob), "not logged in");
 * assert.ok(maskMatches("~a:bob", { ...bob, nick: "other", account: "BOB" }));
 * ```
 */
export function maskMatches(mask: string, subject: MaskSubject): boolean {
  if (mask.startsWith(ACCOUNT_EXTBAN)) {
    return subject.account !== undefined &&
      wildcardMatch(mask.slice(ACCOUNT_EXTBAN.length), subject.account);
  }
  return wildcardMatch(mask, `${subject.nick}!${subject.user}@${subject.host}`);
}

/**
 * IRC wildcard matching, case-folded: `*` matches any run of characters (none included),
 * `?` exactly one. Linear in practice: a `*` is retried from one place only, however many
 * there are.
 *
 * @param pattern The pattern.
 * @param text The text.
 * @returns True when the whole text matches.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wildcardMatch } from "./masks.ts";
 *
 * assert.ok(wildcardMatch("a*c", "ABC"));
 * assert.ok(wildcardMatch("a*", "a"));
 * assert.ok(wildcardMatch("a?c", "abc"));
 * assert.ok(!wildcardMatch("a?c", "ac"));
 * assert.ok(wildcardMatch("*a*a*a*b", "aaaaaaaaaaaaaaaaab"));
 * ```
 */
export function wildcardMatch(pattern: string, text: string): boolean {
  const p = foldCase(pattern);
  const t = foldCase(text);
  let i = 0;
  let j = 0;
  let star = -1;
  let resume = 0;
  while (j < t.length) {
    if (i < p.length && (p[i] === "?" || p[i] === t[j])) {
      i++;
      j++;
    } else if (i < p.length && p[i] === "*") {
      star = i++;
      resume = j;
    } else if (star >= 0) {
      i = star + 1;
      j = ++resume;
    } else {
      return false;
    }
  }
  while (i < p.length && p[i] === "*") i++;
  return i === p.length;
}
