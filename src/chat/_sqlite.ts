/**
 * Opening the server's private SQLite files (history, accounts) the same way: the data
 * directory 0700 and ours, the files 0600 and ours, WAL, a bounded wait for another
 * process's lock.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { DataDirectoryError } from "./data_directory.ts";

const log = getLogger(["shmooze", "data"]);

/**
 * How long a second process waits for a lock before the open or write fails.
 *
 * @example Every private database waits this long for a lock
 * ```ts
 * import assert from "node:assert/strict";
 * import { BUSY_TIMEOUT_MS, openPrivateDatabase } from "./_sqlite.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const { db } = openPrivateDatabase(dir, "notes.sqlite", "notes");
 * assert.equal(db.prepare("PRAGMA busy_timeout").get()!.timeout, BUSY_TIMEOUT_MS);
 * db.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating if needed) `<dataDir>/<fileName>` in WAL mode, after making sure nobody
 * else can read or change it: the data directory, the database and its `-wal` and `-shm`
 * files must belong to this user (else the open is refused), and lose any group or other
 * access they have (the change is logged as a warning). Windows has no such modes: there
 * the check is skipped, and the user's own profile directory (the default) protects them.
 *
 * @param dataDir The data directory, created 0700 if missing.
 * @param fileName The database's file name.
 * @param what What the database holds, for error messages ("history", "accounts").
 * @returns The open database and its path.
 * @throws Error naming the directory or file, why it cannot be used, and what to do.
 *
 * @example Open a private database: WAL, the file 0600, a missing directory made 0700
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
import { DataDirectoryError } from "./data_directory.ts";
 * import { openPrivateDatabase } from "./_sqlite.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const dataDir = join(dir, "data");
 * const { db, path } = openPrivateDatabase(dataDir, "notes.sqlite", "notes");
 * assert.equal(path, join(dataDir, "notes.sqlite"));
 * assert.equal(db.prepare("PRAGMA journal_mode").get()!.journal_mode, "wal");
 * if (Deno.build.os !== "windows") {
 *   assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
 *   assert.equal(Deno.statSync(dataDir).mode! & 0o777, 0o700);
 * }
 * db.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function openPrivateDatabase(
  dataDir: string,
  fileName: string,
  what: string,
): { db: DatabaseSync; path: string } {
  if (dataDir === "") {
    throw new DataDirectoryError(
      "not-writable",
      dataDir,
      `Cannot open ${what}: the data directory name is empty`,
    );
  }
  const dirWhat = `${what} data directory`;
  createDataDir(dataDir, dirWhat);
  makePrivate(dataDir, dirWhat);
  const path = join(dataDir, fileName);
  for (const file of [path, `${path}-wal`, `${path}-shm`]) makePrivate(file, `${what} database`);
  try {
    // Private data: create the file 0600 whatever the umask; SQLite gives its -wal and -shm
    // files the same mode. An empty file is a valid empty database.
    Deno.openSync(path, { create: true, write: true, mode: 0o600 }).close();
  } catch (error) {
    throw new DataDirectoryError(
      "not-writable",
      path,
      `Cannot open ${what} database "${path}": ${(error as Error).message}`,
      { cause: error },
    );
  }
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
    db.exec("PRAGMA journal_mode = WAL");
    // In WAL mode a commit is in the WAL file (the OS page cache) when it returns, so
    // NORMAL survives kill -9 of this process; only a power cut or OS crash can lose the
    // last commits, which would need FULL (an fsync per write).
    db.exec("PRAGMA synchronous = NORMAL");
    return { db, path };
  } catch (error) {
    db?.close();
    throw new DataDirectoryError(
      "unusable",
      path,
      `Cannot open ${what} database "${path}": ${explainSqliteError((error as Error).message)}`,
      { cause: error },
    );
  }
}

/**
 * Makes (or checks) a directory for private files, as the data directory itself is made:
 * 0700 and ours, group and other access taken away from one that has it.
 *
 * @param path The directory.
 * @param what What it holds, for error messages ("uploads").
 * @throws Error naming the directory, why it cannot be used, and what to do.
 *
 * @example A directory for uploads in the data directory
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { makePrivateDirectory } from "./_sqlite.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * makePrivateDirectory(join(dir, "files"), "uploads");
 * if (Deno.build.os !== "windows") {
 *   assert.equal(Deno.statSync(join(dir, "files")).mode! & 0o777, 0o700);
 * }
 * Deno.writeTextFileSync(join(dir, "plain"), "");
 * assert.throws(() => makePrivateDirectory(join(dir, "plain"), "uploads"), /not a directory/);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function makePrivateDirectory(path: string, what: string): void {
  createDataDir(path, `${what} directory`);
  makePrivate(path, `${what} directory`);
}

/** Creates the data directory 0700 (and its missing parents), or checks it is a directory. */
function createDataDir(dataDir: string, what: string): void {
  let info: Deno.FileInfo | undefined;
  try {
    info = Deno.statSync(dataDir);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw statFailure(error, dataDir, what);
  }
  if (info?.isDirectory) return;
  if (info !== undefined) {
    throw new DataDirectoryError(
      "not-a-directory",
      dataDir,
      `Cannot use ${what} "${dataDir}": it is a file, not a directory`,
    );
  }
  try {
    Deno.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new DataDirectoryError(
      "not-writable",
      dataDir,
      `Cannot create ${what} "${dataDir}": ${(error as Error).message}`,
      { cause: error },
    );
  }
}

function statFailure(error: unknown, path: string, what: string): Error {
  return new DataDirectoryError(
    "not-writable",
    path,
    `Cannot use ${what} "${path}": ${(error as Error).message}`,
    { cause: error },
  );
}

/**
 * Refuses a path that belongs to another user, and takes group and other access away from
 * one of ours. Another user who owns the directory or a database can read every message
 * and rewrite accounts; group or other access would let other users read them.
 */
function makePrivate(path: string, what: string): void {
  if (Deno.build.os === "windows") return;
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw statFailure(error, path, what);
  }
  const mode = info.mode! & 0o777;
  const uid = Deno.uid()!;
  if (info.uid !== uid) {
    throw new DataDirectoryError(
      "not-owned",
      path,
      `Cannot use ${what} "${path}": it belongs to uid ${info.uid} (mode ${
        octal(mode)
      }), not to this user (uid ${uid}), so that user can read and change it; chown it to uid ${uid}`,
    );
  }
  if ((mode & 0o077) === 0) return;
  const tightened = mode & 0o700;
  try {
    Deno.chmodSync(path, tightened);
  } catch (error) {
    throw new DataDirectoryError(
      "too-open",
      path,
      `Cannot use ${what} "${path}": it is open to other users (mode ${octal(mode)}) and chmod ${
        octal(tightened)
      } failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
  // The path goes in as a property: a brace in it would read as a placeholder.
  log.warn(
    `Tightened the ${what} {path}: it was open to other users (mode ${octal(mode)}), now ${
      octal(tightened)
    }`,
    { path },
  );
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

/**
 * Runs `body` in one write transaction (`BEGIN IMMEDIATE`): all of it is committed, or, when
 * it throws, none of it (rolled back, unless SQLite already did, as after a full disk), and the
 * error is thrown again.
 *
 * @param db The database.
 * @param body The writes.
 * @throws What `body` or the commit throws.
 *
 * @example A body that throws leaves nothing written
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseSync } from "node:sqlite";
 * import { inTransaction } from "./_sqlite.ts";
 *
 * const db = new DatabaseSync(":memory:");
 * db.exec("CREATE TABLE t (x INTEGER)");
 * inTransaction(db, () => db.exec("INSERT INTO t VALUES (1)"));
 * assert.throws(() =>
 *   inTransaction(db, () => {
 *     db.exec("INSERT INTO t VALUES (2)");
 *     throw new Error("no");
 *   }), /no/);
 * assert.deepEqual(db.prepare("SELECT x FROM t").all().map((row) => row.x), [1]);
 * db.close();
 * ```
 */
export function inTransaction(db: DatabaseSync, body: () => void): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    body();
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
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
 *
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
 * // An older shmooze refuses the newer database and changes nothing.
 * assert.throws(
 *   () => migrateSchema(db, path, "notes", "CREATE TABLE notes (text TEXT);", 1),
 *   /has schema version 2, newer than the 1 this shmooze understands/,
 * );
 * assert.equal(db.prepare("PRAGMA user_version").get()!.user_version, 2);
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
    throw new DataDirectoryError(
      "newer-schema",
      path,
      `Cannot open ${what} database "${path}": it has schema version ${found}, newer than the ${version} this shmooze understands; upgrade shmooze`,
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
 * @example A lock is explained; other messages pass unchanged
 * ```ts
 * import assert from "node:assert/strict";
 * import { explainSqliteError } from "./_sqlite.ts";
 *
 * assert.equal(
 *   explainSqliteError("database is locked"),
 *   "database is locked (another process kept it locked for 5000 ms)",
 * );
 * assert.equal(explainSqliteError("disk I/O error"), "disk I/O error");
 * ```
 */
export function explainSqliteError(message: string): string {
  return /locked|busy/i.test(message)
    ? `${message} (another process kept it locked for ${BUSY_TIMEOUT_MS} ms)`
    : message;
}
