/**
 * Message history in embedded SQLite (`node:sqlite`, WAL): every channel and private message
 * the server accepted, served back with IRCv3 `draft/chathistory` semantics.
 *
 * Messages are ordered by `id`, the order the server accepted (and fanned out) them; a
 * timestamp anchor is first turned into an `id` bound through the `(conversation, time)`
 * index, so every selector ends as one range scan of the `(conversation, id)` index. That
 * conversion assumes times rise with ids, true while the server stamps messages with its own
 * clock; if the clock steps back, a timestamp anchor lands near, not exactly at, its place.
 *
 * @module
 */
import type { DatabaseSync, SQLOutputValue } from "node:sqlite";
import { join } from "node:path";
import { explainSqliteError, migrateSchema, openPrivateDatabase } from "./_sqlite.ts";
import { foldCase } from "./casemap.ts";

/** One stored chat message. */
export interface HistoryRecord {
  /** Increasing, never reused (also after pruning). */
  id: number;
  /** The IRCv3 `msgid` the server gave the message; unique. */
  msgid: string;
  /** When the server accepted it, in ms since the epoch. */
  time: number;
  /** The sender's nick at send time. */
  sender: string;
  /** The sender's `nick!user@host`. */
  senderMask: string;
  /** `#channel`, or the recipient's nick for a private message. */
  target: string;
  /** The IRC command the message was sent with. */
  command: "PRIVMSG" | "NOTICE";
  /** The message text. */
  text: string;
}

/** A point in a conversation: a stored message's `msgid`, or a time in ms since the epoch. */
export type HistoryAnchor = { msgid: string } | { time: number };

/**
 * Which messages a query wants, as in `CHATHISTORY`. Anchors are exclusive except in
 * `around`, where a `msgid` anchor is itself part of the result.
 */
export type HistorySelector =
  | { kind: "latest"; after?: HistoryAnchor }
  | { kind: "before"; anchor: HistoryAnchor }
  | { kind: "after"; anchor: HistoryAnchor }
  | { kind: "around"; anchor: HistoryAnchor }
  | { kind: "between"; start: HistoryAnchor; end: HistoryAnchor };

/** Options for {@link HistoryStore.open}. */
export interface HistoryOptions {
  /**
   * How long a message is kept, in ms; older ones are pruned at open and by
   * {@link HistoryStore.prune}. `0` keeps everything forever.
   * @default {2592000000} (30 days)
   */
  retentionMs?: number;
  /**
   * Group appends into one transaction that {@link HistoryStore.commit} ends, instead of
   * committing each append: a busy server then writes the WAL once per flush of its
   * clients, not once per message. What is appended but not yet committed is lost if the
   * process dies, so the caller commits before anyone is shown those messages.
   * @default {false}
   */
  deferCommit?: boolean;
}

/** The schema this code writes; `PRAGMA user_version` of a database it created. */
const SCHEMA_VERSION = 1;
const DEFAULT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** Channel prefixes; a nick can never start with one (RFC 2812 §2.3.1). */
const CHANNEL_PREFIXES = "#&+!";
/**
 * Joins the two nicks of a private conversation key. No nick or channel contains a space,
 * and no nick starts with a channel prefix, so a pair key never equals a channel key.
 */
const PAIR_SEPARATOR = " ";
/** An `id` above every stored one, for an open upper bound. */
const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;

const SCHEMA = `
CREATE TABLE messages (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  conv        TEXT    NOT NULL,
  msgid       TEXT    NOT NULL UNIQUE,
  time        INTEGER NOT NULL,
  sender      TEXT    NOT NULL,
  sender_mask TEXT    NOT NULL,
  target      TEXT    NOT NULL,
  command     TEXT    NOT NULL,
  text        TEXT    NOT NULL
);
CREATE INDEX messages_conv_id ON messages (conv, id);
CREATE INDEX messages_conv_time ON messages (conv, time);
CREATE INDEX messages_time ON messages (time);
CREATE TABLE private_conversations (
  conv TEXT PRIMARY KEY,
  a    TEXT NOT NULL,
  b    TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX private_conversations_a ON private_conversations (a);
CREATE INDEX private_conversations_b ON private_conversations (b);
PRAGMA user_version = ${SCHEMA_VERSION};
`;

const COLUMNS = "id, msgid, time, sender, sender_mask, target, command, text";

/** The prepared statements, prepared once per open store. */
function prepareStatements(db: DatabaseSync) {
  return {
    insert: db.prepare(
      `INSERT INTO messages (conv, msgid, time, sender, sender_mask, target, command, text)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertPrivate: db.prepare(
      "INSERT OR IGNORE INTO private_conversations (conv, a, b) VALUES (?, ?, ?)",
    ),
    byMsgid: db.prepare("SELECT id, conv, time FROM messages WHERE msgid = ?"),
    // ORDER BY time, id follows the index: SQLite ends every index with the rowid.
    firstAtOrAfter: db.prepare(
      "SELECT id FROM messages WHERE conv = ? AND time >= ? ORDER BY time, id LIMIT 1",
    ),
    lastAtOrBefore: db.prepare(
      "SELECT id FROM messages WHERE conv = ? AND time <= ? ORDER BY time DESC, id DESC LIMIT 1",
    ),
    rangeAscending: db.prepare(
      `SELECT ${COLUMNS} FROM messages WHERE conv = ? AND id > ? AND id < ? ORDER BY id LIMIT ?`,
    ),
    rangeDescending: db.prepare(
      `SELECT ${COLUMNS} FROM messages WHERE conv = ? AND id > ? AND id < ?
       ORDER BY id DESC LIMIT ?`,
    ),
    latestInWindow: db.prepare(
      `SELECT time, sender, target FROM messages WHERE conv = ? AND time > ? AND time < ?
       ORDER BY time DESC LIMIT 1`,
    ),
    partners: db.prepare(
      "SELECT conv FROM private_conversations WHERE a = ? UNION SELECT conv FROM private_conversations WHERE b = ?",
    ),
    begin: db.prepare("BEGIN"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    prune: db.prepare("DELETE FROM messages WHERE time < ?"),
    pruneConversations: db.prepare(
      `DELETE FROM private_conversations
       WHERE NOT EXISTS (SELECT 1 FROM messages WHERE messages.conv = private_conversations.conv)`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/**
 * The message history of one server, in `<dataDir>/history.sqlite`.
 *
 * One process writes at a time; a second process opening the same file waits up to 5 s for
 * a lock (SQLite `busy_timeout`) and then fails with an error saying the database is busy.
 *
 * @example Store two messages and read the latest one back
 * ```ts
 * import { HistoryStore } from "./history.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const history = HistoryStore.open(dir);
 * for (const [msgid, text] of [["m1", "hello"], ["m2", "anyone here?"]]) {
 *   history.append({
 *     msgid,
 *     time: Date.now(),
 *     sender: "ann",
 *     senderMask: "ann!ann@localhost",
 *     target: "#lobby",
 *     command: "PRIVMSG",
 *     text,
 *   });
 * }
 * const [last] = history.query("#Lobby", { kind: "latest" }, 1);
 * console.log(last.text); // "anyone here?"
 * history.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class HistoryStore {
  #db: DatabaseSync;
  #statements: Statements;
  #retentionMs: number;
  #path: string;
  #knownPrivate = new Set<string>();
  #closed = false;
  #deferCommit: boolean;
  #inTransaction = false;
  #uncommitted = 0;
  /** Appends SQLite rolled back on its own after a failed statement; the next commit fails. */
  #rolledBack = 0;

  private constructor(db: DatabaseSync, path: string, retentionMs: number, deferCommit: boolean) {
    this.#db = db;
    this.#path = path;
    this.#retentionMs = retentionMs;
    this.#deferCommit = deferCommit;
    this.#statements = prepareStatements(db);
  }

  /**
   * Opens (creating if needed) the history database in `dataDir`, creating the directory
   * with mode 0700, and prunes what is older than the retention.
   *
   * @param dataDir The data directory; the file is `<dataDir>/history.sqlite`.
   * @param options Retention.
   * @returns The open store.
   * @throws Error if the directory or database cannot be opened, the database is busy, or
   *   it was written by a newer shmooze (a higher schema version).
   *
   * @example Keep messages forever
   * ```ts
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const history = HistoryStore.open(dir, { retentionMs: 0 });
   * console.log(history.prune()); // 0
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  static open(dataDir: string, options: HistoryOptions = {}): HistoryStore {
    const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    if (!Number.isFinite(retentionMs) || retentionMs < 0) {
      throw new Error(
        `Cannot open history: retentionMs must be 0 (keep forever) or a positive number of ms, got ${retentionMs}`,
      );
    }
    // Chat history is private: the directory 0700, the file 0600 (see _sqlite.ts).
    const { db, path } = openPrivateDatabase(dataDir, "history.sqlite", "history");
    try {
      migrateSchema(db, path, "history", SCHEMA, SCHEMA_VERSION);
      const store = new HistoryStore(db, path, retentionMs, options.deferCommit ?? false);
      store.prune();
      return store;
    } catch (error) {
      db.close();
      const message = (error as Error).message;
      if (message.startsWith("Cannot open history database")) throw error;
      throw new Error(
        `Cannot open history database "${path}": ${explainSqliteError(message)}`,
        { cause: error },
      );
    }
  }

  /**
   * Stores one message. When this returns, the message survives a kill -9 of the process —
   * with `deferCommit`, once {@link HistoryStore.commit} has returned.
   *
   * @param record The message, without `id`.
   * @returns The stored message with its `id`.
   * @throws Error on an empty field, an unknown command, a bad time or a duplicate `msgid`.
   *
   * @example Store a private message
   * ```ts
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const history = HistoryStore.open(dir);
   * const stored = history.append({
   *   msgid: "m1",
   *   time: Date.now(),
   *   sender: "ann",
   *   senderMask: "ann!ann@localhost",
   *   target: "bob",
   *   command: "PRIVMSG",
   *   text: "hi bob",
   * });
   * console.log(stored.id > 0); // true
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  append(record: Omit<HistoryRecord, "id">): HistoryRecord {
    this.#assertOpen("append to history");
    const { msgid, time, sender, senderMask, target, command, text } = record;
    checkName("append to history", "sender", sender);
    checkName("append to history", "target", target);
    if (msgid === "") throw new Error("Cannot append to history: the msgid is empty");
    for (const [field, value] of [["msgid", msgid], ["sender mask", senderMask], ["text", text]]) {
      checkNoNul("append to history", field, value);
    }
    if (command !== "PRIVMSG" && command !== "NOTICE") {
      throw new Error(
        `Cannot append to history: command must be PRIVMSG or NOTICE, got ${command}`,
      );
    }
    if (!Number.isSafeInteger(time) || time < 0) {
      throw new Error(
        `Cannot append to history: time must be whole ms since the epoch, got ${time}`,
      );
    }
    const channel = isChannel(target);
    const conv = channel ? foldCase(target) : privateKey(sender, target);
    let id: number;
    try {
      if (this.#deferCommit && !this.#inTransaction) {
        this.#statements.begin.run();
        this.#inTransaction = true;
      }
      if (!channel && !this.#knownPrivate.has(conv)) {
        const [a, b] = conv.split(PAIR_SEPARATOR);
        this.#statements.insertPrivate.run(conv, a, b);
        this.#knownPrivate.add(conv);
      }
      id = Number(
        this.#statements.insert.run(conv, msgid, time, sender, senderMask, target, command, text)
          .lastInsertRowid,
      );
      if (this.#deferCommit) this.#uncommitted++;
    } catch (error) {
      // Some errors (a full disk, I/O) make SQLite roll the whole transaction back: the
      // batch's earlier appends are gone too, and the next commit must say so.
      if (this.#inTransaction && !this.#db.isTransaction) {
        this.#inTransaction = false;
        this.#rolledBack += this.#uncommitted;
        this.#uncommitted = 0;
      }
      const message = (error as Error).message;
      throw new Error(
        /UNIQUE/.test(message)
          ? `Cannot append to history: msgid "${msgid}" is already stored`
          : `Cannot append to history in "${this.#path}": ${explainSqliteError(message)}`,
        { cause: error },
      );
    }
    return { id, msgid, time, sender, senderMask, target, command, text };
  }

  /**
   * Reads one conversation, as `CHATHISTORY` does. An unknown `msgid` anchor (or one from
   * another conversation) gives an empty result.
   *
   * - `latest`: the newest `limit` messages, only those after `after` if given.
   * - `before` / `after`: the `limit` messages nearest the anchor on that side, anchor excluded.
   * - `around`: up to `limit` messages centred on the anchor (a `msgid` anchor included);
   *   when one side runs short, the other side fills in.
   * - `between`: messages strictly between the anchors, counted from `start`; when `start` is
   *   later than `end`, the `limit` nearest `start` going backwards.
   *
   * @param conversation A channel name, or the two nicks of a private conversation (either order).
   * @param selector Which messages.
   * @param limit The most messages to return, at least 1.
   * @returns The messages, oldest first.
   * @throws Error on a limit below 1, an empty name, or a string that is not a channel.
   *
   * @example Page backwards through a channel
   * ```ts
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const history = HistoryStore.open(dir);
   * for (let i = 1; i <= 5; i++) {
   *   history.append({
   *     msgid: `m${i}`,
   *     time: 1_000 + i,
   *     sender: "ann",
   *     senderMask: "ann!ann@localhost",
   *     target: "#lobby",
   *     command: "PRIVMSG",
   *     text: `line ${i}`,
   *   });
   * }
   * const page = history.query("#lobby", { kind: "before", anchor: { msgid: "m4" } }, 2);
   * console.log(page.map((m) => m.text)); // [ "line 2", "line 3" ]
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  query(
    conversation: string | [string, string],
    selector: HistorySelector,
    limit: number,
  ): HistoryRecord[] {
    this.#assertOpen("query history");
    checkLimit("query history", limit);
    const conv = conversationKey(conversation);
    switch (selector.kind) {
      case "latest": {
        const lower = selector.after ? this.#idAfter(conv, selector.after) : 0;
        if (lower === undefined) return [];
        return this.#descending(conv, lower, NO_UPPER_BOUND, limit);
      }
      case "before": {
        const upper = this.#idBefore(conv, selector.anchor);
        if (upper === undefined) return [];
        return this.#descending(conv, 0, upper, limit);
      }
      case "after": {
        const lower = this.#idAfter(conv, selector.anchor);
        if (lower === undefined) return [];
        return this.#ascending(conv, lower, NO_UPPER_BOUND, limit);
      }
      case "around":
        return this.#around(conv, selector.anchor, limit);
      case "between":
        return this.#between(conv, selector.start, selector.end, limit);
    }
  }

  /**
   * Lists the conversations of `nick` active strictly between `from` and `to`, as
   * `CHATHISTORY TARGETS` does: the channels among `channels`, and every nick `nick` has
   * exchanged private messages with. Each comes with the time of its latest message in the
   * window. When `from` is later than `to`, the window is read backwards from `from`, so
   * `limit` keeps the conversations nearest `from`.
   *
   * @param nick Whose private conversations to include.
   * @param channels The channels to include (typically those `nick` is in).
   * @param from One end of the window, ms since the epoch.
   * @param to The other end of the window, ms since the epoch.
   * @param limit The most conversations to return, at least 1.
   * @returns `{ target, latest }` ordered by `latest`, oldest first; `target` is the channel
   *   as given in `channels`, or the partner's nick as last seen.
   * @throws Error on a limit below 1 or an empty name.
   *
   * @example Find who ann talked with
   * ```ts
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const history = HistoryStore.open(dir, { retentionMs: 0 });
   * history.append({
   *   msgid: "m1",
   *   time: 5_000,
   *   sender: "bob",
   *   senderMask: "bob!bob@localhost",
   *   target: "ann",
   *   command: "PRIVMSG",
   *   text: "hi ann",
   * });
   * console.log(history.targets("ann", ["#lobby"], 0, 10_000, 10)); // [ { target: "bob", latest: 5000 } ]
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  targets(
    nick: string,
    channels: string[],
    from: number,
    to: number,
    limit: number,
  ): { target: string; latest: number }[] {
    this.#assertOpen("list history targets");
    checkLimit("list history targets", limit);
    checkName("list history targets", "nick", nick);
    const self = foldCase(nick);
    const [low, high] = from <= to ? [from, to] : [to, from];
    const found = new Map<string, { target: string; latest: number }>();
    const visit = (conv: string, name?: string) => {
      if (found.has(conv)) return;
      const row = this.#statements.latestInWindow.get(conv, low, high);
      if (!row) return;
      const target = name ??
        (foldCase(row.sender as string) === self ? row.target : row.sender) as string;
      found.set(conv, { target, latest: row.time as number });
    };
    for (const channel of channels) {
      checkName("list history targets", "channel", channel);
      visit(foldCase(channel), channel);
    }
    for (const row of this.#statements.partners.iterate(self, self)) visit(row.conv as string);
    const sorted = [...found.values()].sort((x, y) => x.latest - y.latest);
    return from <= to ? sorted.slice(0, limit) : sorted.slice(-limit);
  }

  /**
   * Deletes the messages older than the retention (none when it is 0).
   *
   * @param now The current time in ms since the epoch. @default {Date.now()}
   * @returns How many messages were deleted.
   *
   * @example Prune a store that keeps a day
   * ```ts
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const history = HistoryStore.open(dir, { retentionMs: 86_400_000 });
   * console.log(history.prune()); // 0
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  prune(now: number = Date.now()): number {
    this.#assertOpen("prune history");
    if (this.#retentionMs === 0) return 0;
    const deleted = Number(this.#statements.prune.run(now - this.#retentionMs).changes);
    if (deleted > 0) {
      this.#statements.pruneConversations.run();
      this.#knownPrivate.clear();
    }
    return deleted;
  }

  /**
   * Closes the database; later calls on this store throw. Closing twice is harmless.
   *
   * @example Close a store
   * ```ts
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * HistoryStore.open(dir).close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  close(): void {
    if (this.#closed) return;
    try {
      this.commit();
    } finally {
      this.#closed = true;
      this.#db.close();
    }
  }

  /**
   * Makes every deferred append durable (see `deferCommit`); without one pending, returns
   * at once. On failure the pending appends are rolled back.
   *
   * @returns How many appends were committed.
   * @throws Error naming how many messages were lost and why.
   *
   * @example Commit a batch of messages
   * ```ts
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const history = HistoryStore.open(dir, { deferCommit: true });
   * for (const msgid of ["m1", "m2", "m3"]) {
   *   history.append({
   *     msgid,
   *     time: Date.now(),
   *     sender: "ann",
   *     senderMask: "ann!ann@localhost",
   *     target: "#lobby",
   *     command: "PRIVMSG",
   *     text: msgid,
   *   });
   * }
   * console.log(history.commit()); // 3
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  commit(): number {
    const rolledBack = this.#rolledBack;
    this.#rolledBack = 0;
    if (!this.#inTransaction && rolledBack === 0) return 0;
    const count = this.#uncommitted + rolledBack;
    this.#inTransaction = false;
    this.#uncommitted = 0;
    try {
      // All of the batch or none of it (the catch rolls back what is left of it): the caller
      // tells every sender of the batch the same thing.
      if (rolledBack > 0) {
        throw new Error(`SQLite rolled back ${rolledBack} of them after an earlier error`);
      }
      this.#statements.commit.run();
    } catch (error) {
      try {
        this.#statements.rollback.run();
      } catch {
        // SQLite already rolled back (as it does after some errors).
      }
      this.#knownPrivate.clear();
      throw new Error(
        `Cannot commit ${count} messages to history in "${this.#path}": ${
          explainSqliteError((error as Error).message)
        }`,
        { cause: error },
      );
    }
    return count;
  }

  #assertOpen(action: string): void {
    if (this.#closed) throw new Error(`Cannot ${action}: the history store is closed`);
  }

  /** The exclusive upper `id` bound of the messages before `anchor`; undefined if unknown. */
  #idBefore(conv: string, anchor: HistoryAnchor): number | undefined {
    if ("msgid" in anchor) return this.#msgidPosition(conv, anchor.msgid);
    const row = this.#statements.firstAtOrAfter.get(conv, checkTime(anchor.time));
    return row ? row.id as number : NO_UPPER_BOUND;
  }

  /** The exclusive lower `id` bound of the messages after `anchor`; undefined if unknown. */
  #idAfter(conv: string, anchor: HistoryAnchor): number | undefined {
    if ("msgid" in anchor) return this.#msgidPosition(conv, anchor.msgid);
    const row = this.#statements.lastAtOrBefore.get(conv, checkTime(anchor.time));
    return row ? row.id as number : 0;
  }

  #msgidPosition(conv: string, msgid: string): number | undefined {
    const row = this.#statements.byMsgid.get(msgid);
    return row && row.conv === conv ? row.id as number : undefined;
  }

  #ascending(conv: string, lower: number, upper: number, limit: number): HistoryRecord[] {
    return this.#statements.rangeAscending.all(conv, lower, upper, limit).map(toRecord);
  }

  #descending(conv: string, lower: number, upper: number, limit: number): HistoryRecord[] {
    return this.#statements.rangeDescending.all(conv, lower, upper, limit).map(toRecord)
      .reverse();
  }

  #around(conv: string, anchor: HistoryAnchor, limit: number): HistoryRecord[] {
    // Split at the anchor: a msgid anchor starts the later side, a time anchor falls
    // between the messages before it and those at or after it.
    const split = this.#idBefore(conv, anchor);
    if (split === undefined) return [];
    const earlier = this.#descending(conv, 0, split, limit);
    const later = this.#ascending(conv, split - 1, NO_UPPER_BOUND, limit);
    const takeEarlier = Math.min(
      earlier.length,
      Math.max(Math.floor(limit / 2), limit - later.length),
    );
    const takeLater = Math.min(later.length, limit - takeEarlier);
    return [...earlier.slice(earlier.length - takeEarlier), ...later.slice(0, takeLater)];
  }

  #between(
    conv: string,
    start: HistoryAnchor,
    end: HistoryAnchor,
    limit: number,
  ): HistoryRecord[] {
    const startAfter = this.#idAfter(conv, start);
    const startBefore = this.#idBefore(conv, start);
    const endAfter = this.#idAfter(conv, end);
    const endBefore = this.#idBefore(conv, end);
    if (
      startAfter === undefined || startBefore === undefined || endAfter === undefined ||
      endBefore === undefined
    ) return [];
    const forwards = "msgid" in start && "msgid" in end
      ? startAfter <= endAfter
      : this.#anchorTime(start) <= this.#anchorTime(end);
    return forwards
      ? this.#ascending(conv, startAfter, endBefore, limit)
      : this.#descending(conv, endAfter, startBefore, limit);
  }

  /** The anchor's time; a msgid anchor has been checked to exist. */
  #anchorTime(anchor: HistoryAnchor): number {
    if ("time" in anchor) return anchor.time;
    return this.#statements.byMsgid.get(anchor.msgid)!.time as number;
  }
}

/**
 * The directory shmooze keeps its data in: `$SHMOOZE_DATA` if set, else the per-OS place
 * for user data — `$XDG_DATA_HOME/shmooze` or `~/.local/share/shmooze` on Linux and other
 * Unixes, `~/Library/Application Support/shmooze` on macOS, `%LOCALAPPDATA%\shmooze` on
 * Windows.
 *
 * @returns The directory (not created).
 * @throws Error if neither `SHMOOZE_DATA` nor the OS's home variable is set.
 *
 * @example Where history goes
 * ```ts
 * import { defaultDataDir } from "./history.ts";
 *
 * console.log(defaultDataDir()); // e.g. "/home/ann/.local/share/shmooze"
 * ```
 */
export function defaultDataDir(): string {
  const explicit = Deno.env.get("SHMOOZE_DATA");
  if (explicit) return explicit;
  const need = (variable: string) => {
    const value = Deno.env.get(variable);
    if (!value) {
      throw new Error(
        `Cannot choose a data directory: neither SHMOOZE_DATA nor ${variable} is set; pass --data DIR`,
      );
    }
    return value;
  };
  switch (Deno.build.os) {
    case "windows":
      return join(need("LOCALAPPDATA"), "shmooze");
    case "darwin":
      return join(need("HOME"), "Library", "Application Support", "shmooze");
    default: {
      const xdg = Deno.env.get("XDG_DATA_HOME");
      return xdg ? join(xdg, "shmooze") : join(need("HOME"), ".local", "share", "shmooze");
    }
  }
}

function toRecord(row: Record<string, SQLOutputValue>): HistoryRecord {
  return {
    id: row.id as number,
    msgid: row.msgid as string,
    time: row.time as number,
    sender: row.sender as string,
    senderMask: row.sender_mask as string,
    target: row.target as string,
    command: row.command as HistoryRecord["command"],
    text: row.text as string,
  };
}

function isChannel(name: string): boolean {
  return CHANNEL_PREFIXES.includes(name[0]);
}

function privateKey(a: string, b: string): string {
  return [foldCase(a), foldCase(b)].sort().join(PAIR_SEPARATOR);
}

function conversationKey(conversation: string | [string, string]): string {
  if (Array.isArray(conversation)) {
    checkName("query history", "nick", conversation[0]);
    checkName("query history", "nick", conversation[1]);
    return privateKey(conversation[0], conversation[1]);
  }
  checkName("query history", "channel", conversation);
  if (!isChannel(conversation)) {
    throw new Error(
      `Cannot query history: "${conversation}" is not a channel name; pass [nick, nick] for a private conversation`,
    );
  }
  return foldCase(conversation);
}

function checkName(action: string, what: string, value: string): void {
  if (typeof value !== "string" || value === "") {
    throw new Error(`Cannot ${action}: the ${what} is empty`);
  }
  if (value.includes(PAIR_SEPARATOR)) {
    throw new Error(`Cannot ${action}: the ${what} "${value}" contains a space`);
  }
  checkNoNul(action, what, value);
}

/** SQLite would cut a string at a NUL when reading it back; IRC forbids NUL anyway. */
function checkNoNul(action: string, what: string, value: string): void {
  if (value.includes("\0")) {
    throw new Error(`Cannot ${action}: the ${what} contains a NUL character`);
  }
}

function checkLimit(action: string, limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new Error(`Cannot ${action}: limit must be a whole number of at least 1, got ${limit}`);
  }
}

function checkTime(time: number): number {
  if (!Number.isFinite(time)) {
    throw new Error(`Cannot query history: an anchor time must be ms since the epoch, got ${time}`);
  }
  return time;
}
