/**
 * Windows: file mappings backed by the paging file and kernel semaphores, both named in the
 * session's `Local\` namespace. Type-checked on every platform; run only on Windows.
 *
 * Differences from POSIX, by design of the OS: a name lives as long as some handle is open
 * (so unlink is a no-op), objects get the creator's default DACL (only that user and
 * SYSTEM can open them, which stands in for mode 0600), and a mapping's size when opened is
 * the region size, rounded up to the page.
 *
 * @module
 */

import { loadKernel32, win32, win32ErrorNames } from "../../ffi/kernel32.ts";
import { IpcError } from "./ipc_error.ts";
import type { MappedSegment, Platform } from "./platform.ts";

/** A NUL-terminated UTF-16LE string for a `Local\` object name. */
function wideName(name: string): Uint8Array {
  const text = `Local\\${name}\0`;
  const buf = new Uint8Array(text.length * 2);
  const view = new DataView(buf.buffer);
  for (let i = 0; i < text.length; i++) view.setUint16(i * 2, text.charCodeAt(i), true);
  return buf;
}

/** Builds the Windows platform; loads kernel32 now. */
export function windowsPlatform(): Platform {
  const k = loadKernel32().symbols;

  function fail(action: string, call: string, objectName?: string, code = k.GetLastError()): never {
    throw new IpcError(action, call, win32ErrorNames[code] ?? `error ${code}`, code, {
      objectName,
    });
  }

  function userHash(): number {
    const user = Deno.env.get("USERNAME") ?? "user";
    let hash = 2166136261;
    for (let i = 0; i < user.length; i++) hash = Math.imul(hash ^ user.charCodeAt(i), 16777619);
    return (hash >>> 0) % 100000;
  }

  return {
    os: "windows",
    pid: () => k.GetCurrentProcessId(),
    // Start 0: kernel32's GetProcessTimes could tell, but shmooze does not bind it yet, so a
    // reused pid looks like the process it replaced.
    processStart(pid) {
      if (!Number.isInteger(pid) || pid <= 0) return undefined;
      const process = k.OpenProcess(win32.PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
      if (process === null) return k.GetLastError() === win32.ERROR_ACCESS_DENIED ? 0 : undefined;
      const code = new Uint8Array(4);
      const ok = k.GetExitCodeProcess(process, code);
      k.CloseHandle(process);
      const running = ok !== 0 &&
        new DataView(code.buffer).getUint32(0, true) === win32.STILL_ACTIVE;
      return running ? 0 : undefined;
    },
    userId: userHash,

    mapSegment(name, mode, size): MappedSegment {
      const wide = wideName(name);
      let handle: Deno.PointerValue = null;
      let created = false;
      if (mode !== "open") {
        handle = k.CreateFileMappingW(
          Deno.UnsafePointer.create(win32.INVALID_HANDLE_VALUE),
          null,
          win32.PAGE_READWRITE,
          Math.floor(size / 2 ** 32),
          size >>> 0,
          wide,
        );
        if (handle === null) fail("create shared memory", "CreateFileMappingW", name);
        created = k.GetLastError() !== win32.ERROR_ALREADY_EXISTS;
        if (!created && mode === "create") {
          k.CloseHandle(handle);
          fail("create shared memory", "CreateFileMappingW", name, win32.ERROR_ALREADY_EXISTS);
        }
      } else {
        handle = k.OpenFileMappingW(win32.FILE_MAP_ALL_ACCESS, 0, wide);
        if (handle === null) fail("open shared memory", "OpenFileMappingW", name);
      }
      const pointer = k.MapViewOfFile(handle, win32.FILE_MAP_ALL_ACCESS, 0, 0, 0n);
      if (pointer === null) {
        const code = k.GetLastError();
        k.CloseHandle(handle);
        fail("map shared memory", "MapViewOfFile", name, code);
      }
      let length = size;
      if (!created) {
        // MEMORY_BASIC_INFORMATION: RegionSize is the 4th pointer-sized field (offset 24).
        const info = new Uint8Array(48);
        k.VirtualQuery(pointer, info, 48n);
        length = Number(new DataView(info.buffer).getBigUint64(24, true));
      }
      return { handle: handle!, pointer, size: length, created };
    },
    unmapSegment(segment) {
      k.UnmapViewOfFile(segment.pointer);
      k.CloseHandle(segment.handle as Deno.PointerObject);
    },
    unlinkSegment() {},

    openSemaphore(name, mode, initial) {
      const wide = wideName(name);
      if (mode === "open") {
        const handle = k.OpenSemaphoreW(win32.SEMAPHORE_ALL_ACCESS, 0, wide);
        if (handle === null) fail("open semaphore", "OpenSemaphoreW", name);
        return { handle, created: false };
      }
      const handle = k.CreateSemaphoreW(null, initial, 0x7fffffff, wide);
      if (handle === null) fail("create semaphore", "CreateSemaphoreW", name);
      const created = k.GetLastError() !== win32.ERROR_ALREADY_EXISTS;
      if (!created && mode === "create") {
        k.CloseHandle(handle);
        fail("create semaphore", "CreateSemaphoreW", name, win32.ERROR_ALREADY_EXISTS);
      }
      return { handle, created };
    },
    postSemaphore(handle, name) {
      if (k.ReleaseSemaphore(handle, 1, null) === 0) {
        fail("post semaphore", "ReleaseSemaphore", name);
      }
    },
    tryWaitSemaphore(handle, name) {
      const result = k.WaitForSingleObject(handle, 0);
      if (result === win32.WAIT_FAILED) fail("wait on semaphore", "WaitForSingleObject", name);
      return result === win32.WAIT_OBJECT_0;
    },
    async waitSemaphoreSlice(handle, _name, ms) {
      // The result code is returned directly, so no error state crosses threads here.
      const result = await k.WaitForSingleObject_blocking(handle, Math.max(0, Math.ceil(ms)));
      return result === win32.WAIT_OBJECT_0;
    },
    closeSemaphore(handle) {
      k.CloseHandle(handle);
    },
    unlinkSemaphore() {},
  };
}
