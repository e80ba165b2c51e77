/**
 * Counts events per second over the last minute, for the live message rate on the status
 * board and the monitor page.
 *
 * @module
 */

const SECONDS = 60;

/**
 * A ring of one-second buckets.
 *
 * @example Three events in the second from 10 000 to 11 000 ms
 * ```ts
 * import assert from "node:assert/strict";
 * import { RateCounter } from "./rate_counter.ts";
 *
 * const rate = new RateCounter();
 * rate.add(3, 10_500);
 * const series = rate.series(11_000);
 * assert.equal(series.length, 60);
 * assert.equal(series.at(-2), 3); // the second that ended at 11 000 ms
 * assert.equal(series.at(-1), 0); // the second in progress
 * assert.equal(rate.perSecond(5, 11_000), 3 / 5);
 * ```
 */
export class RateCounter {
  #buckets = new Float64Array(SECONDS);
  #second = 0;

  /**
   * Counts events now.
   *
   * @param count How many.
   * @param now The time, ms since the epoch.
   */
  add(count = 1, now: number = Date.now()): void {
    this.#advance(Math.floor(now / 1000));
    this.#buckets[this.#second % SECONDS] += count;
  }

  /**
   * Events in each of the last 60 seconds, oldest first; the last entry is the second in
   * progress.
   *
   * @param now The time, ms since the epoch.
   * @returns 60 counts.
   */
  series(now: number = Date.now()): number[] {
    const current = Math.floor(now / 1000);
    this.#advance(current);
    const out: number[] = [];
    for (let s = current - SECONDS + 1; s <= current; s++) out.push(this.#buckets[s % SECONDS]);
    return out;
  }

  /**
   * The average rate over the last `seconds` complete seconds.
   *
   * @param seconds How many seconds to average (1 to 59).
   * @param now The time, ms since the epoch.
   * @returns Events per second.
   */
  perSecond(seconds = 5, now: number = Date.now()): number {
    const series = this.series(now);
    const complete = series.slice(SECONDS - 1 - seconds, SECONDS - 1);
    return complete.reduce((a, b) => a + b, 0) / seconds;
  }

  #advance(second: number): void {
    if (second <= this.#second) return;
    const gap = Math.min(second - this.#second, SECONDS);
    for (let i = 1; i <= gap; i++) this.#buckets[(this.#second + i) % SECONDS] = 0;
    this.#second = second;
  }
}
