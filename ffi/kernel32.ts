/**
 * kernel32.dll symbols shmooze calls on Windows. Symbol table and loader only.
 *
 * Strings are UTF-16, NUL-terminated (`LPCWSTR`); handles are pointers.
 *
 * @module
 */

/**
 * The kernel32 symbol table.
 *
 * @example A `_blocking` entry is the same function, run off the JavaScript thread
 * ```ts
 * import assert from "node:assert/strict";
 * import { kernel32Symbols } from "./kernel32.ts";
 *
 * assert.equal(kernel32Symbols.WaitForSingleObject_blocking.name, "WaitForSingleObject");
 * assert.ok(kernel32Symbols.WaitForSingleObject_blocking.nonblocking);
 * ```
 */
export const kernel32Symbols = {
  CreateFileMappingW: {
    parameters: [
      "pointer", /* HANDLE hFile (INVALID_HANDLE_VALUE: backed by the paging file) */
      "pointer", /* LPSECURITY_ATTRIBUTES lpFileMappingAttributes */
      "u32", /* DWORD flProtect */
      "u32", /* DWORD dwMaximumSizeHigh */
      "u32", /* DWORD dwMaximumSizeLow */
      "buffer", /* LPCWSTR lpName */
    ],
    result: "pointer",
  },
  OpenFileMappingW: {
    parameters: ["u32", /* DWORD dwDesiredAccess */ "i32", /* BOOL bInheritHandle */ "buffer"],
    result: "pointer",
  },
  MapViewOfFile: {
    parameters: [
      "pointer", /* HANDLE hFileMappingObject */
      "u32", /* DWORD dwDesiredAccess */
      "u32", /* DWORD dwFileOffsetHigh */
      "u32", /* DWORD dwFileOffsetLow */
      "usize", /* SIZE_T dwNumberOfBytesToMap */
    ],
    result: "pointer",
  },
  UnmapViewOfFile: { parameters: ["pointer" /* LPCVOID lpBaseAddress */], result: "i32" },
  VirtualQuery: {
    parameters: [
      "pointer", /* LPCVOID lpAddress */
      "buffer", /* PMEMORY_BASIC_INFORMATION lpBuffer */
      "usize", /* SIZE_T dwLength */
    ],
    result: "usize",
  },
  CloseHandle: { parameters: ["pointer" /* HANDLE hObject */], result: "i32" },
  CreateSemaphoreW: {
    parameters: [
      "pointer", /* LPSECURITY_ATTRIBUTES lpSemaphoreAttributes */
      "i32", /* LONG lInitialCount */
      "i32", /* LONG lMaximumCount */
      "buffer", /* LPCWSTR lpName */
    ],
    result: "pointer",
  },
  OpenSemaphoreW: {
    parameters: ["u32", /* DWORD dwDesiredAccess */ "i32", /* BOOL bInheritHandle */ "buffer"],
    result: "pointer",
  },
  ReleaseSemaphore: {
    parameters: [
      "pointer", /* HANDLE hSemaphore */
      "i32", /* LONG lReleaseCount */
      "pointer", /* LPLONG lpPreviousCount */
    ],
    result: "i32",
  },
  WaitForSingleObject: {
    parameters: ["pointer", /* HANDLE hHandle */ "u32" /* DWORD dwMilliseconds */],
    result: "u32",
  },
  WaitForSingleObject_blocking: {
    name: "WaitForSingleObject",
    parameters: ["pointer", /* HANDLE hHandle */ "u32" /* DWORD dwMilliseconds */],
    result: "u32",
    nonblocking: true,
  },
  GetLastError: { parameters: [], result: "u32" },
  GetCurrentProcessId: { parameters: [], result: "u32" },
  OpenProcess: {
    parameters: [
      "u32", /* DWORD dwDesiredAccess */
      "i32", /* BOOL bInheritHandle */
      "u32", /* DWORD dwProcessId */
    ],
    result: "pointer",
  },
  GetExitCodeProcess: {
    parameters: ["pointer", /* HANDLE hProcess */ "buffer" /* LPDWORD lpExitCode */],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** A loaded kernel32. */
export type Kernel32 = Deno.DynamicLibrary<typeof kernel32Symbols>;

let kernel32: Kernel32 | undefined;

/**
 * Loads kernel32.dll once; `SHMOOZE_KERNEL32` overrides the path.
 *
 * @returns The library, the same one on every call.
 * @throws Error naming the path tried when it cannot be loaded.
 *
 * @example On Windows it loads; elsewhere the error says what was tried
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadKernel32 } from "./kernel32.ts";
 *
 * if (Deno.build.os === "windows") {
 *   assert.equal(loadKernel32().symbols.GetCurrentProcessId(), Deno.pid);
 * } else if (!Deno.env.get("SHMOOZE_KERNEL32")) {
 *   assert.throws(loadKernel32, /Cannot load kernel32: tried kernel32\.dll: /);
 * }
 * ```
 */
export function loadKernel32(): Kernel32 {
  const path = Deno.env.get("SHMOOZE_KERNEL32") ?? "kernel32.dll";
  try {
    return kernel32 ??= Deno.dlopen(path, kernel32Symbols);
  } catch (error) {
    throw new Error(
      `Cannot load kernel32: tried ${path}: ${error instanceof Error ? error.message : error}`,
    );
  }
}

/**
 * Win32 constants used by shmooze.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { win32, win32ErrorNames } from "./kernel32.ts";
 *
 * assert.equal(win32.WAIT_TIMEOUT, 0x102);
 * assert.equal(win32ErrorNames[win32.ERROR_ALREADY_EXISTS], "ERROR_ALREADY_EXISTS");
 * ```
 */
export const win32 = {
  INVALID_HANDLE_VALUE: -1n,
  PAGE_READWRITE: 0x04,
  FILE_MAP_ALL_ACCESS: 0xf001f,
  SEMAPHORE_ALL_ACCESS: 0x1f0003,
  WAIT_OBJECT_0: 0x0,
  WAIT_TIMEOUT: 0x102,
  WAIT_FAILED: 0xffffffff,
  INFINITE: 0xffffffff,
  STILL_ACTIVE: 259,
  PROCESS_QUERY_LIMITED_INFORMATION: 0x1000,
  ERROR_FILE_NOT_FOUND: 2,
  ERROR_ACCESS_DENIED: 5,
  ERROR_INVALID_HANDLE: 6,
  ERROR_INVALID_PARAMETER: 87,
  ERROR_ALREADY_EXISTS: 183,
  ERROR_TOO_MANY_POSTS: 298,
} as const;

/**
 * Win32 error codes by name (only those shmooze reports).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { win32ErrorNames } from "./kernel32.ts";
 *
 * assert.equal(win32ErrorNames[2], "ERROR_FILE_NOT_FOUND");
 * ```
 */
export const win32ErrorNames: Record<number, string> = {
  2: "ERROR_FILE_NOT_FOUND",
  5: "ERROR_ACCESS_DENIED",
  6: "ERROR_INVALID_HANDLE",
  8: "ERROR_NOT_ENOUGH_MEMORY",
  87: "ERROR_INVALID_PARAMETER",
  123: "ERROR_INVALID_NAME",
  183: "ERROR_ALREADY_EXISTS",
  298: "ERROR_TOO_MANY_POSTS",
};
