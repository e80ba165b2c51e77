/**
 * A JOIN on a cluster node whose log arrives in one batch (a real JetStream bus, entries held
 * and handed over together): the JOIN's replies (NAMES) come before a message applied in the
 * same turn, right after the JOIN, as a single server sends them.
 */
import assert from "node:assert/strict";
import { ChatHub } from "../src/chat/hub.ts";
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
  name: "cluster: a JOIN's NAMES come before a message applied in the same turn as the JOIN",
  ignore: !natsAvailable(),
  async fn() {
    await using nats = await startNats();
    const batching = new BatchingBus(await JetStreamBus.open(nats.url, { cluster: "joins" }));
    const node = new ReplicatedHub(new ChatHub(), batching, { node: "a" });
    const other = new ReplicatedHub(
      new ChatHub(),
      await JetStreamBus.open(nats.url, { cluster: "joins" }),
      { node: "b" },
    );
    let output = "";
    const ended = Promise.withResolvers<void>();
    const joining = Promise.withResolvers<void>();
    const connection: Connection = {
      transport: "memory",
      remoteAddress: "127.0.0.1",
      async *lines() {
        yield new TextEncoder().encode("NICK newbie");
        yield new TextEncoder().encode("USER newbie 0 * :New");
        await joining.promise;
        yield new TextEncoder().encode("JOIN #room");
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
    let running: Promise<void> | undefined;
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
        deliver() {},
        disconnect() {},
      };
      assert.equal(await other.connect(bob), true);
      assert.ok(typeof await other.join(bob, "#room") === "object");
      running = session.run();
      await waitUntil(() => output.includes(" 001 newbie "), 10_000, "newbie registered");
      await waitUntil(() => hub.channel("#room") !== undefined, 10_000, "bob's join on node a");
      // From here node A holds what it reads: newbie's JOIN, then bob's message to #room.
      batching.held = [];
      joining.resolve();
      await waitUntil(
        () => other.hub.channel("#room")?.members.size === 2,
        10_000,
        "newbie in #room on node b",
      );
      const sent = await other.send(bob, "privmsg", "#room", "hello newbie");
      assert.ok(typeof sent !== "string", `bob's message was refused: ${sent}`);
      await waitUntil(() => (batching.held?.length ?? 0) >= 2, 10_000, "both entries on node a");
      batching.release();
      await waitUntil(() => output.includes("hello newbie"), 10_000, "the message written");
      const lines = output.split("\r\n");
      const join = lines.findIndex((line) => / JOIN #room$/.test(line));
      const names = lines.findIndex((line) => / 366 newbie #room /.test(line));
      const message = lines.findIndex((line) => line.endsWith("PRIVMSG #room :hello newbie"));
      assert.ok(
        join >= 0 && join < names && names < message,
        `JOIN at ${join}, 366 at ${names}, PRIVMSG at ${message}`,
      );
    } finally {
      await session.close("Test over");
      await running;
      await Promise.all([node.close(), other.close()]);
    }
  },
});
