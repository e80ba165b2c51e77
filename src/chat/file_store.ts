/**
 * Uploaded files: their bytes in `<dataDir>/files/` (directory 0700, files 0600), each under
 * a random name, and what is known of them — owner account, cleaned original name, sniffed
 * type, size, time — in `<dataDir>/files.sqlite` (0600, WAL) next to the history.
 *
 * An upload is written to `<id>.partial` and renamed to `<id>` only once every byte announced
 * has arrived, then its row is inserted: a file without a row is never served, so a server
 * killed mid-upload (or mid-commit) leaves at worst a file nobody can reach, which
 * {@link FileStore.prune} removes once it is older than any upload can take. Limits are
 * checked before a byte is written, from the announced size: one file's size, uploads per
 * account per hour, bytes per account, bytes on the whole server (uploads in progress count
 * with what they announced).
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { makePrivateDirectory, migrateSchema, openPrivateDatabase } from "./_sqlite.ts";
import { foldCase } from "./casemap.ts";
import { type FileType, FileTypeSniffer, isFileType, nameForType } from "./file_type.ts";

/** An uploaded file as the store knows it. */
export interface StoredFile {
  /** Its random id (24 characters of base64url, 144 bits), also its name on disk. */
  id: string;
  /** The account that uploaded it, as registered. */
  owner: string;
  /** Its name, cleaned by {@link safeFileName} and given an extension that fits its type. */
  name: string;
  /** What its bytes are. */
  type: FileType;
  /** Its size in bytes. */
  size: number;
  /** When it was stored, ms since the epoch. */
  createdAt: number;
}

/** Options for {@link FileStore.open}. */
export interface FileStoreOptions {
  /** How long a file is kept, in ms (the history's retention); 0 keeps files forever. @default {2592000000} (30 days) */
  retentionMs?: number;
  /** The largest file accepted, in bytes. @default {10485760} (10 MiB) */
  maxFileBytes?: number;
  /** Uploads one account may make in any hour. @default {60} */
  uploadsPerHour?: number;
  /** Bytes one account may have stored at once. @default {268435456} (256 MiB) */
  quotaBytes?: number;
  /** Bytes all accounts together may have stored at once. @default {10737418240} (10 GiB) */
  totalBytes?: number;
  /**
   * A partial file, or a file with no row, this long untouched is an abandoned upload and is
   * removed by {@link FileStore.prune}; it must be longer than any upload may take.
   * @default {3600000} (1 hour)
   */
  abandonedAfterMs?: number;
}

/** Why an upload was refused before it began. */
export type UploadRefusalReason = "too-large" | "rate" | "quota" | "full";

/** The outcome of {@link FileStore.begin}. */
export type UploadStart =
  | { ok: true; upload: Upload }
  | { ok: false; reason: UploadRefusalReason; message: string; retryAfterMs: number };

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
const MiB = 1024 * 1024;
const ID_BYTES = 18;
/** An id as {@link FileStore} makes them: 18 random bytes in base64url. */
const ID = /^[A-Za-z0-9_-]{24}$/;
const PARTIAL = ".partial";
/**
 * The longest cleaned name, in characters (code points): with a type's extension it stays far
 * under the 255 bytes file systems allow, and readable in a URL.
 */
const MAX_NAME_LENGTH = 100;

const SCHEMA_VERSION = 1;
const SCHEMA = `
CREATE TABLE files (
  id         TEXT PRIMARY KEY,
  owner_key  TEXT NOT NULL,
  owner      TEXT NOT NULL,
  name       TEXT NOT NULL,
  type       TEXT NOT NULL,
  size       INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX files_by_owner ON files (owner_key, created_at);
CREATE INDEX files_by_time ON files (created_at);
`;

/**
 * Whether a string is a file id as the store makes them. Anything else can be refused before
 * the database or the file system is asked.
 *
 * @param id The string, from a URL.
 * @returns True for 24 characters of base64url.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isFileId } from "./file_store.ts";
 *
 * assert.ok(isFileId("Zm9vYmFyYmF6cXV4cXV1eHh4"));
 * assert.ok(!isFileId("../../../../etc/passwd"));
 * assert.ok(!isFileId("Zm9vYmFyYmF6cXV4cXV1eHh4.partial"));
 * ```
 */
export function isFileId(id: string): boolean {
  return ID.test(id);
}

/**
 * A file name fit to store and show: its last path segment only, Unicode-normalised (NFC),
 * without control or invisible formatting characters (bidirectional overrides that would make
 * `gpj.exe` read as `exe.jpg`), with `<>:"|?*` as `_`, whitespace runs as one space, no dot
 * or space at either end (no hidden files), at most 100 characters with the extension kept;
 * `file` when nothing is left.
 *
 * @param name The name the client gave, or undefined.
 * @returns The cleaned name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { safeFileName } from "./file_store.ts";
 *
 * assert.equal(safeFileName("../../etc/passwd"), "passwd");
 * assert.equal(safeFileName("C:\\Users\\ann\\cat.png"), "cat.png");
 * assert.equal(safeFileName("invoice\u202Egpj.exe"), "invoicegpj.exe");
 * assert.equal(safeFileName(" .htaccess "), "htaccess");
 * assert.equal(safeFileName("a\0b\r\nc?.txt"), "abc_.txt");
 * assert.equal(safeFileName(".."), "file");
 * assert.equal(safeFileName(undefined), "file");
 * assert.equal(safeFileName(`${"x".repeat(300)}.png`).length, 100);
 * assert.ok(safeFileName(`${"x".repeat(300)}.png`).endsWith("x.png"));
 * ```
 */
export function safeFileName(name: string | undefined): string {
  let text = (name ?? "").normalize("NFC");
  text = text.slice(Math.max(text.lastIndexOf("/"), text.lastIndexOf("\\")) + 1);
  text = text.replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cs}\u2028\u2029]/gu, "")
    .replace(/[<>:"|?*]/g, "_")
    .replace(/\s+/gu, " ")
    .replace(/^[.\s]+/u, "")
    .replace(/[.\s]+$/u, "");
  const chars = [...text];
  if (chars.length > MAX_NAME_LENGTH) {
    const dot = text.lastIndexOf(".");
    const extension = dot > 0 && text.length - dot <= 16 ? [...text.slice(dot)] : [];
    text = [...chars.slice(0, MAX_NAME_LENGTH - extension.length), ...extension].join("");
  }
  return text === "" ? "file" : text;
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(ID_BYTES));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

/** A size for people: bytes below a KiB, else KiB or MiB with one decimal. */
function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const [value, unit] = bytes < MiB ? [bytes / 1024, "KiB"] : [bytes / MiB, "MiB"];
  return `${Math.round(value * 10) / 10} ${unit}`;
}

/** What one account has in flight: uploads begun and not yet committed or aborted. */
interface Pending {
  count: number;
  bytes: number;
}

/**
 * The uploaded files of one server.
 *
 * @example Store a file for ann, find it, read it back
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileStore } from "./file_store.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const files = FileStore.open(dir);
 * const bytes = new TextEncoder().encode("hello\n");
 * const start = await files.begin("ann", bytes.length);
 * assert.ok(start.ok);
 * await start.upload.write(bytes);
 * const stored = await start.upload.commit("notes");
 * assert.deepEqual(
 *   { ...files.find(stored.id), createdAt: 0 },
 *   { id: stored.id, owner: "ann", name: "notes.txt", type: "text/plain", size: 6, createdAt: 0 },
 * );
 * assert.equal(Deno.readTextFileSync(files.pathOf(stored.id)), "hello\n");
 * files.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class FileStore {
  /** The largest file accepted, in bytes. */
  readonly maxFileBytes: number;
  /** Uploads one account may make in any hour. */
  readonly uploadsPerHour: number;
  /** Bytes one account may have stored at once. */
  readonly quotaBytes: number;
  /** Bytes all accounts together may have stored at once. */
  readonly totalBytes: number;
  /** Where the files are. */
  readonly directory: string;
  readonly #db: DatabaseSync;
  readonly #retentionMs: number;
  readonly #abandonedAfterMs: number;
  readonly #pending = new Map<string, Pending>();
  #pendingBytes = 0;
  #storedBytes = 0;
  #statements;

  private constructor(db: DatabaseSync, directory: string, options: FileStoreOptions) {
    this.#db = db;
    this.directory = directory;
    this.#retentionMs = options.retentionMs ?? 30 * DAY_MS;
    this.#abandonedAfterMs = options.abandonedAfterMs ?? HOUR_MS;
    this.maxFileBytes = options.maxFileBytes ?? 10 * MiB;
    this.uploadsPerHour = options.uploadsPerHour ?? 60;
    this.quotaBytes = options.quotaBytes ?? 256 * MiB;
    this.totalBytes = options.totalBytes ?? 10 * 1024 * MiB;
    this.#statements = {
      find: db.prepare(
        "SELECT id, owner, name, type, size, created_at FROM files WHERE id = ? AND created_at >= ?",
      ),
      exists: db.prepare("SELECT 1 AS found FROM files WHERE id = ?"),
      insert: db.prepare(
        "INSERT INTO files (id, owner_key, owner, name, type, size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      recent: db.prepare(
        "SELECT COUNT(*) AS count, MIN(created_at) AS oldest FROM files WHERE owner_key = ? AND created_at > ?",
      ),
      usage: db.prepare(
        "SELECT COUNT(*) AS count, COALESCE(SUM(size), 0) AS bytes FROM files WHERE owner_key = ?",
      ),
      total: db.prepare("SELECT COALESCE(SUM(size), 0) AS bytes FROM files"),
      expire: db.prepare("DELETE FROM files WHERE created_at < ? RETURNING id"),
      removeOwner: db.prepare("DELETE FROM files WHERE owner_key = ? RETURNING id"),
    };
    this.#storedBytes = Number(this.#statements.total.get()!.bytes);
  }

  /**
   * Opens (creating if needed) `<dataDir>/files.sqlite` and `<dataDir>/files/`, and prunes
   * what is past the retention or abandoned.
   *
   * @param dataDir The data directory (the history's).
   * @param options Retention and limits.
   * @returns The open store.
   * @throws Error if the directory or database cannot be opened, or a newer shmooze wrote it.
   *
   * @example Both are private to their owner
   * ```ts
   * import assert from "node:assert/strict";
   * import { join } from "node:path";
   * import { FileStore } from "./file_store.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const files = FileStore.open(dir);
   * if (Deno.build.os !== "windows") {
   *   assert.equal(Deno.statSync(join(dir, "files.sqlite")).mode! & 0o777, 0o600);
   *   assert.equal(Deno.statSync(join(dir, "files")).mode! & 0o777, 0o700);
   * }
   * files.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  static open(dataDir: string, options: FileStoreOptions = {}): FileStore {
    const { db, path } = openPrivateDatabase(dataDir, "files.sqlite", "uploads");
    try {
      migrateSchema(db, path, "uploads", SCHEMA, SCHEMA_VERSION);
      const directory = join(dataDir, "files");
      makePrivateDirectory(directory, "uploads");
      const store = new FileStore(db, directory, options);
      store.prune();
      return store;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * Starts an upload for an account, if its announced size fits every limit; nothing is
   * written before this answers, and the size counts against the limits until the upload is
   * committed or aborted.
   *
   * @param owner The account, as registered.
   * @param size The bytes the client announced (Content-Length).
   * @param now The time, ms since the epoch.
   * @returns The upload, or why not and when trying again may help (ms; 0: it will not).
   *
   * @example A file over the limit is refused before a byte is sent
   * ```ts
   * import assert from "node:assert/strict";
   * import { FileStore } from "./file_store.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const files = FileStore.open(dir, { maxFileBytes: 1024 });
   * const start = await files.begin("ann", 1025);
   * assert.equal(start.ok || start.reason, "too-large");
   * assert.equal(start.ok || start.message, "The file is 1025 bytes; at most 1024 are accepted");
   * files.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  async begin(owner: string, size: number, now: number = Date.now()): Promise<UploadStart> {
    const refused = this.#refusal(foldCase(owner), size, now);
    if (refused !== undefined) return { ok: false, ...refused };
    const key = foldCase(owner);
    const id = randomId();
    // The place is taken before the first await: two uploads of one account that start
    // together cannot both fit in what only one of them fits in.
    const pending = this.#pending.get(key) ?? { count: 0, bytes: 0 };
    pending.count++;
    pending.bytes += size;
    this.#pending.set(key, pending);
    this.#pendingBytes += size;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      pending.count--;
      pending.bytes -= size;
      this.#pendingBytes -= size;
      if (pending.count === 0) this.#pending.delete(key);
    };
    const partial = join(this.directory, `${id}${PARTIAL}`);
    try {
      const file = await Deno.open(partial, { createNew: true, write: true, mode: 0o600 });
      return {
        ok: true,
        upload: new Upload({
          id,
          size,
          file,
          partial,
          release,
          commit: (name, type, at) =>
            this.#commit({ id, key, owner, size, partial }, name, type, at),
        }),
      };
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * A stored file, unless it is past the retention (then it is as good as pruned).
   *
   * @param id The id, from a URL; anything that is not an id finds nothing.
   * @param now The time, ms since the epoch.
   * @returns The file, or undefined.
   */
  find(id: string, now: number = Date.now()): StoredFile | undefined {
    if (!isFileId(id)) return undefined;
    const cutoff = this.#retentionMs === 0 ? 0 : now - this.#retentionMs;
    const row = this.#statements.find.get(id, cutoff);
    if (row === undefined) return undefined;
    const type = row.type as string;
    return {
      id: row.id as string,
      owner: row.owner as string,
      name: row.name as string,
      type: isFileType(type) ? type : "application/octet-stream",
      size: Number(row.size),
      createdAt: Number(row.created_at),
    };
  }

  /**
   * Where a file's bytes are.
   *
   * @param id A valid id.
   * @returns The path under {@link FileStore.directory}.
   * @throws Error for a string that is not an id, so no path outside the directory is made.
   */
  pathOf(id: string): string {
    if (!isFileId(id)) throw new Error(`Cannot locate upload "${id}": it is not a file id`);
    return join(this.directory, id);
  }

  /**
   * What an account has stored, and how many uploads it made in the last hour.
   *
   * @param owner The account, any case.
   * @param now The time, ms since the epoch.
   * @returns Files, bytes and recent uploads (committed ones; uploads in progress are not counted).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { FileStore } from "./file_store.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const files = FileStore.open(dir);
   * const start = await files.begin("Ann", 3);
   * assert.ok(start.ok);
   * await start.upload.write(new Uint8Array([1, 2, 3]));
   * await start.upload.commit("x.bin");
   * assert.deepEqual(files.usage("ann"), { files: 1, bytes: 3, lastHour: 1 });
   * files.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  usage(
    owner: string,
    now: number = Date.now(),
  ): { files: number; bytes: number; lastHour: number } {
    const key = foldCase(owner);
    const usage = this.#statements.usage.get(key)!;
    const recent = this.#statements.recent.get(key, now - HOUR_MS)!;
    return {
      files: Number(usage.count),
      bytes: Number(usage.bytes),
      lastHour: Number(recent.count),
    };
  }

  /**
   * Deletes the files past the retention (with their rows), and abandoned ones: a partial
   * file, or a file with no row, untouched for `abandonedAfterMs` (an upload cut off by a
   * crash). Runs at open; the server runs it every hour.
   *
   * @param now The time, ms since the epoch.
   * @returns How many stored files were deleted for their age (abandoned ones not counted).
   *
   * @example A day's retention: a file stored two days ago goes
   * ```ts
   * import assert from "node:assert/strict";
   * import { FileStore } from "./file_store.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const files = FileStore.open(dir, { retentionMs: 86_400_000 });
   * const now = Date.now();
   * const start = await files.begin("ann", 1, now - 2 * 86_400_000);
   * assert.ok(start.ok);
   * await start.upload.write(new Uint8Array([0]));
   * const old = await start.upload.commit("old.bin", now - 2 * 86_400_000);
   * assert.equal(files.find(old.id, now), undefined);
   * assert.equal(files.prune(now), 1);
   * assert.throws(() => Deno.statSync(files.pathOf(old.id)), Deno.errors.NotFound);
   * files.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  prune(now: number = Date.now()): number {
    let expired = 0;
    if (this.#retentionMs > 0) {
      const rows = this.#statements.expire.all(now - this.#retentionMs);
      expired = rows.length;
      for (const row of rows) this.#unlink(row.id as string);
    }
    this.#sweep(now);
    this.#storedBytes = Number(this.#statements.total.get()!.bytes);
    return expired;
  }

  /**
   * Deletes every file of an account, for when the account itself goes.
   *
   * @param owner The account, any case.
   * @returns How many files were deleted.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { FileStore } from "./file_store.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const files = FileStore.open(dir);
   * const start = await files.begin("ann", 1);
   * assert.ok(start.ok);
   * await start.upload.write(new Uint8Array([0]));
   * const stored = await start.upload.commit("a.bin");
   * assert.equal(files.removeOwner("ANN"), 1);
   * assert.equal(files.find(stored.id), undefined);
   * files.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  removeOwner(owner: string): number {
    const rows = this.#statements.removeOwner.all(foldCase(owner));
    for (const row of rows) this.#unlink(row.id as string);
    this.#storedBytes = Number(this.#statements.total.get()!.bytes);
    return rows.length;
  }

  /** Closes the database (uploads in progress can no longer commit). */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  /** Moves a complete upload into place and records it. */
  async #commit(
    upload: { id: string; key: string; owner: string; size: number; partial: string },
    name: string,
    type: FileType,
    now: number,
  ): Promise<StoredFile> {
    const stored: StoredFile = {
      id: upload.id,
      owner: upload.owner,
      name: nameForType(safeFileName(name), type),
      type,
      size: upload.size,
      createdAt: now,
    };
    // Renamed first: a crash before the insert leaves a file with no row, never a row whose
    // file is missing or partial.
    await Deno.rename(upload.partial, this.pathOf(upload.id));
    try {
      this.#statements.insert.run(
        stored.id,
        upload.key,
        stored.owner,
        stored.name,
        stored.type,
        stored.size,
        stored.createdAt,
      );
    } catch (error) {
      this.#unlink(upload.id);
      throw error;
    }
    this.#storedBytes += stored.size;
    return stored;
  }

  #refusal(
    key: string,
    size: number,
    now: number,
  ): { reason: UploadRefusalReason; message: string; retryAfterMs: number } | undefined {
    if (size > this.maxFileBytes) {
      return {
        reason: "too-large",
        message: `The file is ${size} bytes; at most ${this.maxFileBytes} are accepted`,
        retryAfterMs: 0,
      };
    }
    const pending = this.#pending.get(key) ?? { count: 0, bytes: 0 };
    const recent = this.#statements.recent.get(key, now - HOUR_MS)!;
    if (Number(recent.count) + pending.count >= this.uploadsPerHour) {
      const oldest = recent.oldest === null ? now : Number(recent.oldest);
      return {
        reason: "rate",
        message:
          `Your account made ${this.uploadsPerHour} uploads in the last hour, the most allowed`,
        retryAfterMs: Math.max(1000, oldest + HOUR_MS - now),
      };
    }
    const used = Number(this.#statements.usage.get(key)!.bytes) + pending.bytes;
    if (used + size > this.quotaBytes) {
      return {
        reason: "quota",
        message: `Your account stores ${sizeText(used)} of its ${
          sizeText(this.quotaBytes)
        }; this file does not fit`,
        retryAfterMs: 0,
      };
    }
    if (this.#storedBytes + this.#pendingBytes + size > this.totalBytes) {
      return {
        reason: "full",
        message: `The server's space for uploads (${sizeText(this.totalBytes)}) is full`,
        retryAfterMs: 0,
      };
    }
    return undefined;
  }

  /** Removes partial files and files with no row that nothing has touched for a while. */
  #sweep(now: number): void {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(this.directory)];
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isFile) continue;
      const partial = entry.name.endsWith(PARTIAL);
      const id = partial ? entry.name.slice(0, -PARTIAL.length) : entry.name;
      if (!isFileId(id)) continue;
      if (!partial && this.#statements.exists.get(id) !== undefined) continue;
      const path = join(this.directory, entry.name);
      try {
        const modified = Deno.statSync(path).mtime?.getTime() ?? 0;
        if (modified <= now - this.#abandonedAfterMs) Deno.removeSync(path);
      } catch {
        // Gone meanwhile (committed or removed by its own upload): nothing to sweep.
      }
    }
  }

  #unlink(id: string): void {
    try {
      Deno.removeSync(this.pathOf(id));
    } catch {
      // Already gone: a crash between the row's deletion and the file's, swept later anyway.
    }
  }
}

/** What {@link FileStore.begin} hands an {@link Upload}. */
interface UploadState {
  id: string;
  size: number;
  file: Deno.FsFile;
  partial: string;
  /** Gives back the place the upload took in the limits. */
  release: () => void;
  /** Moves the complete file into place and records it. */
  commit: (name: string, type: FileType, now: number) => Promise<StoredFile>;
}

/**
 * One upload in progress: its bytes go to a partial file as they arrive, and its type is
 * sniffed from them. Commit it once every announced byte is written, or abort it.
 */
export class Upload {
  /** The id the file will have. */
  readonly id: string;
  /** The bytes announced. */
  readonly size: number;
  readonly #state: UploadState;
  readonly #sniffer = new FileTypeSniffer();
  #written = 0;
  #done = false;

  /**
   * Use {@link FileStore.begin}.
   *
   * @param state The partial file, the reservation, and how to commit.
   */
  constructor(state: UploadState) {
    this.#state = state;
    this.id = state.id;
    this.size = state.size;
  }

  /**
   * Appends bytes.
   *
   * @param chunk The next bytes (they are not kept after this resolves).
   * @throws Error past the announced size, after commit or abort, or when the disk write fails
   *   (a full disk …); the upload should then be aborted.
   */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#done) throw new Error(`Cannot write to upload ${this.id}: it is finished`);
    if (this.#written + chunk.length > this.size) {
      throw new Error(
        `Cannot write to upload ${this.id}: more than the ${this.size} bytes announced`,
      );
    }
    this.#sniffer.push(chunk);
    for (let offset = 0; offset < chunk.length;) {
      offset += await this.#state.file.write(chunk.subarray(offset));
    }
    this.#written += chunk.length;
  }

  /**
   * Makes the file visible: closes it, moves it into place and records it.
   *
   * @param name The name the client gave (it is cleaned).
   * @param now The time, ms since the epoch.
   * @returns The stored file.
   * @throws Error when fewer bytes than announced were written (the upload is aborted), or the
   *   move or the record fails.
   */
  async commit(name: string | undefined, now: number = Date.now()): Promise<StoredFile> {
    if (this.#done) throw new Error(`Cannot commit upload ${this.id}: it is finished`);
    if (this.#written !== this.size) {
      await this.abort();
      throw new Error(
        `Cannot commit upload ${this.id}: ${this.#written} of ${this.size} bytes arrived`,
      );
    }
    this.#done = true;
    try {
      this.#state.file.close();
      return await this.#state.commit(name ?? "", this.#sniffer.finish(), now);
    } catch (error) {
      await Deno.remove(this.#state.partial).catch(() => {});
      throw error;
    } finally {
      this.#state.release();
    }
  }

  /** Drops the upload: the partial file is removed and its size no longer counts. Idempotent. */
  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    try {
      this.#state.file.close();
    } catch { /* already closed */ }
    await Deno.remove(this.#state.partial).catch(() => {});
    this.#state.release();
  }
}
