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
}

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
  /** Called with one line per step, for progress output. */
  progress?: (line: string) => void;
}

/** One server under one load. */
export interface FanoutRun {
  server: FanoutServer;
  clients: number;
  rate: number;
  seconds: number;
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
  /** Server CPU in the window, % of one core. */
  serverCpuPercent: number;
  /** Load generators' CPU in the window, % of one core, summed. */
  generatorCpuPercent: number;
  /** Server resident memory at the end of the window, KiB. */
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
  const settings: Required<Omit<FanoutOptions, "progress">> = {
    scenarios: options.scenarios ?? DEFAULT_SCENARIOS,
    seconds: options.seconds ?? 10,
    servers,
    idle: options.idle ?? 10_000,
    idleServers: (options.idleServers ?? servers).filter((s) => servers.includes(s)),
    workers: options.workers ?? 2,
    samplers: options.samplers ?? 8,
    window: options.window ?? 0,
    textBytes: options.textBytes ?? 40,
    drainMs: options.drainMs ?? 3000,
  };
  const biggest = Math.max(settings.idle, ...settings.scenarios.map((s) => s.clients));
  const fdLimit = openFileLimit();
  if (biggest + 64 > fdLimit) {
    throw new Error(
      `Cannot open ${biggest} connections: the open-file limit is ${fdLimit} (raise it with ulimit -n)`,
    );
  }
  const runs: FanoutRun[] = [];
  for (const scenario of settings.scenarios) {
    for (const server of servers) {
      progress(`${server}: ${scenario.clients} clients × ${scenario.rate} msg/s …`);
      const run = await runScenario(server, scenario, settings);
      progress(`  ${summary(run)}`);
      runs.push(run);
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

/** One line about a run, for progress output. */
function summary(run: FanoutRun): string {
  if (run.error) return `failed: ${run.error}`;
  return `${run.joined} joined in ${(run.joinMs / 1000).toFixed(1)} s, ${
    Math.round(run.deliveriesPerSecond).toLocaleString("en-US")
  } deliveries/s, p99 ${run.latency.p99} ms, server CPU ${run.serverCpuPercent}%`;
}

/** Starts one of the servers on a free loopback port with its limits lifted. */
async function startBenchServer(server: FanoutServer, connections: number): Promise<RunningServer> {
  if (server === "ngircd") return await startNgircd({ floodLimitsOff: true });
  if (server === "inspircd") return await startInspircd({ floodLimitsOff: true });
  const serve = await startServe({
    args: [
      ...["--flood-burst", "0", "--max-conn-per-ip", String(connections + 100)],
      // As InspIRCd's softsendq under floodLimitsOff: a slow reader is delayed, not dropped.
      ...["--sendq", String(16 * 1024 * 1024), "--log-level", "warning"],
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

/** Waits for a worker's JSON report of one type. */
async function report<T>(worker: Child, type: string, timeoutMs: number): Promise<T> {
  const line = await worker.waitForLine(`{"type":"${type}"`, timeoutMs);
  return JSON.parse(line) as T;
}

/** Starts the generator processes for `clients` clients against a server. */
function startWorkers(
  server: RunningServer,
  clients: number,
  settings: Required<Omit<FanoutOptions, "progress">>,
  idle: boolean,
  timeoutMs: number,
): Child[] {
  const workers = Math.max(1, Math.min(settings.workers, clients));
  const samplers = idle ? [] : Array.from(
    { length: Math.min(settings.samplers, clients) },
    (_, s) => Math.floor((s + 0.5) * clients / Math.min(settings.samplers, clients)),
  );
  return Array.from({ length: workers }, (_, w) => {
    const first = Math.floor(w * clients / workers);
    const plan: WorkerPlan = {
      host: server.host,
      port: server.port,
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

/** One server under one load. */
async function runScenario(
  name: FanoutServer,
  scenario: FanoutScenario,
  settings: Required<Omit<FanoutOptions, "progress">>,
): Promise<FanoutRun> {
  const { clients, rate } = scenario;
  const seconds = settings.seconds;
  const run: FanoutRun = {
    server: name,
    clients,
    rate,
    seconds,
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
  let server: RunningServer | undefined;
  let workers: Child[] = [];
  try {
    server = await startBenchServer(name, clients);
    workers = startWorkers(server, clients, settings, false, joinLimit + runLimit);
    const joined = joinedTotals(
      await Promise.all(workers.map((w) => report<JoinedReport>(w, "joined", joinLimit))),
    );
    Object.assign(run, {
      joined: joined.joined,
      failedJoins: joined.failed,
      joinError: joined.firstError,
      joinMs: Math.round(joined.ms),
      offeredPerSecond: joined.joined * rate * (joined.joined - 1),
    });
    const at = wallClock() + 1500;
    const start = { cmd: "start", at, warmupMs: 1000, rate, seconds };
    await Promise.all(workers.map((w) => w.writeLine(JSON.stringify(start))));
    const pids = [server.pid, ...workers.map((w) => w.process.pid)];
    await sleepUntil(at);
    const before = pids.map(cpuTicks);
    await sleepUntil(at + seconds * 1000);
    const after = pids.map(cpuTicks);
    run.serverRssKiB = rssKiB(server.pid);
    const percent = (i: number) => (after[i] - before[i]) / CLOCK_TICKS / seconds * 100;
    run.serverCpuPercent = Math.round(percent(0));
    run.generatorCpuPercent = Math.round(
      pids.slice(1).reduce((sum, _, i) => sum + percent(i + 1), 0),
    );
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
  } catch (error) {
    run.error = error instanceof Error ? error.message.split("\n")[0] : String(error);
  } finally {
    await stopWorkers(workers);
    await server?.stop();
  }
  return run;
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
    workers = startWorkers(server, connections, paced, true, joinLimit + 30_000);
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
  --json FILE      Where the results go (default: bench/results/fanout.json)

The full benchmark takes about ten minutes. Run it on a quiet machine: the three servers and
the load generators share its cores.

Examples:
  deno task bench fanout
  deno task bench fanout --clients 200 --rate 1 --seconds 3 --idle 0
  deno run -A bench/fanout.ts --servers shmooze --clients 1000 --rate 3 --idle 10000`;

/** Where {@link runFanoutCommand} writes results unless told otherwise. */
export const DEFAULT_FANOUT_JSON: string = new URL("./results/fanout.json", import.meta.url)
  .pathname;

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
    json: { type: "string" },
  });
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
  if (clients === undefined && values.rate !== undefined) {
    throw new UsageError("--rate needs --clients");
  }
  return {
    options: {
      scenarios: clients === undefined ? DEFAULT_SCENARIOS : [{ clients, rate }],
      seconds: intOption(values, "seconds", 10, { min: 1, max: 600 }),
      servers: servers as FanoutServer[],
      idle: intOption(values, "idle", 10_000, { max: 100_000 }),
      workers: intOption(values, "workers", 2, { min: 1, max: 8 }),
      samplers: intOption(values, "samplers", 8, { min: 1, max: 100 }),
      window: intOption(values, "window", 0),
    },
    json: stringOption(values, "json", DEFAULT_FANOUT_JSON),
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
