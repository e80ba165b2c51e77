/**
 * IRC wildcard masks: `*` any run of characters, `?` one character, compared with the one
 * case folding every name uses. WHO matches its masks with them.
 *
 * @module
 */
import { foldCase } from "./casemap.ts";

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
