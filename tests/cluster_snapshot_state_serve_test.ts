/**
 * Lasting state through the cluster's snapshot, with `shmooze serve --cluster` processes on a
 * real `nats-server -js` and IRC clients on real sockets: a node started after the log's first
 * entries were removed knows every account, token, ban, registration, always-on user, away
 * message and invitation made before the cut, as the others do.
 */
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { decodeSnapshot } from "../src/cluster/cluster_snapshot.ts";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import { IrcTestClient, type Received, type ServeProcess, startServe } from "./_irc.ts";
import { natsAvailable, startNats } from "./_nats.ts";
import { OPER_PASSWORD, refusedRegistration, writeOperFile } from "./_opers.ts";
import { connectDevice, registeredUser } from "./_accounts.ts";

/** The nicks in a channel, as a client sees them (prefixes dropped). */
async function names(client: IrcTestClient, channel: string): Promise<string[]> {
  const reply = await client.reply(`NAMES ${channel}`);
  const list = reply.find((m) => m.command === "353")?.params.at(-1) ?? "";
  return list.split(" ").filter(Boolean).map((nick) => nick.replace(/^[@+]/, "")).sort();
}

/** A WHOIS's away message (301), if any. */
async function awayOf(client: IrcTestClient, nick: string): Promise<string | undefined> {
  const reply = await client.reply(`WHOIS ${nick}`);
  return reply.find((m) => m.command === "301")?.params.at(-1);
}

/** A channel's creation time (329), as a client is told it. */
async function createdAt(client: IrcTestClient, channel: string): Promise<string | undefined> {
  const reply = await client.reply(`MODE ${channel}`);
  return reply.find((m) => m.command === "329")?.params[2];
}

const from = (command: string, nick: string) => (m: Received) =>
  m.command === command && m.source?.startsWith(`${nick}!`) === true;

Deno.test({
  name:
    "serve --cluster: a node started after the log's first entries were removed knows the accounts, tokens, bans, registrations, always-on users, away messages and invitations made before",
  ignore: !natsAvailable(),
  async fn(t) {
    await using nats = await startNats();
    const dir = await Deno.makeTempDir({ prefix: "shmooze-snapshot-state-" });
    const cluster = `fill${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
    const args = (node: string) => [
      ...["--cluster", nats.url, "--cluster-name", cluster, "--node-name", node],
      ...["--flood-burst", "0"],
    ];
    const servers: ServeProcess[] = [];
    const clients: IrcTestClient[] = [];
    const client = (made: IrcTestClient) => (clients.push(made), made);
    try {
      const operFile = await writeOperFile(dir, ["opr"]);
      const start = async (node: string, extra: string[] = []) => {
        const server = await startServe({ args: [...args(node), ...extra], timeoutMs: 120_000 });
        servers.push(server);
        return server;
      };
      const a = await start("a", ["--oper-file", operFile]);
      const b = await start("b");
      // s has no users: it stops last, leaving the snapshot that holds everything below.
      const s = await start("s");

      const ann = client(await registeredUser(a.port, "ann"));
      await ann.send("TOKEN GENERATE");
      const made = await ann.waitFor((m) => m.command === "TOKEN" || m.command === "FAIL");
      assert.equal(made.command, "TOKEN", made.line);
      const token = made.params[0];
      await ann.join("#reg");
      await ann.send("CS REGISTER #reg");
      await ann.waitFor((m) => m.command === "NOTICE" && /is registered to ann/.test(m.params[1]));
      await ann.join("#inv");
      await ann.send("MODE #inv +i");
      await ann.waitFor("MODE");
      const dan = client(await IrcTestClient.register(b.port, "dan"));
      await ann.send("INVITE dan #inv");
      await ann.waitFor("341");
      await dan.waitFor("INVITE");
      const bob = client(await IrcTestClient.register(b.port, "bob"));
      await bob.send("AWAY :gone fishing");
      await bob.waitFor("306");
      // zoe is always-on in #c, with no device left.
      const watcher = client(
        await IrcTestClient.register(a.port, "cat", { caps: ["away-notify"] }),
      );
      await watcher.join("#c");
      const zoe = client(await registeredUser(b.port, "zoe"));
      await zoe.join("#c");
      await zoe.send("NICKSERV SET ALWAYS-ON ON");
      await zoe.waitFor((m) => m.command === "NOTICE" && /^Always-on is on/.test(m.params[1]));
      await zoe.send("QUIT :bed");
      await watcher.waitFor(from("AWAY", "zoe"));
      const opr = client(await IrcTestClient.register(a.port, "opr"));
      await opr.send(`OPER opr ${OPER_PASSWORD}`);
      await opr.waitFor("381");
      await opr.send("KLINE eve!*@* :spammer");
      // Answered once A applied it: the ban is in the log before s stops.
      await opr.reply("PING banned");
      const created = await createdAt(ann, "#reg");
      assert.ok(created);

      // s stops (writing the snapshot at its end), and the log's entries before its last go.
      await servers.splice(servers.indexOf(s), 1)[0][Symbol.asyncDispose]();
      const bus = await JetStreamBus.open(nats.url, { cluster });
      const nc = await connect({ servers: nats.url });
      try {
        const head = await bus.head();
        assert.equal((await bus.snapshots.newest())?.seq, head, "s left a snapshot at its end");
        const manager = await jetstreamManager(nc);
        await manager.streams.purge(`SHMOOZE_${cluster}`, { seq: head });
        assert.equal(await bus.first(), head, "the log holds its last entry alone");
      } finally {
        await nc.close();
        await bus.close();
      }
      const c = await start("c");
      const viewer = client(await IrcTestClient.register(c.port, "viewer"));

      await t.step("an account registered before the cut logs in through c", async () => {
        const { client: device } = await connectDevice(c.port, "ann");
        client(device);
        assert.equal(device.nick, "ann");
      });

      await t.step("a token made before the cut logs in through c", async () => {
        const { client: device } = await connectDevice(c.port, "ann", { token });
        client(device);
        assert.equal(device.nick, "ann");
      });

      await t.step("a KLINE made before the cut refuses eve on c", async () => {
        assert.match((await refusedRegistration(c.port, "eve")).error, /spammer/);
      });

      await t.step("c knows the ChanServ registration and the channel's creation", async () => {
        await viewer.send("CS INFO #reg");
        assert.match((await viewer.waitFor("NOTICE")).params[1], /^#reg is registered to ann/);
        assert.equal(await createdAt(viewer, "#reg"), created);
      });

      await t.step(
        "always-on zoe is in #c on c, away, and a device through c brings her back",
        async () => {
          assert.ok((await names(viewer, "#c")).includes("zoe"));
          assert.match(await awayOf(viewer, "zoe") ?? "", /always-on/);
          const { client: device } = await connectDevice(c.port, "zoe");
          client(device);
          await device.waitFor((m) => m.command === "JOIN" && m.params[0] === "#c");
          await watcher.waitFor(from("AWAY", "zoe"));
          assert.equal(await awayOf(watcher, "zoe"), undefined);
        },
      );

      await t.step("bob's away message is in WHOIS through c", async () => {
        assert.equal(await awayOf(viewer, "bob"), "gone fishing");
      });

      await t.step("dan's invitation lets him into +i #inv on c as on a", async () => {
        await dan.send("JOIN #inv");
        await dan.waitFor(from("JOIN", "dan"));
        await ann.waitFor(from("JOIN", "dan"));
        // viewer's AWAY is answered once c applied it, after dan's JOIN in the log.
        await viewer.send("AWAY :reading");
        await viewer.waitFor("306");
        assert.deepEqual(await names(viewer, "#inv"), ["ann", "dan"]);
      });
    } finally {
      await Promise.all(clients.map((one) => one.close()));
      for (const server of servers) await server[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("decodeSnapshot refuses a bad registered-channel or user-state row, or an event after the rows", () => {
  const header = '{"v":1,"kind":"snapshot","seq":3,"time":1}';
  const settings = {
    flags: "nt",
    key: "",
    limit: 0,
    lists: { b: [], e: [], I: [] },
    topic: "",
    topicSetBy: "",
    topicSetAt: 0,
  };
  const registered = {
    v: 1,
    kind: "registered-channel",
    name: "#c",
    createdAt: 1,
    settings,
    registration: { founder: "ann", registeredAt: 2 },
    access: [],
  };
  const user = { v: 1, kind: "user-state", node: "a-1", conn: "1", alwaysOn: true, invites: [] };
  const event = { v: 1, id: "s", node: "a-1", conn: "1", kind: "away", text: "" };
  const bytes = (...lines: unknown[]) =>
    new TextEncoder().encode([header, ...lines.map((line) => JSON.stringify(line))].join("\n"));
  assert.equal(decodeSnapshot(bytes(event, registered, user)).users[0].alwaysOn, true);
  const refusals: [unknown[], RegExp][] = [
    [[{ ...registered, access: [{ account: "bob", mode: "q", setBy: "", setAt: 1 }] }], /mode/],
    [[{ ...registered, registration: { founder: "", registeredAt: 2 } }], /"founder" is empty/],
    [[{ ...registered, settings: { ...settings, flags: "n t" } }], /mode letters/],
    [[{ ...user, alwaysOn: "yes" }], /"alwaysOn"/],
    [[{ ...user, detachedAt: -1 }], /"detachedAt"/],
    [[{ ...user, invites: ["#a b"] }], /one word/],
    [[{ ...user, node: "" }], /names no user/],
    [[user, event], /line 3: An event follows the state rows/],
  ];
  for (const [lines, pattern] of refusals) {
    assert.throws(() => decodeSnapshot(bytes(...lines)), pattern, JSON.stringify(lines));
  }
});
