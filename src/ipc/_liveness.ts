/**
 * Whether a process named in shared memory still runs: the one rule that the room (its
 * participants and its reaping), the room's lock, the status board and `shmooze ipc` apply.
 *
 * A pid alone is not enough: a process killed but not yet reaped by its parent (a zombie)
 * still has its pid, and once reaped its pid goes to some later process. So shared memory
 * records who a process is as its pid and its start time, and a process counts as alive only
 * while one with that pid runs, is not a zombie, and started at that time. Where the OS does
 * not give start times (macOS, Windows: see `Platform.processStart`), the start is 0
 * and only the pid is compared.
 *
 * @module
 */

import { platform } from "./platform.ts";

/** A process as shared memory records it. */
export interface ProcessIdentity {
  /** Its process id. */
  readonly pid: number;
  /** When it started, as `Platform.processStart` says; 0 when unknown. */
  readonly start: number;
}

let own: ProcessIdentity | undefined;

/**
 * This process, as it records itself in shared memory.
 *
 * @returns Its pid and start time.
 */
export function ownIdentity(): ProcessIdentity {
  if (own === undefined) {
    const p = platform();
    const pid = p.pid();
    own = { pid, start: p.processStart(pid) ?? 0 };
  }
  return own;
}

/**
 * Whether the process recorded as `pid` and `start` still runs: the same process, not a
 * zombie, and not a later one that was given its pid.
 *
 * @param pid The recorded pid; 0 or anything else that is not a pid is no process.
 * @param start The recorded start time; 0 when unknown, then only the pid counts.
 * @returns True while it runs.
 */
export function isAlive(pid: number, start: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const now = platform().processStart(pid);
  return now !== undefined && (start === 0 || now === 0 || now === start);
}
