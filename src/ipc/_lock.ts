/**
 * A cross-process lock that lives in one 32-bit word of shared memory and survives the death
 * of its owner.
 *
 * Why not a named semaphore (the seeds' choice): a semaphore does not know who holds it, so
 * when a holder is killed (`kill -9`) between `sem_wait` and `sem_post`, every other process
 * waits forever. Here the word holds the owner's pid (0 = free): taking the lock is one
 * compare-and-swap 0 → my pid; a waiter that sees a pid whose process is gone swaps dead pid
 * → my pid, which only one waiter can win, and repairs what the dead owner left half done
 * (like a robust mutex's EOWNERDEAD). It needs no OS object besides the segment, so nothing
 * extra can leak, and the uncontended path is one atomic instruction with no system call.
 *
 * Waiting is synchronous: a room's `send()` is, and a critical section only copies one slot
 * (about a microsecond). A waiter spins briefly, then sleeps in short slices (a 20 µs → 1 ms
 * back-off through `Atomics.wait` on a private buffer), re-checking the word and the owner's
 * liveness after each. The same code runs on Linux, macOS and Windows; futex(2) would save
 * the back-off's few wake-ups only while a lock is held for long, which a live owner never
 * does.
 *
 * Known limit: a pid is recycled by the OS eventually; a dead owner whose pid already belongs
 * to a new process looks alive, and waiters time out with an error rather than recover.
 *
 * @module
 */

import { IpcError } from "./ipc_error.ts";
import { platform } from "./platform.ts";

/** Compare-and-swap attempts before the first sleep. */
const SPINS = 200;
const FIRST_PAUSE_MS = 0.02;
const LONGEST_PAUSE_MS = 1;

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

/** A pid-owned lock word inside a shared segment. */
export class SegmentLock {
  readonly #words: Int32Array;
  readonly #index: number;
  readonly #pid: number;
  readonly #what: string;

  /**
   * @param words The segment as 32-bit words.
   * @param index Which word is the lock.
   * @param what What it guards, for error messages: `room "lobby"`.
   */
  constructor(words: Int32Array, index: number, what: string) {
    this.#words = words;
    this.#index = index;
    this.#pid = platform().pid();
    this.#what = what;
  }

  /**
   * Takes the lock, waiting up to `timeoutMs` for a live owner to let go.
   *
   * @param timeoutMs How long a live owner may keep it.
   * @returns The pid of a dead owner it was taken from (the caller repairs its half-done
   *   work), or 0.
   */
  acquire(timeoutMs: number): number {
    const words = this.#words;
    const index = this.#index;
    for (let i = 0; i < SPINS; i++) {
      if (Atomics.compareExchange(words, index, 0, this.#pid) === 0) return 0;
    }
    const deadline = performance.now() + timeoutMs;
    let wait = FIRST_PAUSE_MS;
    while (true) {
      const owner = Atomics.load(words, index);
      if (owner === 0) {
        if (Atomics.compareExchange(words, index, 0, this.#pid) === 0) return 0;
        continue;
      }
      if (!platform().isAlive(owner)) {
        if (Atomics.compareExchange(words, index, owner, this.#pid) === owner) return owner;
        continue;
      }
      if (performance.now() > deadline) {
        throw new IpcError(`lock ${this.#what}`, "SegmentLock", "ETIMEDOUT", 0, {
          reason: `process ${owner} has held its lock for more than ${timeoutMs} ms`,
        });
      }
      sleepSync(wait);
      wait = Math.min(wait * 2, LONGEST_PAUSE_MS);
    }
  }

  /** Lets go of the lock. */
  release(): void {
    Atomics.compareExchange(this.#words, this.#index, this.#pid, 0);
  }

  /**
   * Runs `body` holding the lock.
   *
   * @param timeoutMs How long a live owner may keep it.
   * @param body The critical section; receives the dead owner's pid or 0.
   * @returns What `body` returns.
   */
  with<T>(timeoutMs: number, body: (recoveredFrom: number) => T): T {
    const recovered = this.acquire(timeoutMs);
    try {
      return body(recovered);
    } finally {
      this.release();
    }
  }
}
