/**
 * The C library's symbols shmooze calls on Linux (glibc) and macOS (libSystem).
 *
 * Only symbol tables and the loader live here: everything else builds on {@link libc}.
 * Each parameter carries its C prototype as a comment.
 *
 * Variadic functions (`shm_open`, `sem_open`) are declared with fixed arguments. That is
 * sound on x86_64 and on Linux arm64, where variadic arguments travel like fixed ones. On
 * Apple arm64 variadic arguments go on the stack, so the macOS arm64 table pads the six
 * remaining argument registers and passes the variadic part as 8-byte stack slots; shm_open
 * permissions are set again with fchmod after creating, whatever the platform.
 *
 * @module
 */

/**
 * Symbols common to glibc and libSystem, with one signature everywhere.
 *
 * @example Every platform's table starts from this one
 * ```ts
 * import assert from "node:assert/strict";
 * import { commonSymbols, darwinArm64Symbols, darwinX64Symbols, linuxSymbols } from "./libc.ts";
 *
 * for (const table of [linuxSymbols, darwinX64Symbols, darwinArm64Symbols]) {
 *   assert.equal(table.sem_post, commonSymbols.sem_post);
 * }
 * ```
 */
export const commonSymbols = {
  shm_unlink: { parameters: ["buffer" /* const char *name */], result: "i32" },
  ftruncate: { parameters: ["i32", /* int fd */ "i64" /* off_t length */], result: "i32" },
  mmap: {
    parameters: [
      "pointer", /* void *addr */
      "usize", /* size_t length */
      "i32", /* int prot */
      "i32", /* int flags */
      "i32", /* int fd */
      "i64", /* off_t offset */
    ],
    result: "pointer",
  },
  munmap: { parameters: ["pointer", /* void *addr */ "usize" /* size_t length */], result: "i32" },
  fchmod: { parameters: ["i32", /* int fd */ "u32" /* mode_t mode */], result: "i32" },
  close: { parameters: ["i32" /* int fd */], result: "i32" },
  sem_close: { parameters: ["pointer" /* sem_t *sem */], result: "i32" },
  sem_unlink: { parameters: ["buffer" /* const char *name */], result: "i32" },
  sem_post: { parameters: ["pointer" /* sem_t *sem */], result: "i32" },
  sem_trywait: { parameters: ["pointer" /* sem_t *sem */], result: "i32" },
  sem_wait_blocking: {
    name: "sem_wait",
    parameters: ["pointer" /* sem_t *sem */],
    result: "i32",
    nonblocking: true,
  },
  getpid: { parameters: [], result: "i32" },
  getuid: { parameters: [], result: "u32" },
  kill: { parameters: ["i32", /* pid_t pid */ "i32" /* int sig */], result: "i32" },
  /** `struct passwd *getpwuid(uid_t uid)`: `pw_name` is the first field on glibc and macOS. */
  getpwuid: { parameters: ["u32" /* uid_t uid */], result: "pointer" },
  strerror: { parameters: ["i32" /* int errnum */], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * glibc (Linux x86_64 and arm64).
 *
 * @example A `_blocking` entry is the same C function, run off the JavaScript thread
 * ```ts
 * import assert from "node:assert/strict";
 * import { linuxSymbols, openFirst } from "./libc.ts";
 *
 * assert.equal(linuxSymbols.sem_timedwait_blocking.name, "sem_timedwait");
 * assert.ok(linuxSymbols.sem_timedwait_blocking.nonblocking);
 * if (Deno.build.os === "linux") {
 *   const libc = openFirst(["libc.so.6"], { getpid: linuxSymbols.getpid });
 *   assert.equal(libc.symbols.getpid(), Deno.pid);
 *   libc.close();
 * }
 * ```
 */
export const linuxSymbols = {
  ...commonSymbols,
  shm_open: {
    parameters: ["buffer", /* const char *name */ "i32", /* int oflag */ "u32" /* mode_t mode */],
    result: "i32",
  },
  sem_open: {
    parameters: [
      "buffer", /* const char *name */
      "i32", /* int oflag */
      "u32", /* mode_t mode (variadic) */
      "u32", /* unsigned int value (variadic) */
    ],
    result: "pointer",
  },
  sem_timedwait: {
    parameters: ["pointer", /* sem_t *sem */ "buffer" /* const struct timespec *abstime */],
    result: "i32",
  },
  sem_timedwait_blocking: {
    name: "sem_timedwait",
    parameters: ["pointer", /* sem_t *sem */ "buffer" /* const struct timespec *abstime */],
    result: "i32",
    nonblocking: true,
  },
  fstat: { parameters: ["i32", /* int fd */ "buffer" /* struct stat *buf */], result: "i32" },
  /**
   * `int open(const char *path, int flags, ...)`: declared without the variadic mode, which
   * shmooze never passes (it opens existing files only: /proc entries, /dev/shm with O_PATH).
   */
  open: { parameters: ["buffer", /* const char *path */ "i32" /* int flags */], result: "i32" },
  read: {
    parameters: ["i32", /* int fd */ "buffer", /* void *buf */ "usize" /* size_t count */],
    result: "isize",
  },
  clock_gettime: {
    parameters: ["i32", /* clockid_t clk */ "buffer" /* struct timespec *tp */],
    result: "i32",
  },
  __errno_location: { parameters: [], result: "pointer" },
  /** `long syscall(long number, ...)`, used for futex(2): glibc has no wrapper for it. */
  syscall: {
    parameters: [
      "i64", /* long number */
      "pointer", /* uint32_t *uaddr */
      "i32", /* int futex_op */
      "u32", /* uint32_t val */
      "buffer", /* const struct timespec *timeout */
      "pointer", /* uint32_t *uaddr2 */
      "u32", /* uint32_t val3 */
    ],
    result: "i64",
  },
  syscall_blocking: {
    name: "syscall",
    parameters: ["i64", "pointer", "i32", "u32", "buffer", "pointer", "u32"],
    result: "i64",
    nonblocking: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * libSystem on macOS x86_64 (variadic arguments travel in registers).
 *
 * @example `shm_open`'s mode is a plain third argument; `fstat` is the 64-bit-inode one
 * ```ts
 * import assert from "node:assert/strict";
 * import { darwinX64Symbols } from "./libc.ts";
 *
 * assert.equal(darwinX64Symbols.shm_open.parameters.length, 3);
 * assert.equal(darwinX64Symbols.fstat.name, "fstat$INODE64");
 * ```
 */
export const darwinX64Symbols = {
  ...commonSymbols,
  shm_open: {
    parameters: [
      "buffer", /* const char *name */
      "i32", /* int oflag */
      "u32", /* mode (variadic) */
    ],
    result: "i32",
  },
  sem_open: {
    parameters: ["buffer", "i32", "u32", /* mode (variadic) */ "u32" /* value (variadic) */],
    result: "pointer",
  },
  fstat: {
    name: "fstat$INODE64",
    parameters: ["i32", /* int fd */ "buffer" /* struct stat *buf */],
    result: "i32",
  },
  __error: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * libSystem on macOS arm64: x2–x7 are padded so the variadic arguments land in the 8-byte
 * stack slots where `va_arg` reads them.
 *
 * @example `shm_open`'s mode is the ninth argument: the first stack slot
 * ```ts
 * import assert from "node:assert/strict";
 * import { darwinArm64Symbols } from "./libc.ts";
 *
 * assert.equal(darwinArm64Symbols.shm_open.parameters.length, 9);
 * assert.equal(darwinArm64Symbols.shm_open.parameters[8], "u64");
 * ```
 */
export const darwinArm64Symbols = {
  ...commonSymbols,
  shm_open: {
    parameters: [
      "buffer", /* const char *name */
      "i32", /* int oflag */
      "u64", /* x2 (unused) */
      "u64", /* x3 (unused) */
      "u64", /* x4 (unused) */
      "u64", /* x5 (unused) */
      "u64", /* x6 (unused) */
      "u64", /* x7 (unused) */
      "u64", /* mode_t mode (variadic, stack slot 0) */
    ],
    result: "i32",
  },
  sem_open: {
    parameters: [
      "buffer", /* const char *name */
      "i32", /* int oflag */
      "u64", /* x2 (unused) */
      "u64", /* x3 (unused) */
      "u64", /* x4 (unused) */
      "u64", /* x5 (unused) */
      "u64", /* x6 (unused) */
      "u64", /* x7 (unused) */
      "u64", /* mode_t mode (variadic, stack slot 0) */
      "u64", /* unsigned int value (variadic, stack slot 1) */
    ],
    result: "pointer",
  },
  fstat: { parameters: ["i32", /* int fd */ "buffer" /* struct stat *buf */], result: "i32" },
  __error: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** A loaded glibc. */
export type LinuxLibc = Deno.DynamicLibrary<typeof linuxSymbols>;
/** A loaded libSystem on macOS x86_64. */
export type DarwinX64Libc = Deno.DynamicLibrary<typeof darwinX64Symbols>;
/** A loaded libSystem on macOS arm64. */
export type DarwinArm64Libc = Deno.DynamicLibrary<typeof darwinArm64Symbols>;

/** Where to look for the C library per OS; `SHMOOZE_LIBC` overrides. */
const libcCandidates: Record<string, string[]> = {
  linux: ["libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6"],
  darwin: ["/usr/lib/libSystem.B.dylib", "libSystem.B.dylib"],
};

/**
 * Opens a library from a list of candidate names, saying which were tried when none loads.
 *
 * @param candidates File names or paths to try in order.
 * @param symbols The symbol table.
 * @returns The loaded library.
 * @throws Error naming each candidate and why it did not load.
 *
 * @example The first candidate that loads is used; when none does, the error lists them
 * ```ts
 * import assert from "node:assert/strict";
 * import { commonSymbols, openFirst } from "./libc.ts";
 *
 * const getpid = { getpid: commonSymbols.getpid };
 * assert.throws(
 *   () => openFirst(["no-such-libc.so"], getpid),
 *   /Cannot load the C library: tried no-such-libc\.so: /,
 * );
 * if (Deno.build.os === "linux") {
 *   const libc = openFirst(["no-such-libc.so", "libc.so.6"], getpid);
 *   assert.equal(libc.symbols.getpid(), Deno.pid);
 *   libc.close();
 * }
 * ```
 */
export function openFirst<S extends Deno.ForeignLibraryInterface>(
  candidates: string[],
  symbols: S,
): Deno.DynamicLibrary<S> {
  const failures: string[] = [];
  for (const path of candidates) {
    try {
      return Deno.dlopen(path, symbols);
    } catch (error) {
      failures.push(`${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`Cannot load the C library: tried ${failures.join("; ")}`);
}

function candidates(os: string): string[] {
  const override = Deno.env.get("SHMOOZE_LIBC");
  return override ? [override] : (libcCandidates[os] ?? []);
}

let linux: LinuxLibc | undefined;
let darwinX64: DarwinX64Libc | undefined;
let darwinArm64: DarwinArm64Libc | undefined;

/**
 * Loads glibc once.
 *
 * @returns The library, the same one on every call.
 * @throws Error naming the files tried when glibc cannot be loaded (`SHMOOZE_LIBC` overrides
 *   the list).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linuxLibc } from "./libc.ts";
 *
 * if (Deno.build.os === "linux") {
 *   assert.equal(linuxLibc(), linuxLibc());
 *   assert.equal(linuxLibc().symbols.getpid(), Deno.pid);
 * }
 * ```
 */
export function linuxLibc(): LinuxLibc {
  return linux ??= openFirst(candidates("linux"), linuxSymbols);
}

/**
 * Loads libSystem once, for macOS x86_64.
 *
 * @returns The library, the same one on every call.
 * @throws Error naming the files tried when libSystem cannot be loaded (`SHMOOZE_LIBC`
 *   overrides the list).
 *
 * @example On its own platform it loads; elsewhere the error says what was tried
 * ```ts
 * import assert from "node:assert/strict";
 * import { darwinX64Libc } from "./libc.ts";
 *
 * if (Deno.build.os === "darwin" && Deno.build.arch === "x86_64") {
 *   assert.equal(darwinX64Libc().symbols.getpid(), Deno.pid);
 * } else if (Deno.build.os !== "darwin" && !Deno.env.get("SHMOOZE_LIBC")) {
 *   const tried = /tried \/usr\/lib\/libSystem\.B\.dylib: .*; libSystem\.B\.dylib: /;
 *   assert.throws(darwinX64Libc, tried);
 * }
 * ```
 */
export function darwinX64Libc(): DarwinX64Libc {
  return darwinX64 ??= openFirst(candidates("darwin"), darwinX64Symbols);
}

/**
 * Loads libSystem once, for macOS arm64.
 *
 * @returns The library, the same one on every call.
 * @throws Error naming the files tried when libSystem cannot be loaded (`SHMOOZE_LIBC`
 *   overrides the list).
 *
 * @example On its own platform it loads; elsewhere the error says what was tried
 * ```ts
 * import assert from "node:assert/strict";
 * import { darwinArm64Libc } from "./libc.ts";
 *
 * if (Deno.build.os === "darwin" && Deno.build.arch === "aarch64") {
 *   assert.equal(darwinArm64Libc().symbols.getpid(), Deno.pid);
 * } else if (Deno.build.os !== "darwin" && !Deno.env.get("SHMOOZE_LIBC")) {
 *   assert.throws(darwinArm64Libc, /Cannot load the C library: tried \/usr\/lib\/libSystem/);
 * }
 * ```
 */
export function darwinArm64Libc(): DarwinArm64Libc {
  return darwinArm64 ??= openFirst(candidates("darwin"), darwinArm64Symbols);
}

/**
 * futex(2) operations and the syscall number per architecture (Linux).
 *
 * @example Wake the waiters of a word nobody waits on: none
 * ```ts
 * import assert from "node:assert/strict";
 * import { futex, linuxLibc } from "./libc.ts";
 *
 * if (Deno.build.os === "linux") {
 *   const word = new Uint32Array(1);
 *   const woken = linuxLibc().symbols.syscall(
 *     futex.SYS_futex,
 *     Deno.UnsafePointer.of(word),
 *     futex.FUTEX_WAKE,
 *     1,
 *     null,
 *     null,
 *     0,
 *   );
 *   assert.equal(Number(woken), 0);
 * }
 * ```
 */
export const futex = {
  SYS_futex: Deno.build.arch === "aarch64" ? 98n : 202n,
  FUTEX_WAIT: 0,
  FUTEX_WAKE: 1,
} as const;

/**
 * Constants shared by the C libraries, per OS where they differ.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { constants, errnoNames } from "./libc.ts";
 *
 * assert.equal(constants.O_RDWR, 2);
 * const os = Deno.build.os === "darwin" ? "darwin" : "linux";
 * assert.equal(errnoNames[os][constants.ETIMEDOUT], "ETIMEDOUT");
 * ```
 */
export const constants = Deno.build.os === "darwin"
  ? {
    O_RDWR: 0x2,
    O_CREAT: 0x200,
    O_EXCL: 0x800,
    PROT_READ: 0x1,
    PROT_WRITE: 0x2,
    MAP_SHARED: 0x1,
    SIGTERM: 15,
    ETIMEDOUT: 60,
  }
  : {
    O_RDWR: 0x2,
    O_CREAT: 0x40,
    O_EXCL: 0x80,
    PROT_READ: 0x1,
    PROT_WRITE: 0x2,
    MAP_SHARED: 0x1,
    SIGTERM: 15,
    ETIMEDOUT: 110,
  };

/**
 * Flags of open(2) that only the Linux code uses (`O_NOFOLLOW` differs on arm64).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linuxOpenFlags } from "./libc.ts";
 *
 * assert.equal(linuxOpenFlags.O_RDONLY, 0);
 * assert.equal(linuxOpenFlags.O_PATH, 0x200000);
 * ```
 */
export const linuxOpenFlags = {
  O_RDONLY: 0,
  O_CLOEXEC: 0x80000,
  O_PATH: 0x200000,
  O_NOFOLLOW: Deno.build.arch === "aarch64" ? 0x8000 : 0x20000,
} as const;

/**
 * errno values by name, as each OS numbers them (only those shmooze reports).
 *
 * @example One name, two numbers
 * ```ts
 * import assert from "node:assert/strict";
 * import { errnoNames } from "./libc.ts";
 *
 * assert.equal(errnoNames.linux[11], "EAGAIN");
 * assert.equal(errnoNames.darwin[35], "EAGAIN");
 * ```
 */
export const errnoNames: Record<string, Record<number, string>> = {
  linux: {
    1: "EPERM",
    2: "ENOENT",
    3: "ESRCH",
    4: "EINTR",
    9: "EBADF",
    11: "EAGAIN",
    12: "ENOMEM",
    13: "EACCES",
    17: "EEXIST",
    22: "EINVAL",
    23: "ENFILE",
    24: "EMFILE",
    28: "ENOSPC",
    36: "ENAMETOOLONG",
    38: "ENOSYS",
    40: "ELOOP",
    110: "ETIMEDOUT",
  },
  darwin: {
    1: "EPERM",
    2: "ENOENT",
    3: "ESRCH",
    4: "EINTR",
    9: "EBADF",
    12: "ENOMEM",
    13: "EACCES",
    17: "EEXIST",
    22: "EINVAL",
    23: "ENFILE",
    24: "EMFILE",
    28: "ENOSPC",
    35: "EAGAIN",
    60: "ETIMEDOUT",
    62: "ELOOP",
    63: "ENAMETOOLONG",
    78: "ENOSYS",
  },
};
