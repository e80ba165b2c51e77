/**
 * Removing an OS object's name when it may already be gone.
 *
 * @module
 */

import { IpcError } from "./ipc_error.ts";

/**
 * Runs an unlink (`SharedMemory.unlink`, `NamedSemaphore.unlink` …), ignoring that the
 * object is already gone: removing what someone else removed first is not an error.
 *
 * @param unlink The call that removes the name.
 */
export function unlinkIfPresent(unlink: () => void): void {
  try {
    unlink();
  } catch (error) {
    if (!(error instanceof IpcError) || error.code !== "ENOENT") throw error;
  }
}
