/**
 * A throwaway PostgreSQL cluster for tests: Debian's `initdb` and `postgres` in a temporary
 * directory (as the `postgres` user when the tests run as root, which PostgreSQL refuses to
 * be), on a free loopback port with its socket in that directory; stopped by pid and removed.
 * It can be stopped and started again on the same port and data, as an outage would.
 */

/** A running PostgreSQL cluster. */
export interface PostgresServer {
  /** `postgres://user@127.0.0.1:port/postgres`, no password (trust on loopback). */
  readonly url: string;
  /** The port. */
  readonly port: number;
  /** Stops the server (SIGINT: fast shutdown), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data after {@link PostgresServer.stop}. */
  restart(): Promise<void>;
  /** Stops it (if running) and removes its directory. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Where Debian puts the server's programs (they are not on PATH there). */
function binDir(): string | undefined {
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")]
      .map((entry) => entry.name).filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    return versions.length === 0 ? undefined : `/usr/lib/postgresql/${versions[0]}/bin`;
  } catch {
    return undefined;
  }
}

/**
 * Whether Debian's PostgreSQL server is installed (`.ci/run` installs it).
 *
 * @returns True when its `initdb` is there.
 */
export function postgresAvailable(): boolean {
  const dir = binDir();
  if (dir === undefined) return false;
  try {
    return Deno.statSync(`${dir}/initdb`).isFile;
  } catch {
    return false;
  }
}

/** The user the server runs as: `postgres` when we are root, ourselves otherwise. */
function runAs(): { uid?: number; gid?: number; name: string } {
  if (Deno.uid() !== 0) return { name: Deno.env.get("USER") ?? "postgres" };
  const line = Deno.readTextFileSync("/etc/passwd").split("\n")
    .find((entry) => entry.startsWith("postgres:"));
  if (line === undefined) throw new Error("Cannot run PostgreSQL as root: no postgres user");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid), name: "postgres" };
}

/** A port that was free a moment ago (PostgreSQL cannot be told to pick one). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Makes a new cluster (initdb) in a temporary directory and starts it on a free port.
 *
 * @param timeoutMs How long initdb and the start may take. @default {30000}
 * @returns The running server.
 */
export async function startPostgres(timeoutMs = 30_000): Promise<PostgresServer> {
  const bin = binDir();
  if (bin === undefined) throw new Error("PostgreSQL is not installed (/usr/lib/postgresql)");
  const user = runAs();
  const dir = await Deno.makeTempDir({ prefix: "shmooze-pg-test-" });
  const data = `${dir}/data`;
  let process: Deno.ChildProcess | undefined;
  let log = "";
  const remove = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  try {
    if (user.uid !== undefined) await Deno.chown(dir, user.uid, user.gid!);
    const init = await new Deno.Command(`${bin}/initdb`, {
      args: ["-D", data, "-U", user.name, "--auth=trust", "-E", "UTF8", "--no-sync"],
      uid: user.uid,
      gid: user.gid,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
    if (!init.success) {
      throw new Error(`initdb failed:\n${new TextDecoder().decode(init.stderr)}`);
    }
  } catch (error) {
    await remove();
    throw error;
  }
  const port = freePort();
  const start = async () => {
    log = "";
    const child = new Deno.Command(`${bin}/postgres`, {
      args: ["-D", data, "-p", String(port), "-h", "127.0.0.1", "-k", dir, "-c", "fsync=off"],
      uid: user.uid,
      gid: user.gid,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    process = child;
    const decoder = new TextDecoder();
    const accepting = Promise.withResolvers<void>();
    (async () => {
      for await (const chunk of child.stderr) {
        log += decoder.decode(chunk, { stream: true });
        if (log.includes("ready to accept connections")) accepting.resolve();
      }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const result = await Promise.race([
      accepting.promise.then(() => "ready" as const),
      child.status.then(() => "exited" as const),
      new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), timeoutMs)),
    ]);
    clearTimeout(timer);
    if (result === "ready") return;
    await stop();
    throw new Error(`PostgreSQL did not start (${result}):\n${log}`);
  };
  const stop = async () => {
    const child = process;
    process = undefined;
    if (child === undefined) return;
    try {
      child.kill("SIGINT");
    } catch { /* already gone */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      child.status.then(() => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), 10_000)),
    ]);
    clearTimeout(timer);
    if (!exited) {
      child.kill("SIGKILL");
      await child.status;
    }
  };
  try {
    await start();
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    url: `postgres://${user.name}@127.0.0.1:${port}/postgres`,
    port,
    stop,
    async restart() {
      if (process !== undefined) throw new Error("PostgreSQL is still running");
      await start();
    },
    async [Symbol.asyncDispose]() {
      await stop();
      await remove();
    },
  };
}
