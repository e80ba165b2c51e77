/**
 * Accounts and user state across `shmooze serve --cluster` processes, each with its own data
 * directory (its own SQLite account store), on a real `nats-server -js`, with IRC clients on
 * real sockets: an account registered through node A logs in through node C, a session token
 * made through C works through A until it is revoked, AWAY, SETNAME and the login are seen
 * on the other node, and a second device of an account through the other node joins its user.
 */
import assert from "node:assert/strict";
import { AccountStore } from "../src/chat/accounts.ts";
import { connectDevice, PASSWORD, plain, registeredUser } from "./_accounts.ts";
import { IrcTestClient, type ServeProcess, startServe } from "./_irc.ts";
import { natsAvailable, startNats } from "./_nats.ts";

const CAPS = [
  "account-notify",
  "away-notify",
  "setname",
  "message-tags",
  "echo-message",
  "draft/read-marker",
];

Deno.test({
  name:
    "serve --cluster: an account registered through A logs in through C, and its token through either",
  ignore: !natsAvailable(),
  async fn(t) {
    await using nats = await startNats();
    const cluster = `acc${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
    const servers: ServeProcess[] = [];
    const clients: IrcTestClient[] = [];
    try {
      for (const node of ["a", "c"]) {
        servers.push(
          await startServe({
            args: ["--cluster", nats.url, "--cluster-name", cluster, "--node-name", node],
            timeoutMs: 120_000,
          }),
        );
      }
      const [a, c] = servers.map((server) => server.port);
      const cat = await IrcTestClient.register(c, "cat", { caps: CAPS });
      clients.push(cat);
      await cat.join("#lobby");
      const ann = await registeredUser(a, "ann", { caps: CAPS });
      clients.push(ann);
      await ann.join("#lobby");
      await cat.waitFor((m) => m.command === "JOIN" && m.source?.startsWith("ann!") === true);

      await t.step("AWAY and SETNAME through A are seen through C", async () => {
        await ann.send("AWAY :at lunch");
        await ann.waitFor("306");
        const away = await cat.waitFor((m) => m.command === "AWAY");
        assert.match(away.line, / :ann!ann@127\.0\.0\.1 AWAY :at lunch$/);
        const whois = await cat.reply("WHOIS ann");
        assert.deepEqual(whois.find((m) => m.command === "301")?.params.slice(1), [
          "ann",
          "at lunch",
        ]);
        assert.equal(whois.find((m) => m.command === "330")?.params[2], "ann");
        await ann.send("SETNAME :Ann Smith");
        const named = await cat.waitFor((m) => m.command === "SETNAME");
        assert.equal(named.params[0], "Ann Smith");
        await ann.send("AWAY");
        await ann.waitFor("305");
        await cat.waitFor((m) => m.command === "AWAY" && m.params.length === 0);
      });

      await t.step("a second device of ann through C joins her presence", async () => {
        const second = await IrcTestClient.connect(c);
        clients.push(second);
        await second.send("CAP LS 302\r\nNICK ann2\r\nUSER ann 0 * :ann\r\nCAP REQ :sasl");
        await second.waitFor((m) => m.command === "CAP" && m.params[1] === "ACK");
        await second.send(`AUTHENTICATE PLAIN`);
        await second.waitFor("AUTHENTICATE");
        await second.send(`AUTHENTICATE ${plain("ann", PASSWORD)}`);
        await second.waitFor("903");
        await second.send("CAP END");
        // Welcomed as ann (told of the nick it did not ask for), in her channels.
        assert.equal((await second.waitFor("001")).params[0], "ann");
        await second.waitFor((m) => m.command === "JOIN" && m.params[0] === "#lobby");
        // Its leaving is not ann's: her device on A is still there.
        await second.send("QUIT :just looking");
        await second.closed;
        const whois = await cat.reply("WHOIS ann");
        assert.ok(whois.some((m) => m.command === "311"), "ann is still there");
      });

      await t.step("ann's password works through C once she left A", async () => {
        await ann.send("QUIT :moving");
        await cat.waitFor((m) => m.command === "QUIT" && m.source?.startsWith("ann!") === true);
        const wrong = await IrcTestClient.connect(c);
        clients.push(wrong);
        await wrong.send("CAP LS 302\r\nNICK ann\r\nUSER ann 0 * :ann\r\nCAP REQ :sasl");
        await wrong.waitFor((m) => m.command === "CAP" && m.params[1] === "ACK");
        await wrong.send("AUTHENTICATE PLAIN");
        await wrong.waitFor("AUTHENTICATE");
        await wrong.send(`AUTHENTICATE ${plain("ann", "not the password")}`);
        await wrong.waitFor("904");
        // Logged in (903) and registered as ann; cat on the same node sees her account.
        const { client } = await connectDevice(c, "ann", { caps: CAPS });
        clients.push(client);
        assert.equal(client.nick, "ann");
        const whois = await cat.reply("WHOIS ann");
        assert.equal(whois.find((m) => m.command === "330")?.params[2], "ann");
        await client.join("#lobby");
        // Always-on goes through the log, both ways of asking (on, then off again: the
        // steps below need ann to quit).
        await client.send("NICKSERV SET ALWAYS-ON ON");
        const on = await client.waitFor((m) => m.command === "NOTICE");
        assert.match(on.params[1], /^Always-on is on for ann/);
        await client.send("PRIVMSG NickServ :SET ALWAYS-ON OFF");
        const off = await client.waitFor((m) => m.command === "NOTICE");
        assert.match(off.params[1], /^Always-on is off for ann/);
      });

      await t.step("a token made through C logs in through A until revoked through A", async () => {
        const onC = clients.at(-1)!;
        const marker = "timestamp=2026-01-02T03:04:05.678Z";
        await onC.send(`MARKREAD #lobby ${marker}`);
        await onC.waitFor((m) => m.command === "MARKREAD" && m.params[1] === marker);
        await onC.send("TOKEN GENERATE");
        const made = await onC.waitFor((m) => m.command === "TOKEN" || m.command === "FAIL");
        assert.equal(made.command, "TOKEN", made.line);
        const token = made.params[0];
        await onC.send("QUIT :switching");
        await cat.waitFor((m) => m.command === "QUIT" && m.source?.startsWith("ann!") === true);
        const { client: onA } = await connectDevice(a, "ann", { token, caps: CAPS });
        clients.push(onA);
        assert.equal(onA.nick, "ann");
        // The read marker set through C is ann's through A too (sent after the JOIN).
        await onA.send("JOIN #lobby");
        const read = await onA.waitFor((m) => m.command === "MARKREAD");
        assert.deepEqual(read.params, ["#lobby", marker]);
        await onA.waitFor("366");
        const revoked = await onA.reply(`TOKEN REVOKE ${token}`);
        assert.equal(revoked.find((m) => m.command === "TOKEN")?.params[0], "REVOKED");
        const late = await IrcTestClient.connect(c);
        clients.push(late);
        await late.send("CAP LS 302\r\nNICK ann\r\nUSER ann 0 * :ann\r\nCAP REQ :sasl");
        await late.waitFor((m) => m.command === "CAP" && m.params[1] === "ACK");
        await late.send("AUTHENTICATE IRCV3BEARER");
        await late.waitFor("AUTHENTICATE");
        await late.send(`AUTHENTICATE ${btoa(`\0shmooze\0${token}`)}`);
        const refused = await late.waitFor("904");
        assert.match(refused.params.at(-1)!, /invalid or expired session token/);
      });

      await t.step("cat registers through C: A's users see the login", async () => {
        const onA = clients.at(-2)!;
        await cat.send(`REGISTER * * :${PASSWORD}`);
        await cat.waitFor((m) => m.command === "REGISTER" && m.params[0] === "SUCCESS");
        const login = await onA.waitFor((m) => m.command === "ACCOUNT");
        assert.match(login.line, /:cat!cat@127\.0\.0\.1 ACCOUNT cat$/);
        // Once cat has left, the nick stays cat's account's on node A too.
        await cat.send("QUIT :bye");
        await onA.waitFor((m) => m.command === "QUIT" && m.source?.startsWith("cat!") === true);
        const guest = await IrcTestClient.register(a, "guest", {});
        clients.push(guest);
        await guest.send("NICK cat");
        const taken = await guest.waitFor("433");
        assert.match(taken.params.at(-1)!, /registered to an account/);
      });

      await t.step("a node does not bring back an always-on account it had stored", async () => {
        // zoe was always-on in #lobby on this server before it became node b.
        const dataDir = await Deno.makeTempDir({ prefix: "shmooze-cluster-always-on-test-" });
        const store = AccountStore.open(dataDir);
        await store.register("zoe", PASSWORD, "127.0.0.1");
        store.alwaysOn.enable("zoe", ["#lobby"]);
        store.close();
        const b = await startServe({
          dataDir,
          args: ["--cluster", nats.url, "--cluster-name", cluster, "--node-name", "b"],
          timeoutMs: 120_000,
        });
        try {
          const guest = await IrcTestClient.register(b.port, "viewer", {});
          clients.push(guest);
          const names = await guest.reply("NAMES #lobby");
          const list = names.find((m) => m.command === "353")?.params.at(-1)?.split(" ") ?? [];
          assert.ok(!list.includes("zoe"), `zoe is not brought back: ${list.join(" ")}`);
          // zoe logs in through node b as an ordinary user.
          const { client: zoe } = await connectDevice(b.port, "zoe");
          clients.push(zoe);
          assert.equal(zoe.nick, "zoe");
          // Registered through the log, not brought back on node b alone: node a knows her.
          const watcher = await IrcTestClient.register(a, "watcher", {});
          clients.push(watcher);
          const whois = await watcher.reply("WHOIS zoe");
          assert.ok(whois.some((m) => m.command === "311"), whois.map((m) => m.line).join("\n"));
        } finally {
          await b[Symbol.asyncDispose]();
          await Deno.remove(dataDir, { recursive: true });
        }
      });
    } finally {
      for (const client of clients) await client.close();
      for (const server of servers) await server[Symbol.asyncDispose]();
    }
  },
});
