/**
 * The wall clock the fan-out benchmark's processes share: send times travel inside messages
 * from one process to another, so every process must read the same clock.
 *
 * @module
 */

/**
 * The wall clock in ms with sub-ms precision, comparable between processes on one machine.
 *
 * @returns ms since the epoch.
 *
 * @example
 * ```ts
 * import { wallClock } from "./_clock.ts";
 * console.log(Math.abs(wallClock() - Date.now()) < 1000); // true
 * ```
 */
export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Resolves at a {@link wallClock} time (at once if it has passed).
 *
 * @param time The moment, in {@link wallClock} ms.
 * @returns Resolves then.
 *
 * @example
 * ```ts
 * import { sleepUntil, wallClock } from "./_clock.ts";
 * await sleepUntil(wallClock() + 5);
 * ```
 */
export function sleepUntil(time: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, time - wallClock())));
}
