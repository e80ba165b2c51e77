/**
 * The names of shmooze's OS objects: one prefix, the user's id, a kind and a label, and the
 * check that a name is one this OS accepts.
 *
 * @module
 */

import { IpcError } from "./ipc_error.ts";
import { platform } from "./platform.ts";

/**
 * Every OS object shmooze creates starts with this.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NAME_PREFIX, objectName } from "./names.ts";
 *
 * assert.ok(objectName("room", "lobby").startsWith(NAME_PREFIX));
 * ```
 */
export const NAME_PREFIX = "shmooze-";

/**
 * The longest name each OS accepts for both a segment and a semaphore, without the leading
 * `/` (POSIX) or `Local\` (Windows). Linux: NAME_MAX 255 less `sem.` and the slash;
 * macOS: PSHMNAMLEN/PSEMNAMLEN 31 less the slash; Windows: MAX_PATH less `Local\`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IpcError } from "./ipc_error.ts";
 * import { MAX_NAME_LENGTH, validateName } from "./names.ts";
 *
 * const limit = MAX_NAME_LENGTH[Deno.build.os];
 * const longest = "shmooze-".padEnd(limit, "x");
 * assert.equal(validateName(longest, "shared memory"), longest);
 * assert.throws(
 *   () => validateName(`${longest}x`, "shared memory"),
 *   (error) => error instanceof IpcError && error.code === "EBADNAME",
 * );
 * ```
 */
export const MAX_NAME_LENGTH: Record<string, number> = { linux: 250, darwin: 30, windows: 250 };

const NAME_PATTERN = /^shmooze-[A-Za-z0-9._-]+$/;

/**
 * Checks that a name is one shmooze may create or open on this OS, throwing an
 * {@link IpcError} with code `EBADNAME` that says what is wrong.
 *
 * @param name The object's name, e.g. `shmooze-1000-room-lobby`.
 * @param kind What the object is, for the message: `shared memory`, `semaphore`.
 * @returns The name, unchanged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IpcError } from "./ipc_error.ts";
 * import { validateName } from "./names.ts";
 *
 * assert.equal(validateName("shmooze-room-lobby", "shared memory"), "shmooze-room-lobby");
 * assert.throws(
 *   () => validateName("shmooze-room/lobby", "shared memory"),
 *   (error) => error instanceof IpcError && error.code === "EBADNAME",
 * );
 * ```
 */
export function validateName(name: string, kind: string): string {
  const limit = MAX_NAME_LENGTH[Deno.build.os] ?? 30;
  let reason: string | undefined;
  if (!name.startsWith(NAME_PREFIX)) {
    reason = `the name must start with "${NAME_PREFIX}"`;
  } else if (!NAME_PATTERN.test(name)) {
    reason = "the name may only hold letters, digits, '.', '_' and '-' after the prefix";
  } else if (name.length > limit) {
    reason = `the name is ${name.length} characters; ${Deno.build.os} allows ${limit}`;
  }
  if (reason !== undefined) {
    throw new IpcError(`use ${kind}`, "validateName", "EBADNAME", 0, {
      objectName: name,
      reason,
    });
  }
  return name;
}

/**
 * Turns a free-form label (a room or user name) into characters allowed in an OS name,
 * keeping it readable: other characters become `_`.
 *
 * @param label Any text.
 * @returns The label with only `[A-Za-z0-9._-]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sanitizeLabel } from "./names.ts";
 *
 * assert.equal(sanitizeLabel("#lobby"), "_lobby");
 * assert.equal(sanitizeLabel("study-group.2"), "study-group.2");
 * ```
 */
export function sanitizeLabel(label: string): string {
  return label.replace(/[^A-Za-z0-9._-]/g, "_");
}

/**
 * The name of one of shmooze's OS objects for the current user:
 * `shmooze-<user>-<kind>-<label>`. The user part keeps two users of one machine apart.
 *
 * @param kind What it is: `room`, `status`, `relay` …
 * @param label Which one: a room name, a port … (sanitised with {@link sanitizeLabel}).
 * @returns The name, validated for this OS.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectName } from "./names.ts";
 *
 * // e.g. "shmooze-1000-room-lobby" for uid 1000.
 * assert.match(objectName("room", "lobby"), /^shmooze-\d+-room-lobby$/);
 * assert.match(objectName("room", "#lobby"), /-room-_lobby$/);
 * ```
 */
export function objectName(kind: string, label: string): string {
  return validateName(
    `${NAME_PREFIX}${platform().userId()}-${kind}-${sanitizeLabel(label)}`,
    kind,
  );
}
