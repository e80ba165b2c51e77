/**
 * Who used a nick before: the last few holders of each nick, kept in memory for IRC's WHOWAS.
 * A record is written when a member quits or changes its nick; the oldest records go first
 * once a nick, or the whole log, holds as many as it may.
 *
 * @module
 */
import { foldCase } from "./casemap.ts";

/** One former holder of a nick. */
export interface WhowasRecord {
  /** The nick as it was spelled. */
  readonly nick: string;
  /** The user name (ident). */
  readonly user: string;
  /** The host. */
  readonly host: string;
  /** The real name. */
  readonly realname: string;
  /** The account it was logged in to, if any. */
  readonly account?: string;
  /** When it stopped using the nick, ms since the epoch. */
  readonly time: number;
}

/** Options for {@link WhowasLog}. */
export interface WhowasOptions {
  /** Records kept per nick. @default {10} */
  perNick?: number;
  /** Records kept in all. @default {1000} */
  total?: number;
}

/**
 * The former holders of nicks, newest first per nick, bounded per nick and in all.
 *
 * @example Two holders of one nick, newest first; the log forgets beyond its bound
 * ```ts
 * import assert from "node:assert/strict";
 * import { WhowasLog } from "./whowas.ts";
 *
 * const log = new WhowasLog({ perNick: 2, total: 3 });
 * const user = { user: "u", host: "h", realname: "R" };
 * log.add({ ...user, nick: "ann", time: 1 });
 * log.add({ ...user, nick: "Ann", time: 2 });
 * log.add({ ...user, nick: "ann", time: 3 });
 * assert.deepEqual(log.find("ANN").map((r) => r.time), [3, 2]);
 * log.add({ ...user, nick: "bob", time: 4 });
 * log.add({ ...user, nick: "cy", time: 5 });
 * assert.deepEqual(log.find("ann").map((r) => r.time), [3]);
 * assert.equal(log.size, 3);
 * ```
 */
export class WhowasLog {
  readonly #perNick: number;
  readonly #total: number;
  /** Records by folded nick, oldest first. */
  readonly #byNick = new Map<string, WhowasRecord[]>();
  /** Folded nicks in the order their records were added, one entry per record. */
  #order: string[] = [];
  #head = 0;

  /**
   * Makes an empty log.
   *
   * @param options How many records to keep.
   */
  constructor(options: WhowasOptions = {}) {
    this.#perNick = options.perNick ?? 10;
    this.#total = options.total ?? 1000;
  }

  /** How many records the log holds. */
  get size(): number {
    return this.#order.length - this.#head;
  }

  /**
   * Records that someone stopped using a nick.
   *
   * @param record Who, and when.
   */
  add(record: WhowasRecord): void {
    const key = foldCase(record.nick);
    let records = this.#byNick.get(key);
    if (records === undefined) this.#byNick.set(key, records = []);
    records.push(record);
    this.#order.push(key);
    if (records.length > this.#perNick) this.#dropOldest(key);
    while (this.size > this.#total) this.#dropOldest(this.#order[this.#head]);
  }

  /**
   * The former holders of a nick, newest first.
   *
   * @param nick The nick, any case.
   * @param count The most to return; 0 or less for all.
   * @returns The records.
   */
  find(nick: string, count = 0): WhowasRecord[] {
    const records = [...(this.#byNick.get(foldCase(nick)) ?? [])].reverse();
    return count > 0 ? records.slice(0, count) : records;
  }

  /** Forgets the oldest record of a nick, and its place in the order. */
  #dropOldest(key: string): void {
    const records = this.#byNick.get(key);
    if (records === undefined) return;
    records.shift();
    if (records.length === 0) this.#byNick.delete(key);
    // The order holds one entry per record: remove this nick's oldest one.
    const index = this.#order.indexOf(key, this.#head);
    if (index === this.#head) {
      this.#head++;
    } else if (index !== -1) {
      this.#order.splice(index, 1);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
  }
}
