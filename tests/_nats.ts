/**
 * A throwaway `nats-server -js` for tests: Debian's binary, on a free loopback port, its
 * JetStream store in a temporary directory; stopped by pid and its directory removed. It can
 * be killed with SIGKILL and started again on the same port and store, as a crash would.
 */

/** A running nats-server. */
export interface NatsServer {
  /** `nats://127.0.0.1:port`. */
  readonly url: string;
  /** The client port. */
  readonly port: number;
  /** The process id of the running server. */
  readonly pid: number;
  /** Kills the server with SIGKILL (its store stays) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port and store after {@link NatsServer.kill}. */
  restart(): Promise<void>;
  /** Stops it (if running) and removes its store. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Whether Debian's nats-server is installed (`.ci/run` installs it).
 *
 * @returns True when `nats-server --version` runs.
 */
export function natsAvailable(): boolean {
  try {
    return new Deno.Command("nats-server", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** One run of the server process, with what it printed. */
interface Run {
  process: Deno.ChildProcess;
  exited: Promise<Deno.CommandStatus>;
  output: () => string;
}

/**
 * Starts nats-server and waits (bounded) for it to accept clients; `port` -1 lets it pick one.
 */
async function run(
  port: number,
  storeDir: string,
  timeoutMs: number,
  configFile?: string,
): Promise<Run & { port: number }> {
  const process = new Deno.Command("nats-server", {
    args: [
      ...(configFile === undefined ? [] : ["-c", configFile]),
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      "-js",
      "-sd",
      storeDir,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const exited = process.status;
  let log = "";
  const listening = Promise.withResolvers<number>();
  const decoder = new TextDecoder();
  (async () => {
    for await (const chunk of process.stderr) {
      log += decoder.decode(chunk, { stream: true });
      const match = /Listening for client connections on [^\n]*:(\d+)/.exec(log);
      if (match && /Server is ready/.test(log)) listening.resolve(Number(match[1]));
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([
    listening.promise,
    exited.then(() => "exited" as const),
    new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), timeoutMs)),
  ]);
  clearTimeout(timer);
  if (typeof result === "number") return { process, exited, output: () => log, port: result };
  try {
    process.kill("SIGKILL");
  } catch { /* already gone */ }
  await exited;
  throw new Error(`nats-server did not start (${result}):\n${log}`);
}

/** Options for {@link startNats}. */
export interface NatsOptions {
  /**
   * A nats-server.conf (authorization, tls …), written next to the store; the command line's
   * address, port and store override its own. @default {none}
   */
  config?: string;
}

/**
 * Starts `nats-server -js` on 127.0.0.1 and a free port, with a new temporary store.
 *
 * @param timeoutMs How long it may take to become ready. @default {10000}
 * @param options A config file's text.
 * @returns The running server.
 */
export async function startNats(
  timeoutMs = 10_000,
  options: NatsOptions = {},
): Promise<NatsServer> {
  const storeDir = await Deno.makeTempDir({ prefix: "shmooze-nats-test-" });
  let current: Run | undefined;
  let port: number;
  let configFile: string | undefined;
  try {
    if (options.config !== undefined) {
      configFile = `${storeDir}/nats-server.conf`;
      await Deno.writeTextFile(configFile, options.config);
    }
    const first = await run(-1, storeDir, timeoutMs, configFile);
    current = first;
    port = first.port;
  } catch (error) {
    await Deno.remove(storeDir, { recursive: true }).catch(() => {});
    throw error;
  }
  const stop = async (signal: Deno.Signal) => {
    const running = current;
    current = undefined;
    if (running === undefined) return;
    try {
      running.process.kill(signal);
    } catch { /* already gone */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      running.exited.then(() => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), 5000)),
    ]);
    clearTimeout(timer);
    if (!exited) {
      running.process.kill("SIGKILL");
      await running.exited;
    }
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid() {
      if (current === undefined) throw new Error("nats-server is not running");
      return current.process.pid;
    },
    kill: () => stop("SIGKILL"),
    async restart() {
      if (current !== undefined) throw new Error("nats-server is still running");
      current = await run(port, storeDir, timeoutMs, configFile);
    },
    async [Symbol.asyncDispose]() {
      await stop("SIGTERM");
      await Deno.remove(storeDir, { recursive: true }).catch(() => {});
    },
  };
}
