/**
 * The one error type of shmooze's OS layer, {@link IpcError}: what was being done, to which
 * object, why it failed, and a code (the errno name, or shmooze's own) that callers branch
 * on. Messages say what failed and why, never which command-line flag to use: the CLI adds
 * that advice when it catches one.
 *
 * @module
 */

/** Why an OS call failed, in words a user can act on, by error name. */
const reasons: Record<string, string> = {
  ENOENT: "it does not exist",
  ERROR_FILE_NOT_FOUND: "it does not exist",
  EEXIST: "it already exists",
  ERROR_ALREADY_EXISTS: "it already exists",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ERROR_ACCESS_DENIED: "permission denied",
  ENAMETOOLONG: "the name is too long",
  EINVAL: "the OS rejected the arguments",
  ENOSPC: "no space left for shared memory",
  ENOMEM: "out of memory",
  EMFILE: "this process has too many open files",
  ENFILE: "the system has too many open files",
  EOWNER: "it belongs to another user",
  EBADNAME: "the name is not valid",
  ECORRUPT: "it is corrupt",
  EBADMAGIC: "it is not the kind of object expected",
  EVERSION: "it has another layout version",
};

/** Options for {@link IpcError}. */
export interface IpcErrorOptions {
  /** The OS object's name, when the call had one. */
  objectName?: string;
  /** A sentence that replaces the default reason for the error code. */
  reason?: string;
}

/**
 * The one error type of shmooze's OS layer: carries the errno (or Win32 error) name, the
 * call that failed and the object's name, and a message that says all three.
 *
 * @example Catching a missing segment
 * ```ts
 * import assert from "node:assert/strict";
 * import { IpcError, SharedMemory } from "./mod.ts";
 *
 * const name = `shmooze-doc-missing-${crypto.randomUUID().slice(0, 8)}`;
 * assert.throws(() => SharedMemory.open(name), (error) => {
 *   assert.ok(error instanceof IpcError);
 *   assert.equal(error.code, "ENOENT");
 *   assert.equal(error.objectName, name);
 *   assert.equal(error.message, `Cannot open shared memory "${name}": it does not exist (ENOENT)`);
 *   return true;
 * });
 * ```
 *
 * @example What shmooze itself refuses has errno 0 and its own reason
 * ```ts
 * import assert from "node:assert/strict";
 * import { IpcError } from "./mod.ts";
 *
 * const error = new IpcError("join room \"lobby\"", "Room", "EEXIST", 0, {
 *   reason: "the name is taken by process 42",
 * });
 * assert.equal(error.message, 'Cannot join room "lobby": the name is taken by process 42 (EEXIST)');
 * assert.equal(error.errno, 0);
 * ```
 */
export class IpcError extends Error {
  /** The error's name in the OS's own terms: `ENOENT`, `EEXIST`, `ERROR_ACCESS_DENIED` … */
  readonly code: string;
  /** The numeric errno or Win32 error, or 0 when shmooze itself refused. */
  readonly errno: number;
  /** The C function (or shmooze operation) that failed. */
  readonly call: string;
  /** The OS object's name, when there is one. */
  readonly objectName: string | undefined;
  /** Why it failed, as the message says it: `it does not exist`. */
  readonly reason: string;

  /**
   * Makes the error, its message built from what was being done, the object and the reason:
   * `Cannot open shared memory "shmooze-1000-room-lobby": it does not exist (ENOENT)`.
   *
   * @param action What was being done, as a verb phrase: `open shared memory`.
   * @param call The C function that failed: `shm_open`.
   * @param code The error's name: `ENOENT`.
   * @param errno The numeric code.
   * @param options The object's name and an optional reason.
   */
  constructor(
    action: string,
    call: string,
    code: string,
    errno: number,
    options: IpcErrorOptions = {},
  ) {
    const target = options.objectName === undefined ? "" : ` "${options.objectName}"`;
    const reason = options.reason ?? reasons[code] ?? `${call} failed`;
    super(`Cannot ${action}${target}: ${reason} (${code})`);
    this.name = "IpcError";
    this.code = code;
    this.errno = errno;
    this.call = call;
    this.objectName = options.objectName;
    this.reason = reason;
  }
}
