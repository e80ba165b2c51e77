/**
 * IPC benchmark: the shared-memory room against a Unix socket and TCP on loopback, in one
 * run. For each transport and message size (64 B, 1 KiB) a producer process sends to a
 * consumer process:
 *
 * - latency: messages paced 20 µs apart (the first 1000 not counted: warm-up), one-way time
 *   from send to receipt (both processes read CLOCK_REALTIME through a calibrated
 *   `performance.now()`);
 * - wake: messages paced 2 ms apart, so the consumer is asleep (futex, epoll) each time;
 * - throughput: messages sent back to back, one send call each, counted at the consumer.
 *
 * Then the CPU time of a room reader with nothing to read (its own `process.cpuUsage()`).
 *
 * Run it with `shmooze bench ipc` (`deno task bench ipc`).
 *
 * @module
 */

/** Options for {@link runIpcBenchmark}. */
export interface IpcBenchOptions {
  /** Messages in each throughput run. @default {100000} */
  messages?: number;
  /** Messages in each latency run. @default {20000} */
  latencyMessages?: number;
  /** Messages in each wake-up run. @default {300} */
  wakeMessages?: number;
  /** How long the idle reader is watched. @default {3} */
  idleSeconds?: number;
}

/** Percentiles of one-way latency, in µs. */
export interface LatencyStats {
  p50: number;
  p99: number;
  p999: number;
  mean: number;
  count: number;
}

/** One transport at one message size. */
export interface TransportResult {
  transport: "shm" | "unix" | "tcp";
  size: number;
  latency: LatencyStats;
  wake: LatencyStats;
  throughput: { messagesPerSecond: number; received: number; missed: number; seconds: number };
}

/** Everything one run measured. */
export interface IpcBenchReport {
  date: string;
  deno: string;
  os: string;
  arch: string;
  cpus: number;
  loadAverage: number[];
  results: TransportResult[];
  /** CPU use of an idle room reader, in percent of one core (its user + system time). */
  idleReaderCpuPercent: number;
  idleSeconds: number;
}

const PEER = new URL("./_ipc_peer.ts", import.meta.url).pathname;
const TRANSPORTS = ["shm", "unix", "tcp"] as const;
const SIZES = [64, 1024];
/** A bound on each producer/consumer pair, so a hang cannot stall the run. */
const PAIR_TIMEOUT_MS = 60_000;

/** A peer process with its standard output as lines. */
interface Peer {
  process: Deno.ChildProcess;
  nextLine(): Promise<string>;
}

function startPeer(args: string[], stdin: "null" | "piped" = "null"): Peer {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", PEER, ...args],
    stdin,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const timer = setTimeout(() => process.kill("SIGKILL"), PAIR_TIMEOUT_MS);
  process.status.finally(() => clearTimeout(timer));
  const lines = process.stdout.pipeThrough(new TextDecoderStream()).values();
  let pending = "";
  return {
    process,
    async nextLine() {
      while (!pending.includes("\n")) {
        const chunk = await lines.next();
        if (chunk.done) throw new Error(`Benchmark peer ${args.join(" ")} ended early`);
        pending += chunk.value;
      }
      const at = pending.indexOf("\n");
      const line = pending.slice(0, at);
      pending = pending.slice(at + 1);
      return line;
    },
  };
}

function stats(samples: number[]): LatencyStats {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const round = (us: number) => Math.round(us * 10) / 10;
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    p50: round(at(0.5)),
    p99: round(at(0.99)),
    p999: round(at(0.999)),
    mean: round(sum / Math.max(1, sorted.length)),
    count: sorted.length,
  };
}

async function runPair(
  transport: TransportResult["transport"],
  size: number,
  counts: number[],
  where: string,
): Promise<TransportResult> {
  const address = transport === "shm"
    ? `bench-${Deno.pid}-${size}`
    : transport === "unix"
    ? `${where}/${size}.sock`
    : "";
  const consumer = startPeer(["consumer", transport, String(size), address]);
  try {
    const ready = await consumer.nextLine();
    const producer = startPeer([
      "producer",
      transport,
      String(size),
      ready.slice("ready ".length),
      ...counts.map(String),
    ]);
    const [result, status] = await Promise.all([consumer.nextLine(), producer.process.status]);
    if (!status.success) throw new Error(`The ${transport} producer failed (${status.code})`);
    const measured = JSON.parse(result);
    const { received, missed, seconds } = measured.throughput;
    return {
      transport,
      size,
      latency: stats(measured.latencyUs),
      wake: stats(measured.wakeUs),
      throughput: {
        messagesPerSecond: Math.round(received / seconds),
        received,
        missed,
        seconds: Math.round(seconds * 1000) / 1000,
      },
    };
  } finally {
    await consumer.process.status;
  }
}

async function idleReaderCpu(seconds: number): Promise<number> {
  const room = `bench-idle-${Deno.pid}`;
  const reader = startPeer(["idle", "shm", "0", room], "piped");
  const input = reader.process.stdin.getWriter();
  const cpuMicros = async () => {
    await input.write(new TextEncoder().encode("cpu\n"));
    return Number((await reader.nextLine()).slice("cpu ".length));
  };
  try {
    await reader.nextLine();
    // Let start-up work (compilation, collecting start-up garbage) finish before measuring.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = await cpuMicros();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const used = (await cpuMicros()) - before;
    return Math.round(used / (seconds * 1e6) * 100 * 100) / 100;
  } finally {
    await input.close();
    await reader.process.status;
  }
}

/**
 * Runs the whole benchmark (under two minutes on a 2-core machine).
 *
 * @param options Message counts and the idle watch time.
 * @returns The measurements.
 *
 * @example
 * ```ts ignore
 * import { formatIpcReport, runIpcBenchmark } from "./ipc.ts";
 * console.log(formatIpcReport(await runIpcBenchmark({ messages: 10_000 })));
 * ```
 */
export async function runIpcBenchmark(options: IpcBenchOptions = {}): Promise<IpcBenchReport> {
  const counts = [
    options.latencyMessages ?? 20_000,
    options.wakeMessages ?? 300,
    options.messages ?? 100_000,
  ];
  const idleSeconds = options.idleSeconds ?? 3;
  const where = await Deno.makeTempDir({ prefix: "shmooze-bench-" });
  const results: TransportResult[] = [];
  try {
    for (const size of SIZES) {
      for (const transport of TRANSPORTS) {
        results.push(await runPair(transport, size, counts, where));
      }
    }
  } finally {
    await Deno.remove(where, { recursive: true });
  }
  return {
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    os: Deno.build.os,
    arch: Deno.build.arch,
    cpus: navigator.hardwareConcurrency,
    loadAverage: Deno.loadavg(),
    results,
    idleReaderCpuPercent: await idleReaderCpu(idleSeconds),
    idleSeconds,
  };
}

/**
 * The report as a table for a terminal (and for docs/benchmarks.md).
 *
 * @param report What {@link runIpcBenchmark} measured.
 * @returns Markdown table text.
 *
 * @example
 * ```ts ignore
 * import { formatIpcReport, runIpcBenchmark } from "./ipc.ts";
 * console.log(formatIpcReport(await runIpcBenchmark()));
 * ```
 */
export function formatIpcReport(report: IpcBenchReport): string {
  const header = [
    "transport",
    "size B",
    "p50 µs",
    "p99 µs",
    "p99.9 µs",
    "wake p50 µs",
    "wake p99 µs",
    "msg/s",
    "lost",
  ];
  const rows = report.results.map((r) => [
    r.transport,
    String(r.size),
    r.latency.p50.toFixed(1),
    r.latency.p99.toFixed(1),
    r.latency.p999.toFixed(1),
    r.wake.p50.toFixed(1),
    r.wake.p99.toFixed(1),
    r.throughput.messagesPerSecond.toLocaleString("en-US"),
    String(r.throughput.missed),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(" | ")} |`;
  const rule = `| ${
    widths.map((w, i) => i < 2 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`).join(" | ")
  } |`;
  const idle =
    `idle room reader: ${report.idleReaderCpuPercent}% of one core over ${report.idleSeconds} s`;
  return [
    line(header),
    rule,
    ...rows.map(line),
    "",
    idle,
    `${report.os}/${report.arch}, ${report.cpus} CPUs, load ${
      report.loadAverage.map((l) => l.toFixed(2)).join(" ")
    }, Deno ${report.deno}, ${report.date}`,
  ].join("\n");
}
