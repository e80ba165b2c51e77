/**
 * Channel and server state through three `shmooze serve --cluster` processes on a real
 * `nats-server -js`, with IRC clients on real sockets and the operator console on a node's
 * standard input: what an operator does through one node holds on the others.
 */
import assert from "node:assert/strict";
import { IrcTestClient, type Received, type ServeProcess, startServe } from "./_irc.ts";
import { natsAvailable, startNats } from "./_nats.ts";
import { closedWithin, OPER_PASSWORD, refusedRegistration, writeOperFile } from "./_opers.ts";
import { connectDevice, registeredUser } from "./_accounts.ts";

Deno.test({
  name:
    "serve --cluster: a key, an invite, a kick, a KLINE and the console's /kick and announcement made through one node hold on the others",
  ignore: !natsAvailable(),
  async fn(t) {
    await using nats = await startNats();
    const dir = await Deno.makeTempDir({ prefix: "shmooze-state-serve-" });
    const cluster = `state${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
    const servers: ServeProcess[] = [];
    const clients: IrcTestClient[] = [];
    try {
      const operFile = await writeOperFile(dir, ["ann"]);
      for (const node of ["a", "b", "c"]) {
        servers.push(
          await startServe({
            args: [
              ...["--cluster", nats.url, "--cluster-name", cluster, "--node-name", node],
              ...["--flood-burst", "0", "--oper-file", operFile],
            ],
            timeoutMs: 120_000,
          }),
        );
      }
      const [a, b, c] = servers;
      const register = async (server: ServeProcess, nick: string) => {
        const client = await IrcTestClient.register(server.port, nick, {
          caps: ["invite-notify", "message-tags"],
        });
        clients.push(client);
        return client;
      };
      const ann = await register(a, "ann");
      const bob = await register(b, "bob");
      const cat = await register(c, "cat");
      const dan = await register(c, "dan");
      for (const client of clients) await client.join("#lobby");
      await ann.join("#team");
      await bob.join("#team");
      const joinOf = (nick: string) => (m: Received) =>
        m.command === "JOIN" && m.source?.startsWith(`${nick}!`) === true;

      await t.step("+k set through A refuses a keyless JOIN through C", async () => {
        await ann.send("MODE #team +k sesame");
        const onA = await ann.waitFor("MODE");
        const onB = await bob.waitFor("MODE");
        assert.equal(onB.line, onA.line, "the same line, msgid and time included");
        assert.ok(onA.tags.msgid);
        assert.match(onB.line, /:ann!ann@127\.0\.0\.1 MODE #team \+k sesame$/);
        await cat.send("JOIN #team");
        assert.equal((await cat.waitFor("475")).params[1], "#team");
        await cat.send("JOIN #team sesame");
        await cat.waitFor(joinOf("cat"));
        await ann.waitFor(joinOf("cat"));
        // The mode query is read on C, and says what A set.
        const modes = await cat.reply("MODE #team");
        assert.deepEqual(modes.find((m) => m.command === "324")?.params.slice(2), [
          "+ntk",
          "sesame",
        ]);
      });

      await t.step("an INVITE through A lets dan on C join +i through C", async () => {
        await ann.send("MODE #team +i");
        await cat.waitFor((m) => m.command === "MODE" && m.params[1] === "+i");
        await dan.send("JOIN #team");
        await dan.waitFor("473");
        await ann.send("INVITE dan #team");
        assert.deepEqual((await ann.waitFor("341")).params.slice(1), ["dan", "#team"]);
        const invite = await dan.waitFor("INVITE");
        assert.match(invite.line, /:ann!ann@127\.0\.0\.1 INVITE dan #team$/);
        await dan.send("JOIN #team");
        await dan.waitFor(joinOf("dan"));
        await bob.waitFor(joinOf("dan"));
      });

      await t.step("a KICK through A takes cat on C out everywhere", async () => {
        await ann.send("KICK #team cat :off topic");
        for (const client of [ann, bob, cat, dan]) {
          const kick = await client.waitFor("KICK");
          assert.match(kick.line, /:ann!ann@127\.0\.0\.1 KICK #team cat :off topic$/);
        }
        const names = await dan.reply("NAMES #team");
        const list = names.find((m) => m.command === "353")?.params.at(-1)?.split(" ").sort();
        assert.deepEqual(list, ["@ann", "bob", "dan"]);
        // bob is no operator: refused on every node, so nothing is shown.
        await bob.send("KICK #team dan");
        assert.equal((await bob.waitFor("482")).params[1], "#team");
      });

      await t.step("a KLINE through A disconnects cat on C and refuses it on C", async () => {
        await ann.send(`OPER ann ${OPER_PASSWORD}`);
        await ann.waitFor("381");
        await ann.send("KLINE cat!*@* :spam");
        await closedWithin(cat);
        const quit = await dan.waitFor((m) =>
          m.command === "QUIT" && m.source?.startsWith("cat!") === true
        );
        assert.equal(quit.params[0], "Banned: spam");
        const refused = await refusedRegistration(c.port, "cat");
        assert.match(refused.error, /spam/);
        // UNKLINE is answered once A applied it, so the next command comes after it in the log.
        await ann.send("UNKLINE cat!*@*");
        await ann.reply("PING lifted");
        const back = await IrcTestClient.register(a.port, "cat");
        clients.push(back);
      });

      await t.step(
        "the console of B kicks dan on C, and C's console speaks in A's #lobby",
        async () => {
          await b.child.writeLine("/kick dan flooding");
          await closedWithin(dan);
          const quit = await bob.waitFor((m) =>
            m.command === "QUIT" && m.source?.startsWith("dan!") === true
          );
          assert.equal(quit.params[0], "Kicked by operator: flooding");
          await c.child.writeLine("maintenance at noon");
          const said = await ann.waitFor((m) =>
            m.command === "PRIVMSG" && m.params[0] === "#lobby"
          );
          assert.equal(said.params[1], "maintenance at noon");
        },
      );
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      for (const server of servers) await server[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "serve --cluster: a node restarted on its data directory agrees with the others on a registered channel",
  ignore: !natsAvailable(),
  async fn() {
    await using nats = await startNats();
    const cluster = `restart${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
    const dirC = await Deno.makeTempDir({ prefix: "shmooze-state-restart-" });
    const args = (node: string) => [
      ...["--cluster", nats.url, "--cluster-name", cluster, "--node-name", node],
      ...["--flood-burst", "0"],
    ];
    const clients: IrcTestClient[] = [];
    let c: ServeProcess | undefined;
    try {
      await using a = await startServe({ args: args("a"), timeoutMs: 120_000 });
      c = await startServe({ args: args("c"), dataDir: dirC, timeoutMs: 120_000 });
      // ann's account exists on A; logged in at registration, every node knows it.
      (await registeredUser(a.port, "ann")).close();
      const { client: ann } = await connectDevice(a.port, "ann");
      clients.push(ann);
      await ann.join("#team");
      // dan joins before the key is set: every node let him in.
      const dan = await IrcTestClient.register(a.port, "dan");
      clients.push(dan);
      await dan.join("#team");
      await ann.send("MODE #team +k sesame");
      await ann.waitFor("MODE");
      await ann.send("CS REGISTER #team");
      await ann.waitFor((m) => m.command === "NOTICE" && /is registered to ann/.test(m.params[1]));
      const bob = await IrcTestClient.register(c.port, "bob");
      clients.push(bob);
      await bob.send("CS INFO #team");
      assert.match((await bob.waitFor("NOTICE")).params[1], /^#team is registered to ann/);

      // C stops and starts again on the same data directory: it reads the log from the start.
      await c[Symbol.asyncDispose]();
      await bob.closed;
      c = await startServe({ args: args("c"), dataDir: dirC, timeoutMs: 120_000 });
      const cat = await IrcTestClient.register(c.port, "cat");
      clients.push(cat);
      await cat.send("JOIN #team sesame");
      await cat.waitFor((m) => m.command === "JOIN" && m.source?.startsWith("cat!") === true);
      const names = await cat.reply("NAMES #team");
      const list = names.find((m) => m.command === "353")?.params.at(-1)?.split(" ").sort();
      assert.deepEqual(list, ["@ann", "cat", "dan"], "the JOINs are applied on C as on A");
      await cat.send("CS INFO #team");
      assert.match((await cat.waitFor("NOTICE")).params[1], /^#team is registered to ann/);
      await ann.waitFor((m) => m.command === "JOIN" && m.source?.startsWith("cat!") === true);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await c?.[Symbol.asyncDispose]();
      await Deno.remove(dirC, { recursive: true });
    }
  },
});
