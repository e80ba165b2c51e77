/**
 * REDACT (`draft/message-redaction`) through a cluster's log: three real `serve --cluster`
 * processes on a real `nats-server -js` with a throwaway PostgreSQL history, IRC clients on real
 * sockets. A deletion reaches every node's users once with one msgid, is refused alike on every
 * node, and erases the message from the history every node reads — also when PostgreSQL was away.
 */
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { HistoryStore } from "../src/chat/history.ts";
import { ChatHub } from "../src/chat/hub.ts";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import { ReplicatedHub } from "../src/cluster/replicated_hub.ts";
import { Recorder } from "./_cluster.ts";
import { waitUntil } from "./_helpers.ts";
import { IrcTestClient, type Received, type ServeProcess, startServe } from "./_irc.ts";
import { natsAvailable, startNats } from "./_nats.ts";
import { postgresAvailable, startPostgres } from "./_postgres.ts";

const CAPS = [
  "message-tags",
  "echo-message",
  "server-time",
  "batch",
  "draft/chathistory",
  "draft/message-redaction",
];
// Not #lobby: nobody is its operator, and the channel's creator is here.
const isChat = (m: Received) =>
  m.command === "PRIVMSG" && m.params[0] === "#team" && m.tags.batch === undefined;

/**
 * The msgids of #team's latest 100 in a node's CHATHISTORY, a deleted one (shown to clients
 * with draft/message-redaction) as `<msgid> deleted` when its REDACT follows it; a FAIL throws.
 */
async function history(client: IrcTestClient): Promise<string[]> {
  const lines = await client.reply("CHATHISTORY LATEST #team * 100");
  const failed = lines.find((m) => m.command === "FAIL");
  if (failed) throw new Error(`${client.nick}: ${failed.line}`);
  const batch = lines.filter((m) => m.tags.batch !== undefined);
  return batch.flatMap((m, i) => {
    if (m.command !== "PRIVMSG") return [];
    const id = m.tags.msgid!;
    const next = batch[i + 1];
    const deleted = m.params[1] === "[deleted]" && next?.command === "REDACT" &&
      next.params[1] === id;
    return [deleted ? `${id} deleted` : id];
  });
}

/** Reads a node's history until it is `want` (the archiver writes behind the chat), bounded. */
async function historyBecomes(client: IrcTestClient, want: string[], timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let got: string[] = [];
  for (;;) {
    try {
      got = await history(client);
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (got.join() === want.join() || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.deepEqual(got, want, `${client.nick}'s history`);
}

/** Sends a message to #team and returns its msgid once every client has it. */
async function say(from: IrcTestClient, everyone: IrcTestClient[], text: string) {
  await from.send(`PRIVMSG #team :${text}`);
  const seen = await Promise.all(
    everyone.map((c) => c.waitFor((m) => isChat(m) && m.params[1] === text)),
  );
  return seen[0].tags.msgid!;
}

Deno.test({
  name:
    "serve --cluster: a REDACT reaches every node's users once with one msgid, is refused alike on every node, and erases its text from PostgreSQL history, also when it was away",
  ignore: !natsAvailable() || !postgresAvailable(),
  async fn(t) {
    await using nats = await startNats();
    await using pg = await startPostgres();
    const cluster = `red${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
    const servers: ServeProcess[] = [];
    const clients: IrcTestClient[] = [];
    try {
      for (const node of ["a", "b", "c"]) {
        servers.push(
          await startServe({
            args: [
              "--cluster",
              nats.url,
              "--cluster-name",
              cluster,
              "--node-name",
              node,
              "--history",
              pg.url,
            ],
            timeoutMs: 120_000,
          }),
        );
      }
      for (const [i, nick] of ["ann", "bob", "cat"].entries()) {
        clients.push(await IrcTestClient.register(servers[i].port, nick, { caps: CAPS }));
      }
      const [ann, bob, cat] = clients;
      // ann is the channel's operator (it made it); bob and cat are not.
      for (const client of clients) await client.join("#team");
      await ann.waitFor((m) => m.command === "JOIN" && m.source?.startsWith("cat!") === true);
      await bob.waitFor((m) => m.command === "JOIN" && m.source?.startsWith("cat!") === true);

      const kept = await say(ann, clients, "kept");
      const secret = await say(ann, clients, "secret");
      const mine = await say(ann, clients, "mine");
      await historyBecomes(cat, [kept, secret, mine]);
      const erased = `${secret} deleted`;

      await t.step("a REDACT through A reaches A, B and C once, with one msgid", async () => {
        await ann.send(`REDACT #team ${secret} :oops`);
        const isRedact = (m: Received) => m.command === "REDACT" && m.params[1] === secret;
        const got = await Promise.all(clients.map((c) => c.waitFor(isRedact)));
        // A PING round trip after it: no second REDACT line can still be on its way.
        for (const client of clients) await client.reply("PING after");
        for (const client of clients) {
          assert.equal(client.lines.filter(isRedact).length, 1, `${client.nick}: REDACT lines`);
        }
        assert.equal(new Set(got.map((m) => m.tags.msgid)).size, 1, "one msgid");
        assert.deepEqual(got.map((m) => m.params), Array(3).fill(["#team", secret, "oops"]));
        assert.ok(got.every((m) => m.source?.startsWith("ann!")));
      });

      await t.step(
        "CHATHISTORY through every node shows it deleted (its placeholder and REDACT), as one server does",
        async () => {
          for (const client of clients) await historyBecomes(client, [kept, erased, mine]);
        },
      );

      await t.step("a REDACT by someone not allowed is refused alike through B and C", async () => {
        for (const client of [bob, cat]) {
          const lines = await client.reply(`REDACT #team ${mine} :not yours`);
          const failed = lines.find((m) => m.command === "FAIL");
          assert.deepEqual(failed?.params.slice(0, 4), [
            "REDACT",
            "REDACT_FORBIDDEN",
            "#team",
            mine,
          ]);
        }
        // Deleting it already once: a second REDACT of the secret is unknown on every node.
        const again = (await bob.reply(`REDACT #team ${secret}`)).find((m) => m.command === "FAIL");
        assert.equal(again?.params[1], "UNKNOWN_MSGID");
        for (const client of clients) await client.reply("PING end");
        for (const client of clients) {
          assert.deepEqual(
            client.lines.filter((m) => m.command === "REDACT" && m.params[1] === mine),
            [],
            `${client.nick} was told of a refused deletion`,
          );
        }
        for (const client of clients) await historyBecomes(client, [kept, erased, mine]);
      });

      let late = "";
      await t.step("a REDACT while PostgreSQL is away is applied when it returns", async () => {
        await pg.stop();
        late = await say(cat, clients, "said while away");
        await cat.send(`REDACT #team ${late}`);
        await Promise.all(
          clients.map((c) => c.waitFor((m) => m.command === "REDACT" && m.params[1] === late)),
        );
        await pg.restart();
        const after = [kept, erased, mine, `${late} deleted`];
        for (const client of clients) await historyBecomes(client, after);
      });

      await t.step(
        "a node started later archives the whole log again: the deleted messages stay deleted; it refuses to delete what it does not hold, and so does every node",
        async () => {
          servers.push(
            await startServe({
              args: [
                "--cluster",
                nats.url,
                "--cluster-name",
                cluster,
                "--node-name",
                "d",
                "--history",
                pg.url,
              ],
              timeoutMs: 120_000,
            }),
          );
          const dan = await IrcTestClient.register(servers[3].port, "dan", { caps: CAPS });
          clients.push(dan);
          await dan.join("#team");
          // Its archiver has written the log's messages once this one is in its history.
          const last = await say(dan, clients, "dan is here");
          const all = [kept, erased, mine, `${late} deleted`, last];
          await historyBecomes(dan, all);
          await historyBecomes(ann, all);
          // dan, a channel operator now, may delete anyone's message, but D started after
          // "kept" was sent and does not hold it: refused there, as alone, and no node deletes it.
          await ann.send("MODE #team +o dan");
          await dan.waitFor((m) => m.command === "MODE" && m.params.at(-1) === "dan");
          const refused = (await dan.reply(`REDACT #team ${kept}`)).find((m) =>
            m.command === "FAIL"
          );
          assert.deepEqual(refused?.params.slice(0, 2), ["REDACT", "UNKNOWN_MSGID"]);
          for (const client of clients) await client.reply("PING done");
          for (const client of clients) {
            assert.deepEqual(
              client.lines.filter((m) => m.command === "REDACT" && m.params[1] === kept),
              [],
              `${client.nick} was told of a deletion its asker was refused`,
            );
          }
          await historyBecomes(ann, all);
        },
      );
    } finally {
      for (const client of clients) await client.close();
      for (const server of servers) await server[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name:
    "cluster: a redact entry from the bus that its user may not make, or that is malformed, is refused by every node alike and deletes nothing",
  ignore: !natsAvailable(),
  async fn() {
    await using nats = await startNats();
    const cluster = `rb${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
    const nodes: ReplicatedHub[] = [];
    const dirs: string[] = [];
    const raw = await connect({ servers: nats.url });
    try {
      for (let i = 0; i < 3; i++) {
        const dir = await Deno.makeTempDir({ prefix: "shmooze-redact-" });
        dirs.push(dir);
        const hub = new ChatHub({ history: HistoryStore.open(dir) });
        const node = new ReplicatedHub(hub, await JetStreamBus.open(nats.url, { cluster }), {
          node: `n${i}`,
        });
        nodes.push(node);
        await node.start();
      }
      const [a, b, c] = nodes;
      const ann = new Recorder("ann");
      const bob = new Recorder("bob");
      const cat = new Recorder("cat");
      for (const [node, user] of [[a, ann], [b, bob], [c, cat]] as const) {
        assert.equal(await node.connect(user), true);
        assert.ok(typeof (await node.join(user, "#team", "")) === "object");
      }
      const sent = await a.send(ann, "privmsg", "#team", "ann's words");
      assert.ok(typeof sent === "object", `refused: ${sent}`);
      const msgid = sent.msgid;
      await cat.waitFor((e) => e.kind === "privmsg" && e.msgid === msgid);
      // bob's first connection on b is "1": a forged entry in his name, and malformed ones.
      const origin = { v: 1, node: b.node, conn: "1", kind: "redact", target: "#team", time: 1 };
      const bad = [
        { ...origin, id: "r1", msgid, reason: "" },
        { ...origin, id: "r2", msgid: "a b", reason: "" },
        { ...origin, id: "r3", msgid, reason: "x\r\nQUIT" },
        { ...origin, id: "r4", msgid, target: "", reason: "" },
        { ...origin, id: "r5", msgid, reason: "", time: -1 },
      ];
      for (const event of bad) {
        await raw.request(
          `shmooze.${cluster}.log`,
          new TextEncoder().encode(JSON.stringify(event)),
        );
      }
      // A good entry after them: every node has applied the bad ones when it is answered.
      assert.equal(await b.redact(bob, "#team", msgid, "not yours"), "forbidden");
      const target = Math.max(...nodes.map((node) => node.applied));
      await waitUntil(
        () => nodes.every((node) => node.applied >= target),
        10_000,
        "every node applied them",
      );
      for (const node of nodes) {
        assert.equal(node.stats().refused, bad.length - 1, "the malformed ones");
        assert.equal(node.hub.history!.locate(msgid)?.redacted, false);
      }
      for (const user of [ann, bob, cat]) {
        assert.deepEqual(user.events.filter((e) => e.kind === "redact"), []);
      }
      // ann may: deleted on every node, and every user told once with one msgid.
      const done = await a.redact(ann, "#team", msgid, "");
      assert.ok(typeof done === "object", `refused: ${done}`);
      for (const user of [ann, bob, cat]) {
        const told = await user.waitFor((e) => e.kind === "redact");
        assert.equal(told.msgid, done.msgid);
      }
      for (const node of nodes) assert.equal(node.hub.history!.locate(msgid)?.redacted, true);
    } finally {
      await raw.close();
      await Promise.all(nodes.map((node) => node.close()));
      for (const node of nodes) node.hub.history?.close();
      for (const dir of dirs) await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "serve --cluster without --history: a REDACT through A erases the message from CHATHISTORY on B too (each node's SQLite)",
  ignore: !natsAvailable(),
  async fn() {
    await using nats = await startNats();
    const cluster = `rs${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
    const servers: ServeProcess[] = [];
    const clients: IrcTestClient[] = [];
    try {
      for (const node of ["a", "b"]) {
        servers.push(
          await startServe({
            args: ["--cluster", nats.url, "--cluster-name", cluster, "--node-name", node],
            timeoutMs: 120_000,
          }),
        );
      }
      for (const [i, nick] of ["ann", "bob"].entries()) {
        clients.push(await IrcTestClient.register(servers[i].port, nick, { caps: CAPS }));
      }
      // cy has no draft/message-redaction: deleted messages are not in its history at all.
      clients.push(
        await IrcTestClient.register(servers[1].port, "cy", {
          caps: CAPS.filter((cap) => cap !== "draft/message-redaction"),
        }),
      );
      const [ann, bob, cy] = clients;
      for (const client of clients) await client.join("#team");
      await ann.waitFor((m) => m.command === "JOIN" && m.source?.startsWith("cy!") === true);
      const kept = await say(ann, clients, "kept");
      const secret = await say(ann, clients, "secret");
      await historyBecomes(bob, [kept, secret]);
      await ann.send(`REDACT #team ${secret}`);
      await bob.waitFor((m) => m.command === "REDACT" && m.params[1] === secret);
      for (const client of [ann, bob]) {
        await historyBecomes(client, [kept, `${secret} deleted`], 5000);
      }
      await historyBecomes(cy, [kept], 5000);
    } finally {
      for (const client of clients) await client.close();
      for (const server of servers) await server[Symbol.asyncDispose]();
    }
  },
});
