/**
 * The smaller gaps of the replicated server state through two `shmooze serve --cluster`
 * processes on a real `nats-server -js`, with IRC clients on real sockets: WALLOPS through one
 * node reaches the other's operators, a KLINE on the nick of the other node's user bans the
 * address that node knows (not the host CHGHOST gave it), and a new channel is as old on both.
 */
import assert from "node:assert/strict";
import { IrcTestClient, type Received, type ServeProcess, startServe } from "./_irc.ts";
import { natsAvailable, startNats } from "./_nats.ts";
import { PASSWORD } from "./_accounts.ts";
import { closedWithin, operUser, refusedRegistration, writeOperFile } from "./_opers.ts";

Deno.test({
  name:
    "serve --cluster: WALLOPS reaches the other node's operators, a KLINE on its user's nick bans its address, a channel is as old on both",
  ignore: !natsAvailable(),
  async fn(t) {
    await using nats = await startNats();
    const dir = await Deno.makeTempDir({ prefix: "shmooze-gaps-serve-" });
    const cluster = `gaps${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
    const servers: ServeProcess[] = [];
    const clients: IrcTestClient[] = [];
    try {
      const operFile = await writeOperFile(dir, ["ann", "olga"]);
      for (const node of ["a", "b"]) {
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
      const [a, b] = servers;
      const ann = await operUser(a.port, "ann");
      const olga = await operUser(b.port, "olga");
      const bob = await IrcTestClient.register(b.port, "bob");
      clients.push(ann, olga, bob);

      await t.step("WALLOPS through A reaches olga, an operator on B", async () => {
        await ann.send("WALLOPS :maintenance at noon");
        const line = await olga.waitFor("WALLOPS");
        assert.match(line.line, /:ann!ann@127\.0\.0\.1 WALLOPS :maintenance at noon$/);
        const echo = await ann.waitFor("WALLOPS");
        assert.equal(echo.params[0], "maintenance at noon");
      });

      await t.step("a new channel has one creation time (329) on both nodes", async () => {
        await ann.join("#fresh");
        await olga.join("#fresh");
        const created = async (client: IrcTestClient) =>
          (await client.reply("MODE #fresh")).find((m: Received) => m.command === "329")
            ?.params[2];
        const [onA, onB] = [await created(ann), await created(olga)];
        assert.ok(onA !== undefined);
        assert.equal(onB, onA);
      });

      await t.step(
        "a user of B who logs in to an account KLINEd through A quits with one msgid",
        async () => {
          await ann.send("KLINE ~a:spammer :spam account");
          await olga.waitFor((m) => m.command === "NOTICE" && /KLINE ~a:spammer/.test(m.params[1]));
          const watchers = [
            await IrcTestClient.register(a.port, "wa", { caps: ["message-tags"] }),
            await IrcTestClient.register(b.port, "wb", { caps: ["message-tags"] }),
          ];
          clients.push(...watchers);
          const spammer = await IrcTestClient.register(b.port, "spammer");
          clients.push(spammer);
          for (const client of [...watchers, spammer]) await client.join("#lobby");
          await watchers[0].waitFor((m) =>
            m.command === "JOIN" && m.source?.startsWith("spammer!") === true
          );
          await spammer.send(`REGISTER * * :${PASSWORD}`);
          await closedWithin(spammer);
          const quits = await Promise.all(
            watchers.map((client) =>
              client.waitFor((m) =>
                m.command === "QUIT" && m.source?.startsWith("spammer!") === true
              )
            ),
          );
          assert.equal(quits[0].params[0], "Banned: spam account");
          assert.ok(quits[0].tags.msgid);
          assert.equal(quits[1].tags.msgid, quits[0].tags.msgid, "one QUIT, one msgid");
        },
      );

      await t.step(
        "KLINE bob through A bans bob's address on B, not its CHGHOST host",
        async () => {
          await ann.send("CHGHOST bob bob cloak.example");
          await bob.waitFor((m) => m.command === "NOTICE" && /cloak\.example/.test(m.params[1]));
          await ann.send("KLINE bob :flood");
          await closedWithin(bob);
          // Each node tells its operators what it stored.
          for (const client of [ann, olga]) {
            const audit = await client.waitFor((m) =>
              m.command === "NOTICE" && /KLINE \S+ \(permanent\) by ann: flood/.test(m.params[1])
            );
            assert.match(audit.params[1], /KLINE \*!\*@127\.0\.0\.1 \(permanent\)/);
          }
          // The address is banned: anyone from it is refused, on B as on A.
          assert.match((await refusedRegistration(b.port, "cat")).error, /flood/);
        },
      );
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      for (const server of servers) await server[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
