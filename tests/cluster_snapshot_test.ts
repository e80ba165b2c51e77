/**
 * Start-up from the cluster's snapshot on a real `nats-server -js` whose log keeps only a few
 * entries: a node started after the log's first entries were removed loads the snapshot, reads
 * the rest, and agrees with the others; a node that cannot know the state refuses to start.
 */
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { ChatHub } from "../src/chat/hub.ts";
import { maskOf } from "../src/chat/member.ts";
import { JetStreamBus, type JetStreamBusOptions } from "../src/cluster/jetstream_bus.ts";
import { ReplicatedHub } from "../src/cluster/replicated_hub.ts";
import { PausingBus, Recorder } from "./_cluster.ts";
import { spawn } from "./_helpers.ts";
import { natsAvailable, startNats } from "./_nats.ts";

const ignore = !natsAvailable();

/** Everything the nodes must agree on, in an order that does not depend on the node. */
function view(hub: ChatHub) {
  return {
    members: [...hub.members.values()].map((m) => `${maskOf(m)} ${m.realname}`).sort(),
    channels: [...hub.channels.values()].filter((c) => c.members.size > 0).map((c) => ({
      name: c.name,
      modes: c.modeString(true),
      topic: [c.topic, c.topicSetBy, c.topicSetAt],
      members: [...c.members].map((m) => c.prefixOf(m, true) + m.nick).sort(),
    })).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

/** A fresh cluster on its own nats-server, its log keeping `maxEntries` entries. */
async function cluster(maxEntries: number) {
  const nats = await startNats();
  const name = `snap${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
  const options: JetStreamBusOptions = { cluster: name, maxEntries };
  const nodes: ReplicatedHub[] = [];
  return {
    nats,
    name,
    open: () => JetStreamBus.open(nats.url, options),
    /** A node on a new bus (closed with the cluster); `start` is the test's to call. */
    node: async (node: string) => {
      const hub = new ReplicatedHub(new ChatHub(), await JetStreamBus.open(nats.url, options), {
        node,
        snapshotEveryMs: 0,
      });
      nodes.push(hub);
      return hub;
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(nodes.map((node) => node.close()));
      await nats[Symbol.asyncDispose]();
    },
  };
}

Deno.test({
  name:
    "JetStreamBus: the snapshot is stored in chunks, read back whole, replaced by one of two racing writers, leaves nothing behind, and is refused for a log made again",
  ignore,
  async fn() {
    await using test = await cluster(0);
    const [one, two] = [await test.open(), await test.open()];
    const nc = await connect({ servers: test.nats.url });
    try {
      assert.equal(await one.snapshots.load(), undefined);
      // 1.3 MB: more than a NATS message (1 MiB by default) holds.
      const big = crypto.getRandomValues(new Uint8Array(65_536));
      const bytes = new Uint8Array(1_300_000).map((_, i) => big[i % big.length] ^ (i >> 16));
      assert.equal(await one.snapshots.save(10, bytes), true);
      const loaded = await two.snapshots.load();
      assert.equal(loaded?.seq, 10);
      assert.deepEqual(loaded?.bytes, bytes);
      assert.equal(await two.snapshots.save(10, new Uint8Array([1])), false, "not newer");
      // Two writers at once: one wins, and what is read is all of one of them.
      const results = await Promise.all([
        one.snapshots.save(11, new Uint8Array(700_000).fill(1)),
        two.snapshots.save(11, new Uint8Array(700_000).fill(2)),
      ]);
      assert.equal(results.filter(Boolean).length, 1, `${results}`);
      const winner = (await one.snapshots.load())!;
      assert.equal(winner.seq, 11);
      assert.equal(winner.bytes.length, 700_000);
      assert.ok(winner.bytes.every((b) => b === winner.bytes[0]));
      assert.deepEqual(await one.snapshots.newest(), { seq: 11, time: winner.time });
      // The bucket holds the head and the winner's two chunks: no old chunk, no marker.
      const manager = await jetstreamManager(nc);
      const info = await manager.streams.info(`KV_SHMOOZE_${test.name}_snapshot`);
      assert.equal(info.state.messages, 3);
      // The log made again (deleted): the old snapshot's sequences mean nothing in it.
      await manager.streams.delete(`SHMOOZE_${test.name}`);
      const again = await test.open();
      try {
        await assert.rejects(() => again.snapshots.load(), /It was taken from another log/);
        assert.equal(await again.snapshots.newest(), undefined);
        assert.equal(await again.snapshots.save(1, new Uint8Array([3])), true);
        assert.deepEqual((await again.snapshots.load())?.bytes, new Uint8Array([3]));
      } finally {
        await again.close();
      }
    } finally {
      await nc.close();
      await one.close();
      await two.close();
    }
  },
});

Deno.test({
  name:
    "cluster: nodes write the snapshot by themselves when it is due, and a node that stops leaves one holding its end",
  ignore,
  async fn() {
    await using test = await cluster(0);
    const bus = await test.open();
    const timing = { beatMs: 100, silenceMs: 1000, snapshotEveryMs: 300 };
    const a = new ReplicatedHub(new ChatHub(), await test.open(), { node: "a", ...timing });
    const b = new ReplicatedHub(new ChatHub(), await test.open(), { node: "b", ...timing });
    try {
      await a.start();
      await b.start();
      const [ann, bob] = [new Recorder("ann"), new Recorder("bob")];
      assert.equal(await a.connect(ann), true);
      assert.equal(await b.connect(bob), true);
      assert.ok(await b.join(bob, "#lobby"));
      const joined = b.applied;
      // Waits (bounded) for a snapshot at `seq` or later: the nodes write it on their own.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const newest = await bus.snapshots.newest();
        if (newest !== undefined && newest.seq >= joined) break;
        assert.ok(Date.now() < deadline, `no snapshot at entry ${joined} within 10 s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await b.close();
      // b's own node-down is the log's last entry, and the snapshot holds it.
      const last = await bus.head();
      assert.equal((await bus.snapshots.newest())?.seq, last);
      const c = await test.node("c");
      await c.start();
      assert.equal(c.hub.find("bob"), undefined);
      assert.equal(c.hub.find("ann")?.nick, "ann");
    } finally {
      await Promise.all([a.close(), b.close(), bus.close()]);
    }
  },
});

Deno.test({
  name:
    "cluster: a node started after the log's first entries were removed loads the snapshot and agrees with the others",
  ignore,
  async fn() {
    await using test = await cluster(30);
    const [a, b] = [await test.node("a"), await test.node("b")];
    await a.start();
    await b.start();
    const [ann, bob, cat] = ["ann", "bob", "cat"].map((nick) => new Recorder(nick));
    assert.equal(await a.connect(ann), true);
    assert.equal(await b.connect(bob), true);
    assert.equal(await b.connect(cat), true);
    for (const [node, user] of [[a, ann], [b, bob], [b, cat]] as const) {
      assert.ok(await node.join(user, "#lobby"));
    }
    assert.ok(await a.join(ann, "#ops"));
    assert.ok(await b.join(bob, "#ops"));
    assert.equal(await a.setTopic(ann, "#ops", "restored from the snapshot"), undefined);
    assert.equal(await a.changeNick(ann, "anna"), true);
    assert.equal(await b.part(cat, "#ops", "bye"), false, "cat was never in #ops");
    // Modes are not in the log yet (state15a): set the same ones on both nodes' hubs, as a
    // replicated MODE will, to see the snapshot carry them.
    for (const node of [a, b]) {
      const ops = node.hub.channel("#ops")!;
      const plan = node.hub.changeModes(node.hub.find("anna")!, ops, [
        { add: true, mode: "k", param: "sesame" },
        { add: true, mode: "m" },
        { add: true, mode: "v", param: "bob" },
      ]);
      assert.ok(typeof plan !== "string");
    }
    // Enough chat that the log's first entries go.
    for (let n = 0; n < 40; n++) {
      assert.ok(typeof await a.send(ann, "privmsg", "#lobby", `m${n}`) !== "string");
    }
    await bob.waitFor((e) => e.text === "m39");
    assert.equal(await b.writeSnapshot(), true);
    assert.equal(await a.writeSnapshot(), false, "a snapshot at the same entry is there");
    // After the snapshot: the tail a new node reads from the log.
    const dan = new Recorder("dan");
    assert.equal(await b.connect(dan), true);
    assert.ok(await b.join(dan, "#lobby"));
    await b.quit(cat, "gone");
    await ann.waitFor((e) => e.kind === "quit" && e.source.startsWith("cat!"));
    const bus = await test.open();
    const first = await bus.first();
    await bus.close();
    assert.ok(first > 1, `the log still starts at entry ${first}`);

    const c = await test.node("c");
    await c.start();
    assert.equal(c.applied, b.applied);
    assert.deepEqual(view(c.hub), view(a.hub));
    assert.deepEqual(view(c.hub), view(b.hub));
    assert.deepEqual(view(c.hub).channels.find((ch) => ch.name === "#ops"), {
      name: "#ops",
      modes: "+mntk sesame",
      topic: ["restored from the snapshot", "ann!ann@test", a.hub.channel("#ops")!.topicSetAt],
      members: ["+bob", "@anna"],
    });
    // A user of the new node is one of the cluster like any other.
    const eve = new Recorder("eve");
    assert.equal(await c.connect(eve), true);
    assert.equal(await c.connect(new Recorder("dan")), false, "dan's nick is known to c");
    assert.ok(await c.join(eve, "#lobby"));
    const sent = await c.send(eve, "privmsg", "#lobby", "hello from c");
    assert.ok(typeof sent !== "string", `refused: ${sent}`);
    for (const user of [ann, bob, dan]) {
      assert.equal((await user.waitFor((e) => e.text === "hello from c")).msgid, sent.msgid);
    }
    // Nothing from before c started is shown to its users.
    assert.equal(eve.events.some((e) => /^m\d+$/.test(e.text)), false);
  },
});

Deno.test({
  name:
    "cluster: a node refuses to start when the log lost its first entries and the snapshot is missing, bad bytes or too old",
  ignore,
  async fn() {
    await using test = await cluster(5);
    const a = await test.node("a");
    await a.start();
    const ann = new Recorder("ann");
    assert.equal(await a.connect(ann), true);
    const say = async (count: number) => {
      for (let n = 0; n < count; n++) {
        assert.ok(typeof await a.send(ann, "privmsg", "ann", `m${n}`) !== "string");
      }
    };
    await say(10);
    const refusal = async () => {
      const node = await test.node("late");
      return await node.start().then(() => "started", (error: Error) => error.message);
    };
    assert.match(
      await refusal(),
      /^Cannot start cluster node late: the log starts at entry \d+ \(its retention removed the older ones\) and the cluster has no snapshot$/,
    );
    const bus = await test.open();
    try {
      const bad = [
        new Uint8Array([0xff, 0xfe, 0x0a]),
        new TextEncoder().encode(
          `{"v":1,"kind":"snapshot","seq":${a.applied},"time":1}\n` +
            `{"v":1,"id":"s","node":"x","conn":"1","kind":"connect","nick":"e\\r\\nvil","user":"u","host":"h","realname":"r","time":1}`,
        ),
      ];
      for (const [i, bytes] of bad.entries()) {
        assert.equal(await bus.snapshots.save(a.applied - 2 + i, bytes), true);
        assert.match(await refusal(), /the cluster's snapshot was refused: Snapshot line \d+: /);
      }
      // A good snapshot whose entry the log has lost since is refused as too old.
      assert.equal(await a.writeSnapshot(), true);
      await say(10);
      assert.match(await refusal(), /the newest snapshot is at entry \d+, older than that$/);
    } finally {
      await bus.close();
    }
  },
});

Deno.test({
  name: "cluster: a running node that falls behind the log's retention stops applying and says why",
  ignore,
  async fn() {
    await using test = await cluster(5);
    const a = await test.node("a");
    await a.start();
    const bus = new PausingBus(await test.open());
    const b = new ReplicatedHub(new ChatHub(), bus, { node: "b", snapshotEveryMs: 0 });
    try {
      await b.start();
      const ann = new Recorder("ann");
      assert.equal(await a.connect(ann), true);
      assert.ok(await a.join(ann, "#lobby"));
      await bus.pause();
      const seen = b.applied;
      for (let n = 0; n < 10; n++) {
        assert.ok(typeof await a.send(ann, "privmsg", "#lobby", `m${n}`) !== "string");
      }
      await bus.resume();
      const error = await b.failed;
      assert.match(
        error.message,
        new RegExp(
          `^Cluster node ${b.node} cannot go on: log entries ${
            seen + 1
          } to \\d+ were removed \\(the log's retention\\) before it applied them$`,
        ),
      );
      assert.equal(b.applied, seen, "nothing after the gap was applied");
    } finally {
      await b.close();
    }
  },
});

/** Runs `serve` with `args` on a throwaway data directory until it exits. */
async function serve(args: string[]) {
  const data = await Deno.makeTempDir({ prefix: "shmooze-snapshot-cli-" });
  try {
    await using child = spawn([
      "main.ts",
      "serve",
      "--port",
      "0",
      "--no-http",
      "--no-status",
      "--data",
      data,
      ...args,
    ]);
    await child.closeStdin();
    return await child.done;
  } finally {
    await Deno.remove(data, { recursive: true });
  }
}

Deno.test({
  name:
    "serve --cluster refuses to start in one line (exit 1) when the log lost entries and there is no snapshot",
  ignore,
  async fn() {
    await using test = await cluster(3);
    const bus = await test.open();
    try {
      for (let n = 0; n < 6; n++) {
        await bus.append({ v: 1, id: `q${n}`, node: "x", conn: "1", kind: "quit", reason: "" });
      }
    } finally {
      await bus.close();
    }
    const result = await serve(["--cluster", test.nats.url, "--cluster-name", test.name]);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr.trimEnd(),
      /^error: Cannot start cluster node \S+: the log starts at entry 4 \(its retention removed the older ones\) and the cluster has no snapshot$/,
    );
    const usage = await serve(["--cluster", test.nats.url, "--cluster-retention", "5"]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^error: --cluster-retention must be a whole number from 10 to /);
  },
});
