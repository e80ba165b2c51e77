/**
 * The byte layout of a room segment, shared by the room, its lock and the tools that inspect
 * rooms. One segment per room:
 *
 * ```
 * header        256 B   magic, version, capacity, slot size, write sequence …, lock word
 * participants  64 × 128 B  pid, join serial, joined time, heartbeat, waiting count, name,
 *                            read cursor, start time
 * ring          capacity × 1120 B   one message per slot (header 96 B + payload 1 KiB)
 * ```
 *
 * All numbers are little-endian (every platform shmooze runs on). 32-bit words that other
 * processes change concurrently are read and written with `Atomics` on an Int32Array; 64-bit
 * values (sequence numbers, times) are Float64 fields, exact up to 2^53.
 *
 * Any process of the user can write anything into the segment, so every value read from it
 * that serves as an index, a count or a loop bound is checked first: the header when a
 * process joins ({@link headerProblem}) and the write sequence each time it is read
 * ({@link isSequence}). The counters that only ever feed comparisons and wake-ups (waiters,
 * sleeps, the join serial) may hold any value without harm.
 *
 * @module
 */

/** "ROOM" read as a little-endian 32-bit word. */
export const MAGIC = 0x4d4f4f52;
/** Bumped whenever the layout changes; a process refuses a segment of another version. */
export const VERSION = 5;

/** Header size in bytes; the participants table starts here. */
export const HEADER_BYTES = 256;
/** Most participants a room holds. */
export const MAX_PARTICIPANTS = 64;
/** Bytes per participants-table entry. */
export const ENTRY_BYTES = 128;
/** Longest participant name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 32;
/** Largest message payload, in UTF-8 bytes: the seeds' 1 KiB buffer. */
export const MAX_PAYLOAD_BYTES = 1024;
/** Bytes of a slot before its payload. */
export const SLOT_HEADER_BYTES = 96;
/** Bytes per ring slot. */
export const SLOT_BYTES = SLOT_HEADER_BYTES + MAX_PAYLOAD_BYTES;
/** Where the ring starts. */
export const RING_OFFSET = HEADER_BYTES + MAX_PARTICIPANTS * ENTRY_BYTES;

/** Header fields: Int32 word indexes (I_*) and Float64 indexes (F_*). */
export const H = {
  I_MAGIC: 0,
  I_VERSION: 1,
  I_CAPACITY: 2,
  I_SLOT_BYTES: 3,
  /**
   * Lock: 64 bits (words 32 and 33), the owner's pid and start time, 0 when free. Alone on
   * its 64-byte cache line (bytes 128–191): readers poll the write sequence's line, and a
   * lock word sharing it would make every lock and unlock wait for that line to come back
   * from the reader's core.
   */
  I_LOCK: 32,
  /** Low 32 bits of the write sequence: the futex word readers sleep on, stored last. */
  I_SEQ_WORD: 5,
  /** How many readers are (about to be) asleep on I_SEQ_WORD. */
  I_WAITERS: 6,
  /** Lifecycle: one of the STATE_* values. */
  I_STATE: 7,
  /** Counts joins, so an entry's serial tells one holder of a participant id from the next. */
  I_JOIN_SERIAL: 8,
  /**
   * How many sleeps readers have begun (wrapping): a reader adds one before its last look at
   * I_SEQ_WORD. Only ever counts up, so no reader can undo what another one announced.
   */
  I_SLEEPS: 9,
  /**
   * The I_SLEEPS count that a futex wake is sure to reach: a writer reads I_SLEEPS before it
   * publishes, and stores that count here just before it wakes, so the writes after it skip
   * the system call until a reader begins another sleep. Never a count read after publishing:
   * a reader that began to sleep after the publish may sleep on the new value and need the
   * next writer's wake.
   */
  I_WOKEN_SLEEPS: 14,
  /** The last published sequence number (0 before the first message). */
  F_WRITE_SEQ: 5,
  /** When the room was created, ms since the epoch. */
  F_CREATED_AT: 6,
} as const;

/** Being initialised by its creator: not usable yet. */
export const STATE_INIT = 0;
/** Initialised: usable. */
export const STATE_READY = 1;
/** Unlinked by the last one out (or by `ipc clean`): a late joiner must create a new one. */
export const STATE_CLOSED = 2;

/** Participants-table entry fields, relative to the entry (I_* in words, F_* in doubles). */
export const P = {
  /** 0 when the entry is free; written last on join, cleared first on leave. */
  I_PID: 0,
  I_SERIAL: 1,
  /** How many of this participant's readers are asleep; the reaper subtracts it if it dies. */
  I_WAITING: 2,
  I_NAME_LENGTH: 3,
  F_JOINED_AT: 2,
  F_HEARTBEAT: 3,
  /**
   * The next sequence number this participant will read, stored after each batch it reads;
   * 0 until it first reads. Writers that wait for readers (`sendBatch` with `waitMs`) read it.
   */
  F_CURSOR: 8,
  /** The process's start time (see `_liveness.ts`), stored before the pid. */
  F_START: 9,
  /** Byte offset of the name. */
  NAME: 32,
} as const;

/** Slot fields, relative to the slot (I_* in words, F_* in doubles). */
export const S = {
  /** Seqlock version: odd while being written, even when stable. */
  I_VERSION: 0,
  I_KIND: 1,
  I_FROM: 8,
  I_TO: 9,
  I_FROM_SERIAL: 10,
  I_LENGTH: 11,
  I_NAME_LENGTH: 12,
  F_SEQ: 1,
  F_PACKET: 2,
  F_TIME: 3,
  /** Byte offset of the sender's name. */
  NAME: 56,
  /** Byte offset of the payload. */
  PAYLOAD: SLOT_HEADER_BYTES,
} as const;

/** Slot kinds as stored. */
export const KIND_MESSAGE = 1;
/** A participant joined. */
export const KIND_JOIN = 2;
/** A participant left (or was reaped). */
export const KIND_LEAVE = 3;

/** Default ring capacity in slots (about 280 KiB). */
export const DEFAULT_CAPACITY = 256;
/** Smallest and largest ring capacity accepted. */
export const CAPACITY_RANGE = { min: 2, max: 65536 } as const;

/**
 * The largest write sequence a room holds: the next sequence number and a reader's cursor
 * past it stay exact in a Float64, so `+ 1` always moves them on.
 */
export const MAX_SEQUENCE = 2 ** 53 - 2;

/**
 * Whether a write sequence read from a segment is one a room can hold.
 *
 * @param value The Float64 as read.
 * @returns True for a whole number from 0 to {@link MAX_SEQUENCE}.
 */
export function isSequence(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= MAX_SEQUENCE;
}

/** Why a segment cannot be used as a room, with the IpcError code that says so. */
export interface LayoutProblem {
  /** `EBADMAGIC`: not a room; `EVERSION`: another layout version; `ECORRUPT`: a bad field. */
  code: "EBADMAGIC" | "EVERSION" | "ECORRUPT";
  /** A sentence naming the field and its value. */
  reason: string;
}

/**
 * Checks a set-up room segment's header: every field a process relies on to index the
 * segment or bound a loop. Call once the state is no longer {@link STATE_INIT}.
 *
 * @param views The segment.
 * @returns What is wrong, or undefined when the header is sound.
 */
export function headerProblem(views: RoomViews): LayoutProblem | undefined {
  const size = views.bytes.length;
  const corrupt = (reason: string): LayoutProblem => ({ code: "ECORRUPT", reason });
  if (size < RING_OFFSET) {
    return corrupt(`it is ${size} bytes, less than a room's header and table (${RING_OFFSET})`);
  }
  const i32 = views.i32;
  const magic = Atomics.load(i32, H.I_MAGIC) >>> 0;
  if (magic !== MAGIC) {
    return {
      code: "EBADMAGIC",
      reason: `it is not a shmooze room (magic 0x${magic.toString(16)}, expected 0x${
        MAGIC.toString(16)
      })`,
    };
  }
  const version = i32[H.I_VERSION];
  if (version !== VERSION) {
    return {
      code: "EVERSION",
      reason: `it has room layout version ${version}; this shmooze uses version ${VERSION}`,
    };
  }
  const slotBytes = i32[H.I_SLOT_BYTES];
  if (slotBytes !== SLOT_BYTES) {
    return corrupt(`its slot size is ${slotBytes} bytes, not ${SLOT_BYTES}`);
  }
  const capacity = i32[H.I_CAPACITY];
  if (capacity < CAPACITY_RANGE.min || capacity > CAPACITY_RANGE.max) {
    return corrupt(
      `its capacity is ${capacity} slots, not ${CAPACITY_RANGE.min} to ${CAPACITY_RANGE.max}`,
    );
  }
  if (segmentBytes(capacity) > size) {
    return corrupt(
      `its ${capacity} slots need ${segmentBytes(capacity)} bytes, but it has ${size}`,
    );
  }
  const state = Atomics.load(i32, H.I_STATE);
  if (state !== STATE_INIT && state !== STATE_READY && state !== STATE_CLOSED) {
    return corrupt(`its state is ${state}, not ${STATE_INIT}, ${STATE_READY} or ${STATE_CLOSED}`);
  }
  const seq = views.f64[H.F_WRITE_SEQ];
  if (!isSequence(seq)) {
    return corrupt(`its write sequence is ${seq}, not a whole number from 0 to 2^53 − 2`);
  }
  return undefined;
}

/**
 * The segment size for a ring of `capacity` slots.
 *
 * @param capacity Slots in the ring.
 * @returns Bytes.
 */
export function segmentBytes(capacity: number): number {
  return RING_OFFSET + capacity * SLOT_BYTES;
}

/** Typed views over a mapped room segment. */
export interface RoomViews {
  readonly bytes: Uint8Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
}

/**
 * Builds the typed views over a segment's bytes.
 *
 * @param buffer The mapped segment.
 * @returns Views sharing the buffer.
 */
export function roomViews(buffer: ArrayBuffer): RoomViews {
  return {
    bytes: new Uint8Array(buffer),
    i32: new Int32Array(buffer, 0, buffer.byteLength >> 2),
    f64: new Float64Array(buffer, 0, buffer.byteLength >> 3),
  };
}

/**
 * Word index of a participants-table entry's first word.
 *
 * @param id Participant id, 1 to 64.
 * @returns The Int32 index; add a `P.I_*` field.
 */
export function entryWord(id: number): number {
  return (HEADER_BYTES + (id - 1) * ENTRY_BYTES) >> 2;
}

/**
 * Word index of a slot's first word.
 *
 * @param index Slot index, 0 to capacity − 1.
 * @returns The Int32 index; add an `S.I_*` field, or halve it and add an `S.F_*` field.
 */
export function slotWord(index: number): number {
  return (RING_OFFSET + index * SLOT_BYTES) >> 2;
}

/** A live or dead participant as stored in the table. */
export interface EntryRecord {
  id: number;
  pid: number;
  /** The process's start time, 0 when unknown. */
  start: number;
  serial: number;
  name: string;
  joinedAt: number;
  heartbeat: number;
}

const decoder = new TextDecoder();

/**
 * Reads every occupied participants-table entry (pid ≠ 0), dead ones included.
 *
 * @param views The segment.
 * @returns The entries by id.
 */
export function readEntries(views: RoomViews): EntryRecord[] {
  const entries: EntryRecord[] = [];
  for (let id = 1; id <= MAX_PARTICIPANTS; id++) {
    const word = entryWord(id);
    const pid = Atomics.load(views.i32, word + P.I_PID);
    if (pid === 0) continue;
    const length = Math.max(0, Math.min(views.i32[word + P.I_NAME_LENGTH], MAX_NAME_BYTES));
    const nameAt = (word << 2) + P.NAME;
    entries.push({
      id,
      pid,
      start: views.f64[(word >> 1) + P.F_START],
      serial: views.i32[word + P.I_SERIAL],
      name: decoder.decode(views.bytes.subarray(nameAt, nameAt + length)),
      joinedAt: views.f64[(word >> 1) + P.F_JOINED_AT],
      heartbeat: views.f64[(word >> 1) + P.F_HEARTBEAT],
    });
  }
  return entries;
}
