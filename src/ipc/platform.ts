/**
 * The one seam between shmooze's IPC layer and the operating system. Everything OS-specific
 * above ffi/ lives behind this interface: `_posix.ts` (Linux, macOS) and `_windows.ts`.
 *
 * @module
 */

import { posixPlatform } from "./_posix.ts";
import { windowsPlatform } from "./_windows.ts";

/** A mapped segment as the OS gave it. */
export interface MappedSegment {
  /** POSIX: the file descriptor; Windows: the mapping handle. Opaque above this file. */
  readonly handle: number | Deno.PointerObject;
  /** The first mapped byte. */
  readonly pointer: Deno.PointerObject;
  /** Mapped length in bytes. */
  readonly size: number;
  /** Whether this call created the object. */
  readonly created: boolean;
}

/** How to get a segment or semaphore. */
export type OpenMode = "create" | "open" | "openOrCreate";

/** An opened semaphore: opaque above this file. */
export type SemaphoreHandle = Deno.PointerObject;

/** What the IPC layer needs from an OS. */
export interface Platform {
  /** `linux`, `darwin` or `windows`. */
  readonly os: string;
  /** This process's id. */
  pid(): number;
  /**
   * Whether a process with this id runs (it may belong to another user), and since when: a
   * token from 1 to 2^32 − 1 that differs between two processes given the same id in turn.
   * Undefined when no process has the id, or only one that has exited and waits to be reaped
   * (a zombie). 0 when it runs but the OS does not say since when.
   *
   * Linux: `/proc/PID/stat` (state Z or X is gone; the start time in clock ticks after boot).
   * macOS: `kill(pid, 0)`, so a zombie counts as running and the start is 0. Windows:
   * `OpenProcess` + `GetExitCodeProcess`, so an exited process is gone, zombie or not, and
   * the start is 0. Where the start is 0, a reused pid looks like the process it replaced.
   */
  processStart(pid: number): number | undefined;
  /** A number that tells users of this machine apart: the uid, or a hash of the user name. */
  userId(): number;

  /** Creates and/or opens a segment and maps it; `size` is needed to create. */
  mapSegment(name: string, mode: OpenMode, size: number): MappedSegment;
  /** Unmaps and closes. */
  unmapSegment(segment: MappedSegment): void;
  /** Removes the name; mapped views stay valid until closed. No-op where names die with handles. */
  unlinkSegment(name: string): void;

  /** Creates and/or opens a semaphore. */
  openSemaphore(
    name: string,
    mode: OpenMode,
    initial: number,
  ): { handle: SemaphoreHandle; created: boolean };
  /** Adds one. */
  postSemaphore(handle: SemaphoreHandle, name: string): void;
  /** Takes one if available without waiting. */
  tryWaitSemaphore(handle: SemaphoreHandle, name: string): boolean;
  /**
   * Waits up to `ms` milliseconds off the main thread; true when one was taken. Returns
   * early, false, at the end of a slice when it may be asked to stop; the caller loops.
   */
  waitSemaphoreSlice(handle: SemaphoreHandle, name: string, ms: number): Promise<boolean>;
  /** Closes this process's handle. */
  closeSemaphore(handle: SemaphoreHandle): void;
  /** Removes the name. No-op where names die with handles. */
  unlinkSemaphore(name: string): void;

  /**
   * Sleeps off the main thread while the 32-bit word at `pointer` still equals `expected`,
   * at most `ms` milliseconds (Linux: futex). Undefined where the OS has no cross-process
   * wait on an address; callers then poll.
   */
  readonly waitOnAddress?: (pointer: Deno.PointerObject, expected: number, ms: number) => Promise<
    void
  >;
  /** Wakes up to `count` waiters on the word at `pointer`. */
  readonly wakeAddress?: (pointer: Deno.PointerObject, count: number) => void;
}

let current: Platform | undefined;

/**
 * The platform this process runs on, loaded on first use.
 *
 * @returns The platform's implementation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { platform } from "./platform.ts";
 *
 * const os = platform();
 * assert.equal(os.os, Deno.build.os);
 * assert.equal(os.pid(), Deno.pid);
 * assert.equal(platform(), os); // loaded once
 * assert.equal(os.processStart(Deno.pid) === undefined, false); // this process runs
 * ```
 */
export function platform(): Platform {
  return current ??= Deno.build.os === "windows" ? windowsPlatform() : posixPlatform();
}
