/**
 * Appends whose outcome the node did not hear, on a real `nats-server -js`: an entry stored
 * whose acknowledgement was lost, and an append made while nats-server is away past the
 * deadline. The sender must be told what every node applied.
 */
import assert from "node:assert/strict";
import { ChatHub } from "../src/chat/hub.ts";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import { ReplicatedHub } from "../src/cluster/replicated_hub.ts";
import { AckLosingBus, Recorder } from "./_cluster.ts";
import { natsAvailable, type NatsServer, startNats } from "./_nats.ts";

const ignore = !natsAvailable();

/** Node 0 on an {@link AckLosingBus}, node 1 on a plain one; ann on 0 and bob on 1 in #lobby. */
async function withTwoNodes(
  body: (
    nodes: ReplicatedHub[],
    bus: AckLosingBus,
    users: Recorder[],
    nats: NatsServer,
  ) => Promise<void>,
): Promise<void> {
  await using nats = await startNats();
  const cluster = `ack${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
  const bus = new AckLosingBus(await JetStreamBus.open(nats.url, { cluster }));
  const nodes = [
    new ReplicatedHub(new ChatHub(), bus, { node: "a" }),
    new ReplicatedHub(new ChatHub(), await JetStreamBus.open(nats.url, { cluster }), {
      node: "b",
    }),
  ];
  try {
    for (const node of nodes) await node.start();
    const users = [new Recorder("ann"), new Recorder("bob")];
    for (const [i, user] of users.entries()) {
      assert.equal(await nodes[i].connect(user), true);
      assert.ok(await nodes[i].join(user, "#lobby"));
    }
    await users[0].waitFor((e) => e.kind === "join" && e.source.startsWith("bob!"));
    await body(nodes, bus, users, nats);
  } finally {
    await Promise.all(nodes.map((node) => node.close()));
  }
}

Deno.test({
  name:
    "cluster: a message stored whose acknowledgement was lost is answered as sent, the same msgid everywhere",
  ignore,
  async fn() {
    await withTwoNodes(async (nodes, bus, [ann, bob]) => {
      bus.loseAcks = true;
      const sent = await nodes[0].send(ann, "privmsg", "#lobby", "stored, ack lost");
      bus.loseAcks = false;
      assert.ok(typeof sent !== "string", `ann was told ${sent} for a message every node shows`);
      const got = await bob.waitFor((e) => e.text === "stored, ack lost");
      assert.equal(got.msgid, sent.msgid);
      // The same for a state change: ann's join is answered with the channel, as applied.
      bus.loseAcks = true;
      const joined = await nodes[0].join(ann, "#acks");
      bus.loseAcks = false;
      assert.ok(typeof joined === "object", `ann was told ${joined} for a join every node applied`);
      assert.deepEqual([...nodes[1].hub.channel("#acks")!.members].map((m) => m.nick), ["ann"]);
      // Nothing was doubled.
      const after = await nodes[0].send(ann, "privmsg", "#lobby", "next");
      assert.ok(typeof after !== "string");
      await bob.waitFor((e) => e.text === "next");
      assert.deepEqual(
        bob.events.filter((e) => e.kind === "privmsg").map((e) => e.text),
        ["stored, ack lost", "next"],
      );
    });
  },
});

Deno.test({
  name:
    "cluster: a message sent while nats-server is away past the deadline is refused once it is back, and never shown",
  ignore,
  async fn() {
    await withTwoNodes(async (nodes, bus, [ann, bob], nats) => {
      await nats.kill();
      const failed = bus.appendFailed();
      const sending = nodes[0].send(ann, "privmsg", "#lobby", "lost in the outage");
      // The append's deadline (5 s) passes with nats-server away; whether an attempt was stored
      // is asked once it is back, and ann is answered then.
      await failed;
      await nats.restart();
      assert.equal(await sending, "unavailable");
      const after = await nodes[0].send(ann, "privmsg", "#lobby", "after the outage");
      assert.ok(typeof after !== "string", `refused after the restart: ${after}`);
      await bob.waitFor((e) => e.text === "after the outage");
      // Entries are applied in order: what came before "after the outage" has been applied too.
      assert.deepEqual(
        nodes.map((node) => node.hub.recent().map((m) => m.text)),
        [["after the outage"], ["after the outage"]],
      );
      assert.equal(bob.events.some((e) => e.text === "lost in the outage"), false);
    });
  },
});
