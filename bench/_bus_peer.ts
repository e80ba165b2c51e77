/**
 * One writer of the bus benchmark (bench/bus.ts): opens the bus, prints "ready", waits for a
 * line on stdin, appends COUNT events with at most IN_FLIGHT unanswered (paced at RATE a
 * second unless RATE is 0), each carrying its send time (the shared wall clock) as its reason,
 * prints "done", and closes at stdin EOF.
 *
 *   deno run -A bench/_bus_peer.ts shm|nats RING_OR_URL CLUSTER WRITER COUNT IN_FLIGHT RATE
 *
 * @module
 */
import { createInterface } from "node:readline";
import process from "node:process";
import type { Bus } from "../src/cluster/bus.ts";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import { ShmBus } from "../src/cluster/shm_bus.ts";
import { sleepUntil, wallClock } from "./_clock.ts";

const [kind, where, cluster, writer, count, inFlight, rate] = Deno.args;
const bus: Bus = kind === "shm" ? ShmBus.open(where) : await JetStreamBus.open(where, { cluster });
console.log("ready");
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
await lines.next();
let next = 0;
const total = Number(count);
const start = wallClock();
const worker = async () => {
  while (next < total) {
    const i = next++;
    if (Number(rate) > 0) await sleepUntil(start + i * 1000 / Number(rate));
    await bus.append({
      v: 1,
      id: `${cluster}-${writer}-${i}`,
      node: writer,
      conn: "1",
      kind: "quit",
      reason: String(wallClock()),
    });
  }
};
await Promise.all(Array.from({ length: Number(inFlight) }, worker));
console.log("done");
await lines.next();
await bus.close();
