/**
 * Always-on accounts (Ergo's term): an account that opted in stays present in its channels
 * with no device connected, and the server brings it back in them when it starts. This is
 * where that is kept, in the accounts database: which accounts are always-on, since when each
 * has had no device, and the channels each is in (written before anyone is shown a JOIN or a
 * PART, so a restart never undoes one).
 *
 * @module
 */
import type { DatabaseSync, SQLOutputValue, StatementSync } from "node:sqlite";
import { inTransaction } from "./_sqlite.ts";
import { foldCase } from "./casemap.ts";

/** An always-on account as stored. */
export interface AlwaysOnAccount {
  /** The account, as registered. */
  account: string;
  /** Since when it has had no device, ms since the epoch; undefined if it had one when stored. */
  detachedAt: number | undefined;
  /** Its channels, as they were spelled when it joined them. */
  channels: string[];
}

/**
 * The always-on accounts of one server. Made by `AccountStore` (its `alwaysOn`).
 *
 * @example Make ann always-on in #lobby, then list what a restart brings back
 * ```ts
 * import assert from "node:assert/strict";
 * import { AccountStore } from "./accounts.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const accounts = AccountStore.open(dir, { hashCost: { memoryKiB: 64, iterations: 1 } });
 * await accounts.register("Ann", "a long password", "127.0.0.1");
 * accounts.alwaysOn.enable("ann", ["#lobby"]);
 * accounts.alwaysOn.addChannel("ann", "#Team");
 * accounts.alwaysOn.setDetachedAt("ann", 5);
 * assert.deepEqual(accounts.alwaysOn.list(), [
 *   { account: "Ann", detachedAt: 5, channels: ["#lobby", "#Team"] },
 * ]);
 * assert.ok(accounts.alwaysOn.isEnabled("ANN"));
 * assert.equal(accounts.alwaysOn.get("ann")?.account, "Ann");
 * accounts.alwaysOn.disable("ann");
 * assert.deepEqual(accounts.alwaysOn.list(), []);
 * accounts.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class AlwaysOnStore {
  readonly #db: DatabaseSync;
  readonly #statements: Record<string, StatementSync>;

  /**
   * Prepares the statements over an open accounts database (see `AccountStore.open`).
   *
   * @param db The accounts database, at schema version 2 or later.
   */
  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#statements = {
      list: db.prepare(
        `SELECT a.key, a.name, o.detached_at FROM always_on o JOIN accounts a ON a.key = o.account
         ORDER BY a.key`,
      ),
      one: db.prepare(
        `SELECT a.key, a.name, o.detached_at FROM always_on o JOIN accounts a ON a.key = o.account
         WHERE o.account = ?`,
      ),
      channels: db.prepare(
        "SELECT name FROM always_on_channels WHERE account = ? ORDER BY channel",
      ),
      enable: db.prepare(
        "INSERT INTO always_on (account, detached_at) VALUES (?, NULL) ON CONFLICT DO NOTHING",
      ),
      disable: db.prepare("DELETE FROM always_on WHERE account = ?"),
      dropChannels: db.prepare("DELETE FROM always_on_channels WHERE account = ?"),
      addChannel: db.prepare(
        `INSERT INTO always_on_channels (account, channel, name) VALUES (?, ?, ?)
         ON CONFLICT DO NOTHING`,
      ),
      removeChannel: db.prepare(
        "DELETE FROM always_on_channels WHERE account = ? AND channel = ?",
      ),
      setDetachedAt: db.prepare("UPDATE always_on SET detached_at = ? WHERE account = ?"),
      isEnabled: db.prepare("SELECT 1 FROM always_on WHERE account = ?"),
    };
  }

  /**
   * Every always-on account with its channels (what the server brings back as it starts).
   *
   * @returns The accounts, by folded name.
   */
  list(): AlwaysOnAccount[] {
    return this.#statements.list.all().map((row) => this.#account(row));
  }

  /**
   * One always-on account with its channels.
   *
   * @param account The account, any case.
   * @returns It, or undefined when it is not always-on.
   */
  get(account: string): AlwaysOnAccount | undefined {
    const row = this.#statements.one.get(foldCase(account));
    return row === undefined ? undefined : this.#account(row);
  }

  /**
   * Whether an account is always-on.
   *
   * @param account The account, any case.
   * @returns True when it is.
   */
  isEnabled(account: string): boolean {
    return this.#statements.isEnabled.get(foldCase(account)) !== undefined;
  }

  #account(row: Record<string, SQLOutputValue>): AlwaysOnAccount {
    return {
      account: row.name as string,
      detachedAt: row.detached_at === null ? undefined : row.detached_at as number,
      channels: this.#statements.channels.all(row.key as string).map((c) => c.name as string),
    };
  }

  /**
   * Makes an account always-on, in the channels it is in now (replacing any stored before).
   *
   * @param account The account, any case.
   * @param channels Its channels.
   * @throws Error when the database cannot be written (nothing changed).
   */
  enable(account: string, channels: readonly string[]): void {
    const key = foldCase(account);
    inTransaction(this.#db, () => {
      this.#statements.enable.run(key);
      this.#statements.dropChannels.run(key);
      for (const name of channels) this.#statements.addChannel.run(key, foldCase(name), name);
    });
  }

  /**
   * Makes an account an ordinary one again: its channels are forgotten.
   *
   * @param account The account, any case.
   * @throws Error when the database cannot be written (nothing changed).
   */
  disable(account: string): void {
    const key = foldCase(account);
    inTransaction(this.#db, () => {
      this.#statements.disable.run(key);
      this.#statements.dropChannels.run(key);
    });
  }

  /**
   * Stores that an always-on account joined a channel.
   *
   * @param account The account, any case.
   * @param name The channel, as spelled.
   * @throws Error when the database cannot be written.
   */
  addChannel(account: string, name: string): void {
    this.#statements.addChannel.run(foldCase(account), foldCase(name), name);
  }

  /**
   * Stores that an always-on account left a channel.
   *
   * @param account The account, any case.
   * @param name The channel, any case.
   * @throws Error when the database cannot be written.
   */
  removeChannel(account: string, name: string): void {
    this.#statements.removeChannel.run(foldCase(account), foldCase(name));
  }

  /**
   * Stores since when an always-on account has had no device.
   *
   * @param account The account, any case.
   * @param since Ms since the epoch; undefined when it has a device again.
   * @throws Error when the database cannot be written.
   */
  setDetachedAt(account: string, since: number | undefined): void {
    this.#statements.setDetachedAt.run(since ?? null, foldCase(account));
  }
}
