// Over 600 lines: the benchmark driver — scenarios, three servers started one at a time,
// the load processes, and the report — kept in one file so one run reads top to bottom.
/**
 * Fan-out benchmark: N clients in one channel, each sending R messages a second that carry
 * their send time, against shmooze, ngircd and InspIRCd in one run, side by side.
 *
 * For each scenario and server: a fresh server on a free loopback port (flood control,
 * per-address connection limits and small send queues lifted), then one or two
 * load-generator processes (bench/_fanout_worker.ts) that register every client and join
 * #lobby (join time and failed joins measured), send for a warm-up second and then for the
 * measured window on an even schedule, and keep receiving until the samplers have every window
 * message (at most a drain period). Reported:
 * deliveries per second in the window (every line every client received), latency
 * p50/p99/p99.9 from a few sampler clients that decode every line, the server's and the
 * generators' CPU use, and the server's memory. Then the idle test: N registered clients
 * that do nothing, and the server's resident memory (VmRSS) per connection.
 *
 * Cluster mode (`cluster: [1, 2, 3]`, `--cluster 1,2,3`) compares one `serve` alone with
 * N-node clusters under the same load: a fresh `nats-server -js` with its monitoring port and N
 * `serve --cluster` processes per run, client i on node i mod N, the senders on node 0; latency
 * per node, and each node's NATS traffic and CPU per log entry from nats-server's /connz and
 * /jsz. Sides run in turn, `rounds` times.
 *
 * Run it with `deno task bench fanout` (`--help` lists the options).
 *
 * @module
 */
import { type BenchEnvironment, benchEnvironment, describeEnvironment } from "./_env.ts";
import { dirname } from "node:path";
import { intOption, parseCommandArgs, stringOption, UsageError } from "../src/cli/_args.ts";
import { type Child, spawn } from "../tests/_helpers.ts";
import { peerAvailable, startInspircd, startNgircd } from "../tests/_peers.ts";
import { startServe } from "../tests/_irc.ts";
import { natsAvailable } from "../tests/_nats.ts";
import { type ConnectionTraffic, type MonitoredNats, startMonitoredNats } from "./_nats_monitor.ts";
import { sleepUntil, wallClock } from "./_clock.ts";
import { markdownTable } from "./_table.ts";
import { type Histogram, merge, type Percentiles, percentiles } from "./_histogram.ts";
import type { JoinedReport, ResultReport, SentReport, WorkerPlan } from "./_fanout_worker.ts";

/** The servers the benchmark knows. */
export type FanoutServer = "shmooze" | "ngircd" | "inspircd";

/** The servers in table order. */
export const FANOUT_SERVERS: FanoutServer[] = ["shmooze", "ngircd", "inspircd"];

/** One load: how many clients, each sending how many messages a second. */
export interface FanoutScenario {
  clients: number;
  rate: number;
  /**
   * How many of the clients send (each at `rate`), all on the first node in cluster mode;
   * the rest only receive. @default {every client}
   */
  senders?: number;
}

/**
 * The cluster comparison's default load: 300 clients, 30 of them (on the first node) sending
 * 10 messages a second each — 300 msg/s, 90 000 deliveries/s, well within one node's capacity,
 * so latency is the bus's and not a queue's.
 */
export const DEFAULT_CLUSTER_SCENARIO: FanoutScenario = { clients: 300, rate: 10, senders: 30 };

/** The scenarios: 500 and 1000 clients at 1 msg/s, and 1000 at 3 msg/s (capacity). */
export const DEFAULT_SCENARIOS: FanoutScenario[] = [
  { clients: 500, rate: 1 },
  { clients: 1000, rate: 1 },
  { clients: 1000, rate: 3 },
];

/** Options for {@link runFanout}. */
export interface FanoutOptions {
  /** The loads to run. @default {DEFAULT_SCENARIOS} */
  scenarios?: FanoutScenario[];
  /** Measured seconds per run (after a one-second warm-up). @default {10} */
  seconds?: number;
  /** Servers to compare; a peer whose binary is missing is skipped with a note. @default {FANOUT_SERVERS} */
  servers?: FanoutServer[];
  /** Idle connections for the memory test; 0 skips it. @default {10000} */
  idle?: number;
  /** Servers given the idle test. @default {the servers} */
  idleServers?: FanoutServer[];
  /** Load-generator processes. @default {2} */
  workers?: number;
  /** Clients that decode every line to sample latency. @default {8} */
  samplers?: number;
  /**
   * Registrations in flight at once, per generator process; 0 connects every client at once,
   * as a crowd arriving would (ngircd's listen backlog of 10 then drops SYNs, which the
   * kernel retries after 1, 3, 7 … s; InspIRCd completes registrations once a second).
   * @default {0}
   */
  window?: number;
  /** Bytes of message text, send time included. @default {40} */
  textBytes?: number;
  /**
   * The longest receiving goes on after sending stops, ms: it ends sooner once the samplers
   * have every window message. @default {3000}
   */
  drainMs?: number;
  /**
   * Cluster mode: the node counts to compare with one server alone (`serve` without
   * `--cluster`), each run on a fresh `nats-server -js` with N `serve --cluster` processes,
   * clients spread over the nodes round robin, senders on the first node. Empty: no cluster.
   * @default {[]}
   */
  cluster?: number[];
  /**
   * Times each scenario's runs are repeated in turn (A, B, C, A, B, C): every side sees the
   * same noise of a shared machine. @default {1}
   */
  rounds?: number;
  /** Called with one line per step, for progress output. */
  progress?: (line: string) => void;
}

/** What one node's NATS connection carried, and its CPU time, per log entry of the window. */
export interface NodeBusCost {
  /** Bytes and NATS messages from nats-server to the node (log entries, acks, heartbeats). */
  inBytes: number;
  inMsgs: number;
  /** Bytes and NATS messages from the node to nats-server (appends, pulls, heartbeats). */
  outBytes: number;
  outMsgs: number;
  /** The node's CPU time (user + system) per log entry, µs. */
  cpuMicros: number;
}

/** One server under one load. */
export interface FanoutRun {
  server: FanoutServer;
  clients: number;
  rate: number;
  seconds: number;
  /** Clients that sent. */
  senders: number;
  /**
   * Cluster mode: how many `serve --cluster` nodes, 0 for one `serve` alone. Absent outside
   * cluster mode.
   */
  nodes?: number;
  /** Which repetition of the scenario this run was (from 1). */
  round: number;
  /** Cluster mode: latency at the samplers of each node (node 0 holds the senders). */
  latencyByNode?: Percentiles[];
  /**
   * Cluster mode: each node's bus traffic and CPU per log entry appended in the window (from
   * nats-server's /connz and /jsz). Entries, not messages sent: a node that falls behind
   * appends fewer than its clients sent.
   */
  busPerEntry?: NodeBusCost[];
  /** Cluster mode: log entries appended in the window (nats-server's /jsz). */
  appended?: number;
  /** Cluster mode: nats-server's CPU in the window, % of one core. */
  natsCpuPercent?: number;
  /** Clients registered and in the channel. */
  joined: number;
  failedJoins: number;
  /** Why the first failed join failed. */
  joinError?: string;
  /** ms from the first connection to the last client in the channel. */
  joinMs: number;
  /** Deliveries per second offered: joined × rate × (joined − 1). */
  offeredPerSecond: number;
  /** Lines every client received in the window, per second. */
  deliveriesPerSecond: number;
  /** Messages sent in the window. */
  sent: number;
  /** Latency in ms of window messages, from the samplers. */
  latency: Percentiles;
  /**
   * Share of the window's messages the samplers received by the end of the drain; below 1
   * means the server fell behind (or dropped), and then latency leaves the missing out.
   */
  completeness: number;
  /** Clients the server disconnected during the run. */
  disconnects: number;
  /** Server CPU in the window, % of one core (summed over a cluster's nodes). */
  serverCpuPercent: number;
  /** Load generators' CPU in the window, % of one core, summed. */
  generatorCpuPercent: number;
  /** Server resident memory at the end of the window, KiB (summed over the nodes). */
  serverRssKiB: number;
  /** Set when the run could not be carried out. */
  error?: string;
}

/** The idle-connection memory test of one server. */
export interface IdleRun {
  server: FanoutServer;
  connections: number;
  registered: number;
  failed: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  /** (after − before) / registered, bytes. */
  bytesPerConnection: number;
  /** ms to register every connection. */
  registerMs: number;
  error?: string;
}

/** Everything one run of the benchmark measured. */
export interface FanoutReport extends BenchEnvironment {
  options: Required<Omit<FanoutOptions, "progress">>;
  runs: FanoutRun[];
  idle: IdleRun[];
  notes: string[];
}

/** A server started for one run. */
interface RunningServer {
  host: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const CHANNEL = "#lobby";
const CLOCK_TICKS = 100;

/**
 * Runs every scenario against every server, then the idle-memory test.
 *
 * @param options Loads, servers and sizes; the defaults are the full benchmark
 * (about ten minutes).
 * @returns The measurements.
 *
 * @example A short run against shmooze and ngircd
 * ```ts ignore
 * import { formatFanoutReport, runFanout } from "./fanout.ts";
 * const report = await runFanout({
 *   scenarios: [{ clients: 100, rate: 1 }],
 *   seconds: 3,
 *   servers: ["shmooze", "ngircd"],
 *   idle: 0,
 * });
 * console.log(formatFanoutReport(report));
 * ```
 */
export async function runFanout(options: FanoutOptions = {}): Promise<FanoutReport> {
  const progress = options.progress ?? (() => {});
  const notes: string[] = [];
  const wanted = options.servers ?? FANOUT_SERVERS;
  const servers = wanted.filter((server) => {
    if (server === "shmooze" || peerAvailable(server)) return true;
    notes.push(`${server} is not installed (/usr/sbin/${server}): skipped`);
    return false;
  });
  const cluster = options.cluster ?? [];
  if (cluster.length > 0 && !natsAvailable()) {
    throw new Error("Cannot compare cluster nodes: nats-server is not installed");
  }
  const settings: Required<Omit<FanoutOptions, "progress">> = {
    scenarios: options.scenarios ??
      (cluster.length > 0 ? [DEFAULT_CLUSTER_SCENARIO] : DEFAULT_SCENARIOS),
    seconds: options.seconds ?? 10,
    servers,
    idle: options.idle ?? (cluster.length > 0 ? 0 : 10_000),
    idleServers: (options.idleServers ?? servers).filter((s) => servers.includes(s)),
    workers: options.workers ?? 2,
    samplers: options.samplers ?? 8,
    window: options.window ?? 0,
    textBytes: options.textBytes ?? 40,
    drainMs: options.drainMs ?? 3000,
    cluster,
    rounds: options.rounds ?? 1,
  };
  const biggest = Math.max(settings.idle, ...settings.scenarios.map((s) => s.clients));
  const fdLimit = openFileLimit();
  if (biggest + 64 > fdLimit) {
    throw new Error(
      `Cannot open ${biggest} connections: the open-file limit is ${fdLimit} (raise it with ulimit -n)`,
    );
  }
  const runs: FanoutRun[] = [];
  // Cluster mode compares one server alone (0) with each node count, on shmooze only.
  const sides: { server: FanoutServer; nodes?: number }[] = cluster.length > 0
    ? [0, ...cluster].map((nodes) => ({ server: "shmooze", nodes }))
    : servers.map((server) => ({ server }));
  for (const scenario of settings.scenarios) {
    for (let round = 1; round <= settings.rounds; round++) {
      for (const { server, nodes } of sides) {
        progress(
          `${sideName(server, nodes)}: ${scenario.clients} clients, ${
            scenario.senders ?? scenario.clients
          } sending ${scenario.rate} msg/s (round ${round}) …`,
        );
        const run = await runScenario(server, scenario, settings, round, nodes);
        progress(`  ${summary(run)}`);
        runs.push(run);
      }
    }
  }
  const idle: IdleRun[] = [];
  if (settings.idle > 0) {
    for (const server of settings.idleServers) {
      progress(`${server}: ${settings.idle} idle connections …`);
      const run = await runIdle(server, settings);
      progress(
        run.error ??
          `  ${run.registered} registered, ${(run.bytesPerConnection / 1024).toFixed(1)} KiB each`,
      );
      idle.push(run);
    }
  }
  return {
    ...benchEnvironment(),
    options: settings,
    runs,
    idle,
    notes,
  };
}

/** A run's server as the tables name it. */
function sideName(server: FanoutServer, nodes: number | undefined): string {
  if (nodes === undefined) return server;
  return nodes === 0 ? "alone" : `${nodes} node${nodes === 1 ? "" : "s"}`;
}

/** One line about a run, for progress output. */
function summary(run: FanoutRun): string {
  if (run.error) return `failed: ${run.error}`;
  return `${run.joined} joined in ${(run.joinMs / 1000).toFixed(1)} s, ${
    Math.round(run.deliveriesPerSecond).toLocaleString("en-US")
  } deliveries/s, p99 ${run.latency.p99} ms, server CPU ${run.serverCpuPercent}%`;
}

/** Starts one of the servers on a free loopback port with its limits lifted. */
async function startBenchServer(
  server: FanoutServer,
  connections: number,
  cluster: string[] = [],
): Promise<RunningServer> {
  if (server === "ngircd") return await startNgircd({ floodLimitsOff: true });
  if (server === "inspircd") return await startInspircd({ floodLimitsOff: true });
  const serve = await startServe({
    args: [
      ...["--flood-burst", "0", "--max-conn-per-ip", String(connections + 100)],
      // As InspIRCd's softsendq under floodLimitsOff: a slow reader is delayed, not dropped.
      ...["--sendq", String(16 * 1024 * 1024), "--log-level", "warning"],
      ...cluster,
    ],
    timeoutMs: 60 * 60 * 1000,
  });
  return {
    host: "127.0.0.1",
    port: serve.port,
    pid: serve.child.process.pid,
    stop: () => serve[Symbol.asyncDispose](),
  };
}

/** A fresh nats-server and `nodes` shmooze nodes on it, started one after the other. */
async function startCluster(
  nodes: number,
  connections: number,
): Promise<{ nats: MonitoredNats; servers: RunningServer[] }> {
  const nats = await startMonitoredNats();
  const servers: RunningServer[] = [];
  try {
    for (let n = 0; n < nodes; n++) {
      const flags = ["--cluster", nats.url, "--cluster-name", "bench", "--node-name", `n${n}`];
      servers.push(await startBenchServer("shmooze", connections, flags));
    }
  } catch (error) {
    for (const server of servers) await server.stop();
    await nats[Symbol.asyncDispose]();
    throw error;
  }
  return { nats, servers };
}

/**
 * Who sends and who samples: senders are the first clients of node 0 (client i is on node
 * i mod nodes), samplers the last clients of each node in turn, never a sender.
 */
function roles(
  clients: number,
  nodes: number,
  senders: number,
  samplers: number,
): { senders?: number[]; samplers: number[] } {
  const sending = senders >= clients ? undefined : Array.from(
    { length: Math.min(senders, Math.ceil(clients / nodes)) },
    (_, k) => k * nodes,
  );
  if (sending === undefined && nodes === 1) {
    // Every client sends: samplers spread over the clients, as they always were.
    return {
      samplers: Array.from(
        { length: Math.min(samplers, clients) },
        (_, s) => Math.floor((s + 0.5) * clients / Math.min(samplers, clients)),
      ),
    };
  }
  const taken = new Set(sending);
  const picked: number[] = [];
  const next = Array.from({ length: nodes }, (_, k) => clients - 1 - ((clients - 1 - k) % nodes));
  for (let s = 0; picked.length < samplers && s < samplers * nodes; s++) {
    const node = s % nodes;
    while (next[node] >= 0 && taken.has(next[node])) next[node] -= nodes;
    if (next[node] < 0) continue;
    picked.push(next[node]);
    next[node] -= nodes;
  }
  return { senders: sending, samplers: picked };
}

/** Waits for a worker's JSON report of one type. */
async function report<T>(worker: Child, type: string, timeoutMs: number): Promise<T> {
  const line = await worker.waitForLine(`{"type":"${type}"`, timeoutMs);
  return JSON.parse(line) as T;
}

/**
 * Starts the generator processes for `clients` clients against a server, or against a
 * cluster's nodes (client i on node i mod nodes).
 */
function startWorkers(
  servers: RunningServer[],
  clients: number,
  settings: Required<Omit<FanoutOptions, "progress">>,
  idle: boolean,
  timeoutMs: number,
  sending: { senders?: number[]; samplers: number[] } = roles(clients, 1, clients, 0),
): Child[] {
  const workers = Math.max(1, Math.min(settings.workers, clients));
  const samplers = idle ? [] : sending.samplers;
  return Array.from({ length: workers }, (_, w) => {
    const first = Math.floor(w * clients / workers);
    const plan: WorkerPlan = {
      host: servers[0].host,
      port: servers[0].port,
      ports: servers.length > 1 ? servers.map((server) => server.port) : undefined,
      senders: sending.senders,
      first,
      count: Math.floor((w + 1) * clients / workers) - first,
      total: clients,
      samplers,
      prefix: idle ? "i" : "c",
      channel: CHANNEL,
      idle,
      window: settings.window || clients,
      joinTimeoutMs: joinTimeoutMs(clients),
      textBytes: settings.textBytes,
    };
    return spawn(["bench/_fanout_worker.ts", JSON.stringify(plan)], { timeoutMs });
  });
}

/** Registration is bounded: generous for slow servers, but a run never hangs. */
function joinTimeoutMs(clients: number): number {
  return 60_000 + clients * 60;
}

/** Closes the workers' stdin (they disconnect and exit) and makes sure they are gone. */
async function stopWorkers(workers: Child[]): Promise<void> {
  await Promise.all(workers.map(async (worker) => {
    await worker.closeStdin();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      worker.done.catch(() => {}),
      new Promise((resolve) => timer = setTimeout(resolve, 5000)),
    ]);
    clearTimeout(timer);
    await worker[Symbol.asyncDispose]();
  }));
}

/** Merges the workers' joined reports. */
function joinedTotals(reports: JoinedReport[]): JoinedReport {
  return {
    type: "joined",
    joined: reports.reduce((sum, r) => sum + r.joined, 0),
    failed: reports.reduce((sum, r) => sum + r.failed, 0),
    ms: Math.max(...reports.map((r) => r.ms)),
    firstError: reports.find((r) => r.firstError)?.firstError,
  };
}

/** One server (or cluster) under one load. */
async function runScenario(
  name: FanoutServer,
  scenario: FanoutScenario,
  settings: Required<Omit<FanoutOptions, "progress">>,
  round: number,
  nodes?: number,
): Promise<FanoutRun> {
  const { clients, rate } = scenario;
  const seconds = settings.seconds;
  const sending = roles(
    clients,
    Math.max(1, nodes ?? 1),
    scenario.senders ?? clients,
    settings.samplers,
  );
  const run: FanoutRun = {
    server: name,
    clients,
    rate,
    seconds,
    senders: sending.senders?.length ?? clients,
    nodes,
    round,
    joined: 0,
    failedJoins: 0,
    joinMs: 0,
    offeredPerSecond: 0,
    deliveriesPerSecond: 0,
    sent: 0,
    latency: percentiles({}),
    completeness: 0,
    disconnects: 0,
    serverCpuPercent: 0,
    generatorCpuPercent: 0,
    serverRssKiB: 0,
  };
  const joinLimit = joinTimeoutMs(clients) + 15_000;
  const runLimit = seconds * 1000 + settings.drainMs + 20_000;
  let servers: RunningServer[] = [];
  let nats: MonitoredNats | undefined;
  let workers: Child[] = [];
  try {
    if (nodes === undefined || nodes === 0) {
      servers = [await startBenchServer(name, clients)];
    } else {
      ({ nats, servers } = await startCluster(nodes, clients));
    }
    workers = startWorkers(servers, clients, settings, false, joinLimit + runLimit, sending);
    const joined = joinedTotals(
      await Promise.all(workers.map((w) => report<JoinedReport>(w, "joined", joinLimit))),
    );
    Object.assign(run, {
      joined: joined.joined,
      failedJoins: joined.failed,
      joinError: joined.firstError,
      joinMs: Math.round(joined.ms),
      offeredPerSecond: Math.min(run.senders, joined.joined) * rate * (joined.joined - 1),
    });
    const at = wallClock() + 1500;
    const start = { cmd: "start", at, warmupMs: 1000, rate, seconds };
    await Promise.all(workers.map((w) => w.writeLine(JSON.stringify(start))));
    const serverPids = servers.map((server) => server.pid);
    const workerPids = workers.map((w) => w.process.pid);
    const pids = [...serverPids, ...workerPids, ...(nats ? [nats.pid] : [])];
    await sleepUntil(at);
    const before = pids.map(cpuTicks);
    const busBefore = await nats?.connections();
    const storedBefore = await nats?.storedMessages();
    await sleepUntil(at + seconds * 1000);
    const after = pids.map(cpuTicks);
    const busAfter = await nats?.connections();
    const storedAfter = await nats?.storedMessages();
    run.serverRssKiB = serverPids.reduce((sum, pid) => sum + rssKiB(pid), 0);
    const percent = (from: number, count: number) =>
      Math.round(
        pids.slice(from, from + count).reduce(
          (sum, _, i) => sum + (after[from + i] - before[from + i]) / CLOCK_TICKS / seconds * 100,
          0,
        ),
      );
    run.serverCpuPercent = percent(0, serverPids.length);
    run.generatorCpuPercent = percent(serverPids.length, workerPids.length);
    if (nats) run.natsCpuPercent = percent(serverPids.length + workerPids.length, 1);
    // Every worker says what it sent; then all drain until their samplers have everything
    // the others sent in the window (or the drain's bound passes).
    const sentReports = await Promise.all(
      workers.map((w) => report<SentReport>(w, "sent", settings.drainMs + 20_000)),
    );
    const totalSent = sentReports.reduce((sum, r) => sum + r.sent, 0);
    const drain = { cmd: "drain", totalSent, drainMs: settings.drainMs };
    await Promise.all(workers.map((w) => w.writeLine(JSON.stringify(drain))));
    const results = await Promise.all(
      workers.map((w) => report<ResultReport>(w, "result", settings.drainMs + 20_000)),
    );
    const histogram: Histogram = {};
    for (const result of results) merge(histogram, result.histogram);
    run.sent = results.reduce((sum, r) => sum + r.sent, 0);
    run.deliveriesPerSecond = Math.round(
      results.reduce((sum, r) => sum + r.receivedInWindow, 0) / seconds,
    );
    run.latency = percentiles(histogram);
    run.disconnects = results.reduce((sum, r) => sum + r.disconnects, 0);
    const expected = results.reduce((sum, r) => sum + r.expected, 0);
    run.completeness = expected > 0
      ? Math.round(results.reduce((sum, r) => sum + r.sampled, 0) / expected * 1000) / 1000
      : 0;
    if (nodes !== undefined) {
      run.latencyByNode = Array.from({ length: Math.max(1, nodes) }, (_, node) => {
        const merged: Histogram = {};
        for (const result of results) merge(merged, result.nodeHistograms[node] ?? {});
        return percentiles(merged);
      });
    }
    if (busBefore && busAfter && storedBefore !== undefined && storedAfter !== undefined) {
      const entries = storedAfter - storedBefore;
      run.appended = entries;
      run.busPerEntry = serverPids.map((pid, i) => ({
        ...busCost(`shmooze-${pid}`, busBefore, busAfter, entries),
        cpuMicros: Math.round((after[i] - before[i]) / CLOCK_TICKS * 1e6 / Math.max(1, entries)),
      }));
    }
  } catch (error) {
    run.error = error instanceof Error ? error.message.split("\n")[0] : String(error);
  } finally {
    await stopWorkers(workers);
    for (const server of servers) await server.stop();
    await nats?.[Symbol.asyncDispose]();
  }
  return run;
}

/**
 * One node's NATS traffic between two /connz readings, per chat message; "in" is what the
 * node received (nats-server's out), "out" what it sent.
 */
function busCost(
  name: string,
  before: ConnectionTraffic[],
  after: ConnectionTraffic[],
  messages: number,
): Omit<NodeBusCost, "cpuMicros"> {
  const zero = { name, inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0 };
  const from = before.find((c) => c.name === name) ?? zero;
  const to = after.find((c) => c.name === name) ?? zero;
  const per = (value: number) => messages > 0 ? Math.round(value / messages * 100) / 100 : 0;
  return {
    inBytes: per(to.outBytes - from.outBytes),
    inMsgs: per(to.outMsgs - from.outMsgs),
    outBytes: per(to.inBytes - from.inBytes),
    outMsgs: per(to.inMsgs - from.inMsgs),
  };
}

/** Registers `settings.idle` clients that then do nothing; the server's memory per client. */
async function runIdle(
  name: FanoutServer,
  settings: Required<Omit<FanoutOptions, "progress">>,
): Promise<IdleRun> {
  const connections = settings.idle;
  const run: IdleRun = {
    server: name,
    connections,
    registered: 0,
    failed: 0,
    rssBeforeKiB: 0,
    rssAfterKiB: 0,
    bytesPerConnection: 0,
    registerMs: 0,
  };
  const joinLimit = joinTimeoutMs(connections) + 15_000;
  let server: RunningServer | undefined;
  let workers: Child[] = [];
  try {
    server = await startBenchServer(name, connections);
    run.rssBeforeKiB = rssKiB(server.pid);
    // Join time is not measured here, so ngircd gets registrations paced to its listen
    // backlog of 10 instead of seconds-long SYN retries.
    const paced = name === "ngircd" ? { ...settings, window: 5 } : settings;
    workers = startWorkers([server], connections, paced, true, joinLimit + 30_000);
    const joined = joinedTotals(
      await Promise.all(workers.map((w) => report<JoinedReport>(w, "joined", joinLimit))),
    );
    // The last registrations' replies may still be queued: let the server settle.
    await sleepUntil(wallClock() + 1000);
    run.rssAfterKiB = rssKiB(server.pid);
    run.registered = joined.joined;
    run.failed = joined.failed;
    run.registerMs = Math.round(joined.ms);
    run.bytesPerConnection = joined.joined > 0
      ? Math.round((run.rssAfterKiB - run.rssBeforeKiB) * 1024 / joined.joined)
      : 0;
    if (joined.firstError) run.error = `some registrations failed: ${joined.firstError}`;
  } catch (error) {
    run.error = error instanceof Error ? error.message.split("\n")[0] : String(error);
  } finally {
    await stopWorkers(workers);
    await server?.stop();
  }
  return run;
}

/** User + system CPU time of a process, in clock ticks (0 once it is gone). */
function cpuTicks(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Resident memory of a process (VmRSS), KiB. */
function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
}

/** This process's soft limit on open files, which the generators and servers inherit. */
function openFileLimit(): number {
  try {
    const limits = Deno.readTextFileSync("/proc/self/limits");
    return Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? Infinity);
  } catch {
    return Infinity;
  }
}

/**
 * The report as markdown tables with a bar chart of deliveries per second (for a terminal
 * and for docs/benchmarks.md).
 *
 * @param report What {@link runFanout} measured.
 * @returns Markdown text.
 *
 * @example
 * ```ts ignore
 * import { formatFanoutReport, runFanout } from "./fanout.ts";
 * console.log(formatFanoutReport(await runFanout({ idle: 0 })));
 * ```
 */
export function formatFanoutReport(report: FanoutReport): string {
  if (report.options.cluster.length > 0) return formatClusterReport(report);
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  const runRows = report.runs.map((r) =>
    r.error
      ? [`${r.clients} × ${r.rate}`, r.server, "failed", r.error, "", "", "", "", "", "", "", ""]
      : [
        `${r.clients} × ${r.rate}`,
        r.server,
        fmt(r.deliveriesPerSecond),
        fmt(r.offeredPerSecond),
        r.latency.p50.toFixed(1),
        r.latency.p99.toFixed(1),
        r.latency.p999.toFixed(1),
        r.completeness.toFixed(3),
        `${r.joined}/${r.clients}`,
        (r.joinMs / 1000).toFixed(1),
        `${r.serverCpuPercent}`,
        `${r.generatorCpuPercent}`,
      ]
  );
  const sections = [
    markdownTable(
      [
        "clients × msg/s",
        "server",
        "deliveries/s",
        "offered/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "complete",
        "joined",
        "join s",
        "server CPU %",
        "load CPU %",
      ],
      runRows,
      2,
    ),
  ];
  const chartRuns = report.runs.filter((r) => !r.error);
  if (chartRuns.length > 0) {
    const top = Math.max(...chartRuns.map((r) => r.deliveriesPerSecond), 1);
    const label = (r: FanoutRun) => `${r.clients}×${r.rate} ${r.server}`;
    const width = Math.max(...chartRuns.map((r) => label(r).length));
    sections.push(
      [
        "```",
        "deliveries/s (each █ = 1/40 of the largest)",
        ...chartRuns.map((r) =>
          `${label(r).padEnd(width)} ${"█".repeat(Math.round(r.deliveriesPerSecond / top * 40))} ${
            fmt(r.deliveriesPerSecond)
          }`
        ),
        "```",
      ].join("\n"),
    );
  }
  if (report.idle.length > 0) {
    sections.push(markdownTable(
      [
        "idle connections",
        "server",
        "registered",
        "register s",
        "RSS before MiB",
        "RSS after MiB",
        "KiB each",
      ],
      report.idle.map((r) => [
        String(r.connections),
        r.server,
        String(r.registered),
        (r.registerMs / 1000).toFixed(1),
        (r.rssBeforeKiB / 1024).toFixed(1),
        (r.rssAfterKiB / 1024).toFixed(1),
        r.error && r.registered === 0 ? r.error : (r.bytesPerConnection / 1024).toFixed(1),
      ]),
      2,
    ));
  }
  const o = report.options;
  sections.push([
    ...report.notes,
    `${o.seconds} s measured per run after 1 s warm-up, ${o.drainMs} ms drain; ${o.workers} load ` +
    `processes, ${o.samplers} latency samplers, ${o.textBytes}-byte messages`,
    describeEnvironment(report),
  ].join("\n"));
  return sections.join("\n\n");
}

/** The cluster comparison's tables: delivery and latency per side, then each node's bus cost. */
function formatClusterReport(report: FanoutReport): string {
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  const latency = (p: Percentiles | undefined) =>
    p === undefined || p.samples === 0 ? "–" : `${p.p50.toFixed(1)} / ${p.p99.toFixed(1)}`;
  const others = (run: FanoutRun) => {
    const merged = run.latencyByNode?.slice(1) ?? [];
    if (merged.length === 0) return "–";
    // Percentiles of different nodes do not add up: one pair per node.
    return merged.map(latency).join(", ");
  };
  const sections = [markdownTable(
    [
      "clients, senders × msg/s",
      "side",
      "round",
      "deliveries/s",
      "offered/s",
      "p50 / p99 ms senders' node",
      "p50 / p99 ms other nodes",
      "complete",
      "joined",
      "join s",
      "nodes CPU %",
      "nats CPU %",
      "load CPU %",
    ],
    report.runs.map((r) => {
      const load = `${r.clients}, ${r.senders} × ${r.rate}`;
      const side = sideName(r.server, r.nodes);
      if (r.error) {
        return [load, side, String(r.round), "failed", r.error, "", "", "", "", "", "", "", ""];
      }
      return [
        load,
        side,
        String(r.round),
        fmt(r.deliveriesPerSecond),
        fmt(r.offeredPerSecond),
        latency(r.latencyByNode?.[0]),
        others(r),
        r.completeness.toFixed(3),
        `${r.joined}/${r.clients}`,
        (r.joinMs / 1000).toFixed(1),
        String(r.serverCpuPercent),
        r.natsCpuPercent === undefined ? "–" : String(r.natsCpuPercent),
        String(r.generatorCpuPercent),
      ];
    }),
    3,
  )];
  const costRows = report.runs.filter((r) => r.busPerEntry && !r.error).flatMap((r) =>
    r.busPerEntry!.map((cost, node) => [
      `${r.clients}, ${r.senders} × ${r.rate}`,
      sideName(r.server, r.nodes),
      String(r.round),
      node === 0 ? "0 (senders)" : String(node),
      `${fmt(r.appended ?? 0)} / ${fmt(r.sent)}`,
      cost.inBytes.toFixed(0),
      cost.outBytes.toFixed(0),
      cost.inMsgs.toFixed(2),
      cost.outMsgs.toFixed(2),
      String(cost.cpuMicros),
    ])
  );
  if (costRows.length > 0) {
    sections.push(
      "Per log entry appended in the window (nats-server /jsz), each node's NATS connection " +
        "(/connz) and CPU time; appended = entries in the window against messages its clients " +
        "sent:\n\n" +
        markdownTable(
          [
            "clients, senders × msg/s",
            "side",
            "round",
            "node",
            "appended / sent",
            "bytes in",
            "bytes out",
            "NATS msgs in",
            "NATS msgs out",
            "node CPU µs",
          ],
          costRows,
          5,
        ),
    );
  }
  const o = report.options;
  sections.push([
    ...report.notes,
    `${o.seconds} s measured per run after 1 s warm-up, ${o.drainMs} ms drain, sides run in turn ` +
    `${o.rounds} time(s); ${o.workers} load processes, ${o.samplers} latency samplers spread over ` +
    `the nodes, ${o.textBytes}-byte messages; client i on node i mod N, senders on node 0`,
    describeEnvironment(report),
  ].join("\n"));
  return sections.join("\n\n");
}

/** Help for `deno task bench fanout` (= `deno run -A bench/fanout.ts`). */
export const FANOUT_HELP = `Usage: deno task bench fanout [options]
       deno run -A bench/fanout.ts [options]

N clients in #lobby each send R messages a second carrying their send time; shmooze, ngircd
and InspIRCd (Debian's binaries, flood limits off) get the same load in one run, one fresh
server at a time. Prints deliveries/s, latency p50/p99/p99.9, join time and failed joins side
by side, then each server's memory per idle connection, and writes JSON.

Options:
  --clients N      Clients of a single scenario (default: the scenarios 500 × 1, 1000 × 1 and
                   1000 × 3 msg/s)
  --rate R         Messages per second per client of that scenario (default: 1)
  --seconds S      Measured seconds per run, after a 1 s warm-up (default: 10)
  --servers LIST   Comma-separated: shmooze,ngircd,inspircd (default: all three)
  --idle N         Idle connections for the memory test; 0 skips it (default: 10000)
  --workers N      Load-generator processes, 1 to 8 (default: 2)
  --samplers N     Clients that decode every line for latency (default: 8)
  --window N       Registrations in flight per load process; 0 = all at once (default: 0)
  --senders N      Only N of the clients send, each at --rate (default: all; with --cluster 30)
  --rounds N       Run the sides of each scenario in turn N times: A, B, A, B (default: 1;
                   with --cluster 2)
  --cluster LIST   Cluster mode: compare one serve alone with N-node clusters, e.g. 1,2,3: for
                   each, a fresh nats-server -js (monitoring on) and N serve --cluster processes;
                   client i joins node i mod N, the senders are on node 0. Latency is shown for
                   the senders' node and each other node, and each node's NATS bytes and
                   messages per chat message (nats-server's /connz). Default load: 300 clients,
                   30 sending 10 msg/s, 5 s per run, no idle test.
  --json FILE      Where the results go (default: bench/results/fanout.json, with --cluster
                   bench/results/fanout_cluster.json)

The full benchmark takes about ten minutes. Run it on a quiet machine: the three servers and
the load generators share its cores.

Examples:
  deno task bench fanout
  deno task bench fanout --clients 200 --rate 1 --seconds 3 --idle 0
  deno run -A bench/fanout.ts --servers shmooze --clients 1000 --rate 3 --idle 10000
  deno task bench fanout --cluster 1,2,3
  deno task bench fanout --cluster 1,2,3 --clients 1000 --senders 100 --rate 20`;

/** Where {@link runFanoutCommand} writes results unless told otherwise. */
export const DEFAULT_FANOUT_JSON: string = new URL("./results/fanout.json", import.meta.url)
  .pathname;

/** Where cluster mode writes its results unless told otherwise. */
export const DEFAULT_CLUSTER_JSON: string = new URL(
  "./results/fanout_cluster.json",
  import.meta.url,
).pathname;

/** `--cluster 1,2,3`: distinct node counts from 1 to 8. */
function parseNodeCounts(text: string): number[] {
  const counts = text.split(",").map((part) => part.trim());
  const valid = counts.every((c) => /^[1-8]$/.test(c)) && new Set(counts).size === counts.length;
  if (!valid) {
    throw new UsageError(`--cluster must list node counts from 1 to 8 once each, not "${text}"`);
  }
  return counts.map(Number);
}

/**
 * Parses fan-out options from a command line (the same for `bench/fanout.ts` and
 * `deno task bench fanout`).
 *
 * @param args Arguments after `fanout`.
 * @returns The options, the JSON path, and whether help was asked for.
 * @throws UsageError for a bad command line.
 *
 * @example
 * ```ts
 * import { parseFanoutArgs } from "./fanout.ts";
 * const { options } = parseFanoutArgs(["--clients", "200", "--servers", "shmooze,ngircd"]);
 * console.log(options.scenarios, options.servers); // [ { clients: 200, rate: 1 } ] [ "shmooze", "ngircd" ]
 * ```
 */
export function parseFanoutArgs(
  args: string[],
): { options: FanoutOptions; json: string; help: boolean } {
  const { values } = parseCommandArgs("bench fanout", args, {
    clients: { type: "string" },
    rate: { type: "string" },
    seconds: { type: "string" },
    servers: { type: "string" },
    idle: { type: "string" },
    workers: { type: "string" },
    samplers: { type: "string" },
    window: { type: "string" },
    senders: { type: "string" },
    rounds: { type: "string" },
    cluster: { type: "string" },
    json: { type: "string" },
  });
  const cluster = values.cluster === undefined ? [] : parseNodeCounts(String(values.cluster));
  const clustered = cluster.length > 0;
  if (clustered && (values.servers !== undefined || Number(values.idle ?? 0) > 0)) {
    throw new UsageError("--cluster compares shmooze alone and clustered: no --servers or --idle");
  }
  const servers = stringOption(values, "servers", FANOUT_SERVERS.join(","))
    .split(",").map((s) => s.trim()).filter((s) => s !== "");
  const unknown = servers.find((s) => !FANOUT_SERVERS.includes(s as FanoutServer));
  if (unknown !== undefined || servers.length === 0) {
    throw new UsageError(
      `--servers must list some of ${FANOUT_SERVERS.join(", ")}, not "${values.servers}"`,
    );
  }
  const clients = values.clients === undefined
    ? undefined
    : intOption(values, "clients", 0, { min: 2, max: 50_000 });
  const rate = intOption(values, "rate", 1, { min: 1, max: 100 });
  if (clients === undefined && (values.rate !== undefined || values.senders !== undefined)) {
    throw new UsageError("--rate and --senders need --clients");
  }
  const senders = values.senders === undefined
    ? undefined
    : intOption(values, "senders", 0, { min: 1, max: clients });
  const sending = senders ?? (clustered ? Math.min(30, clients ?? 0) : undefined);
  const single: FanoutScenario | undefined = clients === undefined
    ? undefined
    : sending === undefined
    ? { clients, rate }
    : { clients, rate, senders: sending };
  return {
    options: {
      scenarios: single === undefined
        ? (clustered ? [DEFAULT_CLUSTER_SCENARIO] : DEFAULT_SCENARIOS)
        : [single],
      seconds: intOption(values, "seconds", clustered ? 5 : 10, { min: 1, max: 600 }),
      servers: clustered ? ["shmooze"] : servers as FanoutServer[],
      idle: intOption(values, "idle", clustered ? 0 : 10_000, { max: 100_000 }),
      workers: intOption(values, "workers", 2, { min: 1, max: 8 }),
      samplers: intOption(values, "samplers", 8, { min: 1, max: 100 }),
      window: intOption(values, "window", 0),
      cluster,
      rounds: intOption(values, "rounds", clustered ? 2 : 1, { min: 1, max: 20 }),
    },
    json: stringOption(values, "json", clustered ? DEFAULT_CLUSTER_JSON : DEFAULT_FANOUT_JSON),
    help: values.help === true,
  };
}

/**
 * The whole command: parse, run with progress on stderr, print the tables, write JSON.
 *
 * @param args Arguments after `fanout`.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * import { runFanoutCommand } from "./fanout.ts";
 * Deno.exit(await runFanoutCommand(["--clients", "100", "--seconds", "3", "--idle", "0"]));
 * ```
 */
export async function runFanoutCommand(args: string[]): Promise<number> {
  const { options, json, help } = parseFanoutArgs(args);
  if (help) {
    console.log(FANOUT_HELP);
    return 0;
  }
  const report = await runFanout({ ...options, progress: (line) => console.error(line) });
  console.log(formatFanoutReport(report));
  await Deno.mkdir(dirname(json), { recursive: true });
  await Deno.writeTextFile(json, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`results written to ${json}`);
  return report.runs.some((r) => r.error) ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await runFanoutCommand(Deno.args));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(error.message);
    Deno.exit(2);
  }
}
