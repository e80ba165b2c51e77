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
 * import { IpcError, SharedMemory } from "../../mod.ts";
 * try {
 *   SharedMemory.open("shmooze-doc-missing");
 * } catch (error) {
 *   if (!(error instanceof IpcError) || error.code !== "ENOENT") throw error;
 * }
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
