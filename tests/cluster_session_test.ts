/**
 * An IRC session on a cluster node, with the log delivered in batches as NATS delivers it (a
 * real JetStream bus; the node's reader hands a held batch over in one go): what a client is
 * sent keeps IRC's order even when its registration and a message to it are applied in one
 * turn.
 */
import assert from "node:assert/strict";
import { ChatHub } from "../src/chat/hub.ts";
import type { ChatEvent } from "../src/chat/chat_event.ts";
import type { Connection } from "../src/chat/connection.ts";
import type { Member } from "../src/chat/member.ts";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import { ReplicatedHub } from "../src/cluster/replicated_hub.ts";
import { DEFAULT_LIMITS } from "../src/irc/limits.ts";
import { IrcSession } from "../src/irc/session.ts";
import { BatchingBus } from "./_cluster.ts";
import { waitUntil } from "./_helpers.ts";
import { natsAvailable, startNats } from "./_nats.ts";

Deno.test({
  name:
    "cluster: a message applied in the same turn as its recipient's registration comes after its 001",
  ignore: !natsAvailable(),
  async fn() {
    await using nats = await startNats();
    const batching = new BatchingBus(await JetStreamBus.open(nats.url, { cluster: "turn" }));
    const node = new ReplicatedHub(new ChatHub(), batching, { node: "a" });
    const other = new ReplicatedHub(
      new ChatHub(),
      await JetStreamBus.open(nats.url, { cluster: "turn" }),
      { node: "b" },
    );
    let output = "";
    const ended = Promise.withResolvers<void>();
    const connection: Connection = {
      transport: "memory",
      remoteAddress: "127.0.0.1",
      async *lines() {
        yield new TextEncoder().encode("NICK newbie");
        yield new TextEncoder().encode("USER newbie 0 * :New");
        await ended.promise;
      },
      write(chunks) {
        for (const chunk of chunks) output += new TextDecoder().decode(chunk);
        return Promise.resolve();
      },
      close() {
        ended.resolve();
      },
    };
    const hub = node.hub;
    const session = new IrcSession(connection, {
      hub,
      flusher: hub.flusher,
      limits: DEFAULT_LIMITS,
      serverName: "irc.test",
      version: "0.1.0",
      createdAt: Date.now(),
      motd: [],
      counters: { sendQDrops: 0 },
      cluster: node,
    }, () => {});
    try {
      await Promise.all([node.start(), other.start()]);
      const bob: Member = {
        nick: "bob",
        user: "bob",
        host: "b",
        realname: "Bob",
        transport: "test",
        channels: new Set(),
        echo: false,
        deliver(_event: ChatEvent) {},
        disconnect() {},
      };
      assert.equal(await other.connect(bob), true);
      // From here node A holds what it reads: newbie's registration, then bob's message to it.
      batching.held = [];
      const running = session.run();
      await waitUntil(() => other.hub.find("newbie") !== undefined, 10_000, "newbie on node b");
      const sent = await other.send(bob, "privmsg", "newbie", "welcome aboard");
      assert.ok(typeof sent !== "string", `bob's message was refused: ${sent}`);
      await waitUntil(() => (batching.held?.length ?? 0) >= 2, 10_000, "both entries on node a");
      batching.release();
      await waitUntil(() => output.includes("welcome aboard"), 10_000, "the message written");
      const lines = output.split("\r\n");
      const welcomed = lines.findIndex((line) => / 001 newbie /.test(line));
      const message = lines.findIndex((line) => line.endsWith("PRIVMSG newbie :welcome aboard"));
      assert.ok(welcomed >= 0 && welcomed < message, `001 at ${welcomed}, PRIVMSG at ${message}`);
      await session.close("Test over");
      await running;
    } finally {
      await session.close("Test over");
      await Promise.all([node.close(), other.close()]);
    }
  },
});
