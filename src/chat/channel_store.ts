/**
 * What outlives a channel's members, in `<dataDir>/channels.sqlite` (0600, WAL) next to the
 * history and the accounts: registered channels (founder, modes, key, limit, lists, topic,
 * access list) for good, and the topic of an unregistered channel while the channel exists.
 *
 * Every change is written through before anyone is shown it, so `kill -9` loses nothing a
 * client saw. An unregistered channel's row goes when the channel does (its last member
 * leaves); a restart finds the rows of the channels that existed when the server stopped,
 * and each gets its topic back if someone joins it within `topicExpiryMs` of that restart
 * (default 24 hours: clients rejoin at once on their own, so a channel nobody rejoined in a
 * day is gone), else the row is dropped.
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { inTransaction, migrateSchema, openPrivateDatabase } from "./_sqlite.ts";
import { foldCase } from "./casemap.ts";
import type { AccessEntry, Channel, ChannelRegistration } from "./channel.ts";
import {
  type ChannelSettings,
  defaultSettings,
  type ListEntry,
  type ListMode,
  type MemberMode,
} from "./channel_modes.ts";

/** Options for {@link ChannelStore.open}. */
export interface ChannelStoreOptions {
  /**
   * How long after a restart an unregistered channel that existed before it keeps its topic
   * for whoever recreates it, ms.
   * @default {86400000} (24 hours)
   */
  topicExpiryMs?: number;
  /** The clock, ms since the epoch (tests move it). @default {Date.now} */
  clock?: () => number;
}

/** A registered channel as stored. */
export interface RegisteredChannel {
  /** Registered. */
  readonly kind: "registered";
  /** Its name as first created. */
  readonly name: string;
  /** When it was first created, ms since the epoch. */
  readonly createdAt: number;
  /** Its founder. */
  readonly registration: ChannelRegistration;
  /** Its modes, lists and topic. */
  readonly settings: ChannelSettings;
  /** Accounts it gives a mode on joining. */
  readonly access: readonly AccessEntry[];
}

/** An unregistered channel's topic, kept while the channel exists. */
export interface StoredTopic {
  /** Unregistered: only the topic is kept. */
  readonly kind: "topic";
  /** The channel's name. */
  readonly name: string;
  /** The topic. */
  readonly topic: string;
  /** Who set it. */
  readonly topicSetBy: string;
  /** When, ms since the epoch. */
  readonly topicSetAt: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const SCHEMA_VERSION = 1;
const SCHEMA = `
CREATE TABLE channels (
  key           TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  founder       TEXT,
  founder_key   TEXT,
  registered_at INTEGER,
  created_at    INTEGER NOT NULL,
  flags         TEXT NOT NULL DEFAULT '',
  channel_key   TEXT NOT NULL DEFAULT '',
  user_limit    INTEGER NOT NULL DEFAULT 0,
  topic         TEXT NOT NULL DEFAULT '',
  topic_set_by  TEXT NOT NULL DEFAULT '',
  topic_set_at  INTEGER NOT NULL DEFAULT 0,
  orphaned_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX channels_by_founder ON channels (founder_key) WHERE founder_key IS NOT NULL;
CREATE TABLE channel_lists (
  channel  TEXT NOT NULL,
  list     TEXT NOT NULL,
  position INTEGER NOT NULL,
  mask     TEXT NOT NULL,
  set_by   TEXT NOT NULL,
  set_at   INTEGER NOT NULL,
  PRIMARY KEY (channel, list, position)
) WITHOUT ROWID;
CREATE TABLE channel_access (
  channel     TEXT NOT NULL,
  account_key TEXT NOT NULL,
  account     TEXT NOT NULL,
  mode        TEXT NOT NULL,
  set_by      TEXT NOT NULL,
  set_at      INTEGER NOT NULL,
  PRIMARY KEY (channel, account_key)
) WITHOUT ROWID;
`;
const LISTS: readonly ListMode[] = ["b", "e", "I"];

/** What a row names a channel by. */
type StoredName = Pick<Channel, "key" | "name" | "createdAt">;

/**
 * The registered channels and remembered topics of one server.
 *
 * @example Register a channel, close, reopen: everything is back
 * ```ts
 * import assert from "node:assert/strict";
 * import { Channel } from "./channel.ts";
 * import { ChannelStore } from "./channel_store.ts";
 * import { defaultSettings } from "./channel_modes.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * let store = ChannelStore.open(dir);
 * const ban = { mask: "bob!*@*", setBy: "ann!a@h", setAt: 5 };
 * const channel = new Channel("#Team", "#team", {
 *   settings: { ...defaultSettings("int"), key: "beer", lists: { b: [ban], e: [], I: [] } },
 * });
 * store.register(channel, { founder: "ann", registeredAt: 7 });
 * store.close();
 * store = ChannelStore.open(dir);
 * const stored = store.load("#team");
 * assert.equal(stored?.kind, "registered");
 * if (stored?.kind === "registered") {
 *   assert.equal(stored.name, "#Team");
 *   assert.equal(stored.registration.founder, "ann");
 *   assert.equal(stored.settings.key, "beer");
 *   assert.deepEqual(stored.settings.lists.b, [ban]);
 * }
 * store.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class ChannelStore {
  readonly #db: DatabaseSync;
  readonly #expiryMs: number;
  readonly #clock: () => number;
  readonly #statements: Record<string, StatementSync>;

  private constructor(db: DatabaseSync, options: ChannelStoreOptions) {
    this.#db = db;
    this.#expiryMs = options.topicExpiryMs ?? DAY_MS;
    this.#clock = options.clock ?? Date.now;
    const prepare = (sql: string) => db.prepare(sql);
    this.#statements = {
      row: prepare("SELECT * FROM channels WHERE key = ?"),
      lists: prepare(
        "SELECT list, mask, set_by, set_at FROM channel_lists WHERE channel = ? ORDER BY list, position",
      ),
      access: prepare(
        "SELECT account, mode, set_by, set_at FROM channel_access WHERE channel = ? ORDER BY account_key",
      ),
      upsert: prepare(`INSERT INTO channels (key, name, founder, founder_key, registered_at,
          created_at, flags, channel_key, user_limit, topic, topic_set_by, topic_set_at, orphaned_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
        ON CONFLICT (key) DO UPDATE SET name = excluded.name, founder = excluded.founder,
          founder_key = excluded.founder_key, registered_at = excluded.registered_at,
          created_at = excluded.created_at, flags = excluded.flags,
          channel_key = excluded.channel_key, user_limit = excluded.user_limit,
          topic = excluded.topic, topic_set_by = excluded.topic_set_by,
          topic_set_at = excluded.topic_set_at, orphaned_at = NULL`),
      deleteRow: prepare("DELETE FROM channels WHERE key = ?"),
      deleteUnregistered: prepare("DELETE FROM channels WHERE key = ? AND founder IS NULL"),
      deleteLists: prepare("DELETE FROM channel_lists WHERE channel = ?"),
      insertList: prepare(
        "INSERT INTO channel_lists (channel, list, position, mask, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      deleteAccess: prepare("DELETE FROM channel_access WHERE channel = ?"),
      upsertAccess: prepare(`INSERT INTO channel_access (channel, account_key, account, mode,
          set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (channel, account_key) DO UPDATE SET account = excluded.account,
          mode = excluded.mode, set_by = excluded.set_by, set_at = excluded.set_at`),
      removeAccess: prepare("DELETE FROM channel_access WHERE channel = ? AND account_key = ?"),
      claim: prepare("UPDATE channels SET orphaned_at = NULL WHERE key = ?"),
      countFounded: prepare("SELECT count(*) AS n FROM channels WHERE founder_key = ?"),
      registered: prepare("SELECT key FROM channels WHERE founder IS NOT NULL ORDER BY key"),
    };
  }

  /**
   * Opens (creating if needed) `<dataDir>/channels.sqlite`, and starts the expiry of the
   * topics of unregistered channels that existed when the server last stopped.
   *
   * @param dataDir The data directory (the history's, see `defaultDataDir()`).
   * @param options The topic expiry and the clock.
   * @returns The open store.
   * @throws {DataDirectoryError} when the directory or database cannot be opened, or a newer
   *   shmooze wrote it.
   *
   * @example The file is private to its owner
   * ```ts
   * import assert from "node:assert/strict";
   * import { join } from "node:path";
   * import { ChannelStore } from "./channel_store.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const store = ChannelStore.open(dir);
   * assert.equal(store.load("#nothing"), undefined);
   * if (Deno.build.os !== "windows") {
   *   assert.equal(Deno.statSync(join(dir, "channels.sqlite")).mode! & 0o777, 0o600);
   * }
   * store.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  static open(dataDir: string, options: ChannelStoreOptions = {}): ChannelStore {
    const { db, path } = openPrivateDatabase(dataDir, "channels.sqlite", "channels");
    try {
      migrateSchema(db, path, "channels", SCHEMA, SCHEMA_VERSION);
      const store = new ChannelStore(db, options);
      store.#orphan();
      return store;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * What is stored for a channel being created: a registered channel's state, or the topic
   * an unregistered one had before a restart (which it then holds again: the row is the
   * channel's until it ceases to exist).
   *
   * @param key The folded channel name.
   * @returns The stored channel, or undefined.
   *
   * @example A topic comes back once, after a restart, within the expiry
   * ```ts
   * import assert from "node:assert/strict";
   * import { Channel } from "./channel.ts";
   * import { ChannelStore } from "./channel_store.ts";
   * import { defaultSettings } from "./channel_modes.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * let now = 1_000;
   * const clock = () => now;
   * let store = ChannelStore.open(dir, { clock, topicExpiryMs: 100 });
   * const settings = { ...defaultSettings("nt"), topic: "hello", topicSetBy: "a!a@h", topicSetAt: 1 };
   * store.save(new Channel("#c", "#c"), settings);
   * store.save(new Channel("#d", "#d"), settings);
   * store.close();
   * now += 50;
   * store = ChannelStore.open(dir, { clock, topicExpiryMs: 100 });
   * assert.equal(store.load("#c")?.kind, "topic");
   * store.close();
   * now += 100;
   * store = ChannelStore.open(dir, { clock, topicExpiryMs: 100 });
   * assert.equal(store.load("#d"), undefined, "nobody rejoined #d within 100 ms of the restart");
   * assert.equal(store.load("#c")?.kind, "topic", "#c was recreated, so it lived to this restart");
   * store.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  load(key: string): RegisteredChannel | StoredTopic | undefined {
    const row = this.#statements.row.get(key);
    if (row === undefined) return undefined;
    if (row.founder === null) {
      const orphanedAt = row.orphaned_at as number | null;
      if (orphanedAt !== null && this.#clock() - orphanedAt >= this.#expiryMs) {
        this.#statements.deleteRow.run(key);
        return undefined;
      }
      this.#statements.claim.run(key);
      return {
        kind: "topic",
        name: row.name as string,
        topic: row.topic as string,
        topicSetBy: row.topic_set_by as string,
        topicSetAt: row.topic_set_at as number,
      };
    }
    const lists: Record<ListMode, ListEntry[]> = { b: [], e: [], I: [] };
    for (const entry of this.#statements.lists.all(key)) {
      lists[entry.list as ListMode].push({
        mask: entry.mask as string,
        setBy: entry.set_by as string,
        setAt: entry.set_at as number,
      });
    }
    return {
      kind: "registered",
      name: row.name as string,
      createdAt: row.created_at as number,
      registration: {
        founder: row.founder as string,
        registeredAt: row.registered_at as number,
      },
      settings: {
        ...defaultSettings(row.flags as string),
        key: row.channel_key as string,
        limit: row.user_limit as number,
        lists,
        topic: row.topic as string,
        topicSetBy: row.topic_set_by as string,
        topicSetAt: row.topic_set_at as number,
      },
      access: this.#accessOf(key),
    };
  }

  /** The accounts a registered channel gives a mode on joining. */
  #accessOf(key: string): AccessEntry[] {
    return this.#statements.access.all(key).map((entry) => ({
      account: entry.account as string,
      mode: entry.mode as MemberMode,
      setBy: entry.set_by as string,
      setAt: entry.set_at as number,
    }));
  }

  /**
   * Writes a channel's state through, before it is shown: everything of a registered
   * channel; only the topic of an unregistered one (none when it has no topic).
   *
   * @param channel The channel (its registration decides what is kept).
   * @param settings The settings to store. @default {channel.settings}
   * @throws Error when SQLite cannot write (a full disk …); nothing is changed then.
   */
  save(channel: Channel, settings: ChannelSettings = channel.settings): void {
    if (channel.registration === undefined) {
      if (settings.topic === "") {
        this.#statements.deleteUnregistered.run(channel.key);
      } else {
        this.#upsert(channel, undefined, settings);
      }
      return;
    }
    // A list holds up to 100 masks: they are rewritten only when one of them changed.
    const lists = settings.lists !== channel.settings.lists;
    inTransaction(
      this.#db,
      () => this.#writeRegistered(channel, channel.registration!, settings, lists),
    );
  }

  /**
   * Registers a channel: its founder and its state as it is now.
   *
   * @param channel The channel.
   * @param registration Its founder.
   * @throws Error when SQLite cannot write; nothing is changed then.
   */
  register(channel: Channel, registration: ChannelRegistration): void {
    inTransaction(
      this.#db,
      () => this.#writeRegistered(channel, registration, channel.settings, true),
    );
  }

  /**
   * Drops a channel's registration and access list. A channel that still exists keeps its
   * topic as an unregistered channel.
   *
   * @param key The folded channel name.
   * @param existing The channel, when it exists now.
   * @throws Error when SQLite cannot write; nothing is changed then.
   */
  drop(key: string, existing?: Channel): void {
    inTransaction(this.#db, () => {
      this.#statements.deleteLists.run(key);
      this.#statements.deleteAccess.run(key);
      this.#statements.deleteRow.run(key);
      if (existing && existing.topic !== "") {
        this.#upsert(existing, undefined, existing.settings);
      }
    });
  }

  /**
   * Forgets an unregistered channel that ceased to exist (its last member left). A
   * registered channel is kept.
   *
   * @param key The folded channel name.
   * @throws Error when SQLite cannot write.
   */
  forget(key: string): void {
    this.#statements.deleteUnregistered.run(key);
  }

  /**
   * Gives an account a mode on joining a registered channel (ChanServ `AMODE`).
   *
   * @param key The folded channel name.
   * @param entry The account and mode.
   * @throws Error when SQLite cannot write.
   */
  setAccess(key: string, entry: AccessEntry): void {
    this.#statements.upsertAccess.run(
      key,
      foldCase(entry.account),
      entry.account,
      entry.mode,
      entry.setBy,
      entry.setAt,
    );
  }

  /**
   * Takes an account off a registered channel's access list.
   *
   * @param key The folded channel name.
   * @param account The account, any case.
   * @throws Error when SQLite cannot write.
   */
  removeAccess(key: string, account: string): void {
    this.#statements.removeAccess.run(key, foldCase(account));
  }

  /**
   * Writes a registered channel as another store held it (a cluster's snapshot, loaded by a
   * node that starts from it): its registration, state and access list, replacing what this
   * store held of it.
   *
   * @param stored The channel, as {@link ChannelStore.load} gives it.
   * @throws Error when SQLite cannot write; nothing is changed then.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ChannelStore } from "./channel_store.ts";
   * import { defaultSettings } from "./channel_modes.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const store = ChannelStore.open(dir);
   * const access = [{ account: "bob", mode: "v" as const, setBy: "ann", setAt: 9 }];
   * store.restore({
   *   kind: "registered", name: "#Team", createdAt: 3, settings: defaultSettings("nt"),
   *   registration: { founder: "ann", registeredAt: 7 }, access,
   * });
   * const stored = store.load("#team");
   * assert.equal(stored?.kind === "registered" && stored.registration.founder, "ann");
   * assert.deepEqual(stored?.kind === "registered" && stored.access, access);
   * store.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  restore(stored: RegisteredChannel): void {
    const key = foldCase(stored.name);
    const channel = { key, name: stored.name, createdAt: stored.createdAt };
    inTransaction(this.#db, () => {
      this.#writeRegistered(channel, stored.registration, stored.settings, true);
      this.#statements.deleteAccess.run(key);
      for (const entry of stored.access) this.setAccess(key, entry);
    });
  }

  /**
   * The folded names of every registered channel.
   *
   * @returns The keys, in order.
   */
  registeredKeys(): string[] {
    return this.#statements.registered.all().map((row) => row.key as string);
  }

  /**
   * How many channels an account founded.
   *
   * @param account The account, any case.
   * @returns The count.
   */
  foundedBy(account: string): number {
    return this.#statements.countFounded.get(foldCase(account))!.n as number;
  }

  /**
   * Forgets every channel: registrations, their state and access lists, remembered topics. A
   * cluster's node starts so, since it rebuilds its channels by applying the cluster's log from
   * the start; what it kept from its last run would decide JOINs of that log differently than
   * the other nodes did (a key set later refusing a JOIN made before).
   *
   * @throws Error when SQLite cannot write; nothing is changed then.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ChannelStore } from "./channel_store.ts";
   * import { ChatHub } from "./hub.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const store = ChannelStore.open(dir);
   * const hub = new ChatHub({ channels: store });
   * const ann = {
   *   nick: "ann", user: "a", host: "h", realname: "Ann", transport: "local",
   *   channels: new Set<string>(), echo: false, deliver() {}, disconnect() {},
   * };
   * hub.add(ann);
   * hub.registerChannel(hub.join(ann, "#team") as never, "ann");
   * assert.deepEqual(store.registeredKeys(), ["#team"]);
   * store.clear();
   * assert.deepEqual(store.registeredKeys(), []);
   * store.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  clear(): void {
    inTransaction(this.#db, () => {
      this.#db.exec("DELETE FROM channel_lists; DELETE FROM channel_access; DELETE FROM channels");
    });
  }

  /** Closes the database. */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  /**
   * Marks the rows of unregistered channels that existed when the server last stopped (the
   * expiry of their topics counts from now), and drops those whose time is up.
   */
  #orphan(): void {
    const now = this.#clock();
    this.#db.prepare(
      "UPDATE channels SET orphaned_at = ? WHERE founder IS NULL AND orphaned_at IS NULL",
    ).run(now);
    this.#db.prepare("DELETE FROM channels WHERE founder IS NULL AND orphaned_at <= ?")
      .run(now - this.#expiryMs);
  }

  #writeRegistered(
    channel: StoredName,
    registration: ChannelRegistration,
    settings: ChannelSettings,
    lists: boolean,
  ): void {
    this.#upsert(channel, registration, settings);
    if (!lists) return;
    this.#statements.deleteLists.run(channel.key);
    for (const list of LISTS) {
      settings.lists[list].forEach((entry, position) => {
        this.#statements.insertList.run(
          channel.key,
          list,
          position,
          entry.mask,
          entry.setBy,
          entry.setAt,
        );
      });
    }
  }

  #upsert(
    channel: StoredName,
    registration: ChannelRegistration | undefined,
    settings: ChannelSettings,
  ): void {
    this.#statements.upsert.run(
      channel.key,
      channel.name,
      registration?.founder ?? null,
      registration ? foldCase(registration.founder) : null,
      registration?.registeredAt ?? null,
      channel.createdAt,
      registration ? settings.flags : "",
      registration ? settings.key : "",
      registration ? settings.limit : 0,
      settings.topic,
      settings.topicSetBy,
      settings.topicSetAt,
    );
  }
}
