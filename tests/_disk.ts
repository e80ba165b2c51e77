/**
 * A real full disk for tests: a small tmpfs mounted for the test (Linux, root), filled to the
 * last byte with a file.
 */

/** Mounts a tmpfs of `size` at a new directory; undefined when this machine cannot. */
export function mountTmpfs(size: string): string | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const dir = Deno.makeTempDirSync({ prefix: "shmooze-full-disk-" });
  try {
    const { success } = new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", dir],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    if (success) return dir;
  } catch {
    // No mount(8): not this machine.
  }
  Deno.removeSync(dir);
  return undefined;
}

/** Unmounts a tmpfs from {@link mountTmpfs} and removes its directory. */
export function unmount(dir: string): void {
  new Deno.Command("umount", { args: [dir], stdout: "null", stderr: "null" }).outputSync();
  Deno.removeSync(dir, { recursive: true });
}

/**
 * Writes zeros into `path` until the file system is full, then gives `reserve` bytes back, so
 * the next writes succeed for a while and then fail.
 */
export async function fill(path: string, reserve = 0): Promise<void> {
  const file = await Deno.open(path, { create: true, write: true });
  const block = new Uint8Array(64 * 1024);
  try {
    for (let size = block.length; size >= 1; size = Math.floor(size / 2)) {
      try {
        for (;;) await file.write(block.subarray(0, size));
      } catch (error) {
        if (!(error instanceof Error) || !/No space left|ENOSPC|os error 28/.test(error.message)) {
          throw error;
        }
      }
    }
  } finally {
    file.close();
  }
  if (reserve > 0) await Deno.truncate(path, Math.max(0, (await Deno.stat(path)).size - reserve));
}

/** Whether this machine can mount a tmpfs (Linux, root). */
export const canMount: boolean = (() => {
  const dir = mountTmpfs("64k");
  if (dir === undefined) return false;
  unmount(dir);
  return true;
})();
