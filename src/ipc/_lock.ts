/**
 * A cross-process lock that lives in 64 bits of shared memory and survives the death of its
 * owner.
 *
 * Why not a named semaphore (the seeds' choice): a semaphore does not know who holds it, so
 * when a holder is killed (`kill -9`) between `sem_wait` and `sem_post`, every other process
 * waits forever. Here the word holds who owns it (0 = free): the owner's pid in the low 32
 * bits and its start time in the high 32 (see `_liveness.ts`). Taking the lock is one
 * compare-and-swap 0 → me; a waiter that finds an owner no longer running (gone, a zombie,
 * or its pid now another process's) swaps dead owner → me, which only one waiter can win,
 * and repairs what the dead owner left half done (like a robust mutex's EOWNERDEAD). It
 * needs no OS object besides the segment, so nothing extra can leak, and the uncontended
 * path is one atomic instruction with no system call.
 *
 * Waiting is synchronous: a room's `send()` is, and a critical section only copies one slot
 * (about a microsecond). A waiter spins briefly, then sleeps in short slices (a 20 µs → 1 ms
 * back-off through `Atomics.wait` on a private buffer), re-checking the word after each. It
 * asks the OS whether the owner runs only once one owner has kept the lock for a while:
 * that costs a read of /proc (about 10 µs), far more than a live owner holds the lock. The
 * same code runs on Linux, macOS and Windows; futex(2) would save the back-off's few
 * wake-ups only while a lock is held for long, which a live owner never does.
 *
 * @module
 */

import { IpcError } from "./ipc_error.ts";
import { isAlive, ownIdentity, type ProcessIdentity } from "./_liveness.ts";

/** Compare-and-swap attempts before the first sleep. */
const SPINS = 200;
const FIRST_PAUSE_MS = 0.02;
const LONGEST_PAUSE_MS = 1;
/** How long one owner keeps the lock before a waiter asks the OS whether it still runs. */
const SUSPECT_AFTER_MS = 1;
const LOW_32 = 0xffff_ffffn;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Blocks the thread for `ms` milliseconds (fractions allowed) without using the CPU: for
 * the short synchronous waits of the lock and of a room being set up by another process.
 *
 * @param ms How long.
 */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/**
 * The lock word that names a process as owner.
 *
 * @param owner Its pid and start time.
 * @returns The 64-bit value: start time high, pid low.
 */
export function lockWord(owner: ProcessIdentity): bigint {
  return (BigInt(owner.start >>> 0) << 32n) | BigInt(owner.pid >>> 0);
}

/** A lock word inside a shared segment, owned by a process (pid and start time). */
export class SegmentLock {
  readonly #word: BigUint64Array;
  readonly #me: bigint;
  readonly #what: string;

  /**
   * @param buffer The mapped segment.
   * @param byteOffset Where the 8-byte lock word is (a multiple of 8).
   * @param what What it guards, for error messages: `room "lobby"`.
   */
  constructor(buffer: ArrayBuffer, byteOffset: number, what: string) {
    this.#word = new BigUint64Array(buffer, byteOffset, 1);
    this.#me = lockWord(ownIdentity());
    this.#what = what;
  }

  /**
   * Takes the lock, waiting up to `timeoutMs` for a live owner to let go.
   *
   * @param timeoutMs How long a live owner may keep it.
   * @returns True when it was taken from an owner that no longer runs (the caller repairs
   *   its half-done work).
   */
  acquire(timeoutMs: number): boolean {
    const word = this.#word;
    const me = this.#me;
    for (let i = 0; i < SPINS; i++) {
      if (Atomics.compareExchange(word, 0, 0n, me) === 0n) return false;
    }
    const deadline = performance.now() + timeoutMs;
    let wait = FIRST_PAUSE_MS;
    let suspect = 0n;
    let suspectSince = 0;
    while (true) {
      const owner = Atomics.load(word, 0);
      if (owner === 0n) {
        if (Atomics.compareExchange(word, 0, 0n, me) === 0n) return false;
        continue;
      }
      const now = performance.now();
      if (owner !== suspect) {
        suspect = owner;
        suspectSince = now;
      } else if (now - suspectSince >= SUSPECT_AFTER_MS && !ownerRuns(owner)) {
        if (Atomics.compareExchange(word, 0, owner, me) === owner) return true;
        continue;
      }
      if (now > deadline) {
        throw new IpcError(`lock ${this.#what}`, "SegmentLock", "ETIMEDOUT", 0, {
          reason: `process ${owner & LOW_32} has held its lock for more than ${timeoutMs} ms`,
        });
      }
      sleepSync(wait);
      wait = Math.min(wait * 2, LONGEST_PAUSE_MS);
    }
  }

  /** Lets go of the lock. */
  release(): void {
    Atomics.compareExchange(this.#word, 0, this.#me, 0n);
  }

  /**
   * Runs `body` holding the lock.
   *
   * @param timeoutMs How long a live owner may keep it.
   * @param body The critical section; receives whether the lock was taken from a dead owner.
   * @returns What `body` returns.
   */
  with<T>(timeoutMs: number, body: (recovered: boolean) => T): T {
    const recovered = this.acquire(timeoutMs);
    try {
      return body(recovered);
    } finally {
      this.release();
    }
  }
}

function ownerRuns(owner: bigint): boolean {
  return isAlive(Number(owner & LOW_32), Number(owner >> 32n));
}
