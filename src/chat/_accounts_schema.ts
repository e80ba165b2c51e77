/**
 * The accounts database's schema and its migrations (`<dataDir>/accounts.sqlite`): the
 * accounts themselves (`accounts.ts`), and what belongs to an account besides its password —
 * always-on presence and its channels (`always_on.ts`), read markers (`read_markers.ts`) and
 * session tokens (`session_tokens.ts`). Every account column is the account's folded name,
 * the `accounts` table's key.
 *
 * @module
 */

/** The schema this code writes; `PRAGMA user_version` of a database it created. */
export const SCHEMA_VERSION = 2;

/** What version 2 added, shared by the schema and the migration from version 1. */
const ACCOUNT_STATE = `
CREATE TABLE always_on (
  account     TEXT PRIMARY KEY,
  detached_at INTEGER
) WITHOUT ROWID;
CREATE TABLE always_on_channels (
  account TEXT NOT NULL,
  channel TEXT NOT NULL,
  name    TEXT NOT NULL,
  PRIMARY KEY (account, channel)
) WITHOUT ROWID;
CREATE TABLE read_markers (
  account TEXT    NOT NULL,
  target  TEXT    NOT NULL,
  time    INTEGER NOT NULL,
  PRIMARY KEY (account, target)
) WITHOUT ROWID;
CREATE TABLE session_tokens (
  hash         BLOB    PRIMARY KEY,
  account      TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX session_tokens_account ON session_tokens (account, created_at);
CREATE INDEX session_tokens_last_used ON session_tokens (last_used_at);
`;

/** The whole current schema, for a new database. */
export const SCHEMA = `
CREATE TABLE accounts (
  key        TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  hash       TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
${ACCOUNT_STATE}
`;

/**
 * `MIGRATIONS[n - 1]` turns schema version n into n + 1 (see `migrateSchema`).
 *
 * 1 → 2: always-on accounts and their channels, read markers and session tokens (new tables;
 * nothing existing changes).
 */
export const MIGRATIONS: readonly string[] = [ACCOUNT_STATE];
