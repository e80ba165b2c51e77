/**
 * One publisher process of bench/nats.ts: a NATS connection that appends to a JetStream stream
 * the way a shmooze node does (`js.publish` with a `Nats-Msg-Id`, waiting for the
 * acknowledgement) with a fixed number of appends in flight, for a fixed time.
 *
 * Protocol: the plan arrives as the first argument; the process connects, prints
 * `{"type":"ready"}`, waits for a line on stdin, publishes until the plan's time is up, and
 * prints `{"type":"result",…}`.
 *
 * @module
 */
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { type Histogram, record } from "./_histogram.ts";
import { wallClock } from "./_clock.ts";

/** What the coordinator asks of one publisher. */
export interface PublisherPlan {
  url: string;
  subject: string;
  /** The bytes of every message (a real chat event, JSON). */
  payload: string;
  /** Appends in flight at once. */
  inFlight: number;
  /** How long to publish, ms. */
  ms: number;
  /** Makes this process's msgids unique. */
  idPrefix: string;
}

/** Printed when publishing stops. */
export interface PublisherResult {
  type: "result";
  /** Acknowledged appends. */
  acked: number;
  /** Wall-clock ms of the first publish and of the last acknowledgement. */
  start: number;
  end: number;
  /** Time from publish to acknowledgement. */
  histogram: Histogram;
}

async function main(): Promise<void> {
  const plan: PublisherPlan = JSON.parse(Deno.args[0]);
  const nc = await connect({ servers: plan.url, name: `bench-${plan.idPrefix}` });
  const js = jetstream(nc);
  const data = new TextEncoder().encode(plan.payload);
  console.log(JSON.stringify({ type: "ready" }));
  const go = Deno.stdin.readable.getReader();
  await go.read();
  go.releaseLock();
  const histogram: Histogram = {};
  const start = wallClock();
  const stop = start + plan.ms;
  let next = 0;
  let acked = 0;
  let end = start;
  await Promise.all(Array.from({ length: plan.inFlight }, async () => {
    while (wallClock() < stop) {
      const at = performance.now();
      await js.publish(plan.subject, data, { msgID: `${plan.idPrefix}-${next++}` });
      record(histogram, (performance.now() - at) * 1000);
      acked++;
      end = wallClock();
    }
  }));
  const result: PublisherResult = { type: "result", acked, start, end, histogram };
  console.log(JSON.stringify(result));
  await nc.close();
}

if (import.meta.main) await main();
