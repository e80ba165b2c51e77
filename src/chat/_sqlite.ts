/**
 * Opening the server's private SQLite files (history, accounts) the same way: the data
 * directory 0700, the file 0600, WAL, a bounded wait for another process's lock.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";

/** How long a second process waits for a lock before the open or write fails. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating if needed) `<dataDir>/<fileName>` in WAL mode.
 *
 * @param dataDir The data directory, created 0700 if missing.
 * @param fileName The database's file name.
 * @param what What the database holds, for error messages ("history", "accounts").
 * @returns The open database and its path.
 * @throws Error naming the directory or file and why it could not be opened.
 *
 * @example Open a private database
 * ```ts
 * import { openPrivateDatabase } from "./_sqlite.ts";
 * const dir = Deno.makeTempDirSync();
 * const { db, path } = openPrivateDatabase(dir, "notes.sqlite", "notes");
 * console.log(Deno.statSync(path).mode! & 0o777); // 384 (0600)
 * db.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function openPrivateDatabase(
  dataDir: string,
  fileName: string,
  what: string,
): { db: DatabaseSync; path: string } {
  if (dataDir === "") throw new Error(`Cannot open ${what}: the data directory name is empty`);
  try {
    Deno.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new Error(
      `Cannot create ${what} data directory "${dataDir}": ${(error as Error).message}`,
      { cause: error },
    );
  }
  const path = join(dataDir, fileName);
  let db: DatabaseSync | undefined;
  try {
    // Private data: create the file 0600 whatever the umask; SQLite gives its -wal and -shm
    // files the same mode. An empty file is a valid empty database.
    Deno.openSync(path, { create: true, write: true, mode: 0o600 }).close();
    db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
    db.exec("PRAGMA journal_mode = WAL");
    // In WAL mode a commit is in the WAL file (the OS page cache) when it returns, so
    // NORMAL survives kill -9 of this process; only a power cut or OS crash can lose the
    // last commits, which would need FULL (an fsync per write).
    db.exec("PRAGMA synchronous = NORMAL");
    return { db, path };
  } catch (error) {
    db?.close();
    throw new Error(
      `Cannot open ${what} database "${path}": ${explainSqliteError((error as Error).message)}`,
      { cause: error },
    );
  }
}

/**
 * Brings a database to schema `version` in one transaction: a new one (`user_version` 0) gets
 * `schema`; an older one runs the migration steps from its version up, `migrations[n - 1]`
 * taking version n to n + 1. A database newer than `version` is refused, and so is one this
 * code has no steps for; either way nothing is changed.
 *
 * @param db The open database.
 * @param path Its path, for the error message.
 * @param what What it holds ("history", "accounts").
 * @param schema SQL that creates the whole current schema.
 * @param version The schema version this code writes.
 * @param migrations SQL steps from version 1 up: `migrations[n - 1]` turns version n into
 *   n + 1, so there are `version - 1` of them. @default {[]}
 * @throws Error when the database was written by a newer shmooze, a step is missing, or a
 *   step fails (then the database keeps its old version and contents).
 *
 * @example Create a schema, then migrate it to version 2
 * ```ts
 * import assert from "node:assert/strict";
 * import { migrateSchema, openPrivateDatabase } from "./_sqlite.ts";
 * const dir = Deno.makeTempDirSync();
 * const { db, path } = openPrivateDatabase(dir, "notes.sqlite", "notes");
 * migrateSchema(db, path, "notes", "CREATE TABLE notes (text TEXT);", 1);
 * db.exec("INSERT INTO notes VALUES ('kept')");
 * migrateSchema(db, path, "notes", "CREATE TABLE notes (text TEXT, time INTEGER);", 2, [
 *   "ALTER TABLE notes ADD COLUMN time INTEGER;",
 * ]);
 * assert.equal(db.prepare("PRAGMA user_version").get()!.user_version, 2);
 * assert.deepEqual({ ...db.prepare("SELECT text, time FROM notes").get() }, {
 *   text: "kept",
 *   time: null,
 * });
 * db.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function migrateSchema(
  db: DatabaseSync,
  path: string,
  what: string,
  schema: string,
  version: number,
  migrations: readonly string[] = [],
): void {
  const userVersion = () => db.prepare("PRAGMA user_version").get()!.user_version as number;
  const found = userVersion();
  if (found > version) {
    throw new Error(
      `Cannot open ${what} database "${path}": it has schema version ${found}, newer than the ${version} this shmooze understands; upgrade shmooze or use another --data directory`,
    );
  }
  if (found === version) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    // Another process may have created or migrated the schema while this one waited.
    const current = userVersion();
    if (current === 0) {
      db.exec(schema);
    } else {
      for (let from = current; from < version; from++) {
        const step = migrations[from - 1];
        if (step === undefined) {
          throw new Error(
            `Cannot open ${what} database "${path}": this shmooze has no migration from schema version ${from} to ${
              from + 1
            }`,
          );
        }
        db.exec(step);
      }
    }
    // Inside the transaction: a failed step leaves the old version with the old contents.
    db.exec(`PRAGMA user_version = ${version}`);
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

/**
 * SQLite's message, with the likely cause when the database stayed locked.
 *
 * @param message SQLite's error message.
 * @returns The message, explained.
 *
 * @example
 * ```ts
 * import { explainSqliteError } from "./_sqlite.ts";
 * console.log(explainSqliteError("database is locked"));
 * // "database is locked (another process kept it locked for 5000 ms)"
 * ```
 */
export function explainSqliteError(message: string): string {
  return /locked|busy/i.test(message)
    ? `${message} (another process kept it locked for ${BUSY_TIMEOUT_MS} ms)`
    : message;
}
