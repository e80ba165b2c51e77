/**
 * When a password may be checked: failed logins slow whoever makes them, never the owner of
 * the account somewhere else, and a right password is never refused for someone else's
 * failures.
 *
 * Three schedules, each a queue of turns that grows apart with its failures:
 *
 * - **account + address** (default 3 free failures): one address guessing one account. The
 *   owner's own typos land here too, so they slow only the owner's own address.
 * - **address** (10 free): one address guessing many accounts (password spraying).
 * - **account, from addresses it has not logged in from** (10 free, each address counting
 *   at most its 3 free failures, so one address alone never starts it): many addresses
 *   guessing one account. Addresses where the account logged in (or was registered) in the
 *   last 30 days skip this queue, so its owner at home is not slowed by a botnet.
 *
 * After a schedule's free failures, the next attempt waits 1 s after the previous one, then
 * 2 s, 4 s … up to 30 s; an attempt waits for the latest turn of the schedules it is in. The
 * wait is a timer, so the event loop stays free. Failures are counted when the attempt is
 * scheduled (parallel attempts cannot all go first) and given back when the password was
 * right; a right password also clears its account + address schedule. A schedule is
 * forgotten 15 minutes after its last failure. An attempt that would wait more than 30 s
 * (attempts piled up in parallel) is refused without being counted.
 *
 * @module
 */

/** Options for {@link LoginThrottle}. */
export interface LoginThrottleOptions {
  /** Failures of one account from one address before its attempts wait. @default {3} */
  freePerAccountAddress?: number;
  /** Failures from one address, on any accounts, before its attempts wait. @default {10} */
  freePerAddress?: number;
  /**
   * Failures on one account from addresses it has not logged in from (each address counting
   * at most `freePerAccountAddress`) before attempts from such addresses wait.
   * @default {10}
   */
  freePerAccount?: number;
  /** The first wait after the free failures; it doubles with each further failure. @default {1000} */
  firstDelayMs?: number;
  /**
   * The longest wait between two turns of one schedule; an attempt that would wait longer
   * is refused. @default {30000}
   */
  maxDelayMs?: number;
  /** A schedule is forgotten this long after its last failure. @default {900000} (15 min) */
  forgetAfterMs?: number;
  /** How long an address an account logged in from stays known to it. @default {2592000000} (30 days) */
  knownForMs?: number;
}

/** An attempt that may go ahead after {@link LoginTurn.waitMs}. */
export interface LoginTurn {
  /** The attempt may go ahead. */
  readonly granted: true;
  /** How long to wait before checking the password, ms. */
  readonly waitMs: number;
  /** Whether the account has logged in from this address before. */
  readonly known: boolean;
  /** The password was right: give back the failure counted for it, remember the address. */
  succeeded(now?: number): void;
  /** The password was not checked after all: give back the failure counted for it. */
  cancel(): void;
}

/** An attempt refused because the attempts before it already fill the longest wait. */
export interface LoginRefusal {
  /** The attempt is refused unchecked. */
  readonly granted: false;
  /** When an attempt would be accepted again, ms from now. */
  readonly retryAfterMs: number;
}

/** One schedule: its failures and when its next turn is. */
interface Schedule {
  failures: number;
  nextAt: number;
  lastFailureAt: number;
}

/** Addresses an account has logged in from remembered per account, most recent kept. */
const KNOWN_PER_ACCOUNT = 16;
/**
 * Schedules kept per kind at most (about 200 bytes each): past it the oldest is dropped, so
 * a flood of attempts for made-up names from many addresses cannot grow memory without
 * bound; it can at worst make an early schedule be forgotten.
 */
const MAX_SCHEDULES = 100_000;

/**
 * Login attempts' turns, per account and address (all in memory: a restart forgets them).
 *
 * @example Three free failures, then the fourth attempt waits a second
 * ```ts
 * import assert from "node:assert/strict";
 * import { LoginThrottle } from "./login_throttle.ts";
 *
 * const throttle = new LoginThrottle();
 * const waits = [0, 1, 2, 3].map((i) => {
 *   const turn = throttle.take("ann", "203.0.113.9", 1_000 + i);
 *   return turn.granted && turn.waitMs;
 * });
 * assert.deepEqual(waits, [0, 0, 0, 999]);
 * // Someone else, elsewhere, is not slowed by those failures.
 * const owner = throttle.take("ann", "198.51.100.4", 1_004);
 * assert.ok(owner.granted && owner.waitMs === 0);
 * ```
 */
export class LoginThrottle {
  readonly #freePair: number;
  readonly #freeAddress: number;
  readonly #freeAccount: number;
  readonly #firstDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #forgetAfterMs: number;
  readonly #knownForMs: number;
  #pairs = new Map<string, Schedule>();
  #addresses = new Map<string, Schedule>();
  #accounts = new Map<string, Schedule>();
  /** Account → address → when it last logged in from there (insertion order = recency). */
  #known = new Map<string, Map<string, number>>();
  #sweptAt = 0;

  /**
   * Makes a throttle that remembers no attempt yet.
   *
   * @param options Free failures, delays, memory.
   */
  constructor(options: LoginThrottleOptions = {}) {
    this.#freePair = options.freePerAccountAddress ?? 3;
    this.#freeAddress = options.freePerAddress ?? 10;
    this.#freeAccount = options.freePerAccount ?? 10;
    this.#firstDelayMs = options.firstDelayMs ?? 1000;
    this.#maxDelayMs = options.maxDelayMs ?? 30_000;
    this.#forgetAfterMs = options.forgetAfterMs ?? 15 * 60_000;
    this.#knownForMs = options.knownForMs ?? 30 * 24 * 3_600_000;
  }

  /** Schedules remembered, of the three kinds together (for tests and statistics). */
  get size(): number {
    return this.#pairs.size + this.#addresses.size + this.#accounts.size;
  }

  /**
   * Schedules an attempt, counting it as a failure until {@link LoginTurn.succeeded}.
   *
   * @param account The account's folded name.
   * @param address The client's address key.
   * @param now The time, ms since the epoch.
   * @returns The turn (how long to wait), or a refusal when the wait would exceed the
   *   longest delay.
   *
   * @example Parallel attempts queue one behind another
   * ```ts
   * import assert from "node:assert/strict";
   * import { LoginThrottle } from "./login_throttle.ts";
   *
   * const throttle = new LoginThrottle({ freePerAccountAddress: 1, maxDelayMs: 4000 });
   * const turns = [0, 1, 2, 3].map(() => throttle.take("ann", "203.0.113.9", 0));
   * assert.deepEqual(turns.map((t) => t.granted ? t.waitMs : "refused"), [0, 1000, 3000, "refused"]);
   * ```
   */
  take(account: string, address: string, now: number = Date.now()): LoginTurn | LoginRefusal {
    this.#sweep(now);
    const known = this.isKnown(account, address, now);
    const pairKey = `${account} ${address}`;
    const pair = this.#live(this.#pairs, pairKey, now);
    const source = this.#live(this.#addresses, address, now);
    const shared = known ? undefined : this.#live(this.#accounts, account, now);
    const at = Math.max(now, pair.nextAt, source.nextAt, shared?.nextAt ?? 0);
    if (at - now > this.#maxDelayMs) {
      return { granted: false, retryAfterMs: at - now - this.#maxDelayMs };
    }
    // One address counts only its free failures towards the account's shared schedule:
    // beyond them its own schedule already slows it, and alone it must not slow the owner.
    const countsForAccount = shared !== undefined && pair.failures < this.#freePair;
    this.#book(pair, now, this.#freePair, true);
    this.#book(source, now, this.#freeAddress, true);
    if (shared) this.#book(shared, now, this.#freeAccount, countsForAccount);
    keep(this.#pairs, pairKey, pair);
    keep(this.#addresses, address, source);
    if (shared) keep(this.#accounts, account, shared);
    const giveBack = () => {
      pair.failures = Math.max(0, pair.failures - 1);
      source.failures = Math.max(0, source.failures - 1);
      if (countsForAccount) shared.failures = Math.max(0, shared.failures - 1);
    };
    return {
      granted: true,
      waitMs: at - now,
      known,
      succeeded: (when = Date.now()) => {
        giveBack();
        if (this.#pairs.get(pairKey) === pair) this.#pairs.delete(pairKey);
        this.remember(account, address, when);
      },
      cancel: giveBack,
    };
  }

  /**
   * Remembers that an account logged in (or was registered) from an address, so attempts
   * from there skip the account's shared schedule for {@link LoginThrottleOptions.knownForMs}.
   *
   * @param account The account's folded name.
   * @param address The address key.
   * @param now The time, ms since the epoch.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LoginThrottle } from "./login_throttle.ts";
   * const throttle = new LoginThrottle();
   * throttle.remember("ann", "198.51.100.4", 0);
   * assert.ok(throttle.isKnown("ann", "198.51.100.4", 1000));
   * assert.ok(!throttle.isKnown("ann", "203.0.113.9", 1000));
   * ```
   */
  remember(account: string, address: string, now: number = Date.now()): void {
    const addresses = this.#known.get(account) ?? new Map<string, number>();
    addresses.delete(address);
    addresses.set(address, now);
    if (addresses.size > KNOWN_PER_ACCOUNT) addresses.delete(addresses.keys().next().value!);
    this.#known.set(account, addresses);
  }

  /**
   * Whether an account logged in from an address recently.
   *
   * @param account The account's folded name.
   * @param address The address key.
   * @param now The time, ms since the epoch.
   * @returns True when known.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LoginThrottle } from "./login_throttle.ts";
   * const throttle = new LoginThrottle({ knownForMs: 1000 });
   * throttle.remember("ann", "198.51.100.4", 0);
   * assert.ok(!throttle.isKnown("ann", "198.51.100.4", 1001));
   * ```
   */
  isKnown(account: string, address: string, now: number = Date.now()): boolean {
    const at = this.#known.get(account)?.get(address);
    return at !== undefined && now - at <= this.#knownForMs;
  }

  /** The schedule under `key` if still remembered, else a fresh one (not yet stored). */
  #live(map: Map<string, Schedule>, key: string, now: number): Schedule {
    const schedule = map.get(key);
    if (schedule !== undefined && !this.#forgotten(schedule, now)) return schedule;
    return { failures: 0, nextAt: 0, lastFailureAt: now };
  }

  /**
   * Takes the schedule's next turn; the one after is a delay later. The turn is the
   * schedule's own, not the attempt's (which may wait for another schedule): a schedule
   * with no delay must not hold anyone back for another schedule's sake.
   */
  #book(schedule: Schedule, now: number, free: number, failure: boolean): void {
    if (failure) {
      schedule.failures++;
      schedule.lastFailureAt = now;
    }
    const beyond = schedule.failures - free;
    const delay = beyond < 0 ? 0 : Math.min(this.#maxDelayMs, this.#firstDelayMs * 2 ** beyond);
    schedule.nextAt = Math.max(now, schedule.nextAt) + delay;
  }

  #forgotten(schedule: Schedule, now: number): boolean {
    return schedule.nextAt <= now && now - schedule.lastFailureAt > this.#forgetAfterMs;
  }

  /** Drops forgotten schedules and expired known addresses, at most once a minute. */
  #sweep(now: number): void {
    if (now - this.#sweptAt < 60_000) return;
    this.#sweptAt = now;
    for (const map of [this.#pairs, this.#addresses, this.#accounts]) {
      for (const [key, schedule] of map) if (this.#forgotten(schedule, now)) map.delete(key);
    }
    for (const [account, addresses] of this.#known) {
      for (const [address, at] of addresses) {
        if (now - at > this.#knownForMs) addresses.delete(address);
      }
      if (addresses.size === 0) this.#known.delete(account);
    }
  }
}

/** Stores a schedule, dropping the oldest one (first inserted) when the map is full. */
function keep(map: Map<string, Schedule>, key: string, schedule: Schedule): void {
  if (map.get(key) === schedule) return;
  map.set(key, schedule);
  if (map.size > MAX_SCHEDULES) map.delete(map.keys().next().value!);
}
