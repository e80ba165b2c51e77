/**
 * The writing side of a room: its cross-process lock, writing a slot so that no reader ever
 * sees it half written, repairing the slot a writer killed mid-write left behind, batch
 * sends, and backpressure (waiting for slow readers when asked to).
 *
 * A slot is written under a seqlock: its version is odd while it is written, and the write
 * sequence (then the futex word) moves only once it is complete, so a reader that copies it
 * and finds the version unchanged has a whole message.
 *
 * @module
 */

import { SegmentLock, sleepSync } from "./_lock.ts";
import { HEARTBEAT_MS, LOCK_TIMEOUT_MS, roomError, type RoomSegment } from "./_room_segment.ts";
import { wakeIfWaiting } from "./_room_wait.ts";
import {
  entryWord,
  H,
  KIND_MESSAGE,
  MAX_PARTICIPANTS,
  MAX_PAYLOAD_BYTES,
  MAX_SEQUENCE,
  P,
  S,
  slotWord,
} from "./_room_layout.ts";

/** Most messages one `sendBatch` writes per hold of the lock, so other writers get a turn. */
const LOCKED_BATCH = 256;
/** A reader with no heartbeat for this long no longer holds back writers that wait. */
const STALE_READER_MS = 3 * HEARTBEAT_MS;
/** How long a waiting writer polls for a reader's progress before it sleeps. */
const WRITER_SPIN_MS = 0.1;
/** A waiting writer's sleeps: 20 µs, doubling up to 1 ms. */
const WRITER_FIRST_PAUSE_MS = 0.02;
const WRITER_LONGEST_PAUSE_MS = 1;
const TWO_POW_32 = 2 ** 32;

const encoder = new TextEncoder();
const NO_BYTES = new Uint8Array(0);

/** One participant's writing into a room: its messages, and joins and leaves it announces. */
export class RoomWriter {
  readonly #segment: RoomSegment;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #bytes: Uint8Array;
  /** A number from the start (not undefined), so that V8 stores it unboxed. */
  readonly #capacity: number = 0;
  readonly #lock: SegmentLock;
  readonly #scratch = new Uint8Array(MAX_PAYLOAD_BYTES);
  #packets = 0;

  /** @param segment The participant's mapping of the room. */
  constructor(segment: RoomSegment) {
    this.#segment = segment;
    this.#i32 = segment.i32;
    this.#f64 = segment.f64;
    this.#bytes = segment.bytes;
    this.#capacity = segment.capacity;
    this.#lock = new SegmentLock(segment.shm.buffer, H.I_LOCK * 4, `room "${segment.room}"`);
  }

  /**
   * Runs `body` holding the room's lock, once what a dead previous owner left half done is
   * repaired.
   *
   * @param body The critical section.
   * @returns What `body` returns.
   * @throws {IpcError} `ETIMEDOUT` when a live process holds the lock for more than 5 s.
   */
  locked<T>(body: () => T): T {
    return this.#lock.with(LOCK_TIMEOUT_MS, (recovered) => {
      if (recovered) this.#repair();
      return body();
    });
  }

  /**
   * Writes messages under the lock, in turns of at most LOCKED_BATCH. With `waitMs`, each
   * turn writes only what fits before the slowest reader's cursor, and between turns it waits
   * for readers to move, until the deadline; then it stops waiting and laps them.
   *
   * @param messages Text (sent as UTF-8) or bytes, each up to 1 KiB.
   * @param to 0 for everyone, else the recipient's id.
   * @param waitMs How long to wait for slow readers; 0 never waits.
   * @throws {IpcError} `EMSGSIZE` if a message is too long (then none is sent).
   */
  send(messages: readonly (string | Uint8Array)[], to: number, waitMs: number): void {
    for (const message of messages) this.#checkSize(message);
    const segment = this.#segment;
    let deadline = waitMs > 0 ? performance.now() + waitMs : 0;
    let sent = 0;
    while (sent < messages.length) {
      const recovered = this.#lock.acquire(LOCK_TIMEOUT_MS);
      let count = 0;
      let sleeps = 0;
      try {
        if (recovered) this.#repair();
        sleeps = Atomics.load(this.#i32, H.I_SLEEPS);
        const space = deadline === 0 ? LOCKED_BATCH : this.#space();
        count = Math.min(messages.length - sent, LOCKED_BATCH, space);
        const time = Date.now();
        for (let i = 0; i < count; i++) {
          const packet = ++this.#packets;
          this.#write(
            KIND_MESSAGE,
            to,
            segment.id,
            segment.serial,
            segment.nameBytes,
            messages[sent + i],
            packet,
            time,
          );
        }
      } finally {
        this.#lock.release();
      }
      sent += count;
      if (count > 0) wakeIfWaiting(segment, sleeps);
      else if (!this.#waitForSpace(deadline)) deadline = 0;
    }
  }

  /**
   * Writes a join or leave and wakes sleeping readers. Call holding the lock.
   *
   * @param kind `KIND_JOIN` or `KIND_LEAVE`.
   * @param id The participant it is about.
   * @param serial That participant's join serial.
   * @param name Its name in UTF-8.
   */
  announce(kind: number, id: number, serial: number, name: Uint8Array): void {
    const sleeps = Atomics.load(this.#i32, H.I_SLEEPS);
    this.#write(kind, 0, id, serial, name, NO_BYTES, 0, Date.now());
    wakeIfWaiting(this.#segment, sleeps);
  }

  /** Throws if a message does not fit in a slot, before anything of its batch is written. */
  #checkSize(message: string | Uint8Array): void {
    let size: number;
    if (typeof message === "string") {
      // A UTF-16 code unit never takes more than 3 bytes of UTF-8.
      if (message.length * 3 <= MAX_PAYLOAD_BYTES) return;
      if (encoder.encodeInto(message, this.#scratch).read === message.length) return;
      size = encoder.encode(message).length;
    } else {
      if (message.length <= MAX_PAYLOAD_BYTES) return;
      size = message.length;
    }
    throw roomError(
      `send to room "${this.#segment.room}"`,
      "EMSGSIZE",
      `the message is ${size} bytes; a message holds at most ${MAX_PAYLOAD_BYTES}`,
    );
  }

  /**
   * How many messages can be written now without overwriting one that a reading
   * participant (see `RoomSendOptions.waitMs`) has not read.
   */
  #space(): number {
    const i32 = this.#i32;
    const f64 = this.#f64;
    const next = f64[H.F_WRITE_SEQ] + 1;
    const now = Date.now();
    const me = this.#segment.id;
    let space = Infinity;
    for (let id = 1; id <= MAX_PARTICIPANTS; id++) {
      if (id === me) continue;
      const word = entryWord(id);
      if (Atomics.load(i32, word + P.I_PID) === 0) continue;
      const cursor = f64[(word >> 1) + P.F_CURSOR];
      const unread = next - cursor;
      // Unread beyond a whole ring: already lapped, it will be told what it missed. Written so
      // that a cursor or heartbeat that is not a number (a corrupt entry) counts as no reader.
      if (cursor === 0 || !(unread >= 0 && unread <= this.#capacity)) continue;
      if (!(now - f64[(word >> 1) + P.F_HEARTBEAT] <= STALE_READER_MS)) continue;
      space = Math.min(space, this.#capacity - unread);
    }
    return space;
  }

  /**
   * Waits for readers to free a quarter of the ring (or what is left to send), polling
   * briefly, then sleeping in slices. False once the deadline has passed.
   */
  #waitForSpace(deadline: number): boolean {
    const enough = Math.max(1, this.#capacity >> 2);
    const spinUntil = performance.now() + WRITER_SPIN_MS;
    let pause = WRITER_FIRST_PAUSE_MS;
    while (this.#space() < enough) {
      const now = performance.now();
      if (now > deadline) return false;
      if (now < spinUntil) continue;
      sleepSync(Math.min(pause, deadline - now));
      pause = Math.min(pause * 2, WRITER_LONGEST_PAUSE_MS);
    }
    return true;
  }

  /**
   * Writes one slot and publishes it. Call holding the lock. The slot's version is odd while
   * it is written; the write sequence moves only once the slot is complete, so a reader
   * never sees a half-written slot, even if this process dies in the middle. A text payload
   * is encoded straight into the slot (its size already checked).
   */
  #write(
    kind: number,
    to: number,
    from: number,
    serial: number,
    name: Uint8Array,
    payload: string | Uint8Array,
    packet: number,
    time: number,
  ): void {
    const i32 = this.#i32;
    const f64 = this.#f64;
    const bytes = this.#bytes;
    const last = this.#segment.writeSeq();
    if (last === MAX_SEQUENCE) {
      throw this.#segment.corrupt(`its write sequence is ${last}: every sequence number is used`);
    }
    const seq = last + 1;
    const word = slotWord(last % this.#capacity);
    const double = word >> 1;
    const at = word << 2;
    const version = Atomics.add(i32, word + S.I_VERSION, 1);
    i32[word + S.I_KIND] = kind;
    i32[word + S.I_FROM] = from;
    i32[word + S.I_TO] = to;
    i32[word + S.I_FROM_SERIAL] = serial;
    i32[word + S.I_NAME_LENGTH] = name.length;
    f64[double + S.F_SEQ] = seq;
    f64[double + S.F_PACKET] = packet;
    f64[double + S.F_TIME] = time;
    bytes.set(name, at + S.NAME);
    let length = payload.length;
    if (typeof payload !== "string") bytes.set(payload, at + S.PAYLOAD);
    else if (length > 0) {
      const start = at + S.PAYLOAD;
      length =
        encoder.encodeInto(payload, bytes.subarray(start, start + MAX_PAYLOAD_BYTES)).written;
    }
    i32[word + S.I_LENGTH] = length;
    Atomics.store(i32, word + S.I_VERSION, version + 2);
    f64[H.F_WRITE_SEQ] = seq;
    Atomics.store(i32, H.I_SEQ_WORD, seq % TWO_POW_32);
  }

  /**
   * Undoes what a lock owner that died mid-write left behind: a slot marked as being written
   * and, possibly, a write sequence stored without its futex word.
   */
  #repair(): void {
    const word = slotWord(this.#segment.writeSeq() % this.#capacity);
    if (Atomics.load(this.#i32, word + S.I_VERSION) & 1) {
      this.#f64[(word >> 1) + S.F_SEQ] = 0;
      Atomics.add(this.#i32, word + S.I_VERSION, 1);
    }
    Atomics.store(this.#i32, H.I_SEQ_WORD, this.#f64[H.F_WRITE_SEQ] % TWO_POW_32);
  }
}
