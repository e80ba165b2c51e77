/**
 * The smaller gaps of the replicated channel state, on a real `nats-server -js`: three replicated
 * hubs in this process, each with its own NATS connection, channel store and ban store. The
 * time of a JOIN, PART, NICK or QUIT line and a channel's creation time are the origin's on every
 * node (and an entry written before events carried a time gets the same one on every node);
 * ChanServ's MODE lines have one msgid everywhere; WALLOPS reaches every node's operators; a
 * KLINE on another node's user bans its address.
 */
import assert from "node:assert/strict";
import { ChannelStore } from "../src/chat/channel_store.ts";
import { ChanServ } from "../src/chat/chanserv.ts";
import { ChatHub } from "../src/chat/hub.ts";
import { OperatorList } from "../src/chat/operators.ts";
import { ServerBans } from "../src/chat/server_bans.ts";
import { ServerModeration } from "../src/chat/server_moderation.ts";
import { type ClusterEvent, decodeEvent, encodeEvent } from "../src/cluster/cluster_event.ts";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import { ReplicatedHub } from "../src/cluster/replicated_hub.ts";
import { natsAvailable, startNats } from "./_nats.ts";
import { Recorder } from "./_cluster.ts";
import { waitUntil } from "./_helpers.ts";

const ignore = !natsAvailable();

/** One node and what it keeps apart from the hub. */
interface Node {
  node: ReplicatedHub;
  desk: ServerModeration;
}

/**
 * Starts three nodes of one cluster on a fresh nats-server (each with its own channel store,
 * ChanServ and ban store), and a raw bus a test may append entries to by hand; closes and
 * removes everything after `body`.
 */
async function withNodes(
  body: (nodes: Node[], raw: JetStreamBus) => Promise<void>,
): Promise<void> {
  await using nats = await startNats();
  const cluster = `g${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
  const nodes: Node[] = [];
  const kept: { store: ChannelStore; dir: string }[] = [];
  const raw = await JetStreamBus.open(nats.url, { cluster });
  try {
    for (let i = 0; i < 3; i++) {
      const dir = await Deno.makeTempDir({ prefix: "shmooze-gaps-" });
      const store = ChannelStore.open(dir);
      kept.push({ store, dir });
      const hub = new ChatHub({ channels: store });
      ChanServ.start(hub, store);
      const desk = new ServerModeration(hub, {
        serverName: `node${i}.test`,
        operators: new OperatorList([]),
        bans: ServerBans.open(dir),
      });
      // A hand-written node never beats: it must not be declared gone while a test runs.
      const node = new ReplicatedHub(hub, await JetStreamBus.open(nats.url, { cluster }), {
        node: `n${i}`,
        silenceMs: 120_000,
      });
      node.moderate(desk);
      nodes.push({ node, desk });
      await node.start();
    }
    await body(nodes, raw);
  } finally {
    await Promise.all(nodes.map(({ node }) => node.close()));
    await raw.close();
    for (const { desk } of nodes) desk.close();
    for (const { store, dir } of kept) {
      store.close();
      await Deno.remove(dir, { recursive: true });
    }
  }
}

/** Connects a recorder through a node; fails the test when it is not added. */
async function connectTo(node: ReplicatedHub, member: Recorder): Promise<Recorder> {
  assert.equal(await node.connect(member), true, `${member.nick} was not added`);
  return member;
}

/** Joins a channel through a node; fails the test when refused. */
async function joined(node: ReplicatedHub, member: Recorder, name: string): Promise<void> {
  const channel = await node.join(member, name);
  assert.ok(typeof channel === "object", `${member.nick} could not join ${name}: ${channel}`);
}

/** Waits until every node has applied the entry `seq`. */
async function applied(nodes: Node[], seq: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (nodes.some(({ node }) => node.applied < seq)) {
    if (Date.now() > deadline) throw new Error(`The nodes did not reach entry ${seq}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits until every node has applied what the furthest has. */
function level(nodes: Node[]): Promise<void> {
  return applied(nodes, Math.max(...nodes.map(({ node }) => node.applied)));
}

/** Each node's creation time of a channel. */
function createdAt(nodes: Node[], name: string): (number | undefined)[] {
  return nodes.map(({ node }) => node.hub.channel(name)?.createdAt);
}

Deno.test({
  name:
    "cluster: JOIN, PART, NICK, QUIT, KILL and node-down lines and a new channel's creation time carry the origin's time on every node",
  ignore,
  async fn() {
    await withNodes(async (nodes, raw) => {
      const [a, , c] = nodes.map(({ node }) => node);
      const ann = await connectTo(a, new Recorder("ann"));
      const bob = await connectTo(c, new Recorder("bob"));
      await joined(a, ann, "#talk");
      await joined(c, bob, "#talk");

      // Through the API: the channel ann creates through A is as old on every node as her JOIN.
      await joined(a, ann, "#new");
      const join = await ann.waitFor((e) => e.kind === "join" && e.target === "#new", "JOIN");
      await level(nodes);
      assert.deepEqual(createdAt(nodes, "#new"), [join.time, join.time, join.time]);
      assert.equal(await c.changeNick(bob, "bobby"), true);
      const nicks = await Promise.all(
        [ann, bob].map((m) => m.waitFor((e) => e.kind === "nick", "NICK")),
      );
      assert.equal(nicks[0].time, nicks[1].time);
      assert.equal(nicks[0].msgid, nicks[1].msgid);

      // Entries written by hand with times no clock gives now: every node shows those times.
      const from = { v: 1, node: "raw", conn: "1" } as const;
      const append = (event: ClusterEvent) => raw.append(event);
      await append({
        ...from,
        id: "raw-1",
        kind: "connect",
        nick: "rex",
        user: "rex",
        host: "rex.test",
        realname: "rex",
        time: 1_000,
      });
      const lineOf = async (kind: string, what: string) => {
        const lines = await Promise.all(
          [ann, bob].map((m) =>
            m.waitFor((e) => e.kind === kind && e.source.startsWith(what), `${kind} of ${what}`)
          ),
        );
        assert.equal(lines[0].msgid, lines[1].msgid);
        return { time: lines[0].time, other: lines[1].time };
      };
      await append({ ...from, id: "raw-2", kind: "join", channel: "#talk", key: "", time: 2_000 });
      assert.deepEqual(await lineOf("join", "rex!"), { time: 2_000, other: 2_000 });
      await append({ ...from, id: "raw-3", kind: "nick", nick: "rox", time: 3_000 });
      assert.deepEqual(await lineOf("nick", "rex!"), { time: 3_000, other: 3_000 });
      await append({
        ...from,
        id: "raw-4",
        kind: "part",
        channel: "#talk",
        reason: "",
        time: 4_000,
      });
      assert.deepEqual(await lineOf("part", "rox!"), { time: 4_000, other: 4_000 });
      const created = await append({
        ...from,
        id: "raw-5",
        kind: "join",
        channel: "#rex",
        key: "",
        time: 5_000,
      });
      await applied(nodes, created);
      assert.deepEqual(createdAt(nodes, "#rex"), [5_000, 5_000, 5_000]);

      // An entry of the format before times (no `time`) gets the latest time an earlier entry
      // carried — here a message's, an hour ahead of every clock — on every node alike.
      const latest = Date.now() + 3_600_000;
      await append({
        ...from,
        id: "raw-6",
        kind: "message",
        command: "privmsg",
        target: "#rex",
        text: "hi",
        time: latest,
      });
      const old = await append({ ...from, id: "raw-7", kind: "join", channel: "#old", key: "" });
      await applied(nodes, old);
      assert.deepEqual(createdAt(nodes, "#old"), [latest, latest, latest]);
      await append({ ...from, id: "raw-8", kind: "join", channel: "#talk", key: "" });
      const rejoin = await Promise.all([ann, bob].map((m) =>
        m.until(
          () => m.events.filter((e) => e.kind === "join" && e.source.startsWith("rox!"))[0],
          "the old-format JOIN",
        )
      ));
      assert.deepEqual(rejoin.map((e) => e.time), [latest, latest]);
      await append({ ...from, id: "raw-9", kind: "quit", reason: "bye", time: 6_000 });
      assert.deepEqual(await lineOf("quit", "rox!"), { time: 6_000, other: 6_000 });

      // A node gone: each of its users' QUITs has the time of the node-down everywhere.
      await append({
        ...from,
        id: "raw-10",
        conn: "2",
        kind: "connect",
        nick: "rix",
        user: "rix",
        host: "rix.test",
        realname: "rix",
        time: 6_500,
      });
      await append({
        ...from,
        id: "raw-11",
        conn: "2",
        kind: "join",
        channel: "#talk",
        key: "",
        time: 6_600,
      });
      await append({
        ...from,
        id: "down:raw",
        conn: "",
        kind: "node-down",
        reason: "gone",
        time: 7_000,
      });
      assert.deepEqual(await lineOf("quit", "rix!"), { time: 7_000, other: 7_000 });

      // A KILL's QUIT has its entry's id and time on every node, the victim's own included.
      const cat = await connectTo(nodes[1].node, new Recorder("cat"));
      await joined(nodes[1].node, cat, "#talk");
      assert.equal(await a.kill("console", "cat", "Killed (spam)", "spam"), true);
      const kills = await Promise.all(
        [ann, bob].map((m) =>
          m.waitFor((e) => e.kind === "quit" && e.source.startsWith("cat!"), "cat's QUIT")
        ),
      );
      assert.equal(kills[0].msgid, kills[1].msgid);
      assert.equal(kills[0].time, kills[1].time);
    });
  },
});

Deno.test({
  name: "cluster: ChanServ's MODE lines (OP, DEOP, a founder's JOIN) have one msgid on every node",
  ignore,
  async fn() {
    await withNodes(async (nodes) => {
      const [a, , c] = nodes.map(({ node }) => node);
      const ann = await connectTo(a, new Recorder("ann", { account: "ann" }));
      const bob = await connectTo(c, new Recorder("bob"));
      await joined(a, ann, "#cs");
      await joined(c, bob, "#cs");
      assert.equal(await a.chanServ(ann, "REGISTER #cs"), undefined);
      await ann.waitFor((e) => e.kind === "notice" && /is registered/.test(e.text), "REGISTER");

      const modes = () =>
        [ann, bob].map((m) =>
          m.events.filter((e) => e.kind === "mode" && e.source.startsWith("ChanServ!"))
        );
      const sameLine = async (count: number, text: string) => {
        const [onA, onC] = await Promise.all(
          [ann, bob].map((m, i) => m.until(() => modes()[i][count - 1], `ChanServ's MODE ${text}`)),
        );
        assert.equal(onA.text, text);
        assert.equal(onC.text, text);
        assert.equal(onA.msgid, onC.msgid, `one msgid for ${text}`);
        assert.equal(onA.time, onC.time);
      };
      // As a command of its own (CS DEOP) and as a message to ChanServ (PRIVMSG OP).
      assert.equal(await a.chanServ(ann, "DEOP #cs"), undefined);
      await sameLine(1, "-o ann");
      const sent = await a.send(ann, "privmsg", "ChanServ", "OP #cs");
      assert.equal(typeof sent, "object");
      await sameLine(2, "+o ann");
      // The founder's +o as it joins again.
      assert.equal(await a.part(ann, "#cs", ""), true);
      await joined(a, ann, "#cs");
      await sameLine(3, "+o ann");
    });
  },
});

Deno.test({
  name: "cluster: WALLOPS through one node reaches the operators and +w users of every node",
  ignore,
  async fn() {
    await withNodes(async (nodes) => {
      const [a, b, c] = nodes.map(({ node }) => node);
      const ann = await connectTo(a, new Recorder("ann", { oper: true }));
      const olga = await connectTo(c, new Recorder("olga", { oper: true }));
      const wendy = new Recorder("wendy");
      wendy.wallops = true;
      await connectTo(b, wendy);
      const bob = await connectTo(c, new Recorder("bob"));
      assert.equal(await a.wallops(ann, "maintenance at noon"), 1, "ann herself, on A");
      const seen = await Promise.all(
        [ann, olga, wendy].map((m) => m.waitFor((e) => e.kind === "wallops", "WALLOPS")),
      );
      for (const event of seen) {
        assert.equal(event.source, "ann!ann@test");
        assert.equal(event.text, "maintenance at noon");
        assert.equal(event.msgid, seen[0].msgid);
        assert.equal(event.time, seen[0].time);
      }
      // The console writes as its own node's server.
      assert.equal(await c.wallops("console", "from C"), 1, "olga, on C");
      await ann.waitFor((e) => e.kind === "wallops" && e.source === c.hub.serverName, "console");
      await level(nodes);
      assert.equal(bob.events.filter((e) => e.kind === "wallops").length, 0);
    });
  },
});

Deno.test({
  name: "cluster: a KLINE on another node's user's nick bans the address its node knows",
  ignore,
  async fn() {
    await withNodes(async (nodes) => {
      const [a, , c] = nodes.map(({ node }) => node);
      const ann = await connectTo(a, new Recorder("ann", { oper: true }));
      const bob = await connectTo(
        c,
        new Recorder("bob", { host: "bob.example", address: "203.0.113.7" }),
      );
      const cat = await connectTo(a, new Recorder("cat", { address: "198.51.100.4" }));
      const dan = await connectTo(c, new Recorder("dan", { address: "203.0.113.7" }));

      // A's user: A knows the address, and makes the mask itself.
      assert.deepEqual(a.banRequest(["1h", "cat", "spam"]), {
        mask: "*!*@198.51.100.4",
        durationMs: 3_600_000,
        reason: "spam",
      });
      // C's user: only C knows it.
      const request = a.banRequest(["bob", "flood"]);
      assert.deepEqual(request, { nick: "bob", durationMs: 0, reason: "flood" });
      assert.ok(!("problem" in request));
      const ban = await a.ban(ann, request);
      assert.ok(typeof ban === "object", `not banned: ${ban}`);
      assert.equal(ban.mask, "*!*@203.0.113.7");
      assert.equal(ban.setBy, "ann");
      await bob.until(() => bob.disconnected, "bob's disconnection");
      await dan.until(() => dan.disconnected, "dan's disconnection (the same address)");
      assert.equal(bob.disconnected, "Banned: flood");
      await level(nodes);
      for (const { desk } of nodes) {
        assert.deepEqual(desk.bans.list().map(({ mask, setAt }) => ({ mask, setAt })), [
          { mask: "*!*@203.0.113.7", setAt: ban.setAt },
        ]);
      }
      assert.equal(cat.disconnected, undefined);
      // bob leaves every node as his quit is applied — C included, which decided the ban: a
      // node that let him go first disagreed with the others about him until then.
      await waitUntil(
        () => nodes.every(({ node }) => node.hub.find("bob") === undefined),
        10_000,
        "bob's quit applied on every node",
      );
      // A nick nobody holds as the entry is applied bans nothing, anywhere.
      assert.equal(
        await a.ban(ann, { nick: "bob", durationMs: 0, reason: "again" }),
        "no-such-nick",
      );
      await level(nodes);
      for (const { desk } of nodes) assert.equal(desk.bans.list().length, 1);
    });
  },
});

Deno.test({
  name:
    "cluster: a user who logs in after registration to an account KLINEd through another node is disconnected as the login is applied",
  ignore,
  async fn() {
    await withNodes(async (nodes) => {
      const [a, , c] = nodes.map(({ node }) => node);
      const ann = await connectTo(a, new Recorder("ann", { oper: true }));
      const sam = await connectTo(c, new Recorder("sam"));
      const dan = await connectTo(c, new Recorder("dan"));
      for (const [node, member] of [[a, ann], [c, sam], [c, dan]] as const) {
        await joined(node, member, "#talk");
      }
      const ban = await a.ban(ann, { mask: "~a:spammer", durationMs: 0, reason: "spam" });
      assert.ok(typeof ban === "object", `not banned: ${ban}`);
      assert.equal(await c.logIn(sam, "spammer"), true);
      assert.equal(sam.disconnected, "Banned: spam", "disconnected as the login was applied");
      const quits = await Promise.all(
        [ann, dan].map((m) =>
          m.waitFor((e) => e.kind === "quit" && e.source.startsWith("sam!"), "sam's QUIT")
        ),
      );
      assert.equal(quits[0].msgid, quits[1].msgid);
      assert.equal(quits[0].time, quits[1].time);
    });
  },
});

Deno.test("decodeEvent reads JOIN, PART, NICK and QUIT entries with and without a time, and checks WALLOPS and KLINE-by-nick entries", () => {
  const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  const from = { v: 1, id: "x", node: "a", conn: "1" } as const;
  const old = { ...from, kind: "part", channel: "#c", reason: "" };
  assert.deepEqual(decodeEvent(bytes(old)), old, "an old entry stays without a time");
  assert.deepEqual(decodeEvent(bytes({ ...old, time: 5 })), { ...old, time: 5 });
  assert.throws(() => decodeEvent(bytes({ ...old, time: -1 })), /"time" is not a time/);
  assert.throws(
    () => decodeEvent(bytes({ ...from, kind: "quit", reason: "", time: "5" })),
    /"time"/,
  );
  const wallops = { ...from, kind: "wallops", source: "ann!ann@h", text: "hi", time: 1 } as const;
  assert.deepEqual(decodeEvent(encodeEvent(wallops)), wallops);
  assert.throws(() => decodeEvent(bytes({ ...wallops, text: "" })), /"text" is empty/);
  assert.throws(() => decodeEvent(bytes({ ...wallops, text: "a\r\nQUIT" })), /CR or LF/);
  assert.throws(
    () => decodeEvent(bytes({ ...wallops, source: "a b" })),
    /"source" is not one word/,
  );
  const byNick = {
    ...from,
    conn: "",
    kind: "kline-nick",
    nick: "bob",
    reason: "x",
    durationMs: 0,
    by: "ann",
    time: 1,
  } as const;
  assert.deepEqual(decodeEvent(encodeEvent(byNick)), byNick);
  assert.throws(() => decodeEvent(bytes({ ...byNick, nick: "bob ann" })), /"nick" is not one word/);
  assert.throws(() => decodeEvent(bytes({ ...byNick, durationMs: -5 })), /"durationMs"/);
});

Deno.test({
  name:
    "cluster: a KLINE on a nick waits for the holder's node, and is told the cluster could not be reached when that node is declared gone first",
  ignore,
  async fn() {
    await withNodes(async (nodes, raw) => {
      const [a] = nodes.map(({ node }) => node);
      const ann = await connectTo(a, new Recorder("ann", { oper: true }));
      const from = { v: 1, node: "raw", conn: "1" } as const;
      const added = await raw.append({
        ...from,
        id: "raw-1",
        kind: "connect",
        nick: "rex",
        user: "rex",
        host: "rex.test",
        realname: "rex",
        time: 1_000,
      });
      await applied(nodes, added);
      // The hand-written node never makes the mask: A's operator waits until it is gone.
      const answer = a.ban(ann, { nick: "rex", durationMs: 0, reason: "x" });
      let settled = false;
      answer.then(() => settled = true);
      const entries = nodes[0].node.applied;
      await applied(nodes, entries + 1);
      assert.equal(settled, false, "no answer before the holder's node appended the ban");
      await raw.append({ ...from, id: "down:raw", conn: "", kind: "node-down", reason: "gone" });
      assert.equal(await answer, "unavailable");
      await level(nodes);
      for (const { desk } of nodes) assert.deepEqual(desk.bans.list(), []);
    });
  },
});
