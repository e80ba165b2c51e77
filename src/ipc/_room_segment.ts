/**
 * What every part of a room shares: how its segment is created, or opened once its creator
 * has set it up; one participant's mapping of it ({@link RoomSegment}: the typed views, who
 * this participant is in it, whether it has left); and the errors that name it.
 *
 * The parts, each in its own file: `_room_members.ts` (the participants table: join, leave,
 * heartbeat, reaping), `_room_writer.ts` (the lock, writing slots, repairing a half-written
 * one, backpressure), `_room_reader.ts` (cursors, drain, missed counts), `_room_wait.ts`
 * (futex sleep and wake), `room_admin.ts` (what `shmooze ipc` uses); `room.ts` puts them
 * together as `Room`.
 *
 * @module
 */

import { SharedMemory } from "./shared_memory.ts";
import { IpcError } from "./ipc_error.ts";
import { sleepSync } from "./_lock.ts";
import {
  H,
  headerProblem,
  isSequence,
  type LayoutProblem,
  MAGIC,
  RING_OFFSET,
  type RoomViews,
  roomViews,
  segmentBytes,
  SLOT_BYTES,
  STATE_INIT,
  STATE_READY,
  VERSION,
} from "./_room_layout.ts";

/** How long a live lock owner may hold the lock before a room call gives up. */
export const LOCK_TIMEOUT_MS = 5000;
/** How often a participant updates its heartbeat and looks for dead participants. */
export const HEARTBEAT_MS = 1000;
/** How long a joiner (or `ipc clean`) waits for another process to finish creating a room. */
export const SETUP_WAIT_MS = 2000;

/**
 * An error about a room that shmooze itself refused (no OS call failed).
 *
 * @param action What was being done: `join room "lobby" as "ann"`.
 * @param code The IpcError code: `EEXIST`, `EINVAL` …
 * @param reason Why, as a sentence.
 * @returns The error.
 */
export function roomError(action: string, code: string, reason: string): IpcError {
  return new IpcError(action, "Room", code, 0, { reason });
}

/** What can make a segment unusable as a room. */
export type SegmentProblem = LayoutProblem | { code: "EPROTO"; reason: string };

/**
 * Waits (briefly, synchronously) for a segment's creator to finish setting it up, then
 * checks its header.
 *
 * @param views The segment.
 * @param deadline When to give up waiting, as `performance.now()`.
 * @returns Undefined when it is a sound room; else why not, with "EPROTO" when its creator
 *   never finished (it died doing so, or is stuck).
 */
export function setUpProblem(views: RoomViews, deadline: number): SegmentProblem | undefined {
  const big = views.bytes.length >= RING_OFFSET;
  while (big && Atomics.load(views.i32, H.I_STATE) === STATE_INIT) {
    if (performance.now() > deadline) {
      return { code: "EPROTO", reason: "its creator has not finished setting it up" };
    }
    sleepSync(1);
  }
  return headerProblem(views);
}

/**
 * The error for a segment that is not a sound room: a typed code, naming the segment.
 *
 * @param action What was being done: `join room "lobby"`.
 * @param segment The segment's OS name.
 * @param problem What is wrong with it.
 * @returns The error.
 */
export function segmentError(action: string, segment: string, problem: SegmentProblem): IpcError {
  const reason = problem.code === "ECORRUPT" ? `it is corrupt: ${problem.reason}` : problem.reason;
  return new IpcError(`${action} in shared memory`, "Room", problem.code, 0, {
    objectName: segment,
    reason,
  });
}

/**
 * Creates a room's segment, or opens the existing one once its creator has set it up.
 *
 * @param name The segment's OS name.
 * @param room The room's name, for errors.
 * @param capacity Ring slots, if this call creates it.
 * @returns The mapped segment, set up and checked.
 * @throws {IpcError} As {@link SharedMemory.open}, or a {@link segmentError} when the
 *   segment is not a sound room.
 */
export function openSegment(name: string, room: string, capacity: number): SharedMemory {
  const deadline = performance.now() + SETUP_WAIT_MS;
  while (true) {
    try {
      const shm = SharedMemory.create(name, segmentBytes(capacity));
      const i32 = new Int32Array(shm.buffer, 0, RING_OFFSET >> 2);
      i32[H.I_VERSION] = VERSION;
      i32[H.I_CAPACITY] = capacity;
      i32[H.I_SLOT_BYTES] = SLOT_BYTES;
      new Float64Array(shm.buffer, 0, RING_OFFSET >> 3)[H.F_CREATED_AT] = Date.now();
      Atomics.store(i32, H.I_MAGIC, MAGIC);
      Atomics.store(i32, H.I_STATE, STATE_READY);
      return shm;
    } catch (error) {
      if (!(error instanceof IpcError) || error.code !== "EEXIST") throw error;
    }
    let shm: SharedMemory;
    try {
      shm = SharedMemory.open(name);
    } catch (error) {
      // Removed between our create and open (ENOENT), or not yet sized (EAGAIN): try again.
      const retry = error instanceof IpcError && ["ENOENT", "EAGAIN"].includes(error.code);
      if (!retry || performance.now() > deadline) throw error;
      sleepSync(1);
      continue;
    }
    const problem = setUpProblem(roomViews(shm.buffer), deadline);
    if (problem === undefined) return shm;
    shm.close();
    throw segmentError(`join room "${room}"`, name, problem);
  }
}

/**
 * One participant's mapping of a room segment, shared by the parts of its `Room`: the views
 * over it and who this participant is in it. The members part fills in the identity on join
 * and sets `closed` on leave, after which the segment is unmapped.
 */
export class RoomSegment implements RoomViews {
  /** The mapping. */
  readonly shm: SharedMemory;
  /** The segment as bytes. */
  readonly bytes: Uint8Array;
  /** The segment as 32-bit words: header fields, entries, slot headers. */
  readonly i32: Int32Array;
  /** The segment as doubles: sequence numbers and times. */
  readonly f64: Float64Array;
  /** Ring slots, checked on opening. */
  readonly capacity: number;
  /** The futex word readers sleep on (the low 32 bits of the write sequence). */
  readonly seqPointer: Deno.PointerObject;
  /** The room's name, as given to `Room.join`. */
  readonly room: string;
  /** This participant's name. */
  readonly name: string;
  /** Its name in UTF-8, as written into every slot it sends. */
  readonly nameBytes: Uint8Array;
  /** Its id in the room, 1 to 64 (0 until it has joined). */
  id = 0;
  /** The join serial of its entry: tells it apart from earlier holders of its id. */
  serial = 0;
  /** Float64 index of its entry in the participants table. */
  entryAt = 0;
  /** Whether it has left: the segment is unmapped then. */
  closed = false;

  /**
   * @param shm A segment {@link openSegment} returned.
   * @param room The room's name.
   * @param name The participant's name.
   * @param nameBytes The name in UTF-8.
   */
  constructor(shm: SharedMemory, room: string, name: string, nameBytes: Uint8Array) {
    this.shm = shm;
    const views = roomViews(shm.buffer);
    this.bytes = views.bytes;
    this.i32 = views.i32;
    this.f64 = views.f64;
    this.capacity = this.i32[H.I_CAPACITY];
    this.seqPointer = Deno.UnsafePointer.offset(shm.pointer, H.I_SEQ_WORD * 4)!;
    this.room = room;
    this.name = name;
    this.nameBytes = nameBytes;
  }

  /**
   * The write sequence, checked: it picks the slot to write, and bounds readers' loops.
   *
   * @returns The last published sequence number.
   * @throws {IpcError} `ECORRUPT` when it is not a sequence number a room can hold.
   */
  writeSeq(): number {
    const seq = this.f64[H.F_WRITE_SEQ];
    if (isSequence(seq)) return seq;
    throw this.corrupt(`its write sequence is ${seq}, not a whole number from 0 to 2^53 − 2`);
  }

  /**
   * The error for a room that turned corrupt while in use.
   *
   * @param reason Which field holds what.
   * @returns An `ECORRUPT` IpcError naming the segment.
   */
  corrupt(reason: string): IpcError {
    return segmentError(`use room "${this.room}"`, this.shm.name, { code: "ECORRUPT", reason });
  }

  /**
   * Throws if this participant has left.
   *
   * @param action What was asked, as a verb: `send to`, `read from`.
   * @throws {IpcError} `EBADF` once it has left.
   */
  checkOpen(action: string): void {
    if (this.closed) {
      throw roomError(`${action} room "${this.room}"`, "EBADF", "this participant has left");
    }
  }
}
