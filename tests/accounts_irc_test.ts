import assert from "node:assert/strict";
import IRC from "irc-framework";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { IrcTestClient, outsideAddress, type Received } from "./_irc.ts";
import { makeTestCertificate } from "./_tls.ts";
import { PASSWORD, registeredUser, saslLogin, withAccounts } from "./_accounts.ts";

Deno.test("REGISTER makes the nick an account and logs the client in", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await ann.send(`REGISTER * * :${PASSWORD}`);
    const success = await ann.waitFor("REGISTER");
    assert.deepEqual(success.params, ["SUCCESS", "ann", "Account created"]);
    const loggedIn = await ann.waitFor("900");
    assert.deepEqual(loggedIn.params.slice(1, 3), ["ann!ann@127.0.0.1", "ann"]);
    await ann.send(`REGISTER * * :${PASSWORD}`);
    const again = await ann.waitFor("FAIL");
    assert.deepEqual(again.params.slice(0, 2), ["REGISTER", "ALREADY_AUTHENTICATED"]);
  });
});

Deno.test("REGISTER answers FAIL for a taken account, a weak password and another name", async () => {
  await withAccounts({}, async (server) => {
    await (await registeredUser(server.port, "ann")).close();
    await using bob = await IrcTestClient.register(server.port, "bob");
    const codes = [];
    for (const line of ["REGISTER bob * :short", "REGISTER carl * :" + PASSWORD]) {
      await bob.send(line);
      codes.push((await bob.waitFor("FAIL")).params[1]);
    }
    assert.deepEqual(codes, ["WEAK_PASSWORD", "ACCOUNT_NAME_MUST_BE_NICK"]);
    await bob.send("REGISTER bob *");
    await bob.waitFor("461");
  });
});

Deno.test("A registered nick is refused (433) to anyone not logged in to it", async () => {
  await withAccounts({}, async (server) => {
    await (await registeredUser(server.port, "ann")).close();
    await using mallory = await IrcTestClient.connect(server.port);
    await mallory.send("NICK ann");
    await mallory.send("USER m 0 * :m");
    const refused = await mallory.waitFor("433");
    assert.deepEqual(refused.params.slice(0, 2), ["*", "ann"]);
    assert.match(refused.params[2], /registered to an account; log in to it with SASL/);
    await mallory.send("NICK mallory");
    await mallory.waitFor("001");
    await mallory.send("NICK Ann");
    await mallory.waitFor((m) => m.command === "433" && m.params[1] === "Ann");
    assert.equal(server.hub.find("ann"), undefined);
  });
});

Deno.test("SASL PLAIN logs in over loopback and takes the registered nick", async () => {
  await withAccounts({}, async (server) => {
    await (await registeredUser(server.port, "ann")).close();
    await using ann = await IrcTestClient.connect(server.port);
    const result = await saslLogin(ann, "ann", PASSWORD);
    assert.equal(result.command, "900");
    await ann.waitFor("903");
    await ann.send("CAP END");
    await ann.waitFor("001");
    await ann.send("AUTHENTICATE PLAIN");
    await ann.waitFor("907");
  });
});

Deno.test("AUTHENTICATE * aborts with 906 and an unknown mechanism gets 908 and 904", async () => {
  await withAccounts({}, async (server) => {
    await using client = await IrcTestClient.connect(server.port);
    await client.send("AUTHENTICATE SCRAM-SHA-256");
    const mechanisms = await client.waitFor("908");
    assert.equal(mechanisms.params[1], "PLAIN,IRCV3BEARER");
    await client.waitFor("904");
    await client.send("AUTHENTICATE PLAIN");
    await client.waitFor("AUTHENTICATE");
    await client.send("AUTHENTICATE *");
    await client.waitFor("906");
  });
});

Deno.test({
  name: "SASL PLAIN and REGISTER are refused on plain TCP from another address, accepted on TLS",
  ignore: outsideAddress() === undefined,
  fn: async () => {
    const address = outsideAddress()!;
    await using cert = await makeTestCertificate("localhost", ["127.0.0.1", address]);
    await withAccounts(
      { hostname: "0.0.0.0", tls: { cert: cert.cert, key: cert.key, port: 0 } },
      async (server) => {
        await using plainTcp = await IrcTestClient.connect(server.port, address);
        const refused = await saslLogin(plainTcp, "ann", PASSWORD);
        assert.equal(refused.command, "904");
        assert.match(refused.params[1], /clear text; connect with TLS/);
        await plainTcp.send("CAP END");
        await plainTcp.waitFor("001");
        await plainTcp.send(`REGISTER * * :${PASSWORD}`);
        const fail = await plainTcp.waitFor("FAIL");
        assert.deepEqual(fail.params.slice(0, 2), ["REGISTER", "TLS_REQUIRED"]);
        await plainTcp.close();

        await using secure = await IrcTestClient.connectTls(server.tlsPort!, cert.cert, address);
        await secure.register("ann");
        await secure.send(`REGISTER * * :${PASSWORD}`);
        await secure.waitFor("900");
        await secure.close();
        await using again = await IrcTestClient.connectTls(server.tlsPort!, cert.cert, address);
        assert.equal((await saslLogin(again, "ann", PASSWORD)).command, "900");
      },
    );
  },
});

Deno.test("Private message history is served only to the logged-in owner of the nick", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await bob.send("PRIVMSG ann :for ann only");
    await ann.waitFor("PRIVMSG");
    await bob.send("PRIVMSG carl :nobody home");
    await bob.waitFor("401");

    await ann.send("CHATHISTORY LATEST bob * 10");
    const replay = await ann.waitFor("PRIVMSG");
    assert.equal(replay.params[1], "for ann only");

    await bob.send("CHATHISTORY LATEST ann * 10");
    const refused = await bob.waitFor("FAIL");
    assert.deepEqual(refused.params.slice(0, 4), [
      "CHATHISTORY",
      "ACCOUNT_REQUIRED",
      "LATEST",
      "ann",
    ]);
    await bob.send(
      "CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2100-01-01T00:00:00.000Z 10",
    );
    await bob.send("PING done");
    const lines = [];
    for (
      let m = await bob.waitFor(() => true);
      m.command !== "PONG";
      m = await bob.waitFor(() => true)
    ) {
      lines.push(m);
    }
    assert.ok(!lines.some((m) => m.command === "CHATHISTORY" && m.params[1] === "ann"));
  });
});

Deno.test("Whoever takes a free nick later cannot read what was said to its previous holder", async () => {
  await withAccounts({}, async (server) => {
    await using bob = await IrcTestClient.register(server.port, "bob");
    const carl = await IrcTestClient.register(server.port, "carl");
    await bob.send("PRIVMSG carl :meet at noon");
    await carl.waitFor("PRIVMSG");
    await carl.send("QUIT");
    await carl.closed;
    await using impostor = await IrcTestClient.register(server.port, "carl");
    await impostor.send("CHATHISTORY LATEST bob * 10");
    const refused = await impostor.waitFor("FAIL");
    assert.equal(refused.params[1], "ACCOUNT_REQUIRED");
    assert.ok(!impostor.lines.some((m) => m.params.includes("meet at noon")));
  });
});

Deno.test("irc-framework logs in with SASL PLAIN and keeps its registered nick", async () => {
  await withAccounts({}, async (server) => {
    await (await registeredUser(server.port, "ann")).close();
    const client = new IRC.Client();
    const events: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no login: ${events.join(", ")}`)), 10_000);
      client.on(
        "loggedin",
        (event: { account: string }) => events.push(`loggedin ${event.account}`),
      );
      client.on(
        "sasl failed",
        (event: { reason: string }) => events.push(`failed ${event.reason}`),
      );
      client.on("registered", (event: { nick: string }) => {
        events.push(`registered ${event.nick}`);
        clearTimeout(timer);
        resolve();
      });
    });
    const closed = new Promise<void>((resolve) => client.on("close", () => resolve()));
    client.connect({
      host: "127.0.0.1",
      port: server.port,
      nick: "ann",
      username: "ann",
      gecos: "ann",
      account: { account: "ann", password: PASSWORD },
      auto_reconnect: false,
    });
    try {
      await done;
      assert.deepEqual(events, ["loggedin ann", "registered ann"]);
      assert.ok(client.network.cap.enabled.includes("sasl"));
    } finally {
      client.quit("done");
      await closed;
    }
  });
});

const WINDOW = "timestamp=2000-01-01T00:00:00.000Z timestamp=2100-01-01T00:00:00.000Z";

/** The texts of the messages in a CHATHISTORY answer. */
function replayed(lines: Received[]): string[] {
  return lines.filter((m) => m.command === "PRIVMSG" || m.command === "NOTICE")
    .map((m) => m.params[1]);
}

/** The targets in a CHATHISTORY TARGETS answer. */
function targetsIn(lines: Received[]): string[] {
  return lines.filter((m) => m.command === "CHATHISTORY").map((m) => m.params[1]);
}

Deno.test("Whoever takes a free nick and registers it reads none of its previous holder's private history", async () => {
  await withAccounts({}, async (server) => {
    await using bob = await registeredUser(server.port, "bob", { caps: ["batch"] });
    const carol = await IrcTestClient.register(server.port, "carol");
    await carol.send("PRIVMSG bob :carol to bob");
    await bob.waitFor((m) => m.command === "PRIVMSG" && m.params[1] === "carol to bob");
    await bob.send("PRIVMSG carol :bob to carol");
    await carol.waitFor((m) => m.command === "PRIVMSG" && m.params[1] === "bob to carol");
    await carol.send("QUIT");
    await carol.closed;

    await using eve = await registeredUser(server.port, "carol", { caps: ["batch"] });
    const stolen = await eve.reply("CHATHISTORY LATEST bob * 10");
    assert.deepEqual(stolen.map((m) => m.command), ["BATCH", "BATCH"], "an empty batch");
    assert.deepEqual(targetsIn(await eve.reply(`CHATHISTORY TARGETS ${WINDOW} 10`)), []);
    assert.ok(
      !eve.lines.some((m) => m.params.some((p) => p.endsWith("to bob") || p.endsWith("to carol"))),
    );

    // bob's side of the conversation is his account's: he still reads all of it.
    assert.deepEqual(replayed(await bob.reply("CHATHISTORY LATEST carol * 10")), [
      "carol to bob",
      "bob to carol",
    ]);
    assert.deepEqual(targetsIn(await bob.reply(`CHATHISTORY TARGETS ${WINDOW} 10`)), ["carol"]);
  });
});

Deno.test("A logged-in user reads their private history under another nick; not logged in, none", async () => {
  await withAccounts({}, async (server) => {
    const ann = await registeredUser(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await bob.send("PRIVMSG ann :hi ann");
    await ann.waitFor("PRIVMSG");
    await ann.send("NICK ann_");
    await ann.waitFor("NICK");
    await ann.send("PRIVMSG bob :hi bob, ann here");
    await bob.waitFor("PRIVMSG");
    assert.deepEqual(replayed(await ann.reply("CHATHISTORY LATEST bob * 10")), [
      "hi ann",
      "hi bob, ann here",
    ]);
    assert.deepEqual(targetsIn(await ann.reply(`CHATHISTORY TARGETS ${WINDOW} 10`)), ["bob"]);
    await ann.send("QUIT");
    await ann.closed;

    await using anon = await IrcTestClient.register(server.port, "annie");
    const refused = await anon.reply("CHATHISTORY LATEST bob * 10");
    assert.deepEqual(refused.map((m) => m.params.slice(0, 2)), [[
      "CHATHISTORY",
      "ACCOUNT_REQUIRED",
    ]]);
    assert.deepEqual(await anon.reply(`CHATHISTORY TARGETS ${WINDOW} 10`).then(targetsIn), []);

    await using back = await IrcTestClient.connect(server.port);
    assert.equal((await saslLogin(back, "ann", PASSWORD)).command, "900");
    await back.send("CAP END");
    await back.waitFor("001");
    assert.deepEqual(replayed(await back.reply("CHATHISTORY LATEST bob * 10")), [
      "hi ann",
      "hi bob, ann here",
    ]);
  });
});

Deno.test("An account deleted and registered again by someone else reads none of the old account's private history", async () => {
  await withAccounts({}, async (server, dataDir) => {
    const ann = await registeredUser(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await bob.send("PRIVMSG ann :for the first ann");
    await ann.waitFor("PRIVMSG");
    await ann.send("QUIT");
    await ann.closed;
    // The operator deletes the account by hand; its name is free to register again.
    const accounts = new DatabaseSync(join(dataDir, "accounts.sqlite"));
    try {
      accounts.exec("DELETE FROM accounts WHERE key = 'ann'");
    } finally {
      accounts.close();
    }
    await using eve = await registeredUser(server.port, "ann");
    const lines = await eve.reply("CHATHISTORY LATEST bob * 10");
    assert.deepEqual(lines.map((m) => m.params.slice(0, 2)), [["CHATHISTORY", "NO_MESSAGES"]]);
    assert.deepEqual(targetsIn(await eve.reply(`CHATHISTORY TARGETS ${WINDOW} 10`)), []);
    await bob.send("PRIVMSG ann :for the second ann");
    await eve.waitFor("PRIVMSG");
    assert.deepEqual(replayed(await eve.reply("CHATHISTORY LATEST bob * 10")), [
      "for the second ann",
    ]);
  });
});
