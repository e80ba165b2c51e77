/**
 * Named counting semaphores shared between processes: the seeds' `sem_open` / `sem_wait` /
 * `sem_post`, with waits that never block the event loop.
 *
 * @module
 */

import { IpcError } from "./ipc_error.ts";
import { validateName } from "./names.ts";
import { type OpenMode, platform, type SemaphoreHandle } from "./platform.ts";

/** How long one off-thread wait lasts before the waiter checks whether it was aborted. */
const SLICE_MS = 100;

/** Options for {@link NamedSemaphore.wait}. */
export interface WaitOptions {
  /**
   * Give up after this many milliseconds and resolve `false`.
   * @default {Infinity}
   */
  timeoutMs?: number;
  /** Stop waiting, resolving `false`, when this signal aborts. */
  signal?: AbortSignal;
}

/**
 * A named counting semaphore shared between processes: POSIX `sem_open` on Linux and macOS,
 * a kernel semaphore on Windows. Waiting happens off the main thread, so the event loop
 * keeps running while a process waits.
 *
 * Timed waits: Linux uses `sem_timedwait`; macOS has none, so it polls `sem_trywait` with a
 * 1→10 ms back-off; Windows uses `WaitForSingleObject`'s timeout.
 *
 * @example Ping-pong inside one process
 * ```ts
 * import assert from "node:assert/strict";
 * import { NamedSemaphore } from "./mod.ts";
 *
 * const name = `shmooze-doc-sem-${crypto.randomUUID().slice(0, 8)}`;
 * const sem = NamedSemaphore.create(name, 0);
 * sem.post();
 * assert.equal(await sem.wait({ timeoutMs: 1000 }), true);
 * assert.equal(sem.tryWait(), false); // the one post was taken
 * sem.close();
 * NamedSemaphore.unlink(name);
 * ```
 */
export class NamedSemaphore {
  #handle: SemaphoreHandle | undefined;
  #waiters = 0;
  #closing = false;
  readonly #created: boolean;
  /** The semaphore's name. */
  readonly name: string;

  private constructor(name: string, handle: SemaphoreHandle, created: boolean) {
    this.name = name;
    this.#handle = handle;
    this.#created = created;
  }

  static #open(name: string, mode: OpenMode, initial: number): NamedSemaphore {
    validateName(name, "semaphore");
    if (!Number.isInteger(initial) || initial < 0 || initial > 0x7fffffff) {
      throw new IpcError("create semaphore", "NamedSemaphore", "EINVAL", 0, {
        objectName: name,
        reason: `the initial value must be a whole number from 0 to 2147483647, not ${initial}`,
      });
    }
    const { handle, created } = platform().openSemaphore(name, mode, initial);
    return new NamedSemaphore(name, handle, created);
  }

  /**
   * Creates a new semaphore, failing if the name exists (`EEXIST`).
   *
   * @param name A name starting with `shmooze-`.
   * @param initial Its starting count.
   * @returns The semaphore.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { NamedSemaphore } from "./mod.ts";
   *
   * const sem = NamedSemaphore.create(`shmooze-doc-semc-${crypto.randomUUID().slice(0, 8)}`, 1);
   * assert.equal(sem.created, true);
   * assert.equal(sem.tryWait(), true);
   * sem.close();
   * NamedSemaphore.unlink(sem.name);
   * ```
   */
  static create(name: string, initial = 0): NamedSemaphore {
    return NamedSemaphore.#open(name, "create", initial);
  }

  /**
   * Opens an existing semaphore (`ENOENT` if missing).
   *
   * @param name The semaphore's name.
   * @returns The semaphore.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { NamedSemaphore } from "./mod.ts";
   *
   * const name = `shmooze-doc-semo-${crypto.randomUUID().slice(0, 8)}`;
   * const a = NamedSemaphore.create(name, 0);
   * const b = NamedSemaphore.open(name);
   * a.post();
   * assert.equal(b.created, false);
   * assert.equal(b.tryWait(), true); // one count, shared by both handles
   * b.close();
   * a.close();
   * NamedSemaphore.unlink(name);
   * ```
   */
  static open(name: string): NamedSemaphore {
    return NamedSemaphore.#open(name, "open", 0);
  }

  /**
   * Opens the semaphore, creating it with `initial` if it does not exist yet.
   *
   * @param name The semaphore's name.
   * @param initial The count to create it with.
   * @returns The semaphore; {@link NamedSemaphore.created} says which happened.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { NamedSemaphore } from "./mod.ts";
   *
   * const name = `shmooze-doc-semooc-${crypto.randomUUID().slice(0, 8)}`;
   * const sem = NamedSemaphore.openOrCreate(name, 0);
   * const again = NamedSemaphore.openOrCreate(name, 0);
   * assert.equal(sem.created, true);
   * assert.equal(again.created, false);
   * again.close();
   * sem.close();
   * NamedSemaphore.unlink(name);
   * ```
   */
  static openOrCreate(name: string, initial = 0): NamedSemaphore {
    return NamedSemaphore.#open(name, "openOrCreate", initial);
  }

  /**
   * Removes a semaphore's name; open handles keep working. Does nothing on Windows, where
   * the object disappears with its last handle.
   *
   * @param name The semaphore's name.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { IpcError, NamedSemaphore } from "./mod.ts";
   *
   * const sem = NamedSemaphore.create(`shmooze-doc-semu-${crypto.randomUUID().slice(0, 8)}`);
   * sem.close();
   * NamedSemaphore.unlink(sem.name);
   * if (Deno.build.os !== "windows") {
   *   assert.throws(
   *     () => NamedSemaphore.open(sem.name),
   *     (error) => error instanceof IpcError && error.code === "ENOENT",
   *   );
   * }
   * ```
   */
  static unlink(name: string): void {
    validateName(name, "semaphore");
    platform().unlinkSemaphore(name);
  }

  /** Whether this handle created the semaphore. */
  get created(): boolean {
    return this.#created;
  }

  #live(action: string): SemaphoreHandle {
    if (this.#handle === undefined || this.#closing) {
      throw new IpcError(action, "NamedSemaphore", "EBADF", 0, {
        objectName: this.name,
        reason: "this handle is closed",
      });
    }
    return this.#handle;
  }

  /**
   * Adds one to the count, waking one waiter (`sem_post`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { NamedSemaphore } from "./mod.ts";
   *
   * const sem = NamedSemaphore.create(`shmooze-doc-post-${crypto.randomUUID().slice(0, 8)}`);
   * sem.post();
   * assert.equal(sem.tryWait(), true);
   * sem.close();
   * NamedSemaphore.unlink(sem.name);
   * ```
   */
  post(): void {
    platform().postSemaphore(this.#live("post semaphore"), this.name);
  }

  /**
   * Takes one if the count is above zero, without waiting.
   *
   * @returns Whether one was taken.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { NamedSemaphore } from "./mod.ts";
   *
   * const sem = NamedSemaphore.create(`shmooze-doc-try-${crypto.randomUUID().slice(0, 8)}`);
   * assert.equal(sem.tryWait(), false); // the count starts at 0
   * sem.close();
   * NamedSemaphore.unlink(sem.name);
   * ```
   */
  tryWait(): boolean {
    return platform().tryWaitSemaphore(this.#live("wait on semaphore"), this.name);
  }

  /**
   * Waits until one can be taken, the timeout passes, the signal aborts or the handle is
   * closed. Never blocks the event loop.
   *
   * @param options Timeout and abort signal.
   * @returns `true` when one was taken, `false` otherwise.
   *
   * @example Waiting with a timeout
   * ```ts
   * import assert from "node:assert/strict";
   * import { NamedSemaphore } from "./mod.ts";
   *
   * const sem = NamedSemaphore.create(`shmooze-doc-wait-${crypto.randomUUID().slice(0, 8)}`);
   * const started = performance.now();
   * assert.equal(await sem.wait({ timeoutMs: 50 }), false);
   * assert.ok(performance.now() - started >= 45);
   * sem.close();
   * NamedSemaphore.unlink(sem.name);
   * ```
   */
  async wait(options: WaitOptions = {}): Promise<boolean> {
    const handle = this.#live("wait on semaphore");
    const os = platform();
    if (os.tryWaitSemaphore(handle, this.name)) return true;
    const timeout = options.timeoutMs ?? Infinity;
    const deadline = Date.now() + timeout;
    this.#waiters++;
    try {
      while (!this.#closing && !options.signal?.aborted) {
        const left = deadline - Date.now();
        if (left <= 0) return false;
        if (await os.waitSemaphoreSlice(handle, this.name, Math.min(left, SLICE_MS))) {
          return true;
        }
      }
      return false;
    } finally {
      this.#waiters--;
      if (this.#closing && this.#waiters === 0) this.#release();
    }
  }

  /**
   * Closes this process's handle. Pending waits resolve `false` within ~100 ms; the OS
   * handle is released once they have.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { IpcError, NamedSemaphore } from "./mod.ts";
   *
   * const sem = NamedSemaphore.create(`shmooze-doc-close-${crypto.randomUUID().slice(0, 8)}`);
   * const waiting = sem.wait();
   * sem.close();
   * assert.equal(await waiting, false); // a pending wait ends
   * assert.throws(() => sem.post(), (error) => error instanceof IpcError && error.code === "EBADF");
   * NamedSemaphore.unlink(sem.name);
   * ```
   */
  close(): void {
    if (this.#handle === undefined || this.#closing) return;
    this.#closing = true;
    if (this.#waiters === 0) this.#release();
  }

  #release(): void {
    if (this.#handle === undefined) return;
    platform().closeSemaphore(this.#handle);
    this.#handle = undefined;
  }

  /** Closes on `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
