/**
 * How a node appends to the log (`JetStreamBus.append`) on a real `nats-server -js`: many
 * appends in flight on one connection, each acknowledged with its own sequence through the
 * bus's one acknowledgement subscription; a refused append fails after its time with the
 * reason; closing the bus settles what still waits.
 */
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import type { ClusterEvent } from "../src/cluster/cluster_event.ts";
import { waitUntil } from "./_helpers.ts";
import { natsAvailable, startNats } from "./_nats.ts";

const ignore = !natsAvailable();

function quit(id: string): ClusterEvent {
  return { v: 1, id, node: "a", conn: "1", kind: "quit", reason: id };
}

Deno.test({
  name: "JetStreamBus: a thousand appends in flight at once each get their own sequence",
  ignore,
  async fn() {
    await using nats = await startNats();
    const bus = await JetStreamBus.open(nats.url, { cluster: "inflight" });
    try {
      const ids = Array.from({ length: 1000 }, (_, i) => `e${i}`);
      const seqs = await Promise.all(ids.map((id) => bus.append(quit(id))));
      assert.deepEqual([...seqs].sort((a, b) => a - b), ids.map((_, i) => i + 1));
      // Again, all at once: every one a duplicate, answered with its first sequence.
      assert.deepEqual(await Promise.all(ids.map((id) => bus.append(quit(id)))), seqs);
      assert.equal(await bus.head(), 1000);
    } finally {
      await bus.close();
    }
  },
});

Deno.test({
  name: "JetStreamBus: an append nothing takes fails after its time, saying NATS answered 503",
  ignore,
  async fn() {
    await using nats = await startNats();
    const bus = await JetStreamBus.open(nats.url, { cluster: "gone", appendTimeoutMs: 600 });
    const nc = await connect({ servers: nats.url });
    try {
      await (await jetstreamManager(nc)).streams.delete("SHMOOZE_gone");
      const started = Date.now();
      await assert.rejects(bus.append(quit("lost")), /NATS answered the append with 503/);
      assert.ok(Date.now() - started < 5000, "the append kept retrying past its time");
    } finally {
      await nc.close();
      await bus.close();
    }
  },
});

Deno.test({
  name: "JetStreamBus: closing the bus settles an append still waiting for its acknowledgement",
  ignore,
  async fn() {
    await using nats = await startNats();
    const bus = await JetStreamBus.open(nats.url, { cluster: "closing", appendTimeoutMs: 60_000 });
    await bus.append(quit("first"));
    await nats.kill();
    // Closed before the client has seen the loss, nats.js writes to the ended socket and
    // throws outside any promise ("write after end"), whichever way the append was sent.
    await waitUntil(() => bus.state() === "reconnecting", 10_000, "the loss of NATS");
    const waiting = bus.append(quit("second"));
    const outcome = waiting.then(() => "acknowledged", (error: Error) => error.message);
    await bus.close();
    const timer = Promise.withResolvers<string>();
    const id = setTimeout(() => timer.resolve("still waiting 5 s after close"), 5000);
    const result = await Promise.race([outcome, timer.promise]);
    clearTimeout(id);
    assert.notEqual(result, "acknowledged");
    assert.notEqual(result, "still waiting 5 s after close");
  },
});
