/**
 * A log in one named shared memory segment: processes on this machine append entries, each
 * under an id that makes the append idempotent, and every reader reads them in one total order
 * from any sequence the ring still holds. It is the one-box bus of `serve --workers`
 * (`src/cluster/shm_bus.ts`), next to NATS JetStream for many machines.
 *
 * ```
 * header   256 B        magic, version, ring size, write position, last sequence, tail, lock
 * beats    64 × 256 B   one heartbeat slot per open handle (unstored, overwritten each beat)
 * ring     size bytes   records of variable length, 16-byte aligned, never split at the end
 * ```
 *
 * How an append works: take the segment's lock (`_lock.ts`: a pid in a word, recovered when its
 * owner dies), look the id up among the entries still in the ring (each handle keeps an index
 * it brings up to date as it reads, and under the lock for what it has not read yet, so a
 * repeated id returns the first entry's sequence), move the tail past the records the new one
 * will overwrite — **before** writing a byte — then write the record, publish the write position
 * and the sequence, and wake sleeping readers (futex on Linux). A reader copies a record, then checks that the tail has not passed it: a
 * record it copied is either intact or it knows the ring lapped it. A lapped reader is told
 * (`lapped`), never handed bytes the writer was overwriting.
 *
 * A ring has a fixed size: it holds the last entries that fit, so a reader that falls a whole
 * ring behind has lost entries for good, and reading from a sequence older than the tail fails.
 *
 * @module
 */

import { IpcError } from "./ipc_error.ts";
import { isAlive, ownIdentity } from "./_liveness.ts";
import { SegmentLock } from "./_lock.ts";
import { platform } from "./platform.ts";
import { SharedMemory } from "./shared_memory.ts";

/** "SLOG" read as a little-endian 32-bit word. */
const MAGIC = 0x474f4c53;
const VERSION = 1;
const HEADER_BYTES = 256;
/** Heartbeat slots: one per open handle. */
const BEAT_SLOTS = 64;
const BEAT_BYTES = 256;
const BEAT_DATA = 16;
/** The largest heartbeat, in bytes. */
export const MAX_BEAT_BYTES: number = BEAT_BYTES - BEAT_DATA;
const RING_OFFSET = HEADER_BYTES + BEAT_SLOTS * BEAT_BYTES;
const RECORD_HEADER = 32;
const ALIGN = 16;
const KIND_ENTRY = 1;
const KIND_PAD = 2;
/** How long a live writer may hold the lock before an append gives up, ms. */
const LOCK_TIMEOUT_MS = 2000;
/** Longest single futex sleep of a reader, after which it looks again. */
const WAIT_SLICE_MS = 1000;

/** Int32 word indexes of the header: bytes 0–15, then 48–63 (16–47 hold the 64-bit fields). */
const I_MAGIC = 0, I_VERSION = 1, I_SIZE = 2, I_STATE = 3;
const I_PID = 12, I_START = 13, I_SEQ_WORD = 14, I_WAITERS = 15;
/** BigInt64 indexes of the header (byte offset / 8): bytes 16–47. */
const B_WRITE_POS = 2, B_LAST_SEQ = 3, B_TAIL_POS = 4, B_TAIL_SEQ = 5;
const LOCK_OFFSET = 128;
const STATE_READY = 1;

/** The smallest and largest ring, in bytes. */
export const RING_SIZE_RANGE = { min: 64 * 1024, max: 1024 * 1024 * 1024 } as const;
/** The default ring size: 16 MiB, some 80 000 chat messages. */
export const DEFAULT_RING_BYTES = 16 * 1024 * 1024;

/** Where a reader is: the next sequence it reads and that record's position. */
export interface LogRingCursor {
  /** The next sequence to read. */
  seq: number;
  /** The byte position (ever increasing) of that record. */
  pos: number;
}

/** What {@link LogRing.read} did. */
export interface LogRingRead {
  /** Entries handed over. */
  count: number;
  /**
   * The ring overwrote entries before this reader got to them: the cursor stays where it was
   * (the first one lost), and nothing after it was handed over.
   */
  lapped: boolean;
}

function align(bytes: number): number {
  return Math.ceil(bytes / ALIGN) * ALIGN;
}

function ringError(action: string, name: string, code: string, reason: string): IpcError {
  return new IpcError(action, "LogRing", code, 0, { objectName: name, reason });
}

/**
 * A shared-memory log: idempotent appends, one order, reading from a sequence, heartbeats.
 *
 * @example Two handles on one ring: a repeated id is one entry
 * ```ts
 * import assert from "node:assert/strict";
 * import { LogRing } from "./log_ring.ts";
 *
 * const name = `shmooze-doc-ring-${crypto.randomUUID().slice(0, 8)}`;
 * const a = LogRing.create(name);
 * const b = LogRing.open(name);
 * const bytes = new TextEncoder().encode("hello");
 * assert.equal(a.append("id-1", bytes), 1);
 * assert.equal(b.append("id-1", bytes), 1, "the same id again: the first entry's sequence");
 * assert.equal(b.append("id-2", bytes), 2);
 * const cursor = b.cursor(1);
 * const seen: number[] = [];
 * b.read(cursor, (seq) => seen.push(seq));
 * assert.deepEqual(seen, [1, 2]);
 * a.close();
 * b.close();
 * LogRing.unlink(name);
 * ```
 */
export class LogRing {
  readonly #shm: SharedMemory;
  readonly #i32: Int32Array;
  readonly #b64: BigInt64Array;
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  readonly #size: number;
  readonly #lock: SegmentLock;
  readonly #seqPointer: Deno.PointerObject;
  /** This handle's index of the ids still in the ring, brought up to date under the lock. */
  readonly #ids = new Map<string, number>();
  /** The indexed ids in ring order from `#orderHead`, to forget those the tail passed. */
  #order: { pos: number; id: string }[] = [];
  #orderHead = 0;
  #indexed: LogRingCursor = { seq: 1, pos: 0 };
  readonly #decoder = new TextDecoder();
  #beatSlot = -1;
  #closed = false;
  /** The segment's name. */
  readonly name: string;

  private constructor(shm: SharedMemory) {
    this.#shm = shm;
    this.name = shm.name;
    // Header and heartbeat slots: the words other processes change.
    this.#i32 = new Int32Array(shm.buffer, 0, RING_OFFSET / 4);
    this.#b64 = new BigInt64Array(shm.buffer, 0, HEADER_BYTES / 8);
    this.#view = new DataView(shm.buffer);
    this.#bytes = shm.bytes;
    this.#size = this.#i32[I_SIZE];
    this.#lock = new SegmentLock(shm.buffer, LOCK_OFFSET, `log ring "${shm.name}"`);
    this.#seqPointer = Deno.UnsafePointer.offset(shm.pointer, I_SEQ_WORD * 4)!;
    // A ring may start past entry 1 (it goes on from a snapshot's sequence): the index starts
    // at its tail, read whole under the lock.
    this.#indexed = this.#lock.with(LOCK_TIMEOUT_MS, () => ({
      seq: Number(this.#b64[B_TAIL_SEQ]),
      pos: Number(this.#b64[B_TAIL_POS]),
    }));
  }

  /**
   * Creates a ring (failing if the name exists) owned by this process: `shmooze ipc ls` shows
   * it alive while this process runs.
   *
   * @param name A name starting with `shmooze-`.
   * @param options The ring's size; `firstSeq`, the sequence its first entry gets (a ring that
   *   goes on after a snapshot of an earlier log: 1 past the snapshot's). @default {1}
   * @returns The open ring; the creator unlinks it with {@link LogRing.unlink} when done.
   * @throws {IpcError} `EEXIST` when the name is taken, `EINVAL` for a size or first sequence
   *   out of range.
   */
  static create(name: string, options: { ringBytes?: number; firstSeq?: number } = {}): LogRing {
    const size = options.ringBytes ?? DEFAULT_RING_BYTES;
    const firstSeq = options.firstSeq ?? 1;
    if (!Number.isSafeInteger(firstSeq) || firstSeq < 1) {
      throw ringError(
        "create log ring",
        name,
        "EINVAL",
        `the first sequence must be a whole number from 1, not ${firstSeq}`,
      );
    }
    if (
      !Number.isInteger(size) || size % ALIGN !== 0 || size < RING_SIZE_RANGE.min ||
      size > RING_SIZE_RANGE.max
    ) {
      throw ringError(
        "create log ring",
        name,
        "EINVAL",
        `the ring must be a multiple of ${ALIGN} bytes from ${RING_SIZE_RANGE.min} to ${RING_SIZE_RANGE.max}, not ${size}`,
      );
    }
    const shm = SharedMemory.create(name, RING_OFFSET + size);
    const i32 = new Int32Array(shm.buffer, 0, HEADER_BYTES / 4);
    const b64 = new BigInt64Array(shm.buffer, 0, HEADER_BYTES / 8);
    const me = ownIdentity();
    i32[I_VERSION] = VERSION;
    i32[I_SIZE] = size;
    i32[I_PID] = me.pid;
    i32[I_START] = me.start;
    b64[B_TAIL_SEQ] = BigInt(firstSeq);
    b64[B_LAST_SEQ] = BigInt(firstSeq - 1);
    i32[I_SEQ_WORD] = (firstSeq - 1) | 0;
    Atomics.store(i32, I_MAGIC, MAGIC);
    Atomics.store(i32, I_STATE, STATE_READY);
    return new LogRing(shm);
  }

  /**
   * Opens a ring another process created.
   *
   * @param name The ring's name.
   * @returns The open ring.
   * @throws {IpcError} `ENOENT` when there is none, `EBADMAGIC`/`EVERSION` when the segment is
   *   no ring of this version.
   */
  static open(name: string): LogRing {
    const shm = SharedMemory.open(name);
    const i32 = new Int32Array(shm.buffer, 0, Math.min(HEADER_BYTES, shm.size) / 4);
    const problem = shm.size < RING_OFFSET + RING_SIZE_RANGE.min
      ? ["ECORRUPT", `it is ${shm.size} bytes, too small for a log ring`]
      : Atomics.load(i32, I_MAGIC) !== MAGIC || Atomics.load(i32, I_STATE) !== STATE_READY
      ? ["EBADMAGIC", "it is not a log ring, or its creator has not finished setting it up"]
      : i32[I_VERSION] !== VERSION
      ? ["EVERSION", `it is a log ring of version ${i32[I_VERSION]}, this is ${VERSION}`]
      : i32[I_SIZE] !== shm.size - RING_OFFSET
      ? ["ECORRUPT", "its ring size does not match the segment's"]
      : undefined;
    if (problem !== undefined) {
      shm.close();
      throw ringError("open log ring", name, problem[0], problem[1]);
    }
    return new LogRing(shm);
  }

  /**
   * Removes a ring's name; handles still open keep working until closed.
   *
   * @param name The ring's name.
   */
  static unlink(name: string): void {
    SharedMemory.unlink(name);
  }

  /**
   * The process that created the ring, for `shmooze ipc`.
   *
   * @returns Its pid and whether it still runs.
   */
  owner(): { pid: number; alive: boolean } {
    const pid = this.#i32[I_PID];
    return { pid, alive: isAlive(pid, this.#i32[I_START]) };
  }

  /** The ring's size in bytes. */
  get size(): number {
    return this.#size;
  }

  /** The last sequence appended (0 when nothing was). */
  get lastSeq(): number {
    return Number(Atomics.load(this.#b64, B_LAST_SEQ));
  }

  /** The oldest sequence the ring still holds (`lastSeq + 1` when it holds none). */
  get tailSeq(): number {
    return this.#lock.with(LOCK_TIMEOUT_MS, () => Number(this.#b64[B_TAIL_SEQ]));
  }

  /**
   * Appends an entry unless one with this id is still in the ring.
   *
   * @param id The entry's id: the same id appended again (by any process) is one entry.
   * @param payload The entry's bytes, up to a quarter of the ring.
   * @returns The entry's sequence (the first entry's, for a repeated id).
   * @throws {IpcError} `EMSGSIZE` for a payload too large, `ETIMEDOUT` when a live process
   *   held the lock too long, `EBADF` after close.
   */
  append(id: string, payload: Uint8Array): number {
    this.#checkOpen("append to");
    const idBytes = new TextEncoder().encode(id);
    const need = align(RECORD_HEADER + idBytes.length + payload.length);
    if (need > this.#size / 4 || idBytes.length > 0xffff) {
      throw ringError(
        "append to log ring",
        this.name,
        "EMSGSIZE",
        `an entry of ${payload.length} bytes with an id of ${idBytes.length} does not fit a quarter of the ring (${this.#size} bytes)`,
      );
    }
    return this.#lock.with(LOCK_TIMEOUT_MS, () => {
      this.#catchUpIndex();
      const known = this.#ids.get(id);
      if (known !== undefined) return known;
      const b64 = this.#b64;
      const size = this.#size;
      let pos = Number(b64[B_WRITE_POS]);
      const pad = pos % size + need > size ? size - pos % size : 0;
      const end = pos + pad + need;
      // Move the tail past everything the new record will overwrite before writing a byte of
      // it: a reader that copied one of those records then sees it lapped.
      let tailPos = Number(b64[B_TAIL_POS]);
      let tailSeq = Number(b64[B_TAIL_SEQ]);
      while (tailPos < end - size) {
        if (this.#view.getInt32(RING_OFFSET + tailPos % size, true) === KIND_ENTRY) tailSeq++;
        tailPos += this.#recordBytes(tailPos);
      }
      Atomics.store(b64, B_TAIL_SEQ, BigInt(tailSeq));
      Atomics.store(b64, B_TAIL_POS, BigInt(tailPos));
      if (pad > 0) {
        this.#view.setInt32(RING_OFFSET + pos % size, KIND_PAD, true);
        this.#view.setInt32(RING_OFFSET + pos % size + 4, pad, true);
        pos += pad;
      }
      const seq = Number(b64[B_LAST_SEQ]) + 1;
      const at = RING_OFFSET + pos % size;
      const view = this.#view;
      view.setInt32(at, KIND_ENTRY, true);
      view.setInt32(at + 4, need, true);
      view.setInt32(at + 8, idBytes.length, true);
      view.setInt32(at + 12, payload.length, true);
      view.setFloat64(at + 16, seq, true);
      this.#bytes.set(idBytes, at + RECORD_HEADER);
      this.#bytes.set(payload, at + RECORD_HEADER + idBytes.length);
      Atomics.store(b64, B_LAST_SEQ, BigInt(seq));
      Atomics.store(b64, B_WRITE_POS, BigInt(end));
      Atomics.store(this.#i32, I_SEQ_WORD, seq | 0);
      if (Atomics.load(this.#i32, I_WAITERS) > 0) {
        platform().wakeAddress?.(this.#seqPointer, 0x7fffffff);
      }
      this.#remember(id, seq, pos);
      this.#indexed = { seq: seq + 1, pos: end };
      return seq;
    });
  }

  /**
   * A cursor at a sequence, for {@link LogRing.read}. A sequence past the last one waits for it.
   *
   * @param from The first sequence to read (1: from the start).
   * @returns The cursor.
   * @throws {IpcError} `ERANGE` when the ring no longer holds `from`: it was overwritten.
   */
  cursor(from: number): LogRingCursor {
    this.#checkOpen("read");
    return this.#lock.with(LOCK_TIMEOUT_MS, () => {
      const b64 = this.#b64;
      const cursor = { seq: Number(b64[B_TAIL_SEQ]), pos: Number(b64[B_TAIL_POS]) };
      if (from < cursor.seq) {
        throw ringError(
          "read log ring",
          this.name,
          "ERANGE",
          `entry ${from} was overwritten: the ring holds entries ${cursor.seq} to ${
            Number(b64[B_LAST_SEQ])
          } only`,
        );
      }
      const end = Number(b64[B_WRITE_POS]);
      while (cursor.pos < end && cursor.seq < from) {
        if (this.#view.getInt32(RING_OFFSET + cursor.pos % this.#size, true) === KIND_ENTRY) {
          cursor.seq++;
        }
        cursor.pos += this.#recordBytes(cursor.pos);
      }
      // Past the end: the entries up to `from` are not written yet; reading skips them.
      return cursor;
    });
  }

  /**
   * Hands over the entries available now from `cursor` on (at most `max`), in order, each with
   * its sequence and a copy of its bytes, and moves the cursor past them.
   *
   * @param cursor Where to read from; moved on.
   * @param handler Called with each entry.
   * @param options `max`: the most entries to hand over; `from`: skip entries before it.
   * @returns How many, and whether the ring lapped this reader.
   */
  read(
    cursor: LogRingCursor,
    handler: (seq: number, payload: Uint8Array) => void,
    options: { max?: number; from?: number } = {},
  ): LogRingRead {
    this.#checkOpen("read");
    const max = options.max ?? Infinity;
    const from = options.from ?? 0;
    const size = this.#size;
    const view = this.#view;
    const end = Number(Atomics.load(this.#b64, B_WRITE_POS));
    let count = 0;
    while (cursor.pos < end && count < max) {
      const at = RING_OFFSET + cursor.pos % size;
      const kind = view.getInt32(at, true);
      const bytes = view.getInt32(at + 4, true);
      // A padding record may be the ring's last 16 bytes: only an entry's size allows reading
      // the rest of a header.
      const fits = bytes >= ALIGN && bytes % ALIGN === 0 && bytes <= size - cursor.pos % size;
      const entry = fits && kind === KIND_ENTRY && bytes >= RECORD_HEADER;
      const idLength = entry ? view.getInt32(at + 8, true) : 0;
      const length = entry ? view.getInt32(at + 12, true) : 0;
      const seq = entry ? view.getFloat64(at + 16, true) : 0;
      const sound = (fits && kind === KIND_PAD) ||
        (entry && idLength >= 0 && length >= 0 && RECORD_HEADER + idLength + length <= bytes);
      const payload = sound && entry
        ? this.#bytes.slice(at + RECORD_HEADER + idLength, at + RECORD_HEADER + idLength + length)
        : undefined;
      // Reading keeps this handle's index of ids up to date, so an append (under the lock) has
      // only the entries since to index, not a whole ring's.
      const indexing = this.#indexed.pos === cursor.pos;
      const id = indexing && payload !== undefined
        ? this.#bytes.slice(at + RECORD_HEADER, at + RECORD_HEADER + idLength)
        : undefined;
      // The copies above count only if the writer had not begun to overwrite them.
      const tailPos = Number(Atomics.load(this.#b64, B_TAIL_POS));
      if (tailPos > cursor.pos) return { count, lapped: true };
      if (!sound || (kind === KIND_ENTRY && seq !== cursor.seq)) {
        throw ringError(
          "read log ring",
          this.name,
          "ECORRUPT",
          `the record at byte ${cursor.pos} is not sound (another program wrote into the ring)`,
        );
      }
      if (id !== undefined) this.#remember(this.#decoder.decode(id), seq, cursor.pos);
      cursor.pos += bytes;
      if (payload !== undefined) cursor.seq++;
      if (indexing) this.#indexed = { seq: cursor.seq, pos: cursor.pos };
      if (payload === undefined || seq < from) continue;
      count++;
      handler(seq, payload);
    }
    this.#forgetBefore(Number(Atomics.load(this.#b64, B_TAIL_POS)));
    return { count, lapped: false };
  }

  /**
   * Resolves when an entry at or past `cursor` may be there: at once if one is, else after a
   * futex sleep (Linux; polling every 1 ms elsewhere) that an append ends, or after at most 1 s
   * or when `signal` aborts (whoever aborts also calls {@link LogRing.wake}).
   *
   * @param cursor The reader's cursor.
   * @param signal Ends the wait early.
   */
  async wait(cursor: LogRingCursor, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return;
    const seen = Atomics.load(this.#i32, I_SEQ_WORD);
    if (this.lastSeq >= cursor.seq || signal?.aborted) return;
    const wait = platform().waitOnAddress;
    if (wait === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return;
    }
    // Counted before the last look: an append after it sees us and wakes us; one before it
    // changed the word, so the futex returns at once.
    Atomics.add(this.#i32, I_WAITERS, 1);
    try {
      if (Atomics.load(this.#i32, I_SEQ_WORD) === seen && !signal?.aborted) {
        await wait(this.#seqPointer, seen, WAIT_SLICE_MS);
      }
    } finally {
      if (!this.#closed) Atomics.sub(this.#i32, I_WAITERS, 1);
    }
  }

  /** Wakes every reader asleep in {@link LogRing.wait} (of every process). */
  wake(): void {
    if (!this.#closed) platform().wakeAddress?.(this.#seqPointer, 0x7fffffff);
  }

  /**
   * Publishes this handle's heartbeat in its slot (taken on first use), replacing the last one.
   *
   * @param payload Up to {@link MAX_BEAT_BYTES} bytes.
   * @throws {IpcError} `EMSGSIZE` when too long, `ENOSPC` when 64 handles hold every slot.
   */
  beat(payload: Uint8Array): void {
    this.#checkOpen("beat in");
    if (payload.length > MAX_BEAT_BYTES) {
      throw ringError(
        "beat in log ring",
        this.name,
        "EMSGSIZE",
        `a heartbeat is at most ${MAX_BEAT_BYTES} bytes, not ${payload.length}`,
      );
    }
    if (this.#beatSlot < 0) this.#beatSlot = this.#claimBeatSlot();
    const at = HEADER_BYTES + this.#beatSlot * BEAT_BYTES;
    const word = at / 4;
    Atomics.add(this.#i32, word, 1);
    this.#view.setInt32(at + 12, payload.length, true);
    this.#bytes.set(payload, at + BEAT_DATA);
    Atomics.add(this.#i32, word, 1);
  }

  /**
   * The heartbeats published since the last call with the same `seen` map.
   *
   * @param seen Each slot's version as last read; updated.
   * @returns The new heartbeats' bytes.
   */
  beats(seen: Map<number, number>): Uint8Array[] {
    this.#checkOpen("read beats of");
    const i32 = this.#i32;
    const found: Uint8Array[] = [];
    for (let slot = 0; slot < BEAT_SLOTS; slot++) {
      const at = HEADER_BYTES + slot * BEAT_BYTES;
      const version = Atomics.load(i32, at / 4);
      if (version % 2 !== 0 || version === (seen.get(slot) ?? 0)) continue;
      const length = this.#view.getInt32(at + 12, true);
      if (length < 0 || length > MAX_BEAT_BYTES) continue;
      const copy = this.#bytes.slice(at + BEAT_DATA, at + BEAT_DATA + length);
      if (Atomics.load(i32, at / 4) !== version) continue;
      seen.set(slot, version);
      found.push(copy);
    }
    return found;
  }

  /** Closes this handle (its heartbeat slot freed); the ring stays until unlinked. */
  close(): void {
    if (this.#closed) return;
    if (this.#beatSlot >= 0) {
      Atomics.store(this.#i32, (HEADER_BYTES + this.#beatSlot * BEAT_BYTES) / 4 + 1, 0);
    }
    this.wake();
    this.#closed = true;
    this.#shm.close();
  }

  #claimBeatSlot(): number {
    const i32 = this.#i32;
    const me = ownIdentity();
    for (let slot = 0; slot < BEAT_SLOTS; slot++) {
      const word = (HEADER_BYTES + slot * BEAT_BYTES) / 4;
      const pid = Atomics.load(i32, word + 1);
      const free = pid === 0 || !isAlive(pid, Atomics.load(i32, word + 2));
      if (free && Atomics.compareExchange(i32, word + 1, pid, me.pid) === pid) {
        Atomics.store(i32, word + 2, me.start);
        return slot;
      }
    }
    throw ringError(
      "beat in log ring",
      this.name,
      "ENOSPC",
      `${BEAT_SLOTS} handles hold every slot`,
    );
  }

  /** Indexes the ids appended since this handle last looked (called under the lock). */
  #catchUpIndex(): void {
    const b64 = this.#b64;
    const tailPos = Number(b64[B_TAIL_POS]);
    this.#forgetBefore(tailPos);
    if (this.#indexed.pos < tailPos) {
      this.#indexed = { seq: Number(b64[B_TAIL_SEQ]), pos: tailPos };
    }
    const end = Number(b64[B_WRITE_POS]);
    while (this.#indexed.pos < end) {
      const pos = this.#indexed.pos;
      const at = RING_OFFSET + pos % this.#size;
      const bytes = this.#recordBytes(pos);
      if (this.#view.getInt32(at, true) === KIND_ENTRY) {
        const idLength = this.#view.getInt32(at + 8, true);
        const id = this.#decoder.decode(
          this.#bytes.subarray(at + RECORD_HEADER, at + RECORD_HEADER + idLength),
        );
        this.#remember(id, this.#indexed.seq, pos);
        this.#indexed.seq++;
      }
      this.#indexed.pos += bytes;
    }
  }

  /** Forgets the indexed ids of the records the tail has passed: they left the ring. */
  #forgetBefore(tailPos: number): void {
    const order = this.#order;
    while (this.#orderHead < order.length && order[this.#orderHead].pos < tailPos) {
      this.#ids.delete(order[this.#orderHead++].id);
    }
    if (this.#orderHead > 4096 && this.#orderHead * 2 > order.length) {
      this.#order = order.slice(this.#orderHead);
      this.#orderHead = 0;
    }
  }

  /** The length of the record at `pos`, read under the lock (so whole), checked. */
  #recordBytes(pos: number): number {
    const bytes = this.#view.getInt32(RING_OFFSET + pos % this.#size + 4, true);
    if (bytes < ALIGN || bytes % ALIGN !== 0 || bytes > this.#size - pos % this.#size) {
      throw ringError(
        "use log ring",
        this.name,
        "ECORRUPT",
        `the record at byte ${pos} is not sound (another program wrote into the ring)`,
      );
    }
    return bytes;
  }

  #remember(id: string, seq: number, pos: number): void {
    if (this.#ids.has(id)) return;
    this.#ids.set(id, seq);
    this.#order.push({ pos, id });
  }

  #checkOpen(action: string): void {
    if (this.#closed) throw ringError(`${action} log ring`, this.name, "EBADF", "it was closed");
  }
}
