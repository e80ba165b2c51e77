/**
 * Read markers (IRCv3 `draft/read-marker`): for each account and each conversation (a channel
 * or a nick), the time of the last message the user has read on any of its devices. A marker
 * only moves forward, and never past the present; the server keeps it in the accounts
 * database so every device, and the next connection, sees the same one.
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { foldCase } from "./casemap.ts";

/**
 * The read markers of every account. Made by `AccountStore` (its `readMarkers`).
 *
 * @example A marker moves forward only
 * ```ts
 * import assert from "node:assert/strict";
 * import { AccountStore } from "./accounts.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const accounts = AccountStore.open(dir);
 * const markers = accounts.readMarkers;
 * assert.equal(markers.get("ann", "#lobby"), undefined);
 * assert.equal(markers.set("ann", "#Lobby", 2000), 2000);
 * assert.equal(markers.set("ANN", "#lobby", 1000), 2000, "an older time leaves it");
 * assert.equal(markers.get("ann", "#LOBBY"), 2000);
 * accounts.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class ReadMarkerStore {
  readonly #get: StatementSync;
  readonly #set: StatementSync;
  readonly #ofAccount: StatementSync;

  /**
   * Prepares the statements over an open accounts database (see `AccountStore.open`).
   *
   * @param db The accounts database, at schema version 2 or later.
   */
  constructor(db: DatabaseSync) {
    this.#get = db.prepare("SELECT time FROM read_markers WHERE account = ? AND target = ?");
    this.#set = db.prepare(
      `INSERT INTO read_markers (account, target, time) VALUES (?, ?, ?)
       ON CONFLICT (account, target) DO UPDATE SET time = max(time, excluded.time)
       RETURNING time`,
    );
    this.#ofAccount = db.prepare(
      "SELECT target, time FROM read_markers WHERE account = ? ORDER BY target",
    );
  }

  /**
   * An account's marker for a conversation.
   *
   * @param account The account, any case.
   * @param target The channel or nick, any case.
   * @returns Ms since the epoch, or undefined when none is set.
   */
  get(account: string, target: string): number | undefined {
    const row = this.#get.get(foldCase(account), foldCase(target));
    return row === undefined ? undefined : row.time as number;
  }

  /**
   * Moves an account's marker for a conversation forward to `time` (an earlier time leaves it
   * where it is).
   *
   * @param account The account, any case.
   * @param target The channel or nick, any case.
   * @param time Ms since the epoch.
   * @returns The marker now.
   * @throws Error when the database cannot be written.
   */
  set(account: string, target: string, time: number): number {
    return this.#set.get(foldCase(account), foldCase(target), time)!.time as number;
  }

  /**
   * An account's markers: what a cluster's snapshot carries (as `read-marker` events) to a
   * node that starts from it.
   *
   * @param account The account, any case.
   * @returns Each conversation (folded) and its marker.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { AccountStore } from "./accounts.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const accounts = AccountStore.open(dir);
   * accounts.readMarkers.set("ann", "#Lobby", 2000);
   * assert.deepEqual(accounts.readMarkers.ofAccount("Ann"), [{ target: "#lobby", time: 2000 }]);
   * accounts.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  ofAccount(account: string): { target: string; time: number }[] {
    return this.#ofAccount.all(foldCase(account)).map((row) => ({
      target: row.target as string,
      time: row.time as number,
    }));
  }
}
