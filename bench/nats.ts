/**
 * The ceiling of one ordering domain: how many appends a second one JetStream stream takes on
 * this machine (file storage, a 2-minute duplicate window, every append with a `Nats-Msg-Id`,
 * the 189-byte event a node appends for a 40-byte PRIVMSG). First the way a shmooze node
 * appends (`js.publish`, one request and promise per append, waiting for the acknowledgement):
 * 1, 64 and 512 in flight from one process, two processes into one stream, two processes into
 * two streams (what sharding by channel buys); then raw — core publishes whose acknowledgements
 * all come to one inbox subscription — to see the stream with less of the client's cost in
 * front of it; then through `JetStreamBus.append`, as a node appends now (one acknowledgement
 * subscription, `bus`). Each side gets a fresh `nats-server -js`; the sides run in turn, `--rounds`
 * times.
 *
 * Run: `deno task bench nats [--seconds 3] [--rounds 2] [--json FILE]`.
 *
 * @module
 */
import { dirname } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import { intOption, parseCommandArgs, stringOption } from "../src/cli/_args.ts";
import { encodeEvent } from "../src/cluster/cluster_event.ts";
import { type Child, spawn } from "../tests/_helpers.ts";
import { startNats } from "../tests/_nats.ts";
import { benchEnvironment, describeEnvironment } from "./_env.ts";
import { type Histogram, merge, type Percentiles, percentiles } from "./_histogram.ts";
import type { PublisherPlan, PublisherResult } from "./_nats_publisher.ts";
import { markdownTable } from "./_table.ts";
import { readOptions } from "./_usage.ts";

/**
 * One way of appending: how many streams, publisher processes, appends in flight each, and
 * how (`js`: as a node does; `raw`: core publishes with acknowledgements to one inbox).
 */
interface Side {
  streams: number;
  publishers: number;
  inFlight: number;
  mode: "js" | "raw" | "bus";
}

const SIDES: Side[] = [
  { streams: 1, publishers: 1, inFlight: 1, mode: "js" },
  { streams: 1, publishers: 1, inFlight: 64, mode: "js" },
  { streams: 1, publishers: 1, inFlight: 512, mode: "js" },
  { streams: 1, publishers: 2, inFlight: 256, mode: "js" },
  { streams: 2, publishers: 2, inFlight: 256, mode: "js" },
  { streams: 1, publishers: 1, inFlight: 512, mode: "raw" },
  { streams: 1, publishers: 2, inFlight: 256, mode: "raw" },
  { streams: 2, publishers: 2, inFlight: 256, mode: "raw" },
  { streams: 1, publishers: 1, inFlight: 1, mode: "bus" },
  { streams: 1, publishers: 1, inFlight: 64, mode: "bus" },
  { streams: 1, publishers: 1, inFlight: 512, mode: "bus" },
];

/** One side's measurement. */
interface SideRun extends Side {
  round: number;
  /** Acknowledged appends per second, all publishers together. */
  rate: number;
  /** Publish to acknowledgement. */
  latency: Percentiles;
  /** CPU in the run, % of one core. */
  natsCpuPercent: number;
  publishersCpuPercent: number;
  error?: string;
}

const { seconds, rounds, json } = readOptions(() => {
  const { values } = parseCommandArgs("bench nats", Deno.args, {
    seconds: { type: "string" },
    rounds: { type: "string" },
    json: { type: "string" },
  });
  return {
    seconds: intOption(values, "seconds", 3, { min: 1, max: 60 }),
    rounds: intOption(values, "rounds", 2, { min: 1, max: 20 }),
    json: stringOption(values, "json", new URL("./results/nats.json", import.meta.url).pathname),
  };
});

// What a node appends for a 40-byte PRIVMSG to #lobby.
const payload = new TextDecoder().decode(encodeEvent({
  v: 1,
  id: "n0-k2j4c9-123456",
  node: "n0-k2j4c9",
  conn: "123",
  kind: "message",
  command: "privmsg",
  target: "#lobby",
  text: "1764400000000.123 xxxxxxxxxxxxxxxxxxxxxx",
  time: 1764400000000,
}));

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

async function runSide(side: Side, round: number): Promise<SideRun> {
  const run: SideRun = {
    ...side,
    round,
    rate: 0,
    latency: percentiles({}),
    natsCpuPercent: 0,
    publishersCpuPercent: 0,
  };
  await using nats = await startNats();
  const nc = await connect({ servers: nats.url });
  const publishers: Child[] = [];
  try {
    const manager = await jetstreamManager(nc);
    for (let s = 0; s < side.streams; s++) {
      await manager.streams.add({
        name: `BENCH_${s}`,
        subjects: [`bench.${s}.log`],
        duplicate_window: nanos(120_000),
      });
    }
    for (let p = 0; p < side.publishers; p++) {
      const plan: PublisherPlan = {
        url: nats.url,
        subject: `bench.${p % side.streams}.log`,
        cluster: `bench${p % side.streams}`,
        payload,
        inFlight: side.inFlight,
        ms: seconds * 1000,
        idPrefix: `p${p}`,
        mode: side.mode,
      };
      publishers.push(
        spawn(["bench/_nats_publisher.ts", JSON.stringify(plan)], {
          timeoutMs: seconds * 1000 + 60_000,
        }),
      );
    }
    await Promise.all(publishers.map((p) => p.waitForLine('{"type":"ready"}', 30_000)));
    const pids = [nats.pid, ...publishers.map((p) => p.process.pid)];
    const before = pids.map(cpuTicks);
    await Promise.all(publishers.map((p) => p.writeLine("go")));
    const results = await Promise.all(
      publishers.map(async (p) =>
        JSON.parse(
          await p.waitForLine('{"type":"result"', seconds * 1000 + 30_000),
        ) as PublisherResult
      ),
    );
    const after = pids.map(cpuTicks);
    const elapsed = (Math.max(...results.map((r) => r.end)) -
      Math.min(...results.map((r) => r.start))) / 1000;
    const cpu = (i: number) => (after[i] - before[i]) / 100 / elapsed * 100;
    run.natsCpuPercent = Math.round(cpu(0));
    run.publishersCpuPercent = Math.round(
      pids.slice(1).reduce((sum, _, i) => sum + cpu(i + 1), 0),
    );
    run.rate = Math.round(results.reduce((sum, r) => sum + r.acked, 0) / elapsed);
    const histogram: Histogram = {};
    for (const result of results) merge(histogram, result.histogram);
    run.latency = percentiles(histogram);
  } catch (error) {
    run.error = error instanceof Error ? error.message.split("\n")[0] : String(error);
  } finally {
    for (const publisher of publishers) await publisher[Symbol.asyncDispose]();
    await nc.close();
  }
  return run;
}

const runs: SideRun[] = [];
for (let round = 1; round <= rounds; round++) {
  for (const side of SIDES) {
    console.error(
      `${side.streams} stream(s), ${side.publishers} ${side.mode} publisher(s) × ${side.inFlight} in flight (round ${round}) …`,
    );
    const run = await runSide(side, round);
    console.error(run.error ?? `  ${run.rate.toLocaleString("en-US")} appends/s`);
    runs.push(run);
  }
}

const environment = benchEnvironment();
console.log(markdownTable(
  [
    "streams",
    "publisher processes × in flight",
    "publish",
    "round",
    "appends/s",
    "ack p50 ms",
    "ack p99 ms",
    "nats-server CPU %",
    "publishers CPU %",
  ],
  runs.map((r) => [
    String(r.streams),
    `${r.publishers} × ${r.inFlight}`,
    r.mode === "js"
      ? "js.publish (as a node did)"
      : r.mode === "raw"
      ? "raw, one ack inbox"
      : "JetStreamBus.append (now)",
    String(r.round),
    r.error ? `failed: ${r.error}` : r.rate.toLocaleString("en-US"),
    r.latency.p50.toFixed(2),
    r.latency.p99.toFixed(2),
    String(r.natsCpuPercent),
    String(r.publishersCpuPercent),
  ]),
  4,
));
console.log(
  `\n${payload.length}-byte events (a 40-byte PRIVMSG as a node appends it), ${seconds} s per ` +
    `side, sides in turn ${rounds} time(s), a fresh nats-server -js for each\n${
      describeEnvironment(environment)
    }`,
);
await Deno.mkdir(dirname(json), { recursive: true });
await Deno.writeTextFile(
  json,
  `${
    JSON.stringify({ ...environment, seconds, rounds, payloadBytes: payload.length, runs }, null, 2)
  }\n`,
);
console.log(`results written to ${json}`);
Deno.exit(runs.some((r) => r.error) ? 1 : 0);
