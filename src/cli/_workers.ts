/**
 * `serve --workers N`: one server in N processes on this machine. The parent does not serve:
 * it picks the ports, creates the shared-memory ring the workers use as their cluster's bus
 * (or leaves them to `--cluster`'s NATS), starts N `serve` processes that share the ports
 * (`SO_REUSEPORT`: Linux spreads new connections over them) and supervises them:
 *
 * - it is up when every worker is (each prints `worker ready`); a worker that cannot start
 *   stops the others, and the parent exits 1 with that worker's reason;
 * - a worker that dies is noticed: on the ring the parent declares its node gone at once, and
 *   the others quit its users (with NATS, the cluster's heartbeats do, within 3 s); the parent
 *   logs it and starts a new one in its place; one that cannot start again (the ring
 *   went round since the last snapshot, or it keeps dying) is not retried, and the rest
 *   serve on; with none left the parent exits 1;
 * - the workers' snapshot (`DIR/workers.snapshot`) carries the state across restarts: the
 *   parent checks it and creates the ring after its sequence, and every worker loads it first;
 * - SIGINT or SIGTERM stops every worker cleanly (each says goodbye to its clients), waits
 *   for them, removes the ring, and exits 0.
 *
 * Each worker pipes its standard input from the parent and stops when it closes, so workers
 * never outlive a parent killed with `kill -9`.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { join } from "node:path";
import { encodeEvent } from "../cluster/cluster_event.ts";
import { decodeSnapshot } from "../cluster/cluster_snapshot.ts";
import { FileSnapshotStore } from "../cluster/file_snapshot_store.ts";
import { LogRing } from "../ipc/log_ring.ts";
import { objectName } from "../ipc/names.ts";
import { listen } from "../net/listen.ts";
import { CliError } from "./_args.ts";
import { onStopSignals } from "./_signals.ts";

const log = getLogger(["shmooze", "serve"]);

/** How long a worker may take to print `worker ready`. */
const READY_TIMEOUT_MS = 60_000;
/** How long stopping workers may take before they are killed. */
const STOP_TIMEOUT_MS = 10_000;
/** A worker started again more often than this in a minute is left stopped. */
const MAX_RESTARTS_PER_MINUTE = 3;

/** The workers' snapshot file in the data directory (on the ring; NATS keeps its own). */
export const SNAPSHOT_FILE = "workers.snapshot";

/** The line a worker prints once it serves. */
export const WORKER_READY = "worker ready";

/** What the parent needs to start its workers. */
export interface WorkersPlan {
  /** How many. */
  count: number;
  /** The `serve` arguments every worker gets, without the ones set per worker. */
  args: string[];
  /** The address listened on. */
  host: string;
  /** The IRC port (0: a free one, picked here). */
  port: number;
  /** The HTTP port (0: a free one), or undefined without HTTP. */
  httpPort?: number;
  /** The IRC-over-TLS port (0: a free one), or undefined without TLS. */
  tlsPort?: number;
  /** The HTTP address, when not `host`. */
  httpHost?: string;
  /** The data directory; worker K keeps its own under `worker-K`. */
  dataDir: string;
  /** Whether worker 1 publishes the status board. */
  status: boolean;
  /** Each worker's node name is this and its number. */
  nodeName: string;
  /** `--cluster`'s URL and name; undefined: the workers' bus is a shared-memory ring. */
  cluster?: { url: string; name: string };
  /** The ring's size in bytes. @default {DEFAULT_RING_BYTES} */
  ringBytes?: number;
}

interface Worker {
  index: number;
  process: Deno.ChildProcess;
  /** Resolves when it has printed `worker ready` (with its lines before), rejects if it ends first. */
  ready: Promise<string[]>;
  exited: Promise<Deno.CommandStatus>;
  /** Its node name in the cluster (from its `node …` line), once known. */
  node: () => string | undefined;
  /** Whether it printed `worker ready`. */
  served: () => boolean;
}

/** A free port now on `host` (0), or `port` checked free: throws the listener's error. */
function claimPort(kind: "irc" | "irc-tls" | "http", host: string, port: number): number {
  const probe = listen(kind, host, port);
  const free = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return free;
}

/**
 * The sequence a new ring starts at: 1 past the workers' snapshot, which every worker loads
 * (as a cluster node does) before reading the ring; 1 without one. A snapshot that does not
 * decode is refused here, before any worker starts: it holds the server's state, and starting
 * without it would serve a wrong one.
 */
async function ringStart(path: string): Promise<number> {
  const refused = (reason: string) =>
    new CliError(
      `The workers' snapshot ${path} is refused (${reason}): the server's state is in it, so no worker starts; move the file away to start without that state`,
    );
  const store = new FileSnapshotStore(path);
  let stored;
  try {
    // What a worker killed while writing left: no worker runs now to be writing one.
    await store.removeLeftovers();
    stored = await store.load();
  } catch (error) {
    // A data directory that is a file: the first worker says so.
    if (error instanceof Deno.errors.NotADirectory) return 1;
    throw refused((error as Error).message);
  }
  if (stored === undefined) return 1;
  try {
    const snapshot = decodeSnapshot(stored.bytes);
    if (snapshot.seq !== stored.seq) throw new TypeError("its sequence is not its header's");
  } catch (error) {
    throw refused((error as Error).message);
  }
  return stored.seq + 1;
}

/** How to start `shmooze` again as a child: the compiled executable, or Deno on main.ts. */
function selfCommand(): string[] {
  return Deno.build.standalone
    ? [Deno.execPath()]
    : [Deno.execPath(), "run", "--allow-all", "--unstable-net", Deno.mainModule];
}

/** Reads lines from a stream, calling `line` for each. */
async function eachLine(stream: ReadableStream<Uint8Array>, line: (text: string) => void) {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const parts = pending.split("\n");
    pending = parts.pop()!;
    for (const part of parts) line(part);
  }
  if (pending !== "") line(pending);
}

/**
 * Runs the workers until a stop signal (0), or until none is left (1).
 *
 * @param plan The ports, directories and bus.
 * @returns The exit code.
 * @throws {ListenError} When a port is taken; {CliError} when a worker cannot start.
 */
export async function runWorkers(plan: WorkersPlan): Promise<number> {
  const port = claimPort("irc", plan.host, plan.port);
  const httpHost = plan.httpHost ?? plan.host;
  const httpPort = plan.httpPort === undefined
    ? undefined
    : claimPort("http", httpHost, plan.httpPort);
  const tlsPort = plan.tlsPort === undefined
    ? undefined
    : claimPort("irc-tls", plan.host, plan.tlsPort);
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  const ringName = plan.cluster === undefined ? objectName("bus", `serve-${port}-${random}`) : "";
  const snapshotFile = join(plan.dataDir, SNAPSHOT_FILE);
  const ring = plan.cluster === undefined
    ? LogRing.create(ringName, {
      ringBytes: plan.ringBytes,
      firstSeq: await ringStart(snapshotFile),
    })
    : undefined;
  const workers = new Map<number, Worker>();
  let stopping = false;
  /** Until every first worker is ready, an exit is a failure to start, not a death. */
  let up = false;
  const finished = Promise.withResolvers<number>();
  const restarts = new Map<number, number[]>();

  const start = (index: number): Worker => {
    const [command, ...prefix] = selfCommand();
    const args = [
      ...prefix,
      "serve",
      ...plan.args,
      "--host",
      plan.host,
      "--port",
      String(port),
      ...(httpPort === undefined ? ["--no-http"] : ["--http-port", String(httpPort)]),
      ...(tlsPort === undefined ? [] : ["--tls-port", String(tlsPort)]),
      "--data",
      join(plan.dataDir, `worker-${index}`),
      "--node-name",
      `${plan.nodeName}${index}`,
      ...(plan.status && index === 1 ? [] : ["--no-status"]),
      "--worker",
      String(index),
      ...(ring === undefined ? [] : ["--worker-ring", ringName, "--worker-snapshot", snapshotFile]),
    ];
    const process = new Deno.Command(command, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines: string[] = [];
    const ready = Promise.withResolvers<string[]>();
    let isReady = false;
    let lastError = "";
    let node: string | undefined;
    const out = eachLine(process.stdout, (line) => {
      if (isReady) return console.log(line);
      node ??= /^node (\S+) of cluster /.exec(line)?.[1];
      if (line === WORKER_READY) {
        isReady = true;
        ready.resolve(lines);
      } else lines.push(line);
    }).catch(() => {});
    const err = eachLine(process.stderr, (line) => {
      console.error(line);
      if (line.trim() !== "") lastError = line.replace(/^error: /, "");
    }).catch(() => {});
    const exited = process.status.then(async (status) => {
      await Promise.all([out, err]);
      if (!isReady) {
        ready.reject(
          new Error(lastError || `it exited with ${status.signal ?? `code ${status.code}`}`),
        );
      }
      return status;
    });
    ready.promise.catch(() => {});
    const worker = {
      index,
      process,
      ready: ready.promise,
      exited,
      node: () => node,
      served: () => isReady,
    };
    workers.set(index, worker);
    void exited.then((status) => onExit(worker, status));
    return worker;
  };

  const waitReady = async (worker: Worker): Promise<string[]> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        worker.ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            try {
              worker.process.kill("SIGKILL");
            } catch { /* gone already */ }
            reject(new Error(`it was not ready within ${READY_TIMEOUT_MS / 1000} s`));
          }, READY_TIMEOUT_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  const onExit = async (worker: Worker, status: Deno.CommandStatus) => {
    if (workers.get(worker.index) === worker) workers.delete(worker.index);
    // A worker that never served is one that could not start: whoever started it says so.
    if (stopping || !up || !worker.served()) return;
    const how = status.signal === null ? `exit code ${status.code}` : `signal ${status.signal}`;
    announceGone(worker);
    const now = Date.now();
    const recent = (restarts.get(worker.index) ?? []).filter((at) => now - at < 60_000);
    if (recent.length >= MAX_RESTARTS_PER_MINUTE) {
      log.error(
        "Worker {index} (pid {pid}) ended ({how}) for the {count}th time in a minute: it is not started again; {left} worker(s) serve on",
        {
          index: worker.index,
          pid: worker.process.pid,
          how,
          count: recent.length + 1,
          left: workers.size,
        },
      );
    } else {
      log.warn(
        "Worker {index} (pid {pid}) ended ({how}): the others quit its users; starting a new worker {index}",
        { index: worker.index, pid: worker.process.pid, how },
      );
      restarts.set(worker.index, [...recent, now]);
      const next = start(worker.index);
      try {
        await waitReady(next);
        log.info("Worker {index} started again (pid {pid})", {
          index: worker.index,
          pid: next.process.pid,
        });
      } catch (error) {
        if (stopping) return;
        log.error(
          "Worker {index} could not start again: {reason}; {left} worker(s) serve on",
          { index: worker.index, reason: (error as Error).message, left: workers.size },
        );
      }
    }
    if (workers.size === 0 && !stopping) {
      log.error("No worker is left: stopping");
      await stopAll();
      finished.resolve(1);
    }
  };

  /**
   * The parent sees a worker die at once (its child ended): on the ring it declares the node
   * gone itself, so the others quit its users now rather than after 3 s of silence. The id is
   * the one the heartbeat check uses, so a survivor's own declaration is the same entry.
   */
  const announceGone = (worker: Worker) => {
    const node = worker.node();
    if (ring === undefined || node === undefined) return;
    try {
      ring.append(
        `down:${node}`,
        encodeEvent({
          v: 1,
          id: `down:${node}`,
          node,
          conn: "",
          kind: "node-down",
          reason: `Worker ${worker.index} stopped`,
        }),
      );
    } catch (error) {
      log.warn("Could not declare worker {index} gone: {error}", { index: worker.index, error });
    }
  };

  let stopped: Promise<void> | undefined;
  const stopAll = () => stopped ??= stopWorkers();
  const stopWorkers = async () => {
    stopping = true;
    const all = [...workers.values()];
    for (const worker of all) {
      try {
        worker.process.kill("SIGTERM");
      } catch { /* gone already */ }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stopped = await Promise.race([
      Promise.all(all.map((worker) => worker.exited)).then(() => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), STOP_TIMEOUT_MS)),
    ]);
    clearTimeout(timer);
    if (!stopped) {
      for (const worker of all) {
        try {
          worker.process.kill("SIGKILL");
        } catch { /* gone already */ }
      }
      await Promise.all(all.map((worker) => worker.exited));
    }
    if (ring !== undefined) {
      ring.close();
      LogRing.unlink(ringName);
    }
  };

  let signalled = false;
  const stopListening = onStopSignals((signal) => {
    if (stopping) return;
    signalled = true;
    log.info(`${signal}: stopping the workers`);
    void stopAll().then(() => finished.resolve(0));
  });
  try {
    const first = Array.from({ length: plan.count }, (_, i) => start(i + 1));
    const [startLines] = await Promise.all(first.map(async (worker) => {
      try {
        return await waitReady(worker);
      } catch (error) {
        throw new CliError(`Worker ${worker.index} could not start: ${(error as Error).message}`);
      }
    }));
    up = true;
    for (const line of startLines) if (!line.startsWith("node ")) console.log(line);
    const pids = first.map((worker) => worker.process.pid).join(", ");
    console.log(
      ring === undefined
        ? `${plan.count} workers (pids ${pids}) share these ports as nodes of cluster ${plan.cluster?.name} at ${plan.cluster?.url}`
        : `${plan.count} workers (pids ${pids}) share these ports over the shared-memory ring ${ringName}`,
    );
    return await finished.promise;
  } catch (error) {
    await stopAll();
    // A stop signal during start-up is a stop, not a failure.
    if (signalled) return await finished.promise;
    throw error;
  } finally {
    stopListening();
  }
}
