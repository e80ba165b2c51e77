// Over 600 lines: almost half is documentation and runnable examples (every query kind has
// one); the SQL itself lives in _history_schema.ts.
/**
 * Message history in embedded SQLite (`node:sqlite`, WAL): every channel and private message
 * the server accepted, with its client-only tags (a reply's `+draft/reply`), and the reactions
 * (TAGMSG with `+draft/react`), served back with IRCv3 `draft/chathistory` semantics.
 *
 * Messages are ordered by `id`, the order the server accepted (and fanned out) them. A
 * channel's messages are found through the `(conversation, id)` index; a private message
 * belongs to the accounts its sender and recipient were logged in to when it was sent (none,
 * for a party without one), and is found through `private_index (owner, partner, id)`, one row
 * per owning account. A timestamp anchor is first turned into an `id` bound through the
 * `time` index, so every selector ends as one range scan of one of those two indexes. That
 * conversion assumes times rise with ids, true while the server stamps messages with its own
 * clock; if the clock steps back, a timestamp anchor lands near, not exactly at, its place.
 *
 * @module
 */
import type { DatabaseSync, SQLOutputValue, StatementSync } from "node:sqlite";
import { explainSqliteError, migrateSchema, openPrivateDatabase } from "./_sqlite.ts";
import { DataDirectoryError } from "./data_directory.ts";
import { foldCase } from "./casemap.ts";
import {
  MIGRATIONS,
  prepareSearch,
  prepareStatements,
  PRIVATE_CONV,
  SCHEMA,
  SCHEMA_VERSION,
  SEARCH_CLOCK,
  type SearchWalk,
  type Statements,
} from "./_history_schema.ts";
import { isChannelName } from "./names.ts";
import { ftsQuery } from "./search_text.ts";

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
  /** The IRC command the message was sent with: TAGMSG for a reaction (its text is ""). */
  command: "PRIVMSG" | "NOTICE" | "TAGMSG";
  /** The message text. */
  text: string;
  /** Its client-only tags (`+draft/reply`, `+draft/react` …), if it had any. */
  clientTags?: Record<string, string>;
  /**
   * The REDACT that deleted it (IRCv3 `draft/message-redaction`), if one did: its text is
   * then "" and it has no client-only tags. Only queries with `redacted` return such a message.
   */
  redaction?: Redaction;
}

/** A message's deletion: the REDACT that deleted it, as it was relayed. */
export interface Redaction {
  /** The REDACT's own `msgid`. */
  msgid: string;
  /** When the server accepted it, in ms since the epoch. */
  time: number;
  /** Who deleted the message: `nick!user@host`. */
  source: string;
  /** The account the deleter was logged in to, if any. */
  account?: string;
  /** Why, as given ("" for no reason). */
  reason: string;
}

/** A stored message as {@link HistoryStore.locate} finds it: enough to decide who may delete it. */
export interface LocatedMessage {
  /** Its `id`. */
  id: number;
  /** The channel it was sent to (folded), or undefined for a private message. */
  channel?: string;
  /** When it was sent, ms since the epoch. */
  time: number;
  /** The sender's nick at send time. */
  sender: string;
  /** `#channel`, or the recipient's nick at send time. */
  target: string;
  /** The IRC command it was sent with. */
  command: HistoryRecord["command"];
  /** The account the sender was logged in to, if any (never known for messages stored before schema 4). */
  senderAccount?: string;
  /** Whether it has been deleted already. */
  redacted: boolean;
}

/** A message to store: a {@link HistoryRecord} without its `id`, with the accounts that own it. */
export interface HistoryEntry extends Omit<HistoryRecord, "id"> {
  /**
   * The account the sender was logged in to, if any: it may delete the message later from any
   * device, and a private message belongs to it.
   */
  senderAccount?: string;
  /**
   * The account the recipient was logged in to, if any: a private message belongs to it too.
   * Ignored for a channel message.
   */
  targetAccount?: string;
}

/** An account whose private history is read. */
export interface HistoryOwner {
  /** The account's name, any case. */
  account: string;
  /**
   * When the account was created, ms since the epoch. Private messages stored before it
   * belong to an earlier account of the same name (one that was deleted and registered
   * again) and are never returned.
   * @default {0}
   */
  since?: number;
}

/** One account's side of a private conversation: what it sent to and received from `partner`. */
export interface PrivateConversation extends HistoryOwner {
  /** The other party's nick when each message was sent, any case. */
  partner: string;
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

/** Options for {@link HistoryStore.query}. */
export interface QueryOptions {
  /**
   * Whether stored TAGMSGs (reactions) are returned and counted against the limit: a client
   * takes them only with IRCv3 `message-tags` (without tags a TAGMSG is nothing).
   * @default {false}
   */
  tagmsg?: boolean;
  /**
   * Whether deleted messages are returned (with their {@link HistoryRecord.redaction}) and
   * counted against the limit: a client takes them only with IRCv3 `draft/message-redaction`;
   * anyone else gets the conversation as if they had never been sent.
   * @default {false}
   */
  redacted?: boolean;
}

/**
 * A stretch of messages a reader was in a channel for: those with `afterId < id <= untilId`
 * (no `untilId`: it is in the channel still). Ids, not times, so a message sent in the very
 * millisecond of a JOIN or PART falls on the right side.
 */
export interface ChannelPresence {
  /** The channel, any case. */
  channel: string;
  /** The last message id stored before the reader joined. */
  afterId: number;
  /** The last message id stored before it left; none while it is in the channel. */
  untilId?: number;
}

/** Who searches, which decides what it may find (see {@link HistoryStore.search}). */
export interface SearchReader {
  /**
   * The account it is logged in to: the private messages that account owns, and the channel
   * presence stored for it ({@link HistoryStore.beginPresence}).
   */
  owner?: HistoryOwner;
  /** Presence known only in memory: a guest's, of its own connection. */
  presence?: readonly ChannelPresence[];
  /**
   * The channels it is in now: it reads their messages stored before presence was recorded
   * at all (before schema version 5), as CHATHISTORY serves a channel's members.
   */
  channels?: readonly string[];
}

/** What to search for; every given field must match. */
export interface SearchQuery {
  /** Words that must all be in the text (see `search_text.ts`). */
  text?: string;
  /** A channel, or the nick of the other party of a private conversation. */
  in?: string;
  /** The sender's nick at send time, any case. */
  from?: string;
  /** Only messages sent at or after this time, ms since the epoch. */
  after?: number;
  /** Only messages sent at or before this time, ms since the epoch. */
  before?: number;
}

/** Options for {@link HistoryStore.search}. */
export interface SearchOptions {
  /**
   * How long one search may walk the index, in ms: SQLite runs on the server's only thread,
   * so a search that would read most of the history stops there and says it is incomplete.
   * @default {250}
   */
  timeBudgetMs?: number;
}

/** What {@link HistoryStore.search} found. */
export interface SearchResult {
  /** The messages, oldest first. */
  records: HistoryRecord[];
  /** False when the time budget ran out before the search was done. */
  complete: boolean;
}

/**
 * The most bytes of client-only tags stored with one message, as they are written on the wire
 * (`+name=value;…`, values unescaped): what one line may carry (IRCv3 message-tags' 4094 bytes
 * for client tags).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_STORED_TAG_BYTES } from "./history.ts";
 *
 * assert.equal(MAX_STORED_TAG_BYTES, 4094);
 * ```
 */
export const MAX_STORED_TAG_BYTES = 4094;

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
   * process dies (or the commit fails), so the caller commits before anyone is shown those
   * messages, and queries do not return them until then.
   * @default {false}
   */
  deferCommit?: boolean;
}

const DEFAULT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
const DEFAULT_SEARCH_BUDGET_MS = 250;

/** An `id` above every stored one, for an open upper bound. */
const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;

/**
 * Where a query looks: a channel's messages, or one account's side of a private conversation
 * (only messages after `floor`, an exclusive `id` bound); `tagmsg` is 1 when TAGMSGs count,
 * `redacted` when deleted messages do.
 */
type Scope = (ChannelScope | PrivateScope) & { tagmsg: number; redacted: number };
type ChannelScope = { conv: string };
type PrivateScope = { owner: string; partner: string; floor: number };

/**
 * The message history of one server, in `<dataDir>/history.sqlite`.
 *
 * One process writes at a time; a second process opening the same file waits up to 5 s for
 * a lock (SQLite `busy_timeout`) and then fails with an error saying the database is busy.
 *
 * @example Store two messages and read the latest one back
 * ```ts
 * import assert from "node:assert/strict";
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
 * const latest = history.query("#Lobby", { kind: "latest" }, 1);
 * assert.deepEqual(latest.map((m) => m.text), ["anyone here?"]);
 * history.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class HistoryStore {
  #db: DatabaseSync;
  #statements: Statements;
  /** The search statements, prepared on first use. */
  #searches = new Map<string, StatementSync>();
  /** When the running search must stop (`performance.now()`); see `prepareSearch`. */
  #searchDeadline = 0;
  #retentionMs: number;
  #path: string;
  #closed = false;
  #deferCommit: boolean;
  #inTransaction = false;
  #uncommitted = 0;
  /** Appends SQLite rolled back on its own after a failed statement; the next commit fails. */
  #rolledBack = 0;
  /**
   * The id of the batch's first append while a deferred batch is open. Queries stop below
   * it: this connection would see its own uncommitted rows, and a client must never be shown
   * a message that the commit may still lose.
   */
  #firstUncommitted: number | undefined;
  /** A deletion was written since the last checkpoint (see `#checkpoint`). */
  #erased = false;

  private constructor(db: DatabaseSync, path: string, retentionMs: number, deferCommit: boolean) {
    this.#db = db;
    this.#path = path;
    this.#retentionMs = retentionMs;
    this.#deferCommit = deferCommit;
    this.#statements = prepareStatements(db);
    db.function(SEARCH_CLOCK, () => performance.now() < this.#searchDeadline ? 1 : 0);
  }

  /**
   * Opens (creating if needed) the history database in `dataDir`, creating the directory
   * with mode 0700, and prunes what is older than the retention.
   *
   * @param dataDir The data directory; the file is `<dataDir>/history.sqlite`.
   * @param options Retention.
   * @returns The open store.
   * @throws Error if the directory or database cannot be opened, the database is busy, or
   *   it was written by a newer shmooze (a higher schema version). An older one is migrated
   *   first, in one transaction (see `MIGRATIONS` for what each step keeps and drops).
   *
   * @example Keep messages forever
   * ```ts
   * import assert from "node:assert/strict";
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const history = HistoryStore.open(dir, { retentionMs: 0 });
   * history.append({
   *   msgid: "m1",
   *   time: 0,
   *   sender: "ann",
   *   senderMask: "ann!ann@localhost",
   *   target: "#lobby",
   *   command: "PRIVMSG",
   *   text: "from 1970",
   * });
   * assert.equal(history.prune(), 0);
   * assert.equal(history.query("#lobby", { kind: "latest" }, 10).length, 1);
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
      migrateSchema(db, path, "history", SCHEMA, SCHEMA_VERSION, MIGRATIONS);
      // A deleted message's words are overwritten with zeros where they were, not merely
      // marked free: deleting must erase (see HistoryStore.redact).
      db.exec("PRAGMA secure_delete = ON");
      const store = new HistoryStore(db, path, retentionMs, options.deferCommit ?? false);
      store.prune();
      return store;
    } catch (error) {
      db.close();
      if (error instanceof DataDirectoryError) throw error;
      throw new DataDirectoryError(
        "unusable",
        path,
        `Cannot open history database "${path}": ${explainSqliteError((error as Error).message)}`,
        { cause: error },
      );
    }
  }

  /**
   * Stores one message. When this returns, the message survives a kill -9 of the process —
   * with `deferCommit`, once {@link HistoryStore.commit} has returned. A private message
   * belongs to `senderAccount` and `targetAccount`, whichever are given; with neither,
   * nobody can read it back.
   *
   * @param entry The message, without `id`, with its owners if private.
   * @returns The stored message with its `id`.
   * @throws Error on an empty field, an unknown command, a bad time, a duplicate `msgid`, a
   *   TAGMSG with text or without tags, or client tags over {@link MAX_STORED_TAG_BYTES}.
   *
   * @example Store a private message that bob's account owns
   * ```ts
   * import assert from "node:assert/strict";
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
   *   targetAccount: "bob",
   *   command: "PRIVMSG",
   *   text: "hi bob",
   * });
   * assert.ok(stored.id > 0);
   * const mine = history.query({ account: "bob", partner: "ann" }, { kind: "latest" }, 10);
   * assert.deepEqual(mine.map((m) => m.text), ["hi bob"]);
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  append(entry: HistoryEntry): HistoryRecord {
    this.#assertOpen("append to history");
    const { msgid, time, sender, senderMask, target, command, text, clientTags } = entry;
    checkName("append to history", "sender", sender);
    checkName("append to history", "target", target);
    if (msgid === "") throw new Error("Cannot append to history: the msgid is empty");
    for (const [field, value] of [["msgid", msgid], ["sender mask", senderMask], ["text", text]]) {
      checkNoNul("append to history", field, value);
    }
    if (command !== "PRIVMSG" && command !== "NOTICE" && command !== "TAGMSG") {
      throw new Error(
        `Cannot append to history: command must be PRIVMSG, NOTICE or TAGMSG, got ${command}`,
      );
    }
    const tags = encodeTags(clientTags);
    if (command === "TAGMSG" && (text !== "" || tags === null)) {
      throw new Error("Cannot append to history: a TAGMSG has client-only tags and no text");
    }
    if (!Number.isSafeInteger(time) || time < 0) {
      throw new Error(
        `Cannot append to history: time must be whole ms since the epoch, got ${time}`,
      );
    }
    const channel = isChannelName(target);
    const owners: [owner: string, partner: string][] = [];
    const { senderAccount, targetAccount } = entry;
    if (senderAccount !== undefined) {
      checkName("append to history", "sender account", senderAccount);
    }
    if (!channel) {
      if (senderAccount !== undefined) owners.push([foldCase(senderAccount), foldCase(target)]);
      if (targetAccount !== undefined) {
        checkName("append to history", "target account", targetAccount);
        owners.push([foldCase(targetAccount), foldCase(sender)]);
      }
    }
    // A message and its owners are stored together or not at all.
    const id = this.#write(
      owners.length > 0,
      () => {
        const id = Number(
          this.#statements.insert.run(
            channel ? foldCase(target) : PRIVATE_CONV,
            msgid,
            time,
            sender,
            senderMask,
            target,
            command,
            text,
            tags,
            entry.senderAccount ?? null,
          ).lastInsertRowid,
        );
        for (const [owner, partner] of owners) this.#statements.insertOwner.run(owner, partner, id);
        return id;
      },
      (message) =>
        /UNIQUE/.test(message)
          ? `Cannot append to history: msgid "${msgid}" is already stored`
          : `Cannot append to history in "${this.#path}": ${explainSqliteError(message)}`,
    );
    if (this.#deferCommit) this.#firstUncommitted ??= id;
    const record: HistoryRecord = { id, msgid, time, sender, senderMask, target, command, text };
    if (tags !== null) record.clientTags = { ...clientTags };
    return record;
  }

  /**
   * Finds a stored message by its `msgid`, wherever it was sent: what deciding who may delete
   * it needs. A message of a deferred batch not yet committed is not found (nobody has seen it).
   *
   * @param msgid The message's id.
   * @returns The message, or undefined when no message has that id (or it was pruned).
   *
   * @example Find a channel message and who sent it
   * ```ts
   * import assert from "node:assert/strict";
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const history = HistoryStore.open(dir);
   * const from = { sender: "ann", senderMask: "ann!ann@h", senderAccount: "Ann" } as const;
   * history.append({ ...from, msgid: "m1", time: 1, target: "#Lobby", command: "PRIVMSG", text: "hi" });
   * assert.deepEqual(history.locate("m1"), {
   *   id: 1,
   *   time: 1,
   *   channel: "#lobby",
   *   sender: "ann",
   *   target: "#Lobby",
   *   command: "PRIVMSG",
   *   senderAccount: "Ann",
   *   redacted: false,
   * });
   * assert.equal(history.locate("nope"), undefined);
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  locate(msgid: string): LocatedMessage | undefined {
    this.#assertOpen("find a message");
    const row = this.#statements.locate.get(msgid);
    if (row === undefined) return undefined;
    const id = row.id as number;
    if (this.#firstUncommitted !== undefined && id >= this.#firstUncommitted) return undefined;
    const located: LocatedMessage = {
      id,
      time: row.time as number,
      sender: row.sender as string,
      target: row.target as string,
      command: row.command as HistoryRecord["command"],
      redacted: row.redacted === 1,
    };
    if (row.conv !== PRIVATE_CONV) located.channel = row.conv as string;
    if (row.account !== null) located.senderAccount = row.account as string;
    return located;
  }

  /**
   * Whether a private message belongs to one account's side of a conversation: the account
   * sent it to `partner` or received it from `partner`, and not before it was created.
   *
   * @param conversation The account, its creation time and the other party's nick.
   * @param id The message's `id` (see {@link HistoryStore.locate}).
   * @returns True when the account may read it.
   *
   * @example bob's account owns what ann sent it; cy's does not
   * ```ts
   * import assert from "node:assert/strict";
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const history = HistoryStore.open(dir);
   * const { id } = history.append({
   *   msgid: "m1",
   *   time: 1,
   *   sender: "ann",
   *   senderMask: "ann!ann@h",
   *   target: "bob",
   *   targetAccount: "bob",
   *   command: "PRIVMSG",
   *   text: "hi",
   * });
   * assert.ok(history.ownsPrivate({ account: "Bob", partner: "ANN" }, id));
   * assert.ok(!history.ownsPrivate({ account: "cy", partner: "ann" }, id));
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  ownsPrivate(conversation: PrivateConversation, id: number): boolean {
    this.#assertOpen("find a message");
    return this.#msgidOwned(this.#scope(conversation, 0, 0) as PrivateScope, id);
  }

  /**
   * Deletes a stored message (IRCv3 `draft/message-redaction`): writes its {@link Redaction}
   * and erases its text and client-only tags in the same transaction; it keeps its place,
   * sender and time, so a client that has it can be told it was deleted. SQLite's
   * `secure_delete` overwrites the words in the database file, and the commit empties the
   * write-ahead log (a checkpoint), so neither file holds them once it returns. With
   * `deferCommit` it is part of the batch, durable once {@link HistoryStore.commit} returns.
   *
   * @param id The message's `id` (see {@link HistoryStore.locate}).
   * @param redaction The REDACT that deletes it.
   * @throws Error when there is no such message, it is deleted already, the REDACT's msgid
   *   is taken, or the database fails (a full disk): then nothing changed.
   *
   * @example Delete a message: queries skip it unless they ask for deleted ones
   * ```ts
   * import assert from "node:assert/strict";
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const history = HistoryStore.open(dir);
   * const from = { sender: "ann", senderMask: "ann!ann@h", target: "#lobby" } as const;
   * const { id } = history.append({ ...from, msgid: "m1", time: 1, command: "PRIVMSG", text: "oops" });
   * history.append({ ...from, msgid: "m2", time: 2, command: "PRIVMSG", text: "hi" });
   * const redaction = { msgid: "r1", time: 3, source: "ann!ann@h", reason: "typo" };
   * history.redact(id, redaction);
   * assert.deepEqual(history.query("#lobby", { kind: "latest" }, 10).map((m) => m.text), ["hi"]);
   * const [deleted] = history.query("#lobby", { kind: "latest" }, 10, { redacted: true });
   * assert.equal(deleted.text, "");
   * assert.deepEqual(deleted.redaction, redaction);
   * assert.throws(() => history.redact(id, { ...redaction, msgid: "r2" }), /already deleted/);
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  redact(id: number, redaction: Redaction): void {
    this.#assertOpen("delete a message");
    const { msgid, time, source, account, reason } = redaction;
    if (msgid === "") throw new Error("Cannot delete a message: the REDACT's msgid is empty");
    for (const [field, value] of [["msgid", msgid], ["source", source], ["reason", reason]]) {
      checkNoNul("delete a message", field, value);
    }
    if (!Number.isSafeInteger(time) || time < 0) {
      throw new Error(
        `Cannot delete a message: time must be whole ms since the epoch, got ${time}`,
      );
    }
    this.#write(
      true,
      () => {
        if (this.#statements.erase.run(id).changes === 0) {
          throw new Error(`there is no message with id ${id}`);
        }
        this.#statements.insertRedaction.run(id, msgid, time, source, account ?? null, reason);
        return id;
      },
      (message) =>
        /UNIQUE constraint failed: redactions\.id/.test(message)
          ? `Cannot delete message ${id}: it is already deleted`
          : `Cannot delete message ${id} in "${this.#path}": ${explainSqliteError(message)}`,
    );
    this.#erased = true;
    if (!this.#deferCommit) this.#checkpoint();
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
   * @param conversation A channel name, or one account's side of a private conversation.
   * @param selector Which messages.
   * @param limit The most messages to return, at least 1.
   * @param options Whether reactions (TAGMSG) are included.
   * @returns The messages, oldest first.
   * @throws Error on a limit below 1, an empty name, a string that is not a channel, or a
   *   partner that is not a nick.
   *
   * @example Page backwards through a channel
   * ```ts
   * import assert from "node:assert/strict";
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
   * assert.deepEqual(page.map((m) => m.text), ["line 2", "line 3"]);
   * const older = history.query("#lobby", { kind: "before", anchor: { msgid: "m2" } }, 2);
   * assert.deepEqual(older.map((m) => m.text), ["line 1"]);
   * assert.deepEqual(history.query("#lobby", { kind: "after", anchor: { msgid: "nope" } }, 2), []);
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  query(
    conversation: string | PrivateConversation,
    selector: HistorySelector,
    limit: number,
    options: QueryOptions = {},
  ): HistoryRecord[] {
    this.#assertOpen("query history");
    checkLimit("query history", limit);
    const scope = this.#scope(conversation, options.tagmsg ? 1 : 0, options.redacted ? 1 : 0);
    switch (selector.kind) {
      case "latest": {
        const lower = selector.after ? this.#idAfter(scope, selector.after) : 0;
        if (lower === undefined) return [];
        return this.#descending(scope, lower, NO_UPPER_BOUND, limit);
      }
      case "before": {
        const upper = this.#idBefore(scope, selector.anchor);
        if (upper === undefined) return [];
        return this.#descending(scope, 0, upper, limit);
      }
      case "after": {
        const lower = this.#idAfter(scope, selector.anchor);
        if (lower === undefined) return [];
        return this.#ascending(scope, lower, NO_UPPER_BOUND, limit);
      }
      case "around":
        return this.#around(scope, selector.anchor, limit);
      case "between":
        return this.#between(scope, selector.start, selector.end, limit);
    }
  }

  /**
   * Lists the conversations whose latest message falls strictly between `from` and `to`, as
   * `CHATHISTORY TARGETS` does: the channels among `channels`, and every nick `owner` has
   * private history with. Each comes with the time of that latest message; one active in the
   * window but again after it is left out, as its latest message is not in the window. When
   * `from` is later than `to`, the window is read backwards from `from`, so `limit` keeps the
   * conversations nearest `from`.
   *
   * @param owner The account whose private conversations to include; none for channels only.
   * @param channels The channels to include (typically those the asker is in).
   * @param from One end of the window, ms since the epoch.
   * @param to The other end of the window, ms since the epoch.
   * @param limit The most conversations to return, at least 1.
   * @returns `{ target, latest }` ordered by `latest`, oldest first; `target` is the channel
   *   as given in `channels`, or the partner's nick as spelled in the latest message.
   * @throws Error on a limit below 1 or an empty name.
   *
   * @example Find who ann's account talked with
   * ```ts
   * import assert from "node:assert/strict";
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
   *   targetAccount: "ann",
   *   command: "PRIVMSG",
   *   text: "hi ann",
   * });
   * assert.deepEqual(history.targets({ account: "ann" }, ["#lobby"], 0, 10_000, 10), [
   *   { target: "bob", latest: 5000 },
   * ]);
   * assert.deepEqual(history.targets(undefined, ["#lobby"], 0, 10_000, 10), []);
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  targets(
    owner: HistoryOwner | undefined,
    channels: string[],
    from: number,
    to: number,
    limit: number,
  ): { target: string; latest: number }[] {
    this.#assertOpen("list history targets");
    checkLimit("list history targets", limit);
    const [low, high] = from <= to ? [from, to] : [to, from];
    const lower = this.#idAfterTime(low);
    const found = new Map<string, { target: string; latest: number }>();
    for (const channel of channels) {
      checkName("list history targets", "channel", channel);
      const conv = foldCase(channel);
      if (found.has(conv)) continue;
      const row = this.#statements.channelLatest.get(conv, lower, NO_UPPER_BOUND);
      if (row && Number(row.time) < high) {
        found.set(conv, { target: channel, latest: row.time as number });
      }
    }
    if (owner !== undefined) {
      const { account, since } = owner;
      checkName("list history targets", "account", account);
      const key = foldCase(account);
      const floor = Math.max(lower, this.#floor(since));
      for (const { partner } of this.#statements.partners.iterate(key)) {
        const row = this.#statements.privateLatest.get(key, partner, floor, NO_UPPER_BOUND);
        if (!row || Number(row.time) >= high) continue;
        // The partner as spelled in the message: its target if the account sent it.
        const target = foldCase(row.target as string) === partner ? row.target : row.sender;
        found.set(partner as string, { target: target as string, latest: row.time as number });
      }
    }
    const sorted = [...found.values()].sort((x, y) => x.latest - y.latest);
    return from <= to ? sorted.slice(0, limit) : sorted.slice(-limit);
  }

  /**
   * Finds the messages `reader` may read that match `query`: channel messages sent while it
   * was in the channel (a presence stored for its account, or one given in memory), and the
   * private messages its account owns. Without `after`, the newest `limit` matches; with it,
   * the first `limit` from then. Stored reactions (TAGMSG) are never found.
   *
   * @param reader Who searches.
   * @param query What must match: words of the text, a conversation, a sender, a time range.
   * @param limit The most messages to return, at least 1.
   * @param options The time budget.
   * @returns The matches, oldest first, and whether the search was done in its budget.
   * @throws SearchTextError (search_text.ts) for text that is not a search; Error on a limit
   *   below 1, a NUL or a space in a name, or a time that is not a number.
   *
   * @example Ann finds what was said in #lobby while she was in it, not before
   * ```ts
   * import assert from "node:assert/strict";
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const history = HistoryStore.open(dir, { retentionMs: 0 });
   * const say = (msgid: string, text: string) =>
   *   history.append({
   *     msgid,
   *     time: Date.now(),
   *     sender: "bob",
   *     senderMask: "bob!bob@localhost",
   *     target: "#lobby",
   *     command: "PRIVMSG",
   *     text,
   *   });
   * say("m1", "the deploy is tomorrow");
   * history.beginPresence("ann", "#lobby", history.lastId());
   * say("m2", "Deploy moved to Friday");
   * const found = history.search({ owner: { account: "ann" } }, { text: "deploy" }, 10);
   * assert.deepEqual(found.records.map((m) => m.text), ["Deploy moved to Friday"]);
   * assert.equal(found.complete, true);
   * assert.deepEqual(history.search({}, { text: "deploy" }, 10).records, []);
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  search(
    reader: SearchReader,
    query: SearchQuery,
    limit: number,
    options: SearchOptions = {},
  ): SearchResult {
    this.#assertOpen("search history");
    checkLimit("search history", limit);
    const match = query.text === undefined ? undefined : ftsQuery(query.text);
    const owner = reader.owner === undefined ? null : foldCase(reader.owner.account);
    if (reader.owner !== undefined) checkName("search history", "account", reader.owner.account);
    const floor = this.#floor(reader.owner?.since);
    // What the reader may see of each channel (folded): its presence intervals.
    const intervals = new Map<string, [after: number, until: number][]>();
    const add = (conv: string, after: number, until: number | null | undefined) => {
      let list = intervals.get(conv);
      if (list === undefined) intervals.set(conv, list = []);
      list.push([after, until ?? NO_UPPER_BOUND]);
    };
    if (owner !== null) {
      // A stretch that ended before the account was created was an earlier account's of the
      // same name; one that began before is this account's own connection's, from before it
      // registered (see MembershipLog.loggedIn).
      for (const row of this.#statements.presenceOf.iterate(owner, floor)) {
        add(row.conv as string, row.after_id as number, row.until_id as number);
      }
    }
    for (const { channel, afterId, untilId } of reader.presence ?? []) {
      checkName("search history", "channel", channel);
      add(foldCase(channel), afterId, untilId);
    }
    const origin = this.#statements.searchOrigin.get()!.until_id as number;
    if (origin > 0) {
      for (const channel of reader.channels ?? []) add(foldCase(channel), 0, origin);
    }
    let partner: string | null = null;
    let convs = [...intervals.keys()];
    if (owner !== null) convs.push(PRIVATE_CONV);
    if (query.in !== undefined) {
      checkName("search history", "conversation", query.in);
      const conv = isChannelName(query.in) ? foldCase(query.in) : PRIVATE_CONV;
      if (conv === PRIVATE_CONV) partner = foldCase(query.in);
      convs = convs.filter((c) => c === conv);
    }
    if (convs.length === 0) return { records: [], complete: true };
    const from = query.from === undefined ? undefined : foldCase(query.from);
    // Nothing before the earliest stretch, or after the latest, can be read.
    let earliest = owner !== null && convs.includes(PRIVATE_CONV) ? floor : NO_UPPER_BOUND;
    let latest = owner !== null && convs.includes(PRIVATE_CONV) ? NO_UPPER_BOUND : 0;
    for (const conv of convs) {
      for (const [after, until] of intervals.get(conv) ?? []) {
        earliest = Math.min(earliest, after);
        latest = Math.max(latest, until);
      }
    }
    const lower = Math.max(
      earliest,
      query.after === undefined ? 0 : this.#idAfterTime(checkTime(query.after) - 1),
    );
    const upper = Math.min(
      latest === NO_UPPER_BOUND ? NO_UPPER_BOUND : latest + 1,
      query.before === undefined ? NO_UPPER_BOUND : this.#idBeforeTime(checkTime(query.before) + 1),
      this.#firstUncommitted ?? NO_UPPER_BOUND,
      this.lastId() + 1,
    );
    const walk: SearchWalk = match !== undefined
      ? "text"
      : convs.length === 1 && convs[0] !== PRIVATE_CONV
      ? "one-channel"
      : "all";
    const ascending = query.after !== undefined;
    const statement = this.#searchStatement(walk, ascending);
    const deadline = performance.now() + (options.timeBudgetMs ?? DEFAULT_SEARCH_BUDGET_MS);
    const convsJson = JSON.stringify(convs);
    const ids: number[] = [];
    let complete = true;
    // Newest first (or from `after`); the statement lets every row out once the clock has
    // run out (see prepareSearch), so the loop notices and stops.
    this.#searchDeadline = deadline;
    const rows = statement.iterate(
      owner,
      partner,
      lower,
      upper,
      convsJson,
      match ?? (walk === "one-channel" ? convs[0] : null),
    );
    for (const row of rows) {
      if (performance.now() >= deadline) {
        complete = false;
        break;
      }
      const id = row.id as number;
      const conv = row.conv as string;
      const visible = conv === PRIVATE_CONV
        ? row.owned === 1 && id > floor
        : intervals.get(conv)?.some(([after, until]) => after < id && id <= until) === true;
      if (!visible || (from !== undefined && foldCase(row.sender as string) !== from)) continue;
      ids.push(id);
      if (ids.length === limit) break;
    }
    if (!ascending) ids.reverse();
    const records = ids.map((id) => toRecord(this.#statements.byId.get(id)!));
    return { records, complete };
  }

  /**
   * The id of the newest stored message (0 for none): where a presence that begins or ends
   * now is cut. With `committed`, the messages of a deferred batch not yet committed do not
   * count: if the commit fails, their ids are given again to later messages, so a presence
   * that ends is cut before them (it may miss them; it never reaches past its end), and one
   * that begins after them (it may miss later messages that reuse them; it never reaches
   * back before its start).
   *
   * @param committed Only committed messages count. @default {false}
   * @returns The id.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const history = HistoryStore.open(dir);
   * assert.equal(history.lastId(), 0);
   * const { id } = history.append({
   *   msgid: "m1",
   *   time: Date.now(),
   *   sender: "ann",
   *   senderMask: "ann!ann@localhost",
   *   target: "#lobby",
   *   command: "PRIVMSG",
   *   text: "hi",
   * });
   * assert.equal(history.lastId(), id);
   * assert.equal(history.lastId(true), id);
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  lastId(committed = false): number {
    this.#assertOpen("read history");
    if (committed && this.#firstUncommitted !== undefined) return this.#firstUncommitted - 1;
    return this.#statements.lastId.get()!.id as number;
  }

  /**
   * Stores that an account is in a channel from now on: search lets it find the channel's
   * messages after `afterId` until {@link HistoryStore.endPresence}.
   *
   * @param account The account, any case.
   * @param channel The channel, any case.
   * @param afterId {@link HistoryStore.lastId} when it joined.
   *
   * @example An account finds what was said while it was in a channel, and nothing after
   * ```ts
   * import assert from "node:assert/strict";
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const history = HistoryStore.open(dir);
   * const say = (msgid: string) =>
   *   history.append({
   *     msgid,
   *     time: Date.now(),
   *     sender: "bob",
   *     senderMask: "bob!bob@localhost",
   *     target: "#ops",
   *     command: "PRIVMSG",
   *     text: `status ${msgid}`,
   *   });
   * history.beginPresence("ann", "#ops", history.lastId());
   * say("m1");
   * history.endPresence("ann", "#ops", history.lastId());
   * say("m2");
   * const found = history.search({ owner: { account: "ann" } }, { text: "status" }, 10);
   * assert.deepEqual(found.records.map((m) => m.msgid), ["m1"]);
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  beginPresence(account: string, channel: string, afterId: number): void {
    this.#assertOpen("store channel presence");
    checkName("store channel presence", "account", account);
    checkName("store channel presence", "channel", channel);
    this.#statements.openPresence.run(foldCase(account), foldCase(channel), afterId);
  }

  /**
   * Stores that an account left a channel (see {@link HistoryStore.beginPresence}); nothing
   * happens when it was not in it.
   *
   * @param account The account, any case.
   * @param channel The channel, any case.
   * @param untilId {@link HistoryStore.lastId} when it left.
   */
  endPresence(account: string, channel: string, untilId: number): void {
    this.#assertOpen("store channel presence");
    this.#statements.closePresence.run(untilId, foldCase(account), foldCase(channel));
  }

  /**
   * Ends every presence still open, at the newest message: a server starting up has nobody in
   * its channels yet (nothing was said while it was down), and puts back who comes back.
   *
   * @returns How many presences were ended.
   */
  endEveryPresence(): number {
    this.#assertOpen("store channel presence");
    return Number(this.#statements.closeEveryPresence.run(this.lastId()).changes);
  }

  /**
   * Deletes the messages older than the retention (none when it is 0).
   *
   * @param now The current time in ms since the epoch. @default {Date.now()}
   * @returns How many messages were deleted.
   *
   * @example Prune a store that keeps a day
   * ```ts
   * import assert from "node:assert/strict";
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const history = HistoryStore.open(dir, { retentionMs: 86_400_000 });
   * const now = Date.now();
   * for (const [msgid, age] of [["old", 86_400_001], ["new", 1_000]] as const) {
   *   history.append({
   *     msgid,
   *     time: now - age,
   *     sender: "ann",
   *     senderMask: "ann!ann@localhost",
   *     target: "#lobby",
   *     command: "PRIVMSG",
   *     text: msgid,
   *   });
   * }
   * assert.equal(history.prune(now), 1);
   * const left = history.query("#lobby", { kind: "latest" }, 10);
   * assert.deepEqual(left.map((m) => m.text), ["new"]);
   * history.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  prune(now: number = Date.now()): number {
    this.#assertOpen("prune history");
    if (this.#retentionMs === 0) return 0;
    this.#statements.pruneOwners.run(now - this.#retentionMs);
    this.#statements.pruneRedactions.run(now - this.#retentionMs);
    this.#statements.secureDeleteOff.run();
    try {
      const pruned = Number(this.#statements.prune.run(now - this.#retentionMs).changes);
      this.#statements.prunePresence.run();
      return pruned;
    } finally {
      this.#statements.secureDeleteOn.run();
    }
  }

  /**
   * Closes the database; later calls on this store throw. Closing twice is harmless.
   *
   * @example A closed store refuses to be used
   * ```ts
   * import assert from "node:assert/strict";
   * import { HistoryStore } from "./history.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const history = HistoryStore.open(dir);
   * history.close();
   * history.close();
   * assert.throws(() => history.prune(), /the history store is closed/);
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
   * @example Commit a batch of messages; queries see them only then
   * ```ts
   * import assert from "node:assert/strict";
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
   * assert.deepEqual(history.query("#lobby", { kind: "latest" }, 10), []);
   * assert.equal(history.commit(), 3);
   * assert.equal(history.query("#lobby", { kind: "latest" }, 10).length, 3);
   * assert.equal(history.commit(), 0);
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
    this.#firstUncommitted = undefined;
    try {
      // All of the batch or none of it (the catch rolls back what is left of it): the caller
      // tells every sender of the batch the same thing.
      if (rolledBack > 0) {
        throw new Error(`SQLite rolled back ${rolledBack} of them after an earlier error`);
      }
      this.#statements.commit.run();
    } catch (error) {
      this.#erased = false;
      this.#rollback();
      throw new Error(
        `Cannot commit ${count} messages to history in "${this.#path}": ${
          explainSqliteError((error as Error).message)
        }`,
        { cause: error },
      );
    }
    if (this.#erased) this.#checkpoint();
    return count;
  }

  /**
   * Runs `body`, one write, in the open deferred batch (beginning it if need be), or in a
   * transaction of its own when `grouped` (several statements that stand or fall together),
   * or alone. Counts it in the batch; on failure throws `describe(SQLite's message)`.
   */
  #write<T>(grouped: boolean, body: () => T, describe: (message: string) => string): T {
    const ownTransaction = !this.#deferCommit && grouped;
    try {
      if (this.#deferCommit && !this.#inTransaction) {
        this.#statements.begin.run();
        this.#inTransaction = true;
      }
      if (ownTransaction) this.#statements.begin.run();
      let result: T;
      try {
        result = body();
        if (ownTransaction) this.#statements.commit.run();
      } catch (error) {
        if (ownTransaction) this.#rollback();
        throw error;
      }
      if (this.#deferCommit) this.#uncommitted++;
      return result;
    } catch (error) {
      // Some errors (a full disk, I/O) make SQLite roll the whole transaction back: the
      // batch's earlier writes are gone too, and the next commit must say so.
      if (this.#inTransaction && !this.#db.isTransaction) {
        this.#inTransaction = false;
        this.#rolledBack += this.#uncommitted;
        this.#uncommitted = 0;
        this.#firstUncommitted = undefined;
      }
      throw new Error(describe((error as Error).message), { cause: error });
    }
  }

  /**
   * Empties the write-ahead log after a deletion: its older frames still hold the deleted
   * words. Best effort: a checkpoint that cannot finish (another process reading) leaves them
   * until SQLite reuses the log, and is not the deletion's failure.
   */
  #checkpoint(): void {
    this.#erased = false;
    try {
      this.#statements.checkpoint.get();
    } catch {
      // Told in the docs (docs/security.md): the words stay in the log a while longer.
    }
  }

  #searchStatement(walk: SearchWalk, ascending: boolean): StatementSync {
    const key = `${walk} ${ascending}`;
    let statement = this.#searches.get(key);
    if (statement === undefined) {
      statement = prepareSearch(this.#db, walk, ascending ? "" : "DESC");
      this.#searches.set(key, statement);
    }
    return statement;
  }

  #assertOpen(action: string): void {
    if (this.#closed) throw new Error(`Cannot ${action}: the history store is closed`);
  }

  #rollback(): void {
    try {
      this.#statements.rollback.run();
    } catch {
      // SQLite already rolled back (as it does after some errors).
    }
  }

  #scope(conversation: string | PrivateConversation, tagmsg: number, redacted: number): Scope {
    if (typeof conversation === "string") {
      checkName("query history", "channel", conversation);
      if (!isChannelName(conversation)) {
        throw new Error(
          `Cannot query history: "${conversation}" is not a channel name; pass { account, partner } for a private conversation`,
        );
      }
      return { conv: foldCase(conversation), tagmsg, redacted };
    }
    const { account, partner, since } = conversation;
    checkName("query history", "account", account);
    checkName("query history", "partner", partner);
    if (isChannelName(partner)) {
      throw new Error(`Cannot query history: the partner "${partner}" is a channel, not a nick`);
    }
    return {
      owner: foldCase(account),
      partner: foldCase(partner),
      floor: this.#floor(since),
      tagmsg,
      redacted,
    };
  }

  /** The exclusive lower `id` bound of what an account created at `since` may read. */
  #floor(since: number | undefined): number {
    return since === undefined ? 0 : this.#idAfterTime(checkTime(since) - 1);
  }

  /** The exclusive upper `id` bound of the messages before `anchor`; undefined if unknown. */
  #idBefore(scope: Scope, anchor: HistoryAnchor): number | undefined {
    if ("msgid" in anchor) return this.#msgidPosition(scope, anchor.msgid);
    return this.#idBeforeTime(checkTime(anchor.time));
  }

  /** The exclusive lower `id` bound of the messages after `anchor`; undefined if unknown. */
  #idAfter(scope: Scope, anchor: HistoryAnchor): number | undefined {
    if ("msgid" in anchor) return this.#msgidPosition(scope, anchor.msgid);
    return this.#idAfterTime(checkTime(anchor.time));
  }

  /** The exclusive upper `id` bound of the messages sent before `time`. */
  #idBeforeTime(time: number): number {
    const row = this.#statements.firstAtOrAfter.get(time);
    return row ? row.id as number : NO_UPPER_BOUND;
  }

  /** The exclusive lower `id` bound of the messages sent after `time`. */
  #idAfterTime(time: number): number {
    const row = this.#statements.lastAtOrBefore.get(time);
    return row ? row.id as number : 0;
  }

  /** The `id` of a message in `scope`; undefined if there is none with that msgid there. */
  #msgidPosition(scope: Scope, msgid: string): number | undefined {
    const row = this.#statements.byMsgid.get(msgid);
    if (row === undefined) return undefined;
    const id = row.id as number;
    if ("conv" in scope) return row.conv === scope.conv ? id : undefined;
    return this.#msgidOwned(scope, id) ? id : undefined;
  }

  /** Whether the private message `id` is on the account's side of the conversation. */
  #msgidOwned(scope: PrivateScope, id: number): boolean {
    return id > scope.floor &&
      this.#statements.isOwned.get(scope.owner, scope.partner, id) !== undefined;
  }

  #ascending(scope: Scope, lower: number, upper: number, limit: number): HistoryRecord[] {
    upper = Math.min(upper, this.#firstUncommitted ?? NO_UPPER_BOUND);
    const rows = "conv" in scope
      ? this.#statements.channelAscending.all(
        scope.conv,
        lower,
        upper,
        scope.tagmsg,
        scope.redacted,
        limit,
      )
      : this.#statements.privateAscending.all(
        scope.owner,
        scope.partner,
        Math.max(lower, scope.floor),
        upper,
        scope.tagmsg,
        scope.redacted,
        limit,
      );
    return rows.map(toRecord);
  }

  #descending(scope: Scope, lower: number, upper: number, limit: number): HistoryRecord[] {
    upper = Math.min(upper, this.#firstUncommitted ?? NO_UPPER_BOUND);
    const rows = "conv" in scope
      ? this.#statements.channelDescending.all(
        scope.conv,
        lower,
        upper,
        scope.tagmsg,
        scope.redacted,
        limit,
      )
      : this.#statements.privateDescending.all(
        scope.owner,
        scope.partner,
        Math.max(lower, scope.floor),
        upper,
        scope.tagmsg,
        scope.redacted,
        limit,
      );
    return rows.map(toRecord).reverse();
  }

  #around(scope: Scope, anchor: HistoryAnchor, limit: number): HistoryRecord[] {
    // Split at the anchor: a msgid anchor starts the later side, a time anchor falls
    // between the messages before it and those at or after it.
    const split = this.#idBefore(scope, anchor);
    if (split === undefined) return [];
    const earlier = this.#descending(scope, 0, split, limit);
    const later = this.#ascending(scope, split - 1, NO_UPPER_BOUND, limit);
    const takeEarlier = Math.min(
      earlier.length,
      Math.max(Math.floor(limit / 2), limit - later.length),
    );
    const takeLater = Math.min(later.length, limit - takeEarlier);
    return [...earlier.slice(earlier.length - takeEarlier), ...later.slice(0, takeLater)];
  }

  #between(
    scope: Scope,
    start: HistoryAnchor,
    end: HistoryAnchor,
    limit: number,
  ): HistoryRecord[] {
    const startAfter = this.#idAfter(scope, start);
    const startBefore = this.#idBefore(scope, start);
    const endAfter = this.#idAfter(scope, end);
    const endBefore = this.#idBefore(scope, end);
    if (
      startAfter === undefined || startBefore === undefined || endAfter === undefined ||
      endBefore === undefined
    ) return [];
    const forwards = "msgid" in start && "msgid" in end
      ? startAfter <= endAfter
      : this.#anchorTime(start) <= this.#anchorTime(end);
    return forwards
      ? this.#ascending(scope, startAfter, endBefore, limit)
      : this.#descending(scope, endAfter, startBefore, limit);
  }

  /** The anchor's time; a msgid anchor has been checked to exist. */
  #anchorTime(anchor: HistoryAnchor): number {
    if ("time" in anchor) return anchor.time;
    return this.#statements.byMsgid.get(anchor.msgid)!.time as number;
  }
}

function toRecord(row: Record<string, SQLOutputValue>): HistoryRecord {
  const record: HistoryRecord = {
    id: row.id as number,
    msgid: row.msgid as string,
    time: row.time as number,
    sender: row.sender as string,
    senderMask: row.sender_mask as string,
    target: row.target as string,
    command: row.command as HistoryRecord["command"],
    text: row.text as string,
  };
  if (row.tags !== null) record.clientTags = JSON.parse(row.tags as string);
  if (row.r_msgid !== null) {
    const redaction: Redaction = {
      msgid: row.r_msgid as string,
      time: row.r_time as number,
      source: row.r_source as string,
      reason: row.r_reason as string,
    };
    if (row.r_account !== null) redaction.account = row.r_account as string;
    record.redaction = redaction;
  }
  return record;
}

/**
 * Client-only tags as stored (a JSON object), or null for none.
 *
 * @throws Error on a tag that is not client-only, a NUL, or more than MAX_STORED_TAG_BYTES.
 */
function encodeTags(tags: Record<string, string> | undefined): string | null {
  if (tags === undefined) return null;
  const entries = Object.entries(tags);
  if (entries.length === 0) return null;
  let bytes = -1;
  for (const [name, value] of entries) {
    if (!name.startsWith("+")) {
      throw new Error(`Cannot append to history: the tag "${name}" is not client-only (+name)`);
    }
    checkNoNul("append to history", `tag ${name}`, `${name}${value}`);
    bytes += 1 + utf8.encode(name).length + (value === "" ? 0 : 1 + utf8.encode(value).length);
  }
  if (bytes > MAX_STORED_TAG_BYTES) {
    throw new Error(
      `Cannot append to history: the client-only tags take ${bytes} bytes, over ${MAX_STORED_TAG_BYTES}`,
    );
  }
  return JSON.stringify(tags);
}

const utf8 = new TextEncoder();

function checkName(action: string, what: string, value: string): void {
  if (typeof value !== "string" || value === "") {
    throw new Error(`Cannot ${action}: the ${what} is empty`);
  }
  if (value.includes(" ")) {
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
