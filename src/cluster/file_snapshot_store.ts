/**
 * A cluster's snapshot in one file on this machine: the {@link SnapshotStore} of
 * `serve --workers`, whose log (a shared-memory ring) does not outlive the server. The file
 * holds the snapshot's bytes as `encodeSnapshot` made them; its header line gives the sequence
 * and time without reading the rest.
 *
 * A write is atomic: the bytes go to a temporary file of their own, which is flushed to disk,
 * then renamed over the file under an exclusive lock (`flock` on `FILE.lock`) after checking
 * that no snapshot at the same or a later sequence is there — so of workers racing to write,
 * the highest sequence stays, and a reader (or a crash) never sees half a file.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import type { SnapshotStore, StoredSnapshot } from "./bus.ts";
import { decodeSnapshotHeader } from "./cluster_snapshot.ts";

/** The largest snapshot read: a wrong file must not make a node allocate without bound. */
const MAX_SIZE = 256 * 1024 * 1024;
/** Enough bytes for any header line. */
const HEAD_BYTES = 4096;

/** Reads at most `size` bytes from the start of a file (fewer when it is shorter). */
async function readUpTo(file: Deno.FsFile, size: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(size);
  let read = 0;
  while (read < size) {
    const n = await file.read(bytes.subarray(read));
    if (n === null) break;
    read += n;
  }
  return bytes.subarray(0, read);
}

/** The sequence and time of a snapshot's header line; throws a TypeError when it has none. */
function readHeader(bytes: Uint8Array, path: string): { seq: number; time: number } {
  const end = bytes.indexOf(0x0a);
  try {
    return decodeSnapshotHeader(end < 0 ? bytes : bytes.subarray(0, end));
  } catch {
    throw new TypeError(`${path} is no snapshot: its first line is not a snapshot header`);
  }
}

/**
 * The snapshot of a cluster kept in one file.
 *
 * @example The highest sequence stays
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileSnapshotStore } from "./file_snapshot_store.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const store = new FileSnapshotStore(`${dir}/workers.snapshot`);
 * const bytes = (seq: number) =>
 *   new TextEncoder().encode(`{"v":1,"kind":"snapshot","seq":${seq},"time":1}\n`);
 * assert.equal(await store.load(), undefined);
 * assert.equal(await store.save(5, bytes(5)), true);
 * assert.equal(await store.save(3, bytes(3)), false, "an older one does not replace it");
 * assert.deepEqual(await store.newest(), { seq: 5, time: 1 });
 * assert.equal((await store.load())?.seq, 5);
 * await Deno.writeTextFile(`${dir}/.workers.snapshot.x1.tmp`, "half");
 * assert.equal(await store.removeLeftovers(), 1, "what a killed writer left");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FileSnapshotStore implements SnapshotStore {
  /** The file. */
  readonly path: string;

  /**
   * A store in a file (made on the first save; its directory must exist).
   *
   * @param path The file.
   */
  constructor(path: string) {
    this.path = path;
  }

  /**
   * The stored snapshot.
   *
   * @returns It, or undefined when there is no file.
   * @throws {TypeError} When the file is too large or has no snapshot header; an error when it
   *   cannot be read.
   */
  async load(): Promise<StoredSnapshot | undefined> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.path, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    try {
      const { size } = await file.stat();
      if (size > MAX_SIZE) {
        throw new TypeError(
          `${this.path} is ${size} bytes, over the ${MAX_SIZE} a snapshot may be`,
        );
      }
      const whole = await readUpTo(file, size);
      return { ...readHeader(whole, this.path), bytes: whole };
    } finally {
      file.close();
    }
  }

  /**
   * The stored snapshot's sequence and time, from its header line.
   *
   * @returns Them, or undefined when there is no file or it has no header.
   */
  async newest(): Promise<{ seq: number; time: number } | undefined> {
    try {
      using file = await Deno.open(this.path, { read: true });
      return readHeader(await readUpTo(file, HEAD_BYTES), this.path);
    } catch {
      return undefined;
    }
  }

  /**
   * Removes the temporary files of writes that never finished (a writer killed midway). Call
   * it only when no process is writing to this store.
   *
   * @returns How many were removed.
   */
  async removeLeftovers(): Promise<number> {
    const prefix = `.${basename(this.path)}.`;
    let removed = 0;
    try {
      for await (const entry of Deno.readDir(dirname(this.path))) {
        if (entry.isFile && entry.name.startsWith(prefix) && entry.name.endsWith(".tmp")) {
          await Deno.remove(join(dirname(this.path), entry.name));
          removed++;
        }
      }
    } catch (error) {
      // No directory yet: nothing was ever written.
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return removed;
  }

  /**
   * Stores a snapshot, unless the file holds one at the same or a later sequence.
   *
   * @param seq The last log entry it includes.
   * @param bytes The snapshot.
   * @returns Whether it was written.
   */
  async save(seq: number, bytes: Uint8Array): Promise<boolean> {
    const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
    const temporary = join(dirname(this.path), `.${basename(this.path)}.${random}.tmp`);
    try {
      {
        using file = await Deno.open(temporary, { write: true, createNew: true, mode: 0o600 });
        let written = 0;
        while (written < bytes.length) written += await file.write(bytes.subarray(written));
        await file.sync();
      }
      using lock = await Deno.open(`${this.path}.lock`, { write: true, create: true, mode: 0o600 });
      await lock.lock(true);
      const stored = await this.newest();
      if (stored !== undefined && stored.seq >= seq) return false;
      await Deno.rename(temporary, this.path);
      // The rename is on disk only once the directory is.
      using directory = await Deno.open(dirname(this.path), { read: true });
      await directory.sync();
      return true;
    } finally {
      await Deno.remove(temporary).catch(() => {});
    }
  }
}
