/**
 * Replicated hubs on a real `nats-server -js`: three nodes in this process, each with its own
 * hub and its own NATS connection, their users virtual members that record what they get.
 * They must agree on membership, nick ownership and message order, and a silent node's users
 * must quit everywhere.
 */
import assert from "node:assert/strict";
import { ChatHub } from "../src/chat/hub.ts";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import type { Bus, LogEntry } from "../src/cluster/bus.ts";
import type { ClusterEvent, Heartbeat } from "../src/cluster/cluster_event.ts";
import { ReplicatedHub, type ReplicatedHubOptions } from "../src/cluster/replicated_hub.ts";
import { natsAvailable, type NatsServer, startNats } from "./_nats.ts";
import { Recorder } from "./_cluster.ts";

const ignore = !natsAvailable();

/** Starts `count` nodes on one cluster of a fresh nats-server; closes them all after `body`. */
async function withNodes(
  count: number,
  body: (
    nodes: ReplicatedHub[],
    buses: JetStreamBus[],
    open: () => Promise<JetStreamBus>,
    nats: NatsServer,
  ) => Promise<void>,
  options: ReplicatedHubOptions = {},
): Promise<void> {
  await using nats = await startNats();
  const cluster = `t${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
  const nodes: ReplicatedHub[] = [];
  const buses: JetStreamBus[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const bus = await JetStreamBus.open(nats.url, { cluster });
      buses.push(bus);
      const node = new ReplicatedHub(new ChatHub(), bus, { node: `n${i}`, ...options });
      nodes.push(node);
      await node.start();
    }
    await body(nodes, buses, () => JetStreamBus.open(nats.url, { cluster }), nats);
  } finally {
    await Promise.all(nodes.map((node) => node.close()));
  }
}

/** Registers one user per node, all in #lobby; resolves once every node has seen every join. */
async function usersInLobby(nodes: ReplicatedHub[], nicks: string[]): Promise<Recorder[]> {
  const users = nicks.map((nick) => new Recorder(nick));
  for (const [i, user] of users.entries()) {
    assert.equal(await nodes[i].connect(user), true);
    assert.ok((await nodes[i].join(user, "#lobby")) !== undefined);
  }
  // The last join was applied on its own node; every node applies it too before long.
  const last = nicks[nicks.length - 1];
  for (const user of users) {
    await user.waitFor((e) => e.kind === "join" && e.source.startsWith(`${last}!`));
  }
  return users;
}

Deno.test({
  name: "cluster: a message from C reaches A and B once, with the same msgid and time",
  ignore,
  async fn() {
    await withNodes(3, async (nodes) => {
      const [ann, bob, cat] = await usersInLobby(nodes, ["ann", "bob", "cat"]);
      const sent = await nodes[2].send(cat, "privmsg", "#lobby", "hello from C");
      assert.ok(typeof sent !== "string", `the message was refused: ${sent}`);
      for (const user of [ann, bob, cat]) {
        const got = await user.waitFor((e) => e.kind === "privmsg");
        assert.equal(got.msgid, sent.msgid);
        assert.equal(got.time, sent.time);
        assert.equal(got.source, "cat!cat@test");
        assert.equal(got.text, "hello from C");
      }
      // Every node holds the three users, in #lobby, with their masks.
      for (const node of nodes) {
        const lobby = node.hub.channel("#lobby")!;
        assert.deepEqual([...lobby.members].map((m) => m.nick).sort(), ["ann", "bob", "cat"]);
      }
      // A private message crosses to the one node its recipient is on.
      const whisper = await nodes[0].send(ann, "privmsg", "bob", "psst");
      assert.ok(typeof whisper !== "string");
      assert.equal((await bob.waitFor((e) => e.text === "psst")).msgid, whisper.msgid);
      assert.equal(await nodes[0].send(ann, "privmsg", "nobody", "hi"), "no-such-nick");
      assert.equal(cat.events.filter((e) => e.text === "hello from C").length, 1);
      // Each node counts its own user, and the two other nodes with one user each.
      for (const node of nodes) {
        const stats = node.stats();
        assert.equal(stats.node, node.node);
        assert.equal(stats.applied, node.applied);
        assert.equal(stats.localUsers, 1);
        assert.equal(stats.refused, 0);
        assert.deepEqual(stats.peers.map((peer) => peer.users), [1, 1]);
      }
    });
  },
});

Deno.test({
  name: "cluster: three nodes sending at once show every user the same order",
  ignore,
  async fn() {
    await withNodes(3, async (nodes) => {
      const users = await usersInLobby(nodes, ["ann", "bob", "cat"]);
      const perNode = 200;
      await Promise.all(users.map((user, i) =>
        Promise.all(
          Array.from(
            { length: perNode },
            (_, n) => nodes[i].send(user, "privmsg", "#lobby", `${user.nick} ${n}`),
          ),
        )
      ));
      const total = perNode * users.length;
      const orders = await Promise.all(users.map(async (user) => {
        await user.waitFor(() => user.events.filter((e) => e.kind === "privmsg").length >= total);
        return user.events.filter((e) => e.kind === "privmsg").map((e) => e.msgid);
      }));
      assert.equal(new Set(orders[0]).size, total, "no message lost or doubled");
      assert.deepEqual(orders[1], orders[0]);
      assert.deepEqual(orders[2], orders[0]);
      // Each sender's own messages keep the order it sent them in.
      const texts = users[0].events.filter((e) => e.kind === "privmsg").map((e) => e.text);
      for (const user of users) {
        const own = texts.filter((text) => text.startsWith(`${user.nick} `));
        assert.deepEqual(own, Array.from({ length: perNode }, (_, n) => `${user.nick} ${n}`));
      }
    });
  },
});

Deno.test({
  name: "cluster: two nodes claiming one nick at once — exactly one wins, on every node",
  ignore,
  async fn() {
    await withNodes(3, async (nodes) => {
      const users = await usersInLobby(nodes, ["ann", "bob", "cat"]);
      const [ann, , cat] = users;
      const [fromA, fromC] = await Promise.all([
        nodes[0].changeNick(ann, "zed"),
        nodes[2].changeNick(cat, "ZED"),
      ]);
      assert.equal([fromA, fromC].filter((won) => won === true).length, 1);
      assert.equal([fromA, fromC].filter((won) => won === false).length, 1);
      const winner = fromA === true ? "ann" : "cat";
      // Each node's user is shown the winner's rename, and only that one; then each node's
      // hub gives the nick to the winner.
      for (const [i, user] of users.entries()) {
        await user.waitFor((e) => e.kind === "nick" && e.source.startsWith(`${winner}!`));
        assert.equal(user.events.filter((e) => e.kind === "nick").length, 1);
        assert.equal(nodes[i].hub.find("zed")?.user, winner);
      }
      // Two connects of one nick at once: one is added, the other refused, everywhere.
      const [one, two] = await Promise.all([
        nodes[0].connect(new Recorder("dup")),
        nodes[1].connect(new Recorder("DUP")),
      ]);
      assert.deepEqual([one, two].sort(), [false, true]);
    });
  },
});

Deno.test({
  name: "cluster: a node that falls silent has its users quit on every other node within 5 s",
  ignore,
  async fn() {
    await withNodes(3, async (nodes, buses) => {
      const [ann, bob, cat] = await usersInLobby(nodes, ["ann", "bob", "cat"]);
      // B's connection to NATS goes with no goodbye: a crash, as far as the others can tell.
      await buses[1].close();
      const started = Date.now();
      for (const user of [ann, cat]) {
        const quit = await user.waitFor((e) => e.kind === "quit" && e.source.startsWith("bob!"));
        assert.match(quit.text, /stopped responding/);
      }
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 5000, `the quits took ${elapsed} ms`);
      // bob's nick is free again: a user of A takes it.
      assert.equal(await nodes[0].changeNick(ann, "bob"), true);
      assert.equal(bob.disconnected, undefined);
    }, { beatMs: 250, silenceMs: 1500 });
  },
});

Deno.test({
  name: "cluster: a node started again under the same name is a new node, not the one that left",
  ignore,
  async fn() {
    await withNodes(1, async ([first], _, open) => {
      const ann = new Recorder("ann");
      assert.equal(await first.connect(ann), true);
      assert.equal(await first.join(ann, "#lobby"), first.hub.channel("#lobby"));
      await first.close();
      // The same name on the same cluster, at once: within the log's duplicate window, and after
      // the first run's node-down.
      const again = new ReplicatedHub(new ChatHub(), await open(), { node: "n0" });
      try {
        await again.start();
        assert.notEqual(again.node, first.node);
        const bob = new Recorder("bob");
        let timer: ReturnType<typeof setTimeout> | undefined;
        const connected = await Promise.race([
          again.connect(bob),
          new Promise<string>((resolve) =>
            timer = setTimeout(() => resolve("no answer in 5 s"), 5000)
          ),
        ]);
        clearTimeout(timer);
        assert.equal(connected, true);
        const sent = await again.send(bob, "privmsg", "ann", "are you there?");
        assert.equal(sent, "no-such-nick", "ann left with the first run");
      } finally {
        await again.close();
      }
    });
  },
});

Deno.test({
  name:
    "cluster: nats-server away for longer than the silence allowed quits nobody, and chat goes on",
  ignore,
  async fn() {
    await withNodes(3, async (nodes, _buses, _open, nats) => {
      const users = await usersInLobby(nodes, ["ann", "bob", "cat"]);
      await nats.kill();
      // The outage itself: every node hears nobody, itself included, for twice the silence.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      await nats.restart();
      const sent = await nodes[0].send(users[0], "privmsg", "#lobby", "still here?");
      assert.ok(typeof sent !== "string", `the message was refused: ${sent}`);
      for (const user of users.slice(1)) {
        assert.equal((await user.waitFor((e) => e.text === "still here?")).msgid, sent.msgid);
      }
      // Two more beats and silences pass with NATS back: still nobody is declared gone.
      const later = await nodes[2].send(users[2], "privmsg", "#lobby", "and now?");
      assert.ok(typeof later !== "string");
      await users[0].waitFor((e) => e.text === "and now?");
      await new Promise((resolve) => setTimeout(resolve, 1500));
      for (const user of users) {
        assert.deepEqual(user.events.filter((e) => e.kind === "quit").map((e) => e.text), []);
      }
      for (const node of nodes) assert.equal(node.hub.members.size, 3);
    }, { beatMs: 250, silenceMs: 1000 });
  },
});

Deno.test({
  name: "cluster: a topic set on one node is the same on every node, setter and time included",
  ignore,
  async fn() {
    await withNodes(3, async (nodes) => {
      const [ann, bob, cat] = await usersInLobby(nodes, ["ann", "bob", "cat"]);
      assert.equal(await nodes[0].setTopic(ann, "#lobby", "one topic"), undefined);
      assert.equal(await nodes[1].setTopic(bob, "#nowhere", "x"), "no-such-channel");
      for (const [i, user] of [ann, bob, cat].entries()) {
        await user.waitFor((e) => e.kind === "topic" && e.text === "one topic");
        const lobby = nodes[i].hub.channel("#lobby")!;
        assert.equal(lobby.topic, "one topic");
        assert.equal(lobby.topicSetBy, "ann!ann@test");
        assert.equal(lobby.topicSetAt, nodes[0].hub.channel("#lobby")!.topicSetAt);
      }
    });
  },
});

/**
 * A real bus whose heartbeats can be held back: how the others see a node that stalls (a
 * paused VM, a blocked event loop) while its log keeps working.
 */
class StallingBus implements Bus {
  stalled = false;
  readonly #inner: Bus;
  constructor(inner: Bus) {
    this.#inner = inner;
  }
  append(event: ClusterEvent): Promise<number> {
    return this.#inner.append(event);
  }
  read(from: number, apply: (entry: LogEntry) => void) {
    return this.#inner.read(from, apply);
  }
  head(): Promise<number> {
    return this.#inner.head();
  }
  beat(beat: Heartbeat): void {
    if (!this.stalled) this.#inner.beat(beat);
  }
  onBeat(listener: (beat: Heartbeat) => void): void {
    this.#inner.onBeat(listener);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

Deno.test({
  name: "cluster: a node declared gone while alive drops its users and goes on as a new node",
  ignore,
  async fn() {
    const timing = { beatMs: 250, silenceMs: 1000 };
    await withNodes(1, async ([other], _buses, open) => {
      const bus = new StallingBus(await open());
      const stalling = new ReplicatedHub(new ChatHub(), bus, { node: "s", ...timing });
      try {
        await stalling.start();
        const ann = new Recorder("ann");
        const bob = new Recorder("bob");
        assert.equal(await other.connect(ann), true);
        assert.ok(await other.join(ann, "#lobby"));
        assert.equal(await stalling.connect(bob), true);
        assert.ok(await stalling.join(bob, "#lobby"));
        await ann.waitFor((e) => e.kind === "join" && e.source.startsWith("bob!"));
        const oldName = stalling.node;
        bus.stalled = true;
        await ann.waitFor((e) => e.kind === "quit" && e.source.startsWith("bob!"));
        // The stalled node applies its own node-down too: bob is told to reconnect.
        assert.match(await bob.waitForDisconnect(5000), /stopped responding/);
        bus.stalled = false;
        assert.notEqual(stalling.node, oldName);
        // A user connecting to it now is a user of the cluster like any other.
        const cat = new Recorder("cat");
        assert.equal(await stalling.connect(cat), true);
        assert.ok(await stalling.join(cat, "#lobby"));
        await ann.waitFor((e) => e.kind === "join" && e.source.startsWith("cat!"));
        assert.equal(other.hub.find("bob"), undefined);
      } finally {
        await stalling.close();
      }
    }, timing);
  },
});
