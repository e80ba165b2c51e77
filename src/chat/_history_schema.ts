/**
 * The history database's schema, its migrations and its prepared statements: the SQL of
 * `HistoryStore` (`history.ts`), kept apart so the store reads as what it does with them.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";

/** The schema this code writes; `PRAGMA user_version` of a database it created. */
export const SCHEMA_VERSION = 3;
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
];

const COLUMNS = "id, msgid, time, sender, sender_mask, target, command, text, tags";
/** Keeps TAGMSGs out unless its parameter is 1 (only clients with message-tags take them). */
const TAGMSG_FILTER = "(? OR command <> 'TAGMSG')";
const PRIVATE_COLUMNS = COLUMNS.split(", ").map((column) => `m.${column}`).join(", ");

/** The prepared statements, prepared once per open store. */
export function prepareStatements(db: DatabaseSync) {
  // The private ranges walk private_index and fetch each message by its id: CROSS JOIN keeps
  // SQLite from starting at messages.
  const privateRange = (columns: string, order: "" | "DESC", limit: "?" | "1", filter = "1") =>
    db.prepare(
      `SELECT ${columns} FROM private_index p CROSS JOIN messages m ON m.id = p.id
       WHERE p.owner = ? AND p.partner = ? AND p.id > ? AND p.id < ? AND ${filter}
       ORDER BY p.id ${order} LIMIT ${limit}`,
    );
  const privateFilter = TAGMSG_FILTER.replace("command", "m.command");
  return {
    insert: db.prepare(
      `INSERT INTO messages (conv, msgid, time, sender, sender_mask, target, command, text, tags)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // OR IGNORE: a message to oneself has the same owner and partner twice.
    insertOwner: db.prepare(
      "INSERT OR IGNORE INTO private_index (owner, partner, id) VALUES (?, ?, ?)",
    ),
    byMsgid: db.prepare("SELECT id, conv, time FROM messages WHERE msgid = ?"),
    isOwned: db.prepare("SELECT 1 FROM private_index WHERE owner = ? AND partner = ? AND id = ?"),
    // ORDER BY time, id follows the index: SQLite ends every index with the rowid.
    firstAtOrAfter: db.prepare(
      "SELECT id FROM messages WHERE time >= ? ORDER BY time, id LIMIT 1",
    ),
    lastAtOrBefore: db.prepare(
      "SELECT id FROM messages WHERE time <= ? ORDER BY time DESC, id DESC LIMIT 1",
    ),
    channelAscending: db.prepare(
      `SELECT ${COLUMNS} FROM messages WHERE conv = ? AND id > ? AND id < ? AND ${TAGMSG_FILTER}
       ORDER BY id LIMIT ?`,
    ),
    channelDescending: db.prepare(
      `SELECT ${COLUMNS} FROM messages WHERE conv = ? AND id > ? AND id < ? AND ${TAGMSG_FILTER}
       ORDER BY id DESC LIMIT ?`,
    ),
    privateAscending: privateRange(PRIVATE_COLUMNS, "", "?", privateFilter),
    privateDescending: privateRange(PRIVATE_COLUMNS, "DESC", "?", privateFilter),
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
    prune: db.prepare("DELETE FROM messages WHERE time < ?"),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
