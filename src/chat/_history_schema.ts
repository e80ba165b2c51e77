/**
 * The history database's schema, its migrations and its prepared statements: the SQL of
 * `HistoryStore` (`history.ts`), kept apart so the store reads as what it does with them.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";

/** The schema this code writes; `PRAGMA user_version` of a database it created. */
export const SCHEMA_VERSION = 4;
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
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
