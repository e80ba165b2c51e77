/**
 * IPC benchmark: the shared-memory room against a Unix socket and TCP on loopback, in one
 * run. For each transport and message size (64 B, 1 KiB) a producer process sends to a
 * consumer process:
 *
 * - latency: messages paced 20 µs apart (the first 1000 not counted: warm-up), one-way time
 *   from send to receipt (both processes read CLOCK_REALTIME through a calibrated
 *   `performance.now()`);
 * - wake: messages paced 2 ms apart, so the consumer is asleep (futex, epoll) each time;
 * - throughput: messages sent back to back, counted at the consumer: one send call per
 *   message; batches of 64 per call, lossless (the sender waits for the reader: sockets by
 *   flow control, the room by `sendBatch` with `waitMs`); and, for the room only, batches
 *   of 64 as a firehose (the sender never waits; a lapped reader counts what it missed).
 *   Each runs three times, in turn; rates are the median, counts the totals. Every run
 *   checks that sent = delivered + reported lost.
 *
 * Then the CPU time of a room reader with nothing to read (its own `process.cpuUsage()`).
 *
 * Run it with `deno task bench ipc`.
 *
 * @module
 */

import { type BenchEnvironment, benchEnvironment, describeEnvironment } from "./_env.ts";
import { markdownTable } from "./_table.ts";
import { Room } from "../src/ipc/room.ts";

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

/** How a throughput run sent its messages. */
export type ThroughputMode = "per-call" | "batch-lossless" | "batch-firehose";

/** One throughput run: what was sent, what arrived, what the reader was told it lost. */
export interface ThroughputResult {
  /**
   * `per-call`: one `send()` / `write()` per message; `batch-lossless`: 64 per call, the
   * sender waits for the reader (sockets: flow control; shm: `sendBatch` with `waitMs`);
   * `batch-firehose`: 64 per call, the sender never waits (shm only).
   */
  mode: ThroughputMode;
  /** How many times it ran; the counts are totals, the rates medians over the runs. */
  rounds: number;
  sent: number;
  delivered: number;
  /** Messages the reader was told it missed (the ring lapped it). */
  lost: number;
  /** sent − delivered − lost: messages neither delivered nor reported lost (must be 0). */
  unaccounted: number;
  /** Messages the producer's calls accepted per second (median of the rounds). */
  sentPerSecond: number;
  /** Messages delivered per second, from the first send to the last receipt (median). */
  deliveredPerSecond: number;
}

/** One transport at one message size. */
export interface TransportResult {
  transport: "shm" | "unix" | "tcp";
  size: number;
  latency: LatencyStats;
  wake: LatencyStats;
  throughput: ThroughputResult[];
}

/** What one room call costs per message, in one process with nobody else involved. */
export interface CallCost {
  /** The call, e.g. `drain()`. */
  call: string;
  size: number;
  /** Best of several rounds, wall-clock µs per message. */
  microseconds: number;
}

/** Everything one run measured. */
export interface IpcBenchReport extends BenchEnvironment {
  results: TransportResult[];
  /** CPU use of an idle room reader, in percent of one core (its user + system time). */
  idleReaderCpuPercent: number;
  idleSeconds: number;
  /** Per-message cost of the room's calls, in one process. */
  callCosts: CallCost[];
}

/** Messages per batch call in the batched runs (the peer's BATCH). */
const BATCH = 64;
const PEER = new URL("./_ipc_peer.ts", import.meta.url).pathname;
const TRANSPORTS = ["shm", "unix", "tcp"] as const;
const SIZES = [64, 1024];
/** The peer's throughput phases. */
const MODES: Record<string, ThroughputMode> = {
  T: "per-call",
  B: "batch-lossless",
  F: "batch-firehose",
};
const MODE_LABELS: Record<ThroughputMode, string> = {
  "per-call": "1 call/msg",
  "batch-lossless": "batch 64, lossless",
  "batch-firehose": "batch 64, firehose",
};
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)];
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
    const [received, sentLine, status] = await Promise.all([
      consumer.nextLine(),
      producer.nextLine(),
      producer.process.status,
    ]);
    if (!status.success) throw new Error(`The ${transport} producer failed (${status.code})`);
    const measured = JSON.parse(received);
    const sent: Record<string, { sent: number; seconds: number }[]> = JSON.parse(sentLine);
    return {
      transport,
      size,
      latency: stats(measured.latencyUs),
      wake: stats(measured.wakeUs),
      throughput: Object.entries(sent).map(([phase, rounds]) => {
        const got: { received: number; missed: number; seconds: number }[] =
          measured.phases[phase] ?? [];
        const total = (values: number[]) => values.reduce((a, b) => a + b, 0);
        const sentCount = total(rounds.map((r) => r.sent));
        const delivered = total(got.map((r) => r.received));
        const lost = total(got.map((r) => r.missed));
        return {
          mode: MODES[phase],
          rounds: rounds.length,
          sent: sentCount,
          delivered,
          lost,
          unaccounted: sentCount - delivered - lost,
          sentPerSecond: Math.round(median(rounds.map((r) => r.sent / r.seconds))),
          deliveredPerSecond: Math.round(median(got.map((r) => r.received / r.seconds))),
        };
      }),
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

/** Messages per round, and rounds, of {@link roomCallCosts}. */
const CALL_MESSAGES = 8192;
const CALL_ROUNDS = 5;

/**
 * Times each room call alone in this process, best of a few rounds: what a message costs
 * the sender and the reader without any scheduling between processes. Writers and readers
 * come in pairs over the same messages: each writer fills the ring, then a reader empties it.
 */
async function roomCallCosts(): Promise<CallCost[]> {
  const costs: CallCost[] = [];
  for (const size of SIZES) {
    const name = `bench-calls-${Deno.pid}-${size}`;
    const writer = Room.join(name, "writer", { capacity: CALL_MESSAGES });
    const reader = Room.join(name, "reader");
    try {
      const text = "x".repeat(size);
      const bytes = new TextEncoder().encode(text);
      const batches = (item: string | Uint8Array) => Array(BATCH).fill(item);
      const writers: [string, () => void][] = [
        ["send(text)", () => {
          for (let i = 0; i < CALL_MESSAGES; i++) writer.send(text);
        }],
        ["sendBatch(64 × text)", () => {
          const batch = batches(text);
          for (let i = 0; i < CALL_MESSAGES; i += BATCH) writer.sendBatch(batch);
        }],
        ["sendBatch(64 × bytes)", () => {
          const batch = batches(bytes);
          for (let i = 0; i < CALL_MESSAGES; i += BATCH) writer.sendBatch(batch);
        }],
      ];
      const readers: [string, () => Promise<number> | number][] = [
        ["drain()", () => reader.drain(() => {}, CALL_MESSAGES)],
        ["poll()", () => reader.poll(CALL_MESSAGES).length],
        ["events()", async () => {
          let count = 0;
          for await (const _ of reader.events()) if (++count === CALL_MESSAGES) break;
          return count;
        }],
      ];
      const best = new Map<string, number>();
      const keep = (call: string, started: number) => {
        const us = (performance.now() - started) * 1000 / CALL_MESSAGES;
        best.set(call, Math.min(best.get(call) ?? Infinity, us));
      };
      for (let round = 0; round < CALL_ROUNDS; round++) {
        for (let i = 0; i < writers.length; i++) {
          const [writeCall, write] = writers[i];
          const [readCall, read] = readers[i];
          let started = performance.now();
          write();
          keep(writeCall, started);
          started = performance.now();
          if (await read() !== CALL_MESSAGES) throw new Error(`${readCall} lost messages`);
          keep(readCall, started);
        }
      }
      for (const [call, us] of best) {
        costs.push({ call, size, microseconds: Math.round(us * 1000) / 1000 });
      }
    } finally {
      reader.leave();
      writer.leave();
    }
  }
  return costs;
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
    ...benchEnvironment(),
    results,
    idleReaderCpuPercent: await idleReaderCpu(idleSeconds),
    idleSeconds,
    callCosts: await roomCallCosts(),
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
  const latency = markdownTable(
    ["transport", "size B", "p50 µs", "p99 µs", "p99.9 µs", "wake p50 µs", "wake p99 µs"],
    report.results.map((r) => [
      r.transport,
      String(r.size),
      r.latency.p50.toFixed(1),
      r.latency.p99.toFixed(1),
      r.latency.p999.toFixed(1),
      r.wake.p50.toFixed(1),
      r.wake.p99.toFixed(1),
    ]),
    2,
  );
  const count = (n: number) => n.toLocaleString("en-US");
  const throughput = markdownTable(
    [
      "transport",
      "size B",
      "mode",
      "sent msg/s",
      "delivered msg/s",
      "delivered",
      "lost",
      "unaccounted",
    ],
    report.results.flatMap((r) =>
      r.throughput.map((t) => [
        r.transport,
        String(r.size),
        MODE_LABELS[t.mode],
        count(t.sentPerSecond),
        count(t.deliveredPerSecond),
        count(t.delivered),
        count(t.lost),
        count(t.unaccounted),
      ])
    ),
    3,
  );
  const calls = [...new Set(report.callCosts.map((c) => c.call))];
  const costs = markdownTable(
    ["room call, in one process", ...SIZES.map((size) => `${size} B µs/msg`)],
    calls.map((call) => [
      call,
      ...SIZES.map((size) =>
        report.callCosts.find((c) => c.call === call && c.size === size)?.microseconds.toFixed(3) ??
          "-"
      ),
    ]),
    1,
  );
  return [
    latency,
    "",
    throughput,
    "msg/s: median of the rounds; delivered, lost, unaccounted: totals over them",
    "",
    costs,
    "",
    `idle room reader: ${report.idleReaderCpuPercent}% of one core over ${report.idleSeconds} s`,
    describeEnvironment(report),
  ].join("\n");
}
