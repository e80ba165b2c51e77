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
 * SQLite's message, with the likely cause when the database stayed locked.
 *
 * @param message SQLite's error message.
 * @returns The message, explained.
 */
export function explainSqliteError(message: string): string {
  return /locked|busy/i.test(message)
    ? `${message} (another process kept it locked for ${BUSY_TIMEOUT_MS} ms)`
    : message;
}
