/**
 * A keyed sliding-window limit: at most `limit` events per key in any `windowMs`. The server
 * uses it for login attempts (per account and per address), account registrations and new
 * connections per address.
 *
 * @module
 */

/** Options for {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Events allowed per key in any window. */
  limit: number;
  /** The window, in ms. */
  windowMs: number;
}

/**
 * Remembers, per key, the times of its last `limit` events (a sliding log: exact, and never
 * more than `limit` numbers per key). Keys whose events all left the window are swept once
 * per window, so an attacker cycling through keys cannot grow it without bound for longer
 * than one window.
 *
 * @example Three logins a minute, then refused until the oldest leaves the window
 * ```ts
 * import assert from "node:assert/strict";
 * import { RateLimiter } from "./rate_limiter.ts";
 *
 * const logins = new RateLimiter({ limit: 3, windowMs: 60_000 });
 * const results = [0, 1, 2, 3].map((i) => logins.take("203.0.113.9", 1_000 + i));
 * assert.deepEqual(results, [true, true, true, false]);
 * assert.equal(logins.retryAfter("203.0.113.9", 1_003), 59_997);
 * assert.equal(logins.retryAfter("198.51.100.4", 1_003), 0);
 * assert.ok(logins.take("203.0.113.9", 61_000));
 * ```
 */
export class RateLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  #events = new Map<string, number[]>();
  #sweptAt = 0;

  /**
   * Makes a limiter that remembers no event yet.
   *
   * @param options The limit and its window.
   * @throws RangeError when the limit is not a whole number of at least 1, or the window
   *   not a positive number.
   */
  constructor(options: RateLimiterOptions) {
    if (!Number.isSafeInteger(options.limit) || options.limit < 1) {
      throw new RangeError(
        `Cannot create a rate limiter: limit must be a whole number of at least 1, got ${options.limit}`,
      );
    }
    if (!Number.isFinite(options.windowMs) || options.windowMs <= 0) {
      throw new RangeError(
        `Cannot create a rate limiter: windowMs must be a positive number, got ${options.windowMs}`,
      );
    }
    this.#limit = options.limit;
    this.#windowMs = options.windowMs;
  }

  /** Keys currently remembered (for tests and statistics). */
  get size(): number {
    return this.#events.size;
  }

  /**
   * Counts an event for `key` if the key is under its limit.
   *
   * @param key Whose event (an address, an account name).
   * @param now The time, ms since the epoch.
   * @returns True when allowed (and counted), false when over the limit (not counted).
   */
  take(key: string, now: number = Date.now()): boolean {
    this.#sweep(now);
    const times = this.#recent(key, now);
    if (times.length >= this.#limit) return false;
    times.push(now);
    this.#events.set(key, times);
    return true;
  }

  /**
   * Gives back the last event counted for `key`, for an attempt that turned out not to count
   * (a login that succeeded).
   *
   * @param key The key.
   */
  refund(key: string): void {
    const times = this.#events.get(key);
    times?.pop();
    if (times?.length === 0) this.#events.delete(key);
  }

  /**
   * How long until `key` may have another event.
   *
   * @param key The key.
   * @param now The time, ms since the epoch.
   * @returns 0 when an event is allowed now, else the ms to wait.
   */
  retryAfter(key: string, now: number = Date.now()): number {
    const times = this.#recent(key, now);
    if (times.length < this.#limit) return 0;
    return times[times.length - this.#limit] + this.#windowMs - now;
  }

  /** The key's event times still inside the window, oldest first. */
  #recent(key: string, now: number): number[] {
    const times = this.#events.get(key);
    if (times === undefined) return [];
    const start = now - this.#windowMs;
    let expired = 0;
    while (expired < times.length && times[expired] <= start) expired++;
    if (expired > 0) times.splice(0, expired);
    return times;
  }

  #sweep(now: number): void {
    if (now - this.#sweptAt < this.#windowMs) return;
    this.#sweptAt = now;
    const start = now - this.#windowMs;
    for (const [key, times] of this.#events) {
      if (times[times.length - 1] <= start) this.#events.delete(key);
    }
  }
}
