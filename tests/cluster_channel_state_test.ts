/**
 * Channel and server state through the cluster's log, on a real `nats-server -js`: three
 * replicated hubs in this process, each with its own NATS connection (and, where it matters, its
 * own channel store and ban store in its own directory). A MODE, KICK, INVITE, ChanServ command,
 * KILL, KLINE, UNKLINE or announcement made through one node must hold on every node, decided
 * the same way on each.
 */
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import type { Channel } from "../src/chat/channel.ts";
import { ChannelStore } from "../src/chat/channel_store.ts";
import { ChanServ } from "../src/chat/chanserv.ts";
import type { ChatEvent } from "../src/chat/chat_event.ts";
import { ChatHub } from "../src/chat/hub.ts";
import { OperatorList } from "../src/chat/operators.ts";
import { ServerBans } from "../src/chat/server_bans.ts";
import { ServerModeration } from "../src/chat/server_moderation.ts";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import { ReplicatedHub } from "../src/cluster/replicated_hub.ts";
import { natsAvailable, startNats } from "./_nats.ts";
import { waitUntil } from "./_helpers.ts";
import { Recorder } from "./_cluster.ts";

const ignore = !natsAvailable();

/** One node and what it keeps apart from the hub. */
interface Node {
  node: ReplicatedHub;
  desk: ServerModeration;
  store: ChannelStore;
  dir: string;
}

/**
 * Starts three nodes of one cluster on a fresh nats-server, each with its own data directory
 * (channel store, ChanServ) and ban store; closes and removes everything after `body`.
 */
async function withNodes(
  body: (nodes: Node[], natsUrl: string, cluster: string) => Promise<void>,
): Promise<void> {
  await using nats = await startNats();
  const cluster = `s${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
  const nodes: Node[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const dir = await Deno.makeTempDir({ prefix: "shmooze-state-" });
      const store = ChannelStore.open(dir);
      const hub = new ChatHub({ channels: store });
      ChanServ.start(hub, store);
      const desk = new ServerModeration(hub, {
        serverName: `node${i}.test`,
        operators: new OperatorList([]),
        bans: ServerBans.open(dir),
      });
      const node = new ReplicatedHub(hub, await JetStreamBus.open(nats.url, { cluster }), {
        node: `n${i}`,
      });
      node.moderate(desk);
      nodes.push({ node, desk, store, dir });
      await node.start();
    }
    await body(nodes, nats.url, cluster);
  } finally {
    await Promise.all(nodes.map(({ node }) => node.close()));
    for (const { desk, store, dir } of nodes) {
      desk.close();
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
async function joined(node: ReplicatedHub, member: Recorder, name: string): Promise<Channel> {
  const channel = await node.join(member, name);
  assert.ok(typeof channel === "object", `${member.nick} could not join ${name}: ${channel}`);
  return channel!;
}

/** Waits until every node has applied what the furthest has. */
async function level(nodes: Node[]): Promise<void> {
  const target = Math.max(...nodes.map(({ node }) => node.applied));
  const deadline = Date.now() + 10_000;
  while (nodes.some(({ node }) => node.applied < target)) {
    if (Date.now() > deadline) throw new Error(`The nodes did not reach entry ${target}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test({
  name: "cluster: a MODE made through one node holds on every node, and each enforces it alike",
  ignore,
  async fn() {
    await withNodes(async (nodes) => {
      const [a, b, c] = nodes.map(({ node }) => node);
      const ann = await connectTo(a, new Recorder("ann"));
      const bob = await connectTo(b, new Recorder("bob"));
      const cat = await connectTo(c, new Recorder("cat", { host: "cat.example" }));
      await joined(a, ann, "#team");
      await joined(b, bob, "#team");

      // A key, a limit, a ban and voice, set through A by the channel's operator.
      const plan = await a.changeModes(ann, "#team", [
        { add: true, mode: "k", param: "sesame" },
        { add: true, mode: "n" },
        { add: true, mode: "v", param: "bob" },
        { add: true, mode: "b", param: "*!*@cat.example" },
      ]);
      assert.ok(typeof plan === "object", `refused: ${plan}`);
      assert.equal(plan.applied.length, 3, "+n was set already");
      const line = (event: ChatEvent) => `${event.source} ${event.text}`;
      const seen = await bob.waitFor((e) => e.kind === "mode", "the MODE line");
      const echoed = await ann.waitFor((e) => e.kind === "mode", "the MODE line");
      assert.equal(seen.msgid, echoed.msgid, "one MODE, one msgid on every node");
      assert.equal(seen.time, echoed.time);
      assert.equal(line(seen), "ann!ann@test +kvb sesame bob *!*@cat.example");
      await level(nodes);

      // Every node has the same channel state, ban time included.
      const states = nodes.map(({ node }) => {
        const channel = node.hub.channel("#team")!;
        return {
          modes: channel.modeString(true),
          bans: channel.settings.lists.b,
          voiced: [...channel.voiced].map((m) => m.nick),
        };
      });
      assert.deepEqual(states[1], states[0]);
      assert.deepEqual(states[2], states[0]);
      assert.deepEqual(states[0].voiced, ["bob"]);

      // The ban set through A refuses cat's JOIN through C; once lifted, the key does.
      assert.equal(await c.join(cat, "#team", "sesame"), "banned");
      const lifted = await b.changeModes(bob, "#team", [{
        add: false,
        mode: "b",
        param: "*!*@cat.example",
      }]);
      assert.equal(lifted, "not-operator", "bob is voiced, not an operator: refused on every node");
      await a.changeModes(ann, "#team", [{ add: false, mode: "b", param: "*!*@cat.example" }]);
      assert.equal(await c.join(cat, "#team"), "bad-key");
      assert.equal(await c.join(cat, "#team", "wrong"), "bad-key");
      assert.ok(typeof await c.join(cat, "#team", "sesame") === "object", "the key lets cat in");

      // An operator on one node ops a user of another; that user's MODE then counts everywhere.
      await a.changeModes(ann, "#team", [{ add: true, mode: "o", param: "cat" }]);
      const limit = await c.changeModes(cat, "#team", [{ add: true, mode: "l", param: "3" }]);
      assert.ok(typeof limit === "object" && limit.applied.length === 1, `refused: ${limit}`);
      await level(nodes);
      for (const { node } of nodes) {
        const channel = node.hub.channel("#team")!;
        assert.equal(channel.modeString(true), "+ntkl sesame 3");
        assert.deepEqual([...channel.operators].map((m) => m.nick).sort(), ["ann", "cat"]);
      }
      for (const { node } of nodes) assert.equal(node.stats().refused, 0);
    });
  },
});

Deno.test({
  name: "cluster: a KICK through one node takes the user out everywhere, and every node shows it",
  ignore,
  async fn() {
    await withNodes(async (nodes) => {
      const [a, b, c] = nodes.map(({ node }) => node);
      const ann = await connectTo(a, new Recorder("ann"));
      const bob = await connectTo(b, new Recorder("bob"));
      const cat = await connectTo(c, new Recorder("cat"));
      for (const [node, member] of [[a, ann], [b, bob], [c, cat]] as const) {
        await joined(node, member, "#team");
      }
      // Only the operator may: bob's kick of cat is refused by every node.
      assert.equal(await b.kick(bob, "#team", "cat", "no"), "not-operator");
      assert.equal(await a.kick(ann, "#team", "nobody", "no"), "no-such-nick");
      assert.equal(await a.kick(ann, "#team", "cat", "spam"), undefined);
      const msgids = new Set<string>();
      for (const member of [ann, bob, cat]) {
        const kick = await member.waitFor((e) => e.kind === "kick", "the KICK line");
        msgids.add(kick.msgid);
        assert.equal(
          `${kick.source} ${kick.target} ${kick.victim} ${kick.text}`,
          "ann!ann@test #team cat spam",
        );
      }
      assert.equal(msgids.size, 1, "one KICK, one msgid on every node");
      await level(nodes);
      for (const { node } of nodes) {
        const names = [...node.hub.channel("#team")!.members].map((m) => m.nick).sort();
        assert.deepEqual(names, ["ann", "bob"]);
      }
      assert.equal(cat.channels.size, 0);
      assert.equal(await b.kick(bob, "#team", "cat", "again"), "not-operator");
      assert.equal(await a.kick(ann, "#team", "cat", "again"), "not-in-channel");
    });
  },
});

Deno.test({
  name: "cluster: an INVITE through one node lets the user of another join +i, and ops are told",
  ignore,
  async fn() {
    await withNodes(async (nodes) => {
      const [a, b, c] = nodes.map(({ node }) => node);
      const ann = await connectTo(a, new Recorder("ann"));
      const bob = await connectTo(b, new Recorder("bob"));
      const cat = await connectTo(c, new Recorder("cat"));
      await joined(a, ann, "#team");
      await joined(b, bob, "#team");
      await a.changeModes(ann, "#team", [{ add: true, mode: "i" }, {
        add: true,
        mode: "o",
        param: "bob",
      }]);
      assert.equal(await c.join(cat, "#team"), "invite-only");
      const invited = await a.invite(ann, "#team", "cat");
      assert.ok(typeof invited === "object", `refused: ${invited}`);
      // The invited user is told on its own node; the other operator on its own (invite-notify).
      const told = await cat.waitFor((e) => e.kind === "invite", "the INVITE");
      assert.equal(`${told.source} ${told.victim} ${told.target}`, "ann!ann@test cat #team");
      const notified = await bob.waitFor((e) => e.kind === "invite", "the invite-notify");
      assert.equal(notified.msgid, told.msgid, "one INVITE, one msgid on every node");
      assert.equal(notified.msgid.startsWith(a.node), true, "the log entry's id");
      assert.deepEqual(c.hub.invitesOf(cat), ["#team"]);
      await joined(c, cat, "#team");
      await level(nodes);
      for (const { node } of nodes) {
        assert.equal(node.hub.channel("#team")!.members.size, 3);
      }
      // A non-operator may not invite to +i, decided on every node.
      const dan = await connectTo(b, new Recorder("dan"));
      assert.equal(await c.invite(cat, "#team", "dan"), "not-operator");
      assert.equal(await b.join(dan, "#team"), "invite-only");
      assert.equal(await a.invite(ann, "#team", "nobody"), "no-such-nick");
    });
  },
});

Deno.test({
  name: "cluster: ChanServ registrations and AMODE reach every node's channel store",
  ignore,
  async fn() {
    await withNodes(async (nodes) => {
      const [a, b, c] = nodes.map(({ node }) => node);
      const ann = await connectTo(a, new Recorder("ann", { account: "ann" }));
      const cat = await connectTo(c, new Recorder("cat", { account: "cat" }));
      await joined(a, ann, "#team");
      await joined(c, cat, "#team");
      // A non-operator's REGISTER is refused on every node; the operator's is kept by all.
      assert.equal(await c.chanServ(cat, "REGISTER #team"), undefined);
      assert.match(
        (await cat.waitFor((e) => e.kind === "notice", "ChanServ's answer")).text,
        /must be one of its operators/,
      );
      assert.equal(await a.chanServ(ann, "REGISTER #team"), undefined);
      assert.match(
        (await ann.waitFor((e) => /registered to/.test(e.text), "ChanServ's answer")).text,
        /^#team is registered to ann/,
      );
      // Through a private message to ChanServ as well (as most clients send it).
      const sent = await a.send(ann, "privmsg", "ChanServ", "AMODE #team +o cat");
      assert.ok(typeof sent === "object", `refused: ${sent}`);
      const echo = await ann.waitFor(
        (e) => e.kind === "privmsg" && e.target === "ChanServ",
        "the echo",
      );
      assert.equal(echo.msgid, sent.msgid);
      // Run once, on applying (not again as each node's ChanServ is handed the message).
      await a.chanServ(ann, "INFO #team");
      await ann.waitFor((e) => /has modes/.test(e.text), "INFO's answer");
      const amodes = ann.events.filter((e) => e.text === "cat gets +o on joining #team");
      assert.equal(amodes.length, 1);
      await a.changeModes(ann, "#team", [{ add: true, mode: "t" }]);
      await level(nodes);
      const stored = nodes.map(({ store }) => store.load("#team"));
      for (const entry of stored) {
        assert.ok(entry?.kind === "registered", "registered in every node's store");
        assert.equal(entry.registration.founder, "ann");
        assert.equal(entry.access.length, 1);
        assert.equal(entry.access[0].account, "cat");
        assert.match(entry.settings.flags, /t/);
      }
      // The same everywhere but the channel's creation time (each node's own, see docs/cluster.md).
      const kept = stored.map((entry) => ({ ...entry, createdAt: 0 }));
      assert.deepEqual(kept[1], kept[0]);
      assert.deepEqual(kept[2], kept[0]);
      // cat, AMODE +o, rejoins through C and is opped by every node.
      await c.part(cat, "#team", "brb");
      await joined(c, cat, "#team");
      await level(nodes);
      for (const { node } of nodes) {
        assert.ok([...node.hub.channel("#team")!.operators].some((m) => m.nick === "cat"));
      }
      // bob's DROP through B is refused on every node (not the founder); ann's through A done.
      const bob = await connectTo(b, new Recorder("bob", { account: "bob" }));
      assert.equal(await b.chanServ(bob, "DROP #team"), undefined);
      assert.equal(await a.chanServ(ann, "DROP #team"), undefined);
      await level(nodes);
      for (const { store, node } of nodes) {
        assert.equal(store.registeredKeys().length, 0);
        assert.equal(node.hub.channel("#team")!.registration, undefined);
      }
    });
  },
});

Deno.test({
  name: "cluster: KILL, KLINE and UNKLINE through one node act on every node",
  ignore,
  async fn() {
    await withNodes(async (nodes) => {
      const [a, b, c] = nodes.map(({ node }) => node);
      const ann = await connectTo(a, new Recorder("ann"));
      ann.oper = "ann";
      const bob = await connectTo(b, new Recorder("bob"));
      const cat = await connectTo(c, new Recorder("cat", { host: "spam.example" }));
      const cid = await connectTo(c, new Recorder("cid", { host: "spam.example" }));
      cid.oper = "cid";
      for (const [node, member] of [[a, ann], [b, bob], [c, cat], [c, cid]] as const) {
        await joined(node, member, "#lobby");
      }

      // KLINE through A: C disconnects its user it matches (its operator excepted); B's stays.
      const ban = await a.ban(ann, {
        mask: "*!*@spam.example",
        durationMs: 3_600_000,
        reason: "spam",
      });
      assert.ok(typeof ban === "object", `refused: ${ban}`);
      assert.equal(await cat.until(() => cat.disconnected, "cat's disconnection"), "Banned: spam");
      const quit = await bob.waitFor(
        (e) => e.kind === "quit" && e.source.startsWith("cat!"),
        "cat's QUIT",
      );
      assert.equal(quit.text, "Banned: spam");
      assert.equal(cid.disconnected, undefined);
      await level(nodes);
      for (const { node, desk } of nodes) {
        assert.equal(node.hub.find("cat"), undefined);
        assert.deepEqual(desk.bans.list().map((b) => [b.mask, b.setBy, b.setAt]), [[
          "*!*@spam.example",
          "ann",
          ban.setAt,
        ]]);
        assert.ok(desk.refusal({ nick: "x", user: "x", host: "spam.example" }));
      }
      // C's operator heard of it from its own node's audit.
      await cid.waitFor(
        (e) => e.kind === "notice" && /KLINE \*!\*@spam\.example/.test(e.text),
        "the audit",
      );

      // UNKLINE through B lifts it on every node.
      const lifted = await b.unban("console", "*!*@spam.example");
      assert.ok(typeof lifted === "object", `not lifted: ${lifted}`);
      await level(nodes);
      for (const { desk } of nodes) assert.deepEqual(desk.bans.list(), []);
      assert.equal(await b.unban("console", "*!*@spam.example"), undefined);

      // KILL through A's operator of C's user; the console of B kicks A's user.
      assert.equal(await a.kill(ann, "cid", "Killed (ann (flood))", "flood"), true);
      assert.equal(
        await cid.until(() => cid.disconnected, "cid's disconnection"),
        "Killed (ann (flood))",
      );
      assert.equal(await b.kill("console", "nobody", "x", "x"), false);
      assert.equal(await b.kill("console", "ChanServ", "x", "x"), false, "a service is no user");
      assert.equal(await b.kill("console", "ann", "Kicked by operator: bye", "bye"), true);
      assert.equal(ann.disconnected, "Kicked by operator: bye");
      await level(nodes);
      for (const { node } of nodes) {
        assert.deepEqual(
          [...node.hub.members.values()].filter((m) => m.transport !== "service").map((m) =>
            m.nick
          ),
          ["bob"],
        );
      }
    });
  },
});

Deno.test({
  name: "cluster: the console's announcement reaches #lobby on every node with one msgid",
  ignore,
  async fn() {
    await withNodes(async (nodes) => {
      const members = await Promise.all(
        nodes.map(({ node }, i) => connectTo(node, new Recorder(`u${i}`))),
      );
      for (const [i, { node }] of nodes.entries()) await joined(node, members[i], "#lobby");
      const event = await nodes[1].node.announce("maintenance at noon");
      assert.ok(typeof event === "object", `not sent: ${event}`);
      for (const member of members) {
        const got = await member.waitFor(
          (e) => e.text === "maintenance at noon",
          "the announcement",
        );
        assert.equal(got.msgid, event.msgid);
        assert.equal(got.time, event.time);
      }
    });
  },
});

Deno.test({
  name:
    "cluster: bad MODE, KICK, INVITE and ban entries from the bus are refused by every node alike",
  ignore,
  async fn() {
    await withNodes(async (nodes, url, cluster) => {
      const [a, b] = nodes.map(({ node }) => node);
      const ann = await connectTo(a, new Recorder("ann"));
      await joined(a, ann, "#team");
      const raw = await connect({ servers: url });
      try {
        const origin = { v: 1, node: a.node, conn: "1" };
        const bad = [
          { ...origin, id: "b1", kind: "mode", channel: "#team", changes: [] },
          {
            ...origin,
            id: "b2",
            kind: "mode",
            channel: "#team",
            changes: [{ add: true, mode: "kk" }],
          },
          {
            ...origin,
            id: "b3",
            kind: "mode",
            channel: "#team",
            time: 1,
            changes: [{ add: "yes", mode: "k" }],
          },
          {
            ...origin,
            id: "b4",
            kind: "mode",
            channel: "#team",
            time: 1,
            changes: [{ add: true, mode: "k", param: "a b" }],
          },
          {
            ...origin,
            id: "b5",
            kind: "kick",
            channel: "#team",
            victim: "ann",
            reason: "x\r\nQUIT",
          },
          { ...origin, id: "b6", kind: "invite", channel: "#team" },
          {
            ...origin,
            id: "b7",
            kind: "kline",
            mask: "*!*@*",
            reason: "x",
            by: "x",
            durationMs: -1,
            time: 1,
          },
          { ...origin, id: "b8", kind: "service", service: "ChanServ", text: "DROP #team" },
          // Well-formed but for a mask that would ban everyone (KLINE refuses it; so does the log).
          {
            ...origin,
            id: "b9",
            kind: "kline",
            mask: "*!*@*",
            reason: "x",
            by: "x",
            durationMs: 0,
            time: 1,
          },
          {
            ...origin,
            id: "b10",
            kind: "kline",
            mask: "*@spam",
            reason: "x",
            by: "x",
            durationMs: 0,
            time: 1,
          },
        ];
        for (const event of bad) {
          await raw.request(
            `shmooze.${cluster}.log`,
            new TextEncoder().encode(JSON.stringify(event)),
          );
        }
        // A good entry after them is applied by every node, which skipped the same ten.
        const plan = await a.changeModes(ann, "#team", [{ add: true, mode: "m" }]);
        assert.ok(typeof plan === "object", `refused: ${plan}`);
        await level(nodes);
        for (const { node } of nodes) {
          assert.equal(node.stats().refused, bad.length);
          assert.deepEqual(nodes.map(({ desk }) => desk.bans.list()), [[], [], []]);
          assert.equal(node.hub.channel("#team")!.modeString(true), "+mnt");
        }
        assert.equal(b.hub.channel("#team")!.key, "#team");
        // A change that could not travel is refused before it is sent (its asker is answered).
        assert.equal(
          await a.changeModes(ann, "#team", [{ add: true, mode: "k", param: "a b" }]),
          "invalid",
        );
      } finally {
        await raw.close();
      }
    });
  },
});

Deno.test({
  name:
    "cluster: users who connect to a node still reading the log are judged by the bans before their connect in it",
  ignore,
  async fn() {
    await withNodes(async (nodes, url, cluster) => {
      const a = nodes[0].node;
      const ban = (mask: string) => a.ban("console", { mask, durationMs: 0, reason: "old" });
      assert.ok(typeof await ban("*!*@kept.example") === "object");
      assert.ok(typeof await ban("*!*@lifted.example") === "object");
      assert.ok(typeof await a.unban("console", "*!*@lifted.example") === "object");
      const late = new ReplicatedHub(new ChatHub(), await JetStreamBus.open(url, { cluster }), {
        node: "late",
      });
      const bans = ServerBans.open(false);
      const desk = new ServerModeration(late.hub, {
        serverName: "late.test",
        operators: new OperatorList([]),
        bans,
      });
      late.moderate(desk);
      try {
        // Both register before the node has read the log (its ban store is still empty): their
        // connects are appended after the three ban entries.
        const eve = new Recorder("eve", { host: "kept.example" });
        const fay = new Recorder("fay", { host: "lifted.example" });
        const added = Promise.all([late.connect(eve), late.connect(fay)]);
        await late.start();
        assert.deepEqual(await added, [true, true]);
        assert.equal(await eve.until(() => eve.disconnected, "eve's disconnection"), "Banned: old");
        assert.equal(fay.disconnected, undefined, "a lifted ban does not count");
        // eve's quit, which her node appended, removes her everywhere.
        const all = [...nodes.map(({ node }) => node), late];
        await waitUntil(
          () => all.every((node) => node.hub.find("eve") === undefined),
          10_000,
          "eve to be gone from every node",
        );
        for (const node of all) assert.ok(node.hub.find("fay"), node.node);
      } finally {
        await late.close();
        desk.close();
      }
    });
  },
});
