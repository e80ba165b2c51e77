/**
 * One publisher process of bench/nats.ts: a NATS connection that appends to a JetStream stream
 * with a fixed number of appends in flight, for a fixed time — either the way a shmooze node
 * does (`js.publish` with a `Nats-Msg-Id`, one request and promise per append), or raw: a core
 * NATS publish with the same header and a reply subject under one inbox whose single
 * subscription takes every acknowledgement (what the stream takes when the client costs little),
 * or through `JetStreamBus.append` itself (what a node does now).
 *
 * Protocol: the plan arrives as the first argument; the process connects, prints
 * `{"type":"ready"}`, waits for a line on stdin, publishes until the plan's time is up, and
 * prints `{"type":"result",…}`.
 *
 * @module
 */
import { connect, createInbox, headers } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import { decodeEvent } from "../src/cluster/cluster_event.ts";
import { type Histogram, record } from "./_histogram.ts";
import { wallClock } from "./_clock.ts";

/** What the coordinator asks of one publisher. */
export interface PublisherPlan {
  url: string;
  subject: string;
  /** The cluster whose stream a `bus` publisher appends to. */
  cluster: string;
  /** The bytes of every message (a real chat event, JSON). */
  payload: string;
  /** Appends in flight at once. */
  inFlight: number;
  /** How long to publish, ms. */
  ms: number;
  /** Makes this process's msgids unique. */
  idPrefix: string;
  /**
   * `js`: `js.publish` per append; `raw`: core publishes, acknowledgements to one inbox;
   * `bus`: `JetStreamBus.append`.
   */
  mode: "js" | "raw" | "bus";
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
  if (plan.mode === "bus") {
    const bus = await JetStreamBus.open(plan.url, { cluster: plan.cluster });
    const event = decodeEvent(data);
    await Promise.all(Array.from({ length: plan.inFlight }, async () => {
      while (wallClock() < stop) {
        const at = performance.now();
        await bus.append({ ...event, id: `${plan.idPrefix}-${next++}` });
        record(histogram, (performance.now() - at) * 1000);
        acked++;
        end = wallClock();
      }
    }));
    await bus.close();
  } else if (plan.mode === "js") {
    await Promise.all(Array.from({ length: plan.inFlight }, async () => {
      while (wallClock() < stop) {
        const at = performance.now();
        await js.publish(plan.subject, data, { msgID: `${plan.idPrefix}-${next++}` });
        record(histogram, (performance.now() - at) * 1000);
        acked++;
        end = wallClock();
      }
    }));
  } else {
    const inbox = createInbox();
    const sentAt = new Map<number, number>();
    let room = Promise.withResolvers<void>();
    let refused: string | undefined;
    nc.subscribe(`${inbox}.*`, {
      callback: (error, message) => {
        if (error) return;
        const answer = new TextDecoder().decode(message.data);
        if (answer.includes('"error"')) {
          refused ??= answer;
          room.resolve();
          return;
        }
        const n = Number(message.subject.slice(inbox.length + 1));
        record(histogram, (performance.now() - sentAt.get(n)!) * 1000);
        sentAt.delete(n);
        acked++;
        end = wallClock();
        room.resolve();
      },
    });
    while (wallClock() < stop && refused === undefined) {
      while (sentAt.size < plan.inFlight) {
        const n = next++;
        const h = headers();
        h.set("Nats-Msg-Id", `${plan.idPrefix}-${n}`);
        sentAt.set(n, performance.now());
        nc.publish(plan.subject, data, { reply: `${inbox}.${n}`, headers: h });
      }
      await room.promise;
      room = Promise.withResolvers<void>();
    }
    // The last appends' acknowledgements, bounded: a lost one must not hang the run.
    const deadline = wallClock() + 5000;
    while (sentAt.size > 0 && wallClock() < deadline) {
      await Promise.race([room.promise, new Promise((resolve) => setTimeout(resolve, 100))]);
      room = Promise.withResolvers<void>();
    }
    if (refused !== undefined) throw new Error(`An append was refused: ${refused}`);
  }
  const result: PublisherResult = { type: "result", acked, start, end, histogram };
  console.log(JSON.stringify(result));
  await nc.close();
}

if (import.meta.main) await main();
