/**
 * Linux and macOS: POSIX shared memory (`shm_open` + `mmap`), POSIX named semaphores and,
 * on Linux, futex(2). Thin: each method is one or two C calls plus error translation.
 *
 * @module
 */

import {
  commonSymbols,
  constants as C,
  darwinArm64Libc,
  darwinX64Libc,
  errnoNames,
  futex,
  linuxLibc,
  linuxOpenFlags,
} from "../../ffi/libc.ts";
import { IpcError } from "./ipc_error.ts";
import type { MappedSegment, OpenMode, Platform, SemaphoreHandle } from "./platform.ts";

const MODE_0600 = 0o600;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Room for a /proc/PID/stat line (52 fields, a 16-byte name: under 400 bytes). */
const statLine = new Uint8Array(1024);

/** The few calls whose signature differs per OS/arch, made uniform. */
interface Libc {
  shmOpen(name: Uint8Array, oflag: number, mode: number): number;
  semOpen(name: Uint8Array, oflag: number, mode: number, value: number): Deno.PointerValue;
  fstat(fd: number, buf: Uint8Array): number;
  errno(): number;
  /** Offsets into struct stat: mode (and its width), uid, size. */
  stat: { mode: number; modeBytes: 2 | 4; uid: number; size: number };
  /** What sem_open returns on failure. */
  semFailed: bigint;
  base: Deno.StaticForeignLibraryInterface<typeof commonSymbols>;
}

function loadLibc(): Libc {
  if (Deno.build.os === "linux") {
    const s = linuxLibc().symbols;
    const arm = Deno.build.arch === "aarch64";
    return {
      shmOpen: (name, oflag, mode) => s.shm_open(name, oflag, mode),
      semOpen: (name, oflag, mode, value) => s.sem_open(name, oflag, mode, value),
      fstat: (fd, buf) => s.fstat(fd, buf),
      errno: () => new Deno.UnsafePointerView(s.__errno_location()!).getInt32(),
      stat: arm ? { mode: 16, modeBytes: 4, uid: 24, size: 48 } : {
        mode: 24,
        modeBytes: 4,
        uid: 28,
        size: 48,
      },
      semFailed: 0n,
      base: s,
    };
  }
  const darwinStat = { mode: 4, modeBytes: 2, uid: 16, size: 96 } as const;
  if (Deno.build.arch === "aarch64") {
    const s = darwinArm64Libc().symbols;
    return {
      shmOpen: (name, oflag, mode) => s.shm_open(name, oflag, 0n, 0n, 0n, 0n, 0n, 0n, BigInt(mode)),
      semOpen: (name, oflag, mode, value) =>
        s.sem_open(name, oflag, 0n, 0n, 0n, 0n, 0n, 0n, BigInt(mode), BigInt(value)),
      fstat: (fd, buf) => s.fstat(fd, buf),
      errno: () => new Deno.UnsafePointerView(s.__error()!).getInt32(),
      stat: darwinStat,
      semFailed: 0xffffffffffffffffn,
      base: s,
    };
  }
  const s = darwinX64Libc().symbols;
  return {
    shmOpen: (name, oflag, mode) => s.shm_open(name, oflag, mode),
    semOpen: (name, oflag, mode, value) => s.sem_open(name, oflag, mode, value),
    fstat: (fd, buf) => s.fstat(fd, buf),
    errno: () => new Deno.UnsafePointerView(s.__error()!).getInt32(),
    stat: darwinStat,
    semFailed: 0xffffffffffffffffn,
    base: s,
  };
}

/** A NUL-terminated C string for a POSIX IPC name: a leading slash, then the name. */
function cName(name: string): Uint8Array {
  return encoder.encode(`/${name}\0`);
}

function errnoName(errno: number): string {
  return errnoNames[Deno.build.os]?.[errno] ?? `errno ${errno}`;
}

/** Builds a POSIX platform; loads the C library now. */
export function posixPlatform(): Platform {
  const c = loadLibc();
  const s = c.base;
  const myUid = s.getuid();

  function fail(action: string, call: string, objectName?: string, errno = c.errno()): never {
    throw new IpcError(action, call, errnoName(errno), errno, { objectName });
  }

  function statOf(fd: number, name: string) {
    const buf = new Uint8Array(256);
    if (c.fstat(fd, buf) !== 0) fail("inspect shared memory", "fstat", name);
    const view = new DataView(buf.buffer);
    const mode = c.stat.modeBytes === 2
      ? view.getUint16(c.stat.mode, true)
      : view.getUint32(c.stat.mode, true);
    return {
      mode: mode & 0o777,
      uid: view.getUint32(c.stat.uid, true),
      size: Number(view.getBigInt64(c.stat.size, true)),
    };
  }

  /** Start 0 (unknown) while `kill(pid, 0)` finds the process, zombies included. */
  function signalStart(pid: number): number | undefined {
    if (pid <= 0) return undefined;
    if (s.kill(pid, 0) === 0) return 0;
    return errnoName(c.errno()) === "EPERM" ? 0 : undefined;
  }

  /**
   * A process's start token from `/proc/PID/stat`: undefined when there is no such process
   * or it is a zombie (state Z) or dead (X); null when /proc will not say (hidepid).
   * Read through libc, not Deno's file API, which asks for --allow-all to read /proc.
   */
  function procStart(pid: number): number | null | undefined {
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const linux = linuxLibc().symbols;
    const flags = linuxOpenFlags.O_RDONLY | linuxOpenFlags.O_CLOEXEC;
    const fd = linux.open(encoder.encode(`/proc/${pid}/stat\0`), flags);
    if (fd < 0) return ["ENOENT", "ESRCH"].includes(errnoName(c.errno())) ? undefined : null;
    let length: number;
    try {
      length = Number(linux.read(fd, statLine, BigInt(statLine.length)));
    } finally {
      s.close(fd);
    }
    // A process that ends between open and read: ESRCH.
    if (length <= 0) return undefined;
    const line = decoder.decode(statLine.subarray(0, length));
    // The command name (field 2) may hold spaces and parentheses: count from its last ")".
    const fields = line.slice(line.lastIndexOf(")") + 2).split(" ");
    const [state, startTicks] = [fields[0], fields[19]]; // fields 3 and 22 of proc(5)
    if (state === "Z" || state === "X" || state === "x") return undefined;
    if (!/^\d+$/.test(startTicks ?? "")) return null;
    return Number(BigInt(startTicks) % 0xffff_ffffn) + 1;
  }

  /** The owner of a /dev/shm entry, read without opening it for reading (Linux: O_PATH). */
  function ownerOnLinux(name: string): number | undefined {
    if (Deno.build.os !== "linux") return undefined;
    const flags = linuxOpenFlags.O_PATH | linuxOpenFlags.O_NOFOLLOW | linuxOpenFlags.O_CLOEXEC;
    const fd = linuxLibc().symbols.open(encoder.encode(`/dev/shm/${name}\0`), flags);
    if (fd < 0) return undefined;
    try {
      return statOf(fd, name).uid;
    } finally {
      s.close(fd);
    }
  }

  function notYours(name: string, uid: number): never {
    const user = userName(s, uid);
    const where = Deno.build.os === "linux" ? `; it is the file /dev/shm/${name}` : "";
    throw new IpcError("open shared memory", "fstat", "EOWNER", 0, {
      objectName: name,
      reason: `it belongs to uid ${uid}${user ? ` (${user})` : ""}, not to you (uid ${myUid})` +
        where,
    });
  }

  function openFd(name: string, mode: OpenMode): { fd: number; created: boolean } {
    const path = cName(name);
    if (mode !== "open") {
      const fd = c.shmOpen(path, C.O_RDWR | C.O_CREAT | C.O_EXCL, MODE_0600);
      if (fd >= 0) return { fd, created: true };
      const errno = c.errno();
      if (mode === "create" || errnoName(errno) !== "EEXIST") {
        fail("create shared memory", "shm_open", name, errno);
      }
    }
    const fd = c.shmOpen(path, C.O_RDWR, 0);
    if (fd < 0) {
      const errno = c.errno();
      // Another user's file that we may not write (or a symlink): say whose it is.
      if (["EACCES", "ELOOP"].includes(errnoName(errno))) {
        const owner = ownerOnLinux(name);
        if (owner !== undefined && owner !== myUid) notYours(name, owner);
      }
      fail("open shared memory", "shm_open", name, errno);
    }
    return { fd, created: false };
  }

  const platform: Platform = {
    os: Deno.build.os,
    pid: () => s.getpid(),
    // Without a readable /proc (not mounted), fall back to what kill(2) can tell.
    processStart: Deno.build.os === "linux" && typeof procStart(s.getpid()) === "number"
      ? (pid) => {
        const start = procStart(pid);
        return start === null ? signalStart(pid) : start;
      }
      : signalStart,
    userId: () => myUid,

    mapSegment(name, mode, size): MappedSegment {
      const { fd, created } = openFd(name, mode);
      try {
        let length = size;
        if (created) {
          // The umask may have narrowed or (on Apple arm64) the variadic mode may be lost.
          if (s.fchmod(fd, MODE_0600) !== 0) fail("set permissions on", "fchmod", name);
          if (s.ftruncate(fd, BigInt(size)) !== 0) fail("size shared memory", "ftruncate", name);
        } else {
          const stat = statOf(fd, name);
          if (stat.uid !== myUid) notYours(name, stat.uid);
          if (stat.size === 0) {
            throw new IpcError("open shared memory", "fstat", "EAGAIN", 0, {
              objectName: name,
              reason: "it is empty: its creator has not sized it yet",
            });
          }
          length = stat.size;
        }
        const pointer = s.mmap(
          null,
          BigInt(length),
          C.PROT_READ | C.PROT_WRITE,
          C.MAP_SHARED,
          fd,
          0n,
        );
        const address = Deno.UnsafePointer.value(pointer);
        if (pointer === null || address === 0xffffffffffffffffn) {
          fail("map shared memory", "mmap", name);
        }
        return { handle: fd, pointer, size: length, created };
      } catch (error) {
        s.close(fd);
        if (created) s.shm_unlink(cName(name));
        throw error;
      }
    },
    unmapSegment(segment) {
      s.munmap(segment.pointer, BigInt(segment.size));
      s.close(segment.handle as number);
    },
    unlinkSegment(name) {
      if (s.shm_unlink(cName(name)) !== 0) fail("remove shared memory", "shm_unlink", name);
    },

    openSemaphore(name, mode, initial) {
      const path = cName(name);
      if (mode !== "open") {
        const sem = c.semOpen(path, C.O_CREAT | C.O_EXCL, MODE_0600, initial);
        if (sem !== null && Deno.UnsafePointer.value(sem) !== c.semFailed) {
          return { handle: sem, created: true };
        }
        const errno = c.errno();
        if (mode === "create" || errnoName(errno) !== "EEXIST") {
          fail("create semaphore", "sem_open", name, errno);
        }
      }
      const sem = c.semOpen(path, 0, 0, 0);
      if (sem === null || Deno.UnsafePointer.value(sem) === c.semFailed) {
        fail("open semaphore", "sem_open", name);
      }
      return { handle: sem, created: false };
    },
    postSemaphore(handle, name) {
      if (s.sem_post(handle) !== 0) fail("post semaphore", "sem_post", name);
    },
    tryWaitSemaphore(handle, name) {
      if (s.sem_trywait(handle) === 0) return true;
      const errno = c.errno();
      if (errnoName(errno) === "EAGAIN" || errnoName(errno) === "EINTR") return false;
      fail("wait on semaphore", "sem_trywait", name, errno);
    },
    waitSemaphoreSlice: Deno.build.os === "linux"
      ? (handle, _name, ms) => linuxTimedWait(handle, ms)
      : (handle, name, ms) => pollingWait(platform, handle, name, ms),
    closeSemaphore(handle: SemaphoreHandle) {
      s.sem_close(handle);
    },
    unlinkSemaphore(name) {
      if (s.sem_unlink(cName(name)) !== 0) fail("remove semaphore", "sem_unlink", name);
    },
  };

  if (Deno.build.os === "linux") {
    const linux = linuxLibc().symbols;
    Object.assign(platform, {
      async waitOnAddress(pointer: Deno.PointerObject, expected: number, ms: number) {
        const timeout = relativeTimespec(ms);
        // The result is not inspected: a wake, a changed word (EAGAIN), a timeout and a
        // signal (EINTR) all mean "look at the word again", which every caller does.
        await linux.syscall_blocking(
          futex.SYS_futex,
          pointer,
          futex.FUTEX_WAIT,
          expected >>> 0,
          timeout,
          null,
          0,
        );
      },
      wakeAddress(pointer: Deno.PointerObject, count: number) {
        linux.syscall(futex.SYS_futex, pointer, futex.FUTEX_WAKE, count, null, null, 0);
      },
    });
  }
  return platform;
}

/** A user's login name (`getpwuid`), or undefined when the system does not know the uid. */
function userName(s: Libc["base"], uid: number): string | undefined {
  const entry = s.getpwuid(uid);
  if (entry === null) return undefined;
  const name = new Deno.UnsafePointerView(entry).getPointer(0);
  return name === null ? undefined : new Deno.UnsafePointerView(name).getCString();
}

function relativeTimespec(ms: number): Uint8Array {
  const buf = new Uint8Array(16);
  const view = new DataView(buf.buffer);
  const whole = Math.max(0, ms);
  view.setBigInt64(0, BigInt(Math.floor(whole / 1000)), true);
  view.setBigInt64(8, BigInt(Math.floor((whole % 1000) * 1e6)), true);
  return buf;
}

/**
 * sem_timedwait on a worker thread. errno cannot be read after a nonblocking call (it lives
 * in the worker's thread), so -1 is reported as "not taken"; the caller's deadline loop
 * turns that into a timeout or another slice.
 */
async function linuxTimedWait(handle: SemaphoreHandle, ms: number): Promise<boolean> {
  const linux = linuxLibc().symbols;
  const deadline = Date.now() + ms;
  const abs = new Uint8Array(16);
  const view = new DataView(abs.buffer);
  view.setBigInt64(0, BigInt(Math.floor(deadline / 1000)), true);
  view.setBigInt64(8, BigInt((deadline % 1000) * 1e6), true);
  return await linux.sem_timedwait_blocking(handle, abs) === 0;
}

/**
 * macOS has no sem_timedwait: poll sem_trywait, sleeping 1 ms at first and backing off to
 * 10 ms, so an idle waiter costs ~100 wake-ups a second at most.
 */
async function pollingWait(
  platform: Platform,
  handle: SemaphoreHandle,
  name: string,
  ms: number,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  let pause = 1;
  while (true) {
    if (platform.tryWaitSemaphore(handle, name)) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
    pause = Math.min(pause * 2, 10);
  }
}
