/**
 * Membership of a room: its participants table, joining and leaving, the heartbeat, and
 * reaping participants whose process is gone.
 *
 * An entry is taken under the room's lock, its pid written last (until then the entry is
 * free to everyone else) and cleared first. Every second each participant stores its
 * heartbeat and, if some entry's heartbeat is old, asks the OS whether that process still
 * runs (`_liveness.ts`); the dead are freed and a `leave` is announced for each, so a
 * participant killed at any moment never keeps its name or holds back writers. The last
 * participant to leave marks the room closed and removes its segment.
 *
 * @module
 */

import type { Participant } from "./room.ts";
import { SharedMemory } from "./shared_memory.ts";
import { IpcError } from "./ipc_error.ts";
import { unlinkIfPresent } from "./_unlink.ts";
import { isAlive, ownIdentity } from "./_liveness.ts";
import { HEARTBEAT_MS, roomError, type RoomSegment } from "./_room_segment.ts";
import type { RoomWriter } from "./_room_writer.ts";
import { wakeReaders } from "./_room_wait.ts";
import {
  type EntryRecord,
  entryWord,
  H,
  KIND_JOIN,
  KIND_LEAVE,
  MAX_NAME_BYTES,
  MAX_PARTICIPANTS,
  P,
  readEntries,
  STATE_CLOSED,
} from "./_room_layout.ts";

/** A participant whose heartbeat is younger than this runs: nobody asks the OS about it. */
const FRESH_MS = 2 * HEARTBEAT_MS;
const NAME_PATTERN = /^[\p{L}\p{N}_\-.[\]{}\\|^`]+$/u;

const encoder = new TextEncoder();

/**
 * Checks a participant's name before anything is opened.
 *
 * @param room The room's name, for the error.
 * @param name The participant's name.
 * @returns The name in UTF-8.
 * @throws {IpcError} `EINVAL` unless it is 1 to 32 bytes of letters, digits and `_-.[]{}\|^`.
 */
export function checkName(room: string, name: string): Uint8Array {
  const bytes = encoder.encode(name);
  if (bytes.length === 0 || bytes.length > MAX_NAME_BYTES || !NAME_PATTERN.test(name)) {
    throw roomError(
      `join room "${room}" as "${name}"`,
      "EINVAL",
      `a name is 1 to ${MAX_NAME_BYTES} bytes of letters, digits and _-.[]{}\\|^\``,
    );
  }
  return bytes;
}

/** One participant's membership: its entry in the table, its heartbeat, its leaving. */
export class RoomMembers {
  readonly #segment: RoomSegment;
  readonly #writer: RoomWriter;
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param segment The participant's mapping of the room.
   * @param writer Its writer: the lock, and the joins and leaves it announces.
   */
  constructor(segment: RoomSegment, writer: RoomWriter) {
    this.#segment = segment;
    this.#writer = writer;
  }

  /**
   * Takes a free entry, announces the join and starts the heartbeat.
   *
   * @returns The sequence number of its join event (it reads what comes after), or
   *   undefined if the room was being removed (the caller joins a fresh one).
   * @throws {IpcError} `EEXIST` if the name is taken, `ENOSPC` if the room is full.
   */
  enter(): number | undefined {
    const segment = this.#segment;
    const { i32, f64 } = segment;
    return this.#writer.locked(() => {
      if (Atomics.load(i32, H.I_STATE) === STATE_CLOSED) return undefined;
      this.#reapDead();
      const entries = readEntries(segment);
      const taken = entries.find((e) => e.name === segment.name);
      const action = `join room "${segment.room}" as "${segment.name}"`;
      if (taken) {
        throw roomError(action, "EEXIST", `the name is taken by process ${taken.pid}`);
      }
      let id = 1;
      while (id <= MAX_PARTICIPANTS && entries.some((e) => e.id === id)) id++;
      if (id > MAX_PARTICIPANTS) {
        throw roomError(action, "ENOSPC", `the room is full: it holds at most ${MAX_PARTICIPANTS}`);
      }
      const word = entryWord(id);
      const now = Date.now();
      segment.serial = i32[H.I_JOIN_SERIAL] = (i32[H.I_JOIN_SERIAL] + 1) | 0;
      i32[word + P.I_SERIAL] = segment.serial;
      i32[word + P.I_WAITING] = 0;
      i32[word + P.I_NAME_LENGTH] = segment.nameBytes.length;
      segment.bytes.set(segment.nameBytes, (word << 2) + P.NAME);
      f64[(word >> 1) + P.F_JOINED_AT] = now;
      f64[(word >> 1) + P.F_HEARTBEAT] = now;
      f64[(word >> 1) + P.F_CURSOR] = 0;
      f64[(word >> 1) + P.F_START] = ownIdentity().start;
      // The pid last: until it is set, the entry is free to everyone else.
      Atomics.store(i32, word + P.I_PID, ownIdentity().pid);
      segment.id = id;
      segment.entryAt = word >> 1;
      this.#writer.announce(KIND_JOIN, id, segment.serial, segment.nameBytes);
      const timer = setInterval(() => this.#heartbeat(), HEARTBEAT_MS);
      Deno.unrefTimer(timer);
      this.#timer = timer;
      return f64[H.F_WRITE_SEQ];
    });
  }

  /**
   * Everyone in the room now.
   *
   * @returns The participants, by id.
   */
  participants(): Participant[] {
    return readEntries(this.#segment).map(({ id, name, pid, joinedAt, heartbeat }) => ({
      id,
      name,
      pid,
      joinedAt,
      heartbeat,
    }));
  }

  /**
   * The id to send to.
   *
   * @param to A participant's id or name, or 0 for everyone.
   * @returns Its id, or 0.
   * @throws {IpcError} `ENOENT` if nobody in the room has that id or name.
   */
  recipient(to: number | string): number {
    if (to === 0) return 0;
    const entries = readEntries(this.#segment);
    const found = typeof to === "number"
      ? entries.find((e) => e.id === to)
      : entries.find((e) => e.name === to);
    if (found === undefined) {
      throw roomError(
        `send to room "${this.#segment.room}"`,
        "ENOENT",
        `nobody ${typeof to === "number" ? "with id" : "called"} ${to} is in the room`,
      );
    }
    return found.id;
  }

  /**
   * Leaves: announces it, frees the entry and, if nobody alive is left, marks the room closed
   * and removes its segment; then unmaps it. Call once.
   */
  leave(): void {
    const segment = this.#segment;
    const i32 = segment.i32;
    clearInterval(this.#timer);
    let sleeping = 0;
    try {
      this.#writer.locked(() => {
        const word = entryWord(segment.id);
        const mine = Atomics.load(i32, word + P.I_PID) === ownIdentity().pid &&
          i32[word + P.I_SERIAL] === segment.serial;
        if (mine) {
          sleeping = this.#release(segment.id);
          this.#writer.announce(KIND_LEAVE, segment.id, segment.serial, segment.nameBytes);
        }
        // Closed already: `ipc clean` removed it, and the name may be a new room's by now.
        const closed = Atomics.load(i32, H.I_STATE) === STATE_CLOSED;
        if (!closed && readEntries(segment).every((e) => !isAlive(e.pid, e.start))) {
          Atomics.store(i32, H.I_STATE, STATE_CLOSED);
          unlinkIfPresent(() => SharedMemory.unlink(segment.shm.name));
        }
      });
    } finally {
      // Our own sleeping reader must wake before the memory it sleeps on is unmapped.
      if (sleeping > 0) wakeReaders(segment);
      segment.closed = true;
      segment.shm.close();
    }
  }

  /** Removes participants whose process is gone, announcing each one's leave. Holding the lock. */
  #reapDead(): void {
    for (const entry of readEntries(this.#segment)) {
      if (isAlive(entry.pid, entry.start)) continue;
      this.#release(entry.id);
      this.#writer.announce(KIND_LEAVE, entry.id, entry.serial, encoder.encode(entry.name));
    }
  }

  /** Frees a participants-table entry, forgetting its sleeping readers. Holding the lock. */
  #release(id: number): number {
    const i32 = this.#segment.i32;
    const word = entryWord(id);
    const waiting = Atomics.exchange(i32, word + P.I_WAITING, 0);
    Atomics.sub(i32, H.I_WAITERS, waiting);
    Atomics.store(i32, word + P.I_PID, 0);
    return waiting;
  }

  #heartbeat(): void {
    const segment = this.#segment;
    if (segment.closed) return;
    const now = Date.now();
    segment.f64[segment.entryAt + P.F_HEARTBEAT] = now;
    // Those that beat lately run; ask the OS (a read of /proc each) only about the others.
    const beating = (e: EntryRecord) => now - e.heartbeat >= 0 && now - e.heartbeat < FRESH_MS;
    if (readEntries(segment).every((e) => beating(e) || isAlive(e.pid, e.start))) return;
    try {
      this.#writer.locked(() => this.#reapDead());
    } catch (error) {
      // A live process holding the lock this long is stuck, not dead: try next beat.
      if (!(error instanceof IpcError)) throw error;
    }
  }
}
