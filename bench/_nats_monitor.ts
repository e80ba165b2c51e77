/**
 * A throwaway `nats-server -js` for the cluster benchmarks, with its HTTP monitoring port
 * open (`-m`): /connz tells what each client connection carried, from the server's side, so
 * the benchmarks read every node's bus cost from NATS itself. (tests/_nats.ts starts the
 * tests' server without monitoring.)
 *
 * @module
 */

/** What one client connection has carried, as nats-server's /connz counts it. */
export interface ConnectionTraffic {
  /** The connection's name (a shmooze node's is `shmooze-<pid>`). */
  name: string;
  /** Messages and bytes the client published to the server. */
  inMsgs: number;
  inBytes: number;
  /** Messages and bytes the server delivered to the client. */
  outMsgs: number;
  outBytes: number;
}

/** A running monitored nats-server. */
export interface MonitoredNats {
  /** `nats://127.0.0.1:port`. */
  readonly url: string;
  readonly pid: number;
  /** Every open client connection's traffic so far. */
  connections(): Promise<ConnectionTraffic[]>;
  /** Messages JetStream holds, all streams together (/jsz): the log entries appended so far. */
  storedMessages(): Promise<number>;
  /** Stops the server and removes its store. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts `nats-server -js -m` on 127.0.0.1, both ports picked by the server, with a new
 * temporary store, and waits (bounded) until it is ready.
 *
 * @param timeoutMs How long it may take to become ready.
 * @returns The running server.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { startMonitoredNats } from "./_nats_monitor.ts";
 * await using nats = await startMonitoredNats();
 * assert.deepEqual(await nats.connections(), []);
 * ```
 */
export async function startMonitoredNats(timeoutMs = 10_000): Promise<MonitoredNats> {
  const storeDir = await Deno.makeTempDir({ prefix: "shmooze-bench-nats-" });
  const process = new Deno.Command("nats-server", {
    args: ["-a", "127.0.0.1", "-p", "-1", "-m", "-1", "-js", "-sd", storeDir],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const exited = process.status;
  const ready = Promise.withResolvers<{ port: number; monitor: number }>();
  const decoder = new TextDecoder();
  let log = "";
  (async () => {
    for await (const chunk of process.stderr) {
      // Only the start-up lines matter; later ones are read and dropped so the pipe never fills.
      if (log.length > 100_000) continue;
      log += decoder.decode(chunk, { stream: true });
      const port = /Listening for client connections on [^\n]*:(\d+)/.exec(log);
      const monitor = /Starting http monitor on [^\n]*:(\d+)/.exec(log);
      if (port && monitor && /Server is ready/.test(log)) {
        ready.resolve({ port: Number(port[1]), monitor: Number(monitor[1]) });
      }
    }
  })();
  const stop = async () => {
    try {
      process.kill("SIGTERM");
    } catch { /* already gone */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gone = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), 5000)),
    ]);
    clearTimeout(timer);
    if (!gone) {
      process.kill("SIGKILL");
      await exited;
    }
    await Deno.remove(storeDir, { recursive: true }).catch(() => {});
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const started = await Promise.race([
    ready.promise,
    exited.then(() => "exited" as const),
    new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), timeoutMs)),
  ]);
  clearTimeout(timer);
  if (typeof started === "string") {
    await stop();
    throw new Error(`nats-server did not start (${started}):\n${log}`);
  }
  return {
    url: `nats://127.0.0.1:${started.port}`,
    pid: process.pid,
    async connections() {
      const response = await fetch(`http://127.0.0.1:${started.monitor}/connz?limit=10000`);
      const body = await response.json() as {
        connections?: {
          name?: string;
          in_msgs: number;
          in_bytes: number;
          out_msgs: number;
          out_bytes: number;
        }[];
      };
      return (body.connections ?? []).map((c) => ({
        name: c.name ?? "",
        inMsgs: c.in_msgs,
        inBytes: c.in_bytes,
        outMsgs: c.out_msgs,
        outBytes: c.out_bytes,
      }));
    },
    async storedMessages() {
      const response = await fetch(`http://127.0.0.1:${started.monitor}/jsz`);
      return ((await response.json()) as { messages?: number }).messages ?? 0;
    },
    [Symbol.asyncDispose]: stop,
  };
}
