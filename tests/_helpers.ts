/**
 * Test helpers shared by every test file: unique OS names, child processes with bounded
 * waits, and leak checks on /dev/shm.
 */
import assert from "node:assert/strict";

let counter = 0;

/**
 * A fresh `shmooze-` name for one test, unique across parallel tests: `deno test --parallel`
 * may run several test files in one process (one pid, a counter each), hence the random part.
 *
 * @param label Something that says which test made it.
 * @returns The name.
 */
export function uniqueName(label: string): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return `shmooze-test-${Deno.pid}-${++counter}${random}-${label}`;
}

/** The repository root, for spawning `main.ts` and fixtures. */
export const ROOT: string = new URL("../", import.meta.url).pathname;

/**
 * Lists this test's objects still in /dev/shm (Linux), segments and semaphores alike.
 *
 * @param prefix The prefix the test's names share.
 * @returns File names left behind.
 */
export function leftovers(prefix: string): string[] {
  if (Deno.build.os !== "linux") return [];
  return [...Deno.readDirSync("/dev/shm")]
    .map((entry) => entry.name)
    .filter((name) => name.startsWith(prefix) || name.startsWith(`sem.${prefix}`));
}

/**
 * Fails the test if any object whose name starts with `prefix` is left in /dev/shm.
 *
 * @param prefix The test's name prefix.
 */
export function assertNoLeftovers(prefix: string): void {
  assert.deepEqual(leftovers(prefix), [], `OS objects left behind under ${prefix}`);
}

/** A child process with its output collected, killed when the test ends. */
export interface Child {
  /** The process. */
  readonly process: Deno.ChildProcess;
  /** Resolves with the exit status and everything printed. */
  readonly done: Promise<{ code: number; stdout: string; stderr: string }>;
  /** Writes a line to the child's standard input. */
  writeLine(line: string): Promise<void>;
  /** Closes the child's standard input. */
  closeStdin(): Promise<void>;
  /** Waits for a line of standard output that matches, failing after `timeoutMs`. */
  waitForLine(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Lines printed on standard output so far. */
  readonly lines: string[];
  /** Kills the child if still running and waits for it. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options for {@link spawn}. */
export interface SpawnOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Kill the child after this long, failing its `done`. @default {30000} */
  timeoutMs?: number;
}

/**
 * Starts `deno run -A` on a script (or `main.ts` with arguments) with piped stdio.
 *
 * @param args Arguments after `deno run -A`, e.g. `["main.ts", "local", "--name", "ann"]`.
 * @param options Environment and a time limit.
 * @returns The running child.
 */
export function spawn(args: string[], options: SpawnOptions = {}): Child {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", ...args],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  const timer = setTimeout(() => {
    try {
      process.kill("SIGKILL");
    } catch { /* already gone */ }
  }, options.timeoutMs ?? 30_000);
  const decoder = new TextDecoder();
  let stderr = "";
  const readOut = (async () => {
    let pending = "";
    for await (const chunk of process.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      const parts = pending.split("\n");
      pending = parts.pop()!;
      lines.push(...parts);
      for (const listener of listeners) listener();
    }
    if (pending) lines.push(pending);
    for (const listener of listeners) listener();
  })();
  const readErr = (async () => {
    for await (const chunk of process.stderr) stderr += decoder.decode(chunk, { stream: true });
  })();
  const writer = process.stdin.getWriter();
  const done = (async () => {
    const status = await process.status;
    await Promise.all([readOut, readErr]);
    clearTimeout(timer);
    return { code: status.code, stdout: lines.join("\n"), stderr };
  })();
  let stdinClosed = false;
  const signal = (name: Deno.Signal): boolean => {
    try {
      process.kill(name);
      return true;
    } catch {
      return false; // already exited
    }
  };
  const exitsWithin = async (ms: number): Promise<boolean> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      done.then(() => true, () => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
    ]);
    clearTimeout(timer);
    return exited;
  };
  return {
    process,
    done,
    lines,
    writeLine: (line) => writer.write(new TextEncoder().encode(`${line}\n`)),
    async closeStdin() {
      if (stdinClosed) return;
      stdinClosed = true;
      await writer.close().catch(() => {});
    },
    waitForLine(pattern, timeoutMs = 10_000) {
      const matches = (line: string) =>
        typeof pattern === "string" ? line.includes(pattern) : pattern.test(line);
      return new Promise((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < lines.length; seen++) {
            if (matches(lines[seen])) {
              cleanup();
              return resolve(lines[seen]);
            }
          }
        };
        const timeout = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `No line matching ${pattern} within ${timeoutMs} ms; stdout:\n${
                lines.join("\n")
              }\nstderr:\n${stderr}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timeout);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
        done.then(() => setTimeout(check, 0));
      });
    },
    async [Symbol.asyncDispose]() {
      stdinClosed = true;
      await writer.close().catch(() => {});
      // SIGTERM first, so a child that holds OS objects (a room, a status board) removes
      // them on its way out; SIGKILL only if it has not exited within 3 s.
      if (!signal("SIGTERM") || !(await exitsWithin(3000))) {
        signal("SIGKILL");
        await done.catch(() => {});
      }
    },
  };
}

/**
 * Polls a condition until it holds, failing after `timeoutMs` (for state with no event to
 * wait on, such as a file appearing).
 *
 * @param condition The check.
 * @param timeoutMs The limit.
 * @param what What is awaited, for the failure message.
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
