/**
 * Looking at and removing room segments without joining them: what `shmooze ipc ls` and
 * `shmooze ipc clean` use. Neither takes a participant's entry nor announces anything; both
 * judge who is in a room by the same liveness rule as the room itself (`_liveness.ts`).
 *
 * @module
 */

import type { Participant } from "./room.ts";
import { SharedMemory } from "./shared_memory.ts";
import { IpcError } from "./ipc_error.ts";
import { SegmentLock, sleepSync } from "./_lock.ts";
import { unlinkIfPresent } from "./_unlink.ts";
import { isAlive } from "./_liveness.ts";
import { LOCK_TIMEOUT_MS, segmentError, SETUP_WAIT_MS, setUpProblem } from "./_room_segment.ts";
import {
  H,
  headerProblem,
  readEntries,
  RING_OFFSET,
  roomViews,
  STATE_CLOSED,
  STATE_INIT,
  STATE_READY,
} from "./_room_layout.ts";

/** What {@link inspectRoom} reads from a room segment. */
export interface RoomInfo {
  /** The segment's size in bytes. */
  size: number;
  /** Ring slots (0 when the segment is not a usable room). */
  capacity: number;
  /** The last published sequence number. */
  writeSeq: number;
  /** Whether the segment holds a complete room of this version. */
  valid: boolean;
  /** Its participants, with whether each one's process still runs. */
  participants: (Participant & { alive: boolean })[];
}

/**
 * Reads a room segment's header and participants without joining, for `shmooze ipc ls`.
 *
 * @param segment The segment's OS name, e.g. `shmooze-1000-room-lobby`.
 * @returns What it holds.
 * @throws {IpcError} `ENOENT` if it does not exist; `ECORRUPT`, `EVERSION` or `EBADMAGIC`
 *   (as `Room.join`) if it is not a sound room of this version.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectName } from "./mod.ts";
 * import { Room } from "./room.ts";
 * import { inspectRoom } from "./room_admin.ts";
 *
 * const me = Room.join(`doc-inspect-${crypto.randomUUID().slice(0, 8)}`, "ann");
 * const info = inspectRoom(objectName("room", me.room));
 * assert.equal(info.valid, true);
 * assert.equal(info.writeSeq, 1); // ann's join
 * assert.equal(info.participants[0].name, "ann");
 * assert.equal(info.participants[0].alive, true);
 * me.leave();
 * ```
 */
export function inspectRoom(segment: string): RoomInfo {
  using shm = SharedMemory.open(segment);
  const views = roomViews(shm.buffer);
  const setUp = views.bytes.length >= RING_OFFSET &&
    Atomics.load(views.i32, H.I_STATE) !== STATE_INIT;
  const problem = setUp ? headerProblem(views) : undefined;
  if (problem !== undefined) throw segmentError("inspect room", segment, problem);
  return {
    size: shm.size,
    capacity: setUp ? views.i32[H.I_CAPACITY] : 0,
    writeSeq: setUp ? views.f64[H.F_WRITE_SEQ] : 0,
    valid: setUp && Atomics.load(views.i32, H.I_STATE) === STATE_READY,
    participants: setUp
      ? readEntries(views).map(({ id, name, pid, start, joinedAt, heartbeat }) => ({
        id,
        name,
        pid,
        joinedAt,
        heartbeat,
        alive: isAlive(pid, start),
      }))
      : [],
  };
}

/**
 * Removes a room segment if no live process is in it (everyone in it was killed, or its
 * creator died while setting it up), for `shmooze ipc clean`. A process that has it open
 * at that moment sees it marked closed and, when it next joins, makes a new one.
 *
 * @param segment The segment's OS name.
 * @param options `force`: also remove it when it is not a sound room of this version.
 * @returns True if it was removed; false if someone alive is in it.
 * @throws {IpcError} `ECORRUPT`, `EVERSION` or `EBADMAGIC` (as `Room.join`) if it is not a
 *   sound room of this version and `force` is not set: who is in it cannot be told.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectName } from "./mod.ts";
 * import { Room } from "./room.ts";
 * import { removeStaleRoom } from "./room_admin.ts";
 *
 * const me = Room.join(`doc-clean-${crypto.randomUUID().slice(0, 8)}`, "ann");
 * const segment = objectName("room", me.room);
 * assert.equal(removeStaleRoom(segment), false); // ann is alive
 * me.leave(); // the last one out removes it anyway
 * ```
 */
export function removeStaleRoom(segment: string, options: { force?: boolean } = {}): boolean {
  const deadline = performance.now() + SETUP_WAIT_MS;
  let opened: SharedMemory | undefined;
  while (opened === undefined) {
    try {
      opened = SharedMemory.open(segment);
    } catch (error) {
      // Never sized: its creator is between shm_open and ftruncate, or died there.
      if (!(error instanceof IpcError) || error.code !== "EAGAIN") throw error;
      if (performance.now() > deadline) {
        SharedMemory.unlink(segment);
        return true;
      }
      sleepSync(1);
    }
  }
  using shm = opened;
  const views = roomViews(shm.buffer);
  const problem = setUpProblem(views, deadline);
  if (problem?.code === "EPROTO") {
    SharedMemory.unlink(segment);
    return true;
  }
  if (problem !== undefined) {
    if (!options.force) throw segmentError("clean room", segment, problem);
    // Marked closed (where the header is this version's) so that a process still in it
    // does not, on leaving, remove the new room that takes the name.
    if (problem.code === "ECORRUPT" && views.i32.length > H.I_STATE) {
      Atomics.store(views.i32, H.I_STATE, STATE_CLOSED);
    }
    unlinkIfPresent(() => SharedMemory.unlink(segment));
    return true;
  }
  const lock = new SegmentLock(shm.buffer, H.I_LOCK * 4, `room segment "${segment}"`);
  return lock.with(LOCK_TIMEOUT_MS, () => {
    if (readEntries(views).some((e) => isAlive(e.pid, e.start))) return false;
    Atomics.store(views.i32, H.I_STATE, STATE_CLOSED);
    SharedMemory.unlink(segment);
    return true;
  });
}
