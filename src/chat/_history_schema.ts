/**
 * The history database's schema, its migrations and its prepared statements: the SQL of
 * `HistoryStore` (`history.ts`), kept apart so the store reads as what it does with them.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";

/** The schema this code writes; `PRAGMA user_version` of a database it created. */
export const SCHEMA_VERSION = 5;
/**
 * The `conv` of every private message. No channel key is empty, so a channel query never
 * finds a private message; only its owners' `private_index` rows lead to it.
 */
export const PRIVATE_CONV = "";

/**
 * Who may read a private message: one row per owning account (folded), with the other party's
 * folded nick at send time. `(owner, partner, id)` is one account's side of one conversation
 * in order; `id` finds the rows of a message being pruned.
 */
const PRIVATE_INDEX = `
CREATE TABLE private_index (
  owner   TEXT    NOT NULL,
  partner TEXT    NOT NULL,
  id      INTEGER NOT NULL,
  PRIMARY KEY (owner, partner, id)
) WITHOUT ROWID;
CREATE INDEX private_index_id ON private_index (id);
`;

/**
 * Version 3's column: added the same way to a new database as to a migrated one, so both have
 * the very same schema.
 */
const ADD_TAGS = "ALTER TABLE messages ADD COLUMN tags TEXT;";

/**
 * Version 4 (deleted messages, IRCv3 `draft/message-redaction`): who sent each message, and
 * one row per deleted message. `account` is the sender's account at send time (NULL for a
 * guest, and for every message stored before version 4): an account deletes its own messages
 * from any device, after any reconnection. A `redactions` row is the REDACT that deleted the
 * message `id` (its own `msgid`, time, source, the redactor's account and the reason, "" for
 * none); the message keeps its place, sender and time, and loses its text and tags in the same
 * transaction. A step of its own that applies on top of any later schema (the search index's
 * included): it only adds. A search index leaves deleted messages out by joining
 * `redactions (id)` to `messages.id`, or by indexing `messages.text`, which is "" once deleted.
 */
const ADD_REDACTIONS = `
ALTER TABLE messages ADD COLUMN account TEXT;
CREATE TABLE IF NOT EXISTS redactions (
  id      INTEGER PRIMARY KEY,
  msgid   TEXT    NOT NULL UNIQUE,
  time    INTEGER NOT NULL,
  source  TEXT    NOT NULL,
  account TEXT,
  reason  TEXT    NOT NULL
);
`;

/**
 * Version 5: the full-text index and the channel presence search needs (see `search`).
 *
 * `messages_fts` is an FTS5 index over `messages.text` with external content (the text is
 * stored once, in `messages`; the index holds only its tokens), kept in step by triggers, so
 * every path that inserts, prunes or rewrites a message keeps it right, in the same
 * transaction. A reaction (TAGMSG) has empty text, so it has no tokens. 'secure-delete' makes
 * a deleted or rewritten message's words leave the index at once, not at the next merge of
 * its segments: what retention prunes or a deletion erases is gone from the file too. The tokenizer is
 * unicode61 with diacritics removed: words split at every character that is not a letter,
 * number or mark in any script, case folded, "café" found by "cafe" — no stemming (Porter is
 * English only, and a chat mixes languages); scripts written without spaces (Chinese,
 * Japanese, Thai) are not split into words, so only whole runs match.
 *
 * `channel_presence` holds when each account was in each channel, as message ids: the
 * account was in `conv` for the messages with `after_id < id <= until_id` (`until_id` NULL
 * while it is in it). Search reads a channel message only inside one of them. Nobody's
 * presence is known for what was stored before version 5: `search_origin` holds the last id of
 * those messages (0 in a new database), and they are searched for the channel's members of the
 * day, as CHATHISTORY serves them.
 *
 * It only adds, and each statement may run twice (IF NOT EXISTS; 'rebuild' is idempotent), so
 * the step applies on top of any other step that only adds (the redaction table's): whoever
 * merges the two orders them freely.
 */
const SEARCH_INDEX = `
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
  text,
  content = 'messages',
  content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 1);
CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF text ON messages BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TABLE IF NOT EXISTS channel_presence (
  account  TEXT    NOT NULL,
  conv     TEXT    NOT NULL,
  after_id INTEGER NOT NULL,
  until_id INTEGER
);
CREATE INDEX IF NOT EXISTS channel_presence_account ON channel_presence (account, conv);
CREATE TABLE IF NOT EXISTS search_origin (until_id INTEGER NOT NULL);
INSERT INTO search_origin (until_id) SELECT coalesce(max(id), 0) FROM messages
  WHERE NOT EXISTS (SELECT 1 FROM search_origin);
`;

export const SCHEMA = `
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
${ADD_TAGS}
CREATE INDEX messages_time ON messages (time);
${PRIVATE_INDEX}
${ADD_REDACTIONS}
${SEARCH_INDEX}
`;

/**
 * `migrations[n - 1]` turns schema version n into n + 1 (see `migrateSchema`).
 *
 * `tags` (version 3) holds a message's client-only tags as a JSON object (`{"+draft/reply":
 * "msgid"}`), NULL for none; `command` is PRIVMSG, NOTICE or TAGMSG (a stored reaction, whose
 * `text` is empty).
 *
 * 1 → 2: private history belongs to accounts. Version 1 keyed a private conversation by the
 * two nicks (two nicks joined by a space, which no channel name has) and served it to whoever
 * held one of them with that account name; it knew no accounts, so its private messages get
 * no owner: nobody can read them any more, and retention prunes them as before. Timestamp
 * anchors now go through the `time` index, so `(conv, time)` goes.
 */
export const MIGRATIONS = [
  `${PRIVATE_INDEX}
UPDATE messages SET conv = '${PRIVATE_CONV}' WHERE instr(conv, ' ') > 0;
DROP TABLE private_conversations;
DROP INDEX messages_conv_time;
`,
  // 2 → 3: client-only tags are stored with their message, and reactions (TAGMSG) are stored.
  ADD_TAGS,
  // 3 → 4: senders' accounts and deleted messages (see ADD_REDACTIONS).
  ADD_REDACTIONS,
  // 4 → 5: message search. 'rebuild' indexes every stored message in this one transaction
  // (see docs/benchmarks.md for what it costs on a million).
  `${SEARCH_INDEX}
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
`,
];

const MESSAGE_COLUMNS = "id, msgid, time, sender, sender_mask, target, command, text, tags"
  .split(", ").map((column) => `m.${column}`).join(", ");
/** A message's columns and its redaction's, all NULL for a message nobody deleted. */
const COLUMNS = `${MESSAGE_COLUMNS}, r.msgid AS r_msgid, r.time AS r_time,
  r.source AS r_source, r.account AS r_account, r.reason AS r_reason`;
/** Keeps TAGMSGs out unless its parameter is 1 (only clients with message-tags take them). */
const TAGMSG_FILTER = "(? OR m.command <> 'TAGMSG')";
/**
 * Keeps deleted messages out unless its parameter is 1 (clients with draft/message-redaction
 * take them, each followed by its REDACT).
 */
const REDACTED_FILTER = "(? OR r.id IS NULL)";
const FILTERS = `${TAGMSG_FILTER} AND ${REDACTED_FILTER}`;

/** The prepared statements, prepared once per open store. */
export function prepareStatements(db: DatabaseSync) {
  // The private ranges walk private_index and fetch each message by its id: CROSS JOIN keeps
  // SQLite from starting at messages.
  const privateRange = (columns: string, order: "" | "DESC", limit: "?" | "1", filter = "1") =>
    db.prepare(
      `SELECT ${columns} FROM private_index p CROSS JOIN messages m ON m.id = p.id
       LEFT JOIN redactions r ON r.id = m.id
       WHERE p.owner = ? AND p.partner = ? AND p.id > ? AND p.id < ? AND ${filter}
       ORDER BY p.id ${order} LIMIT ${limit}`,
    );
  const channelRange = (order: "" | "DESC") =>
    db.prepare(
      `SELECT ${COLUMNS} FROM messages m LEFT JOIN redactions r ON r.id = m.id
       WHERE m.conv = ? AND m.id > ? AND m.id < ? AND ${FILTERS}
       ORDER BY m.id ${order} LIMIT ?`,
    );
  return {
    insert: db.prepare(
      `INSERT INTO messages
         (conv, msgid, time, sender, sender_mask, target, command, text, tags, account)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // OR IGNORE: a message to oneself has the same owner and partner twice.
    insertOwner: db.prepare(
      "INSERT OR IGNORE INTO private_index (owner, partner, id) VALUES (?, ?, ?)",
    ),
    byMsgid: db.prepare("SELECT id, conv, time FROM messages WHERE msgid = ?"),
    isOwned: db.prepare("SELECT 1 FROM private_index WHERE owner = ? AND partner = ? AND id = ?"),
    locate: db.prepare(
      `SELECT m.id, m.conv, m.time, m.sender, m.target, m.command, m.account, r.id IS NOT NULL AS redacted
       FROM messages m LEFT JOIN redactions r ON r.id = m.id WHERE m.msgid = ?`,
    ),
    insertRedaction: db.prepare(
      "INSERT INTO redactions (id, msgid, time, source, account, reason) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    // The words go in the redaction's own transaction: nothing but the row's place is left.
    erase: db.prepare("UPDATE messages SET text = '', tags = NULL WHERE id = ?"),
    // Moves every committed page into the database file and empties the WAL, whose older
    // frames still hold a deleted message's words (secure_delete zeroes them in the file).
    checkpoint: db.prepare("PRAGMA wal_checkpoint(TRUNCATE)"),
    // ORDER BY time, id follows the index: SQLite ends every index with the rowid.
    firstAtOrAfter: db.prepare(
      "SELECT id FROM messages WHERE time >= ? ORDER BY time, id LIMIT 1",
    ),
    lastAtOrBefore: db.prepare(
      "SELECT id FROM messages WHERE time <= ? ORDER BY time DESC, id DESC LIMIT 1",
    ),
    channelAscending: channelRange(""),
    channelDescending: channelRange("DESC"),
    privateAscending: privateRange(COLUMNS, "", "?", FILTERS),
    privateDescending: privateRange(COLUMNS, "DESC", "?", FILTERS),
    // TARGETS reads one message per conversation: a constant LIMIT and three columns make
    // that several times faster than the general range (measured with bench/history.ts).
    channelLatest: db.prepare(
      `SELECT time, sender, target FROM messages WHERE conv = ? AND id > ? AND id < ?
       ORDER BY id DESC LIMIT 1`,
    ),
    privateLatest: privateRange("m.time, m.sender, m.target", "DESC", "1"),
    // An account's partners, one index seek each (a skip scan): DISTINCT would read every
    // row the account owns.
    partners: db.prepare(
      `WITH RECURSIVE next(partner) AS (
         SELECT min(partner) FROM private_index WHERE owner = ?1
         UNION ALL
         SELECT (SELECT min(partner) FROM private_index WHERE owner = ?1 AND partner > next.partner)
         FROM next WHERE next.partner IS NOT NULL
       )
       SELECT partner FROM next WHERE partner IS NOT NULL`,
    ),
    begin: db.prepare("BEGIN"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    // Owners first: a crash between the two leaves messages nobody can read, never an owner
    // row pointing at a later message.
    pruneOwners: db.prepare(
      "DELETE FROM private_index WHERE id IN (SELECT id FROM messages WHERE time < ?)",
    ),
    pruneRedactions: db.prepare(
      "DELETE FROM redactions WHERE id IN (SELECT id FROM messages WHERE time < ?)",
    ),
    prune: db.prepare("DELETE FROM messages WHERE time < ?"),
    // Retention deletes in bulk, where 'secure-delete' costs 25 times as much (50,000
    // messages: 8.4 s instead of 0.34 s), so it is off while pruning. Literals: a bound 0 or
    // 1 reaches FTS5 as a real number, which it refuses.
    secureDeleteOff: db.prepare(
      "INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 0)",
    ),
    secureDeleteOn: db.prepare(
      "INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 1)",
    ),
    // A presence that ended before the oldest message left can no longer show anything.
    prunePresence: db.prepare(
      `DELETE FROM channel_presence WHERE until_id IS NOT NULL
       AND until_id < coalesce((SELECT min(id) FROM messages), ${Number.MAX_SAFE_INTEGER})`,
    ),
    lastId: db.prepare("SELECT coalesce(max(id), 0) AS id FROM messages"),
    byId: db.prepare(
      `SELECT ${COLUMNS} FROM messages m LEFT JOIN redactions r ON r.id = m.id WHERE m.id = ?`,
    ),
    searchOrigin: db.prepare("SELECT until_id FROM search_origin"),
    openPresence: db.prepare(
      "INSERT INTO channel_presence (account, conv, after_id) VALUES (?, ?, ?)",
    ),
    closePresence: db.prepare(
      `UPDATE channel_presence SET until_id = ?
       WHERE account = ? AND conv = ? AND until_id IS NULL`,
    ),
    closeEveryPresence: db.prepare(
      "UPDATE channel_presence SET until_id = ? WHERE until_id IS NULL",
    ),
    presenceOf: db.prepare(
      `SELECT conv, after_id, until_id FROM channel_presence
       WHERE account = ? AND (until_id IS NULL OR until_id > ?)`,
    ),
  };
}

/** How search walks the candidates: through the full-text index, or every message. */
export type SearchWalk = "text" | "one-channel" | "all";

/**
 * The name of the SQL function a search's statement calls to know whether its time is up:
 * 1 while it may go on, 0 after (see `prepareSearch`).
 */
export const SEARCH_CLOCK = "shmooze_search_clock";

/**
 * A search's candidate messages, newest or oldest first: each one's id, conv, sender and
 * whether the account `?1` owns it (a private message, with partner `?2` when not NULL).
 * Parameters: ?1 owner, ?2 partner, ?3 and ?4 the exclusive id bounds, ?5 the JSON array of
 * the convs worth reading, ?6 the FTS5 query (`text`) or the one conv (`one-channel`). The
 * caller decides what the reader may see (presence intervals) and stops when it has enough.
 *
 * Rows of other convs are skipped inside SQLite, so a reader who may see few of the matches
 * could keep one step walking the whole index; but once {@link SEARCH_CLOCK} says the time is
 * up every row comes out, and the caller, seeing its clock run out, stops. (An SQL function
 * that throws to interrupt the statement would be simpler, but it crashes Deno 2.9.6; and
 * walking in slices of ids costs a whole doclist read per slice.)
 *
 * Deleted (redacted) messages are never found: deleting one empties its text (which also
 * takes its words out of the index, by the update trigger), and `m.text <> ''` skips it; no
 * PRIVMSG or NOTICE is stored with empty text (IRC refuses one).
 */
export function prepareSearch(db: DatabaseSync, walk: SearchWalk, order: "" | "DESC") {
  const columns = `m.id, m.conv, m.sender, (m.conv = '${PRIVATE_CONV}' AND EXISTS (
    SELECT 1 FROM private_index p
    WHERE p.id = m.id AND p.owner = ?1 AND (?2 IS NULL OR p.partner = ?2))) AS owned`;
  const convs = `(m.conv IN (SELECT value FROM json_each(?5)) OR ${SEARCH_CLOCK}() = 0)`;
  if (walk === "text") {
    // CROSS JOIN: the index leads, in rowid order, so the first matches end the walk.
    return db.prepare(
      `SELECT ${columns} FROM messages_fts f CROSS JOIN messages m ON m.id = f.rowid
       WHERE messages_fts MATCH ?6 AND f.rowid > ?3 AND f.rowid < ?4
       AND m.command <> 'TAGMSG' AND m.text <> '' AND ${convs}
       ORDER BY f.rowid ${order}`,
    );
  }
  // One conv walks its (conv, id) index; several walk the ids (the unary + keeps SQLite
  // from reading every message of those convs through the conv index and sorting them).
  const where = walk === "one-channel"
    ? `m.conv = ?6 AND ${convs}`
    : `?6 IS NULL AND ${convs.replace("(m.conv IN", "(+m.conv IN")}`;
  return db.prepare(
    `SELECT ${columns} FROM messages m
     WHERE ${where} AND m.id > ?3 AND m.id < ?4 AND m.command <> 'TAGMSG' AND m.text <> ''
     ORDER BY m.id ${order}`,
  );
}

export type Statements = ReturnType<typeof prepareStatements>;
