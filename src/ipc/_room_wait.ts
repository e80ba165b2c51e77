/**
 * How a room's readers wait for writers without using the CPU, and how writers wake them.
 *
 * A reader with nothing to read spins 50 µs (which catches a busy writer without a system
 * call), then sleeps on the futex word `H.I_SEQ_WORD` (the low 32 bits of the write
 * sequence) in slices of at most 1 s. A writer publishes by storing that word, and makes the
 * wake system call only when some reader sleeps and no wake is already sure to reach it:
 * readers count their sleeps in `H.I_SLEEPS`, and writers record in `H.I_WOKEN_SLEEPS` the
 * count their last wake covered. Where the OS has no futex (macOS, Windows), readers poll
 * every 1 ms, backing off to 10 ms.
 *
 * @module
 */

import { platform } from "./platform.ts";
import type { RoomSegment } from "./_room_segment.ts";
import { entryWord, H, P } from "./_room_layout.ts";

/** How long an idle reader polls before it sleeps: catches a busy sender without a syscall. */
const SPIN_MS = 0.05;
/** Longest single sleep of a reader, after which it re-checks its abort signal. */
const WAIT_SLICE_MS = 1000;
/** Where the OS has no futex (macOS, Windows), readers poll: 1 ms backing off to 10 ms. */
const POLL_FIRST_MS = 1;
const POLL_LONGEST_MS = 10;

/**
 * Waits until the write sequence moves past what a reader has read (or a slice ends): spin,
 * then sleep.
 *
 * @param segment The reader's mapping of the room.
 * @param cursor The next sequence number the reader will read.
 * @param signal Ends the wait early (whoever aborts it also calls {@link wakeReaders}).
 */
export async function waitForWrite(
  segment: RoomSegment,
  cursor: number,
  signal?: AbortSignal,
): Promise<void> {
  const i32 = segment.i32;
  const seen = Atomics.load(i32, H.I_SEQ_WORD);
  if (segment.f64[H.F_WRITE_SEQ] >= cursor) return;
  const until = performance.now() + SPIN_MS;
  while (performance.now() < until) {
    if (Atomics.load(i32, H.I_SEQ_WORD) !== seen) return;
  }
  const wait = platform().waitOnAddress;
  if (wait === undefined) {
    await poll(segment, seen, signal);
    return;
  }
  const entry = entryWord(segment.id) + P.I_WAITING;
  // Counted (and the sleep announced) before the last look, so a writer that publishes
  // after it sees us and wakes us; a writer that published before it changed the word, so
  // the futex returns at once.
  Atomics.add(i32, H.I_WAITERS, 1);
  Atomics.add(i32, entry, 1);
  Atomics.add(i32, H.I_SLEEPS, 1);
  try {
    if (Atomics.load(i32, H.I_SEQ_WORD) === seen && !signal?.aborted) {
      await wait(segment.seqPointer, seen, WAIT_SLICE_MS);
    }
  } finally {
    // After leave() the segment is unmapped; leave() already took our count back.
    if (!segment.closed) {
      Atomics.sub(i32, entry, 1);
      Atomics.sub(i32, H.I_WAITERS, 1);
    }
  }
}

/** The fallback where the OS has no futex: look every 1 ms, backing off to 10 ms. */
async function poll(segment: RoomSegment, seen: number, signal?: AbortSignal): Promise<void> {
  let pause = POLL_FIRST_MS;
  const deadline = performance.now() + WAIT_SLICE_MS;
  while (!segment.closed && !signal?.aborted && performance.now() < deadline) {
    if (Atomics.load(segment.i32, H.I_SEQ_WORD) !== seen) return;
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, POLL_LONGEST_MS);
  }
}

/**
 * Wakes every reader asleep on the room (those of other processes too), unless this
 * participant has left and the segment is unmapped.
 *
 * @param segment A participant's mapping of the room.
 */
export function wakeReaders(segment: RoomSegment): void {
  if (!segment.closed) platform().wakeAddress?.(segment.seqPointer, 0x7fffffff);
}

/**
 * After publishing, wakes the sleeping readers unless a wake is already sure to reach every
 * sleep begun so far.
 *
 * @param segment The writer's mapping of the room.
 * @param sleeps `H.I_SLEEPS` as read before this writer published.
 */
export function wakeIfWaiting(segment: RoomSegment, sleeps: number): void {
  const i32 = segment.i32;
  if (Atomics.load(i32, H.I_WAITERS) === 0) return;
  // One wake per sleep: a reader takes tens of µs to come back from futex and count itself
  // out of the waiters, and a writer must not make a system call for every message meanwhile.
  if (Atomics.load(i32, H.I_SLEEPS) === Atomics.load(i32, H.I_WOKEN_SLEEPS)) return;
  // Record only the sleeps begun before we published: each of those sleeps on an older
  // value, which our wake ends, or saw our publish and did not sleep. One begun since may
  // sleep on the value we published (if we were preempted before getting here) and enter
  // the futex after our wake: the next writer must still wake it, or it sleeps out its 1 s
  // slice while messages wait.
  Atomics.store(i32, H.I_WOKEN_SLEEPS, sleeps);
  wakeReaders(segment);
}
