/**
 * The one-box bus of `serve --workers`, side by side in one run: the project's shared-memory
 * ring (`ShmBus`) against a local `nats-server -js` (`JetStreamBus`), with 1, 2 and 4 writer
 * processes. Two loads: **paced**, 1000 events a second in all (one append in flight per
 * writer), for the append→read latency p50/p99 at a load both take easily; **flat out**, each
 * writer appending `--messages` events with 32 in flight, for the append rate (every event
 * read back by a reader in this process) and the latency under that load. The send time
 * travels in the event (the machine's wall clock, shared by the processes).
 *
 *   deno task bench bus [--messages N] [--json FILE]
 *
 * @module
 */
import { dirname } from "node:path";
import { intOption, parseCommandArgs, stringOption } from "../src/cli/_args.ts";
import type { Bus } from "../src/cluster/bus.ts";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import { ShmBus } from "../src/cluster/shm_bus.ts";
import { LogRing } from "../src/ipc/log_ring.ts";
import { objectName } from "../src/ipc/names.ts";
import { spawn } from "../tests/_helpers.ts";
import { natsAvailable, startNats } from "../tests/_nats.ts";
import { wallClock } from "./_clock.ts";
import { benchEnvironment, describeEnvironment } from "./_env.ts";
import { quantile } from "./_samples.ts";
import { markdownTable } from "./_table.ts";

/** One measured configuration. */
interface BusRun {
  bus: "shm" | "nats";
  load: "paced" | "flat out";
  processes: number;
  inFlight: number;
  messages: number;
  ratePerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** The paced load: events a second in all, and how many (two seconds' worth). */
const PACED_RATE = 1000;
const PACED_TOTAL = 2000;

const { values } = parseCommandArgs("bench bus", Deno.args, {
  messages: { type: "string" },
  json: { type: "string" },
});
const messages = intOption(values, "messages", 3000, { min: 100, max: 1_000_000 });
const jsonPath = stringOption(
  values,
  "json",
  new URL("./results/bus.json", import.meta.url).pathname,
);
if (!natsAvailable()) {
  console.error("error: nats-server is not installed (apt-get install nats-server)");
  Deno.exit(1);
}

async function measure(
  kind: "shm" | "nats",
  where: string,
  processes: number,
  paced: boolean,
): Promise<BusRun> {
  const inFlight = paced ? 1 : 32;
  const perWriter = paced ? Math.round(PACED_TOTAL / processes) : messages;
  const cluster = `bench${processes}${paced ? "paced" : "flat"}`;
  const reader: Bus = kind === "shm"
    ? ShmBus.open(where)
    : await JetStreamBus.open(where, { cluster });
  const total = processes * perWriter;
  const latencies: number[] = [];
  const all = Promise.withResolvers<number>();
  const from = await reader.head() + 1;
  const reading = await reader.read(from, (entry) => {
    if (entry.event?.kind !== "quit") return;
    latencies.push(wallClock() - Number(entry.event.reason));
    if (latencies.length === total) all.resolve(wallClock());
  });
  const peers = Array.from(
    { length: processes },
    (_, i) =>
      spawn([
        "bench/_bus_peer.ts",
        kind,
        where,
        cluster,
        `w${i}`,
        String(perWriter),
        String(inFlight),
        String(paced ? PACED_RATE / processes : 0),
      ], { timeoutMs: 300_000 }),
  );
  try {
    await Promise.all(peers.map((peer) => peer.waitForLine("ready", 30_000)));
    const start = wallClock();
    await Promise.all(peers.map((peer) => peer.writeLine("go")));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const end = await Promise.race([
      all.promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`only ${latencies.length} of ${total} read in 120 s`)),
          120_000,
        );
      }),
    ]);
    clearTimeout(timer);
    latencies.sort((a, b) => a - b);
    return {
      bus: kind,
      load: paced ? "paced" : "flat out",
      processes,
      inFlight,
      messages: total,
      ratePerSecond: Math.round(total / ((end - start) / 1000)),
      p50Ms: Number(quantile(latencies, 0.5).toFixed(3)),
      p99Ms: Number(quantile(latencies, 0.99).toFixed(3)),
    };
  } finally {
    for (const peer of peers) await peer.closeStdin();
    for (const peer of peers) await peer[Symbol.asyncDispose]();
    await reading.stop();
    await reader.close();
  }
}

const env = benchEnvironment();
const nats = await startNats();
const ringName = objectName("bus", `bench-${Deno.pid}`);
const ring = LogRing.create(ringName);
const runs: BusRun[] = [];
try {
  for (const paced of [true, false]) {
    for (const processes of [1, 2, 4]) {
      for (const kind of ["shm", "nats"] as const) {
        const run = await measure(kind, kind === "shm" ? ringName : nats.url, processes, paced);
        runs.push(run);
        console.error(
          `${kind} ×${processes}, ${run.load}: ${run.ratePerSecond} msg/s, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms`,
        );
      }
    }
  }
} finally {
  ring.close();
  LogRing.unlink(ringName);
  await nats[Symbol.asyncDispose]();
}

console.log(describeEnvironment(env));
console.log(
  `paced: ${PACED_RATE} events/s in all, 1 in flight per writer; flat out: ${messages} events per writer, 32 in flight; append→read latency to a reader in another process\n`,
);
console.log(markdownTable(
  ["load", "bus", "writers", "rate (msg/s)", "p50 ms", "p99 ms"],
  runs.map((run) => [
    run.load,
    run.bus === "shm" ? "shared-memory ring" : "nats-server -js",
    String(run.processes),
    run.ratePerSecond.toLocaleString("en-US"),
    run.p50Ms.toFixed(3),
    run.p99Ms.toFixed(3),
  ]),
  2,
));
await Deno.mkdir(dirname(jsonPath), { recursive: true });
await Deno.writeTextFile(jsonPath, `${JSON.stringify({ env, messages, runs }, null, 2)}\n`);
console.log(`results written to ${jsonPath}`);
