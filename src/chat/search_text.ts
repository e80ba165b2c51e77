/**
 * What a user types into a search, turned into an FTS5 query that cannot fail and cannot
 * surprise: the words of the text, each quoted, all required. FTS5's own syntax is not passed
 * through: in chat, `-`, `"`, `*`, `AND`, `NEAR(`, `:` and `^` are ordinary text (`e-mail`,
 * `C++`, a quote), and a query language would turn half of what people type into syntax
 * errors or, worse, silently into operators; quoting also keeps column filters and the
 * expensive operators out of reach. The one operator kept is a trailing `*` on a word, a
 * prefix search (`deplo*` finds "deploy" and "deployed").
 *
 * @module
 */

/**
 * The longest search text, in UTF-16 code units.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ftsQuery, MAX_SEARCH_TEXT } from "./search_text.ts";
 *
 * assert.throws(() => ftsQuery("a".repeat(MAX_SEARCH_TEXT + 1)), /over 300/);
 * ```
 */
export const MAX_SEARCH_TEXT = 300;
/**
 * The most words one search may require.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ftsQuery, MAX_SEARCH_WORDS } from "./search_text.ts";
 *
 * assert.throws(() => ftsQuery("w ".repeat(MAX_SEARCH_WORDS + 1)), /9 words, over 8/);
 * ```
 */
export const MAX_SEARCH_WORDS = 8;
/**
 * The shortest word a `*` may end: a one-letter prefix matches a large part of the index,
 * which FTS5 merges before it can return the first message (see docs/security.md).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ftsQuery, MIN_PREFIX } from "./search_text.ts";
 *
 * assert.equal(MIN_PREFIX, 2);
 * assert.equal(ftsQuery("de*"), '"de"*');
 * assert.throws(() => ftsQuery("d*"), /too short a prefix/);
 * ```
 */
export const MIN_PREFIX = 2;

/**
 * Why a search text was refused; its message names what was wrong, for the user.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ftsQuery, SearchTextError } from "./search_text.ts";
 *
 * assert.throws(() => ftsQuery("-"), SearchTextError);
 * ```
 */
export class SearchTextError extends Error {
  /** The error's name, for logs. */
  override name = "SearchTextError";
}

/**
 * A word as the index splits words (SQLite's unicode61 tokenizer): letters, numbers and
 * marks of any script, and private-use characters; everything else separates words.
 */
const WORD = /([\p{L}\p{N}\p{M}\p{Co}]+)(\*?)/gu;

/**
 * Builds the FTS5 query of a search text: each word quoted (so nothing in it is syntax), all
 * of them required, a word directly followed by `*` a prefix.
 *
 * @param text What the user typed.
 * @returns The FTS5 query, e.g. `"deploy" "fail"*`.
 * @throws SearchTextError when the text is too long, has no word, has too many words, or ends
 *   too short a word with `*`; or contains a NUL.
 *
 * @example Words are quoted; operators are ordinary text; a trailing `*` is a prefix
 * ```ts
 * import assert from "node:assert/strict";
 * import { ftsQuery } from "./search_text.ts";
 *
 * assert.equal(ftsQuery("Deploy failed"), '"Deploy" "failed"');
 * assert.equal(ftsQuery('"unbalanced NEAR( a AND -b'), '"unbalanced" "NEAR" "a" "AND" "b"');
 * assert.equal(ftsQuery("deplo*"), '"deplo"*');
 * assert.throws(() => ftsQuery("* - ()"), /no word to search for/);
 * ```
 */
export function ftsQuery(text: string): string {
  if (text.includes("\0")) throw new SearchTextError("The search text contains a NUL character");
  if (text.length > MAX_SEARCH_TEXT) {
    throw new SearchTextError(
      `The search text is ${text.length} characters long, over ${MAX_SEARCH_TEXT}`,
    );
  }
  const terms: string[] = [];
  for (const [, word, star] of text.matchAll(WORD)) {
    if (star !== "" && [...word].length < MIN_PREFIX) {
      throw new SearchTextError(
        `"${word}*" is too short a prefix; give at least ${MIN_PREFIX} letters before *`,
      );
    }
    // The word has no quote, so quoting it cannot break out of the string.
    terms.push(`"${word}"${star}`);
  }
  if (terms.length === 0) {
    throw new SearchTextError("The search text has no word to search for (letters or digits)");
  }
  if (terms.length > MAX_SEARCH_WORDS) {
    throw new SearchTextError(
      `The search text has ${terms.length} words, over ${MAX_SEARCH_WORDS}`,
    );
  }
  return terms.join(" ");
}
