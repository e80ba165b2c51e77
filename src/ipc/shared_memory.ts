/**
 * Named shared memory: the seeds' `shm_open` + `mmap` (Linux, macOS) and paging-file
 * mappings (Windows), as one class whose bytes any number of processes map at once.
 *
 * @module
 */

import { validateName } from "./names.ts";
import { type MappedSegment, type OpenMode, platform } from "./platform.ts";
import { IpcError } from "./ipc_error.ts";

/**
 * A named shared memory segment, mapped into this process: POSIX `shm_open` + `mmap` on
 * Linux and macOS, a paging-file mapping on Windows. Created with mode 0600 whatever the
 * umask; opening one that belongs to another user is refused.
 *
 * The bytes are reached through {@link SharedMemory.buffer} (and the views built on it);
 * after {@link SharedMemory.close} that buffer is detached, so a stale view reads nothing
 * instead of touching unmapped memory.
 *
 * @example Two handles on one segment
 * ```ts
 * import assert from "node:assert/strict";
 * import { SharedMemory } from "./mod.ts";
 *
 * const name = `shmooze-doc-${crypto.randomUUID().slice(0, 8)}`;
 * const writer = SharedMemory.create(name, 4096);
 * const reader = SharedMemory.open(name);
 * writer.bytes[0] = 42;
 * assert.equal(reader.bytes[0], 42); // one segment, two mappings
 * reader.close();
 * writer.close();
 * SharedMemory.unlink(name);
 * ```
 */
export class SharedMemory {
  readonly #segment: MappedSegment;
  #buffer: ArrayBuffer;
  #bytes: Uint8Array;
  /** The segment's name, e.g. `shmooze-1000-room-lobby`. */
  readonly name: string;

  private constructor(name: string, segment: MappedSegment) {
    this.name = name;
    this.#segment = segment;
    this.#buffer = Deno.UnsafePointerView.getArrayBuffer(segment.pointer, segment.size);
    this.#bytes = new Uint8Array(this.#buffer);
  }

  static #map(name: string, mode: OpenMode, size: number): SharedMemory {
    validateName(name, "shared memory");
    if (mode !== "open" && (!Number.isInteger(size) || size <= 0)) {
      throw new IpcError("create shared memory", "SharedMemory", "EINVAL", 0, {
        objectName: name,
        reason: `the size must be a positive whole number of bytes, not ${size}`,
      });
    }
    return new SharedMemory(name, platform().mapSegment(name, mode, size));
  }

  /**
   * Creates a new segment, failing if the name exists (`EEXIST`).
   *
   * @param name A name starting with `shmooze-`.
   * @param size Its size in bytes; the OS zero-fills it.
   * @returns The mapped segment.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SharedMemory } from "./mod.ts";
   *
   * const shm = SharedMemory.create(`shmooze-doc-create-${crypto.randomUUID().slice(0, 8)}`, 64);
   * assert.equal(shm.size, 64);
   * assert.equal(shm.created, true);
   * assert.ok(shm.bytes.every((byte) => byte === 0)); // zero-filled
   * shm.close();
   * SharedMemory.unlink(shm.name);
   * ```
   */
  static create(name: string, size: number): SharedMemory {
    return SharedMemory.#map(name, "create", size);
  }

  /**
   * Opens an existing segment (`ENOENT` if missing, `EOWNER` if another user's).
   *
   * @param name The segment's name.
   * @returns The mapped segment, at the size its creator gave it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SharedMemory } from "./mod.ts";
   *
   * const name = `shmooze-doc-open-${crypto.randomUUID().slice(0, 8)}`;
   * const first = SharedMemory.create(name, 128);
   * const second = SharedMemory.open(name);
   * assert.equal(second.size, 128);
   * assert.equal(second.created, false);
   * second.close();
   * first.close();
   * SharedMemory.unlink(name);
   * ```
   */
  static open(name: string): SharedMemory {
    return SharedMemory.#map(name, "open", 0);
  }

  /**
   * Opens the segment, creating it at `size` if it does not exist yet.
   * {@link SharedMemory.created} says which happened.
   *
   * @param name The segment's name.
   * @param size The size to create it at.
   * @returns The mapped segment.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SharedMemory } from "./mod.ts";
   *
   * const name = `shmooze-doc-ooc-${crypto.randomUUID().slice(0, 8)}`;
   * const a = SharedMemory.openOrCreate(name, 64);
   * const b = SharedMemory.openOrCreate(name, 64);
   * assert.equal(a.created, true);
   * assert.equal(b.created, false);
   * b.close();
   * a.close();
   * SharedMemory.unlink(name);
   * ```
   */
  static openOrCreate(name: string, size: number): SharedMemory {
    return SharedMemory.#map(name, "openOrCreate", size);
  }

  /**
   * Removes a segment's name; processes that have it mapped keep their mapping. On Windows
   * the object disappears with its last handle, so this does nothing there.
   *
   * @param name The segment's name.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { IpcError, SharedMemory } from "./mod.ts";
   *
   * const shm = SharedMemory.create(`shmooze-doc-unlink-${crypto.randomUUID().slice(0, 8)}`, 64);
   * shm.close();
   * SharedMemory.unlink(shm.name);
   * if (Deno.build.os !== "windows") {
   *   assert.throws(
   *     () => SharedMemory.open(shm.name),
   *     (error) => error instanceof IpcError && error.code === "ENOENT",
   *   );
   * }
   * ```
   */
  static unlink(name: string): void {
    validateName(name, "shared memory");
    platform().unlinkSegment(name);
  }

  /** Whether this handle created the segment. */
  get created(): boolean {
    return this.#segment.created;
  }

  /** Size in bytes; 0 after close. */
  get size(): number {
    return this.#buffer.byteLength;
  }

  /** The mapped bytes as an ArrayBuffer (detached after close). */
  get buffer(): ArrayBuffer {
    return this.#buffer;
  }

  /** The mapped bytes. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** The address of the first byte, for calls such as futex that need one. */
  get pointer(): Deno.PointerObject {
    return this.#segment.pointer;
  }

  /** Whether {@link SharedMemory.close} was called. */
  get closed(): boolean {
    return this.#buffer.detached;
  }

  /**
   * Unmaps the segment and closes the handle. Safe to call twice.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SharedMemory } from "./mod.ts";
   *
   * const shm = SharedMemory.create(`shmooze-doc-close-${crypto.randomUUID().slice(0, 8)}`, 64);
   * const view = new Uint8Array(shm.buffer);
   * shm.close();
   * shm.close();
   * assert.equal(shm.closed, true);
   * assert.equal(shm.size, 0);
   * assert.equal(view.length, 0); // detached, not dangling
   * SharedMemory.unlink(shm.name);
   * ```
   */
  close(): void {
    if (this.closed) return;
    // Detach first: views built on the buffer become empty rather than dangling.
    this.#buffer.transfer(0);
    this.#bytes = new Uint8Array(0);
    platform().unmapSegment(this.#segment);
  }

  /** Closes on `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
