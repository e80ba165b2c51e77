/**
 * A node's numbers for operators, in process on a real `nats-server -js`: its lag is measured
 * against the log's last sequence (not against the other nodes' heartbeats), its bus says
 * whether NATS is there and what it carried, every other node heard is listed (with users or
 * not), and `takeCensus` reads all of them from the cluster alone.
 */
import assert from "node:assert/strict";
import { ChatHub } from "../src/chat/hub.ts";
import { takeCensus } from "../src/cluster/cluster_census.ts";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import { ReplicatedHub } from "../src/cluster/replicated_hub.ts";
import { waitUntil } from "./_helpers.ts";
import { natsAvailable, startNats } from "./_nats.ts";
import { BatchingBus } from "./_cluster.ts";

function cluster(): string {
  return `ops${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
}

Deno.test({
  name: "a node alone whose reading is held back reports its lag behind the log's last sequence",
  ignore: !natsAvailable(),
  async fn() {
    await using nats = await startNats();
    const name = cluster();
    const held = new BatchingBus(await JetStreamBus.open(nats.url, { cluster: name }));
    const node = new ReplicatedHub(new ChatHub(), held, { node: "a", beatMs: 100 });
    const writer = await JetStreamBus.open(nats.url, { cluster: name });
    try {
      await node.start();
      held.held = [];
      // Five entries no node reads yet (quits of a connection nobody has: they change nothing).
      for (let i = 0; i < 5; i++) {
        await writer.append({ v: 1, id: `x-${i}`, node: "x", conn: "1", kind: "quit", reason: "" });
      }
      // No other node beats: only the log itself can say this node is behind.
      await waitUntil(() => node.stats().lag === 5, 5000, "a lag of 5 entries");
      const stats = node.stats();
      assert.equal(stats.head, 5);
      assert.equal(stats.applied, 0);
      assert.deepEqual(stats.peers, []);
      held.release();
      assert.equal(node.stats().lag, 0);
      assert.equal(node.stats().applied, 5);
    } finally {
      await node.close();
      await writer.close();
    }
  },
});

Deno.test({
  name:
    "a node's bus is reconnecting while nats-server is down, connected again after, and counts its traffic",
  ignore: !natsAvailable(),
  async fn() {
    await using nats = await startNats();
    const bus = await JetStreamBus.open(nats.url, { cluster: cluster() });
    const node = new ReplicatedHub(new ChatHub(), bus, { node: "a", beatMs: 100 });
    try {
      await node.start();
      assert.equal(node.stats().bus, "connected");
      await nats.kill();
      await waitUntil(() => node.stats().bus === "reconnecting", 5000, "the bus to see NATS gone");
      await nats.restart();
      await waitUntil(() => node.stats().bus === "connected", 10_000, "the bus to be back");
      const traffic = node.stats().traffic!;
      assert.ok(traffic.inMsgs > 0 && traffic.outMsgs > 0, JSON.stringify(traffic));
      assert.ok(traffic.inBytes > traffic.inMsgs && traffic.outBytes > traffic.outMsgs);
    } finally {
      await node.close();
    }
    assert.equal(bus.state(), "closed");
  },
});

Deno.test({
  name: "every node heard is listed, users or not, and a census from NATS alone finds them all",
  ignore: !natsAvailable(),
  async fn() {
    await using nats = await startNats();
    const name = cluster();
    const nodes = await Promise.all(["a", "b", "c"].map(async (label) =>
      new ReplicatedHub(
        new ChatHub(),
        await JetStreamBus.open(nats.url, { cluster: name }),
        { node: label, cluster: name, beatMs: 200 },
      )
    ));
    try {
      await Promise.all(nodes.map((node) => node.start()));
      const [a, b, c] = nodes;
      await waitUntil(
        () => a.stats().peers.length === 2,
        5000,
        "node a to hear b and c, which have no users",
      );
      assert.deepEqual(a.stats().peers.map((peer) => peer.node), [b.node, c.node].sort());
      assert.equal(a.stats().cluster, name);

      const census = await takeCensus(nats.url, { cluster: name, listenMs: 600 });
      assert.equal(census.cluster, name);
      assert.deepEqual(census.nodes.map((node) => node.node), [a.node, b.node, c.node].sort());
      for (const node of census.nodes) {
        assert.equal(node.lag, census.head - node.applied);
        assert.equal(node.refused, 0);
        assert.ok(node.traffic!.inMsgs > 0);
        assert.ok(node.startedAt! <= Date.now());
      }
      await assert.rejects(
        takeCensus(nats.url, { cluster: `${name}x`, listenMs: 100 }),
        new RegExp(`^Error: No cluster "${name}x" at nats://127\\.0\\.0\\.1:\\d+: its log`),
      );
    } finally {
      await Promise.all(nodes.map((node) => node.close()));
    }
  },
});
