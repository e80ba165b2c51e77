/**
 * What the history, search and redaction benchmarks share: reading a count option, timing a
 * call, and reading a percentile of the times.
 *
 * @module
 */

/**
 * Reads a whole-number option of at least 1; anything else is a usage error (exit 2).
 *
 * @param name The option's name, without `--`.
 * @param text What was given.
 * @returns The number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { positiveOption } from "./_samples.ts";
 *
 * assert.equal(positiveOption("messages", "1000"), 1000);
 * ```
 */
export function positiveOption(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`--${name} must be a whole number of at least 1, not "${text}"`);
    Deno.exit(2);
  }
  return value;
}

/**
 * The sample at quantile `q` of samples sorted in ascending order (the one at
 * `floor(q × n)`, the last for a `q` past it).
 *
 * @param sorted The samples, ascending.
 * @param q The quantile, 0 to 1.
 * @returns The sample.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantile } from "./_samples.ts";
 *
 * const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
 * assert.equal(quantile(sorted, 0.5), 6);
 * assert.equal(quantile(sorted, 0.99), 10);
 * ```
 */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * How long a call takes, in ms.
 *
 * @param action The call.
 * @returns Its duration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { timeOf } from "./_samples.ts";
 *
 * assert.ok(timeOf(() => [3, 1, 2].sort()) >= 0);
 * ```
 */
export function timeOf(action: () => unknown): number {
  const start = performance.now();
  action();
  return performance.now() - start;
}
