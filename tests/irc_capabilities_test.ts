/**
 * The IRCv3 capabilities clients expect, against a real server: CAP LS 302 with values and
 * cap-notify, away-notify, account-notify, extended-join, account-tag; each shown only to
 * the clients that enabled it.
 */
import assert from "node:assert/strict";
import IRC from "irc-framework";
import { IrcTestClient, withServer } from "./_irc.ts";
import { PASSWORD, plain, registeredUser, withAccounts } from "./_accounts.ts";

Deno.test("CAP LS 302 shows values and enables cap-notify; CAP LS without a version shows neither", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.connect(server.port);
    await ann.send("CAP LS");
    const plainLs = (await ann.waitFor("CAP")).params.at(-1)!.split(" ");
    assert.ok(plainLs.includes("sasl") && !plainLs.includes("sasl=PLAIN"));
    await ann.send("CAP LS 302");
    const ls = (await ann.waitFor("CAP")).params.at(-1)!.split(" ");
    for (
      const cap of [
        "sasl=PLAIN,IRCV3BEARER",
        "draft/read-marker",
        "shmooze.example/session-token",
        "labeled-response",
        "away-notify",
        "account-notify",
        "account-tag",
        "extended-join",
        "multi-prefix",
        "userhost-in-names",
        "setname",
        "cap-notify",
        "standard-replies",
      ]
    ) {
      assert.ok(ls.includes(cap), `CAP LS lacks ${cap}`);
    }
    await ann.send("CAP LIST");
    assert.equal((await ann.waitFor("CAP")).params.at(-1), "cap-notify");
    await ann.send("CAP REQ :standard-replies -cap-notify");
    assert.equal((await ann.waitFor("CAP")).params[1], "ACK");
  });
});

Deno.test("away-notify tells those who share a channel when a user goes away, comes back, or joins away", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann", { caps: ["away-notify"] });
    await using bob = await IrcTestClient.register(server.port, "bob");
    await using cy = await IrcTestClient.register(server.port, "cy");
    await ann.join("#room");
    await bob.join("#room");
    await cy.join("#room");
    await bob.send("AWAY :lunch");
    await bob.waitFor("306");
    assert.equal((await ann.waitFor("AWAY")).line, ":bob!bob@127.0.0.1 AWAY :lunch");
    await bob.send("AWAY");
    await bob.waitFor("305");
    assert.equal((await ann.waitFor("AWAY")).line, ":bob!bob@127.0.0.1 AWAY");
    await cy.send("AWAY :busy");
    await cy.waitFor("306");
    await ann.waitFor("AWAY");
    await cy.send("PART #room");
    await cy.send("JOIN #room");
    await ann.waitFor("JOIN");
    assert.equal((await ann.waitFor("AWAY")).line, ":cy!cy@127.0.0.1 AWAY :busy");
    assert.ok(!cy.lines.some((m) => m.command === "AWAY"), "nobody without the cap, nor oneself");
    assert.ok(!bob.lines.some((m) => m.command === "AWAY"));
  });
});

Deno.test("account-notify tells those who share a channel when a user logs in", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann", {
      caps: ["account-notify"],
    });
    await using cy = await IrcTestClient.register(server.port, "cy");
    await using bob = await IrcTestClient.register(server.port, "bob");
    for (const client of [ann, bob, cy]) await client.join("#room");
    await bob.send(`REGISTER * * :${PASSWORD}`);
    await bob.waitFor("900");
    assert.equal((await ann.waitFor("ACCOUNT")).line, ":bob!bob@127.0.0.1 ACCOUNT bob");
    // A login with SASL after registration is announced the same way.
    await cy.send("QUIT");
    await cy.closed;
    await using dee = await registeredUser(server.port, "dee");
    await dee.send("QUIT");
    await dee.closed;
    await using late = await IrcTestClient.register(server.port, "late");
    await late.join("#room");
    await late.send("AUTHENTICATE PLAIN");
    await late.waitFor("AUTHENTICATE");
    await late.send(`AUTHENTICATE ${plain("dee", PASSWORD)}`);
    await late.waitFor("903");
    assert.equal((await ann.waitFor("ACCOUNT")).line, ":late!late@127.0.0.1 ACCOUNT dee");
    assert.ok(!bob.lines.some((m) => m.command === "ACCOUNT"), "bob did not enable the cap");
  });
});

Deno.test("a user with account-notify that logs in after registering gets 900 first and no ACCOUNT line of its own", async () => {
  await withAccounts({}, async (server) => {
    {
      await using dee = await registeredUser(server.port, "dee");
      await dee.send("QUIT");
      await dee.closed;
    }
    await using late = await IrcTestClient.register(server.port, "late", {
      caps: ["account-notify", "sasl"],
    });
    await late.send("AUTHENTICATE PLAIN");
    await late.waitFor("AUTHENTICATE");
    await late.send(`AUTHENTICATE ${plain("dee", PASSWORD)}`);
    const answer = await late.reply("PING :after");
    assert.deepEqual(answer.map((m) => m.command), ["900", "903", "PONG"]);
  });
});

Deno.test("extended-join shows the account and real name of whoever joins", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann", { caps: ["extended-join"] });
    await ann.join("#room");
    await using bob = await registeredUser(server.port, "bob");
    await bob.join("#room");
    assert.equal(
      (await ann.waitFor("JOIN")).line,
      ":bob!bob@127.0.0.1 JOIN #room bob :bob the tester",
    );
    await using cy = await IrcTestClient.register(server.port, "cy");
    await cy.join("#room");
    assert.equal((await ann.waitFor("JOIN")).line, ":cy!cy@127.0.0.1 JOIN #room * :cy the tester");
    assert.equal((await bob.waitFor("JOIN")).line, ":cy!cy@127.0.0.1 JOIN #room");
  });
});

Deno.test("account-tag marks the messages of a logged-in user with its account", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann", { caps: ["account-tag"] });
    await using bob = await registeredUser(server.port, "bob");
    await using cy = await IrcTestClient.register(server.port, "cy");
    await bob.send("PRIVMSG ann :hi");
    assert.equal((await ann.waitFor("PRIVMSG")).tags.account, "bob");
    await cy.send("PRIVMSG ann :hello");
    assert.equal((await ann.waitFor("PRIVMSG")).tags.account, undefined);
    await ann.send("PRIVMSG bob :hey");
    assert.deepEqual((await bob.waitFor("PRIVMSG")).tags, {}, "bob did not enable the cap");
  });
});

Deno.test("account-tag marks a logged-in operator's MODE, KICK and INVITE with its account too", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann", { caps: ["account-tag"] });
    await using bob = await registeredUser(server.port, "bob");
    await bob.join("#ops");
    await ann.join("#ops");
    await bob.send("MODE #ops +v ann");
    const mode = await ann.waitFor("MODE");
    assert.equal(mode.line.replace(/^@\S+ /, ""), ":bob!bob@127.0.0.1 MODE #ops +v ann");
    assert.equal(mode.tags.account, "bob");
    await bob.join("#elsewhere");
    await bob.send("INVITE ann #elsewhere");
    const invite = await ann.waitFor("INVITE");
    assert.deepEqual([invite.params, invite.tags.account], [["ann", "#elsewhere"], "bob"]);
    await bob.send("KICK #ops ann :out");
    const kick = await ann.waitFor("KICK");
    assert.deepEqual([kick.params, kick.tags.account], [["#ops", "ann", "out"], "bob"]);
    await using cy = await IrcTestClient.register(server.port, "cy");
    await cy.join("#ops");
    await bob.send("MODE #ops +v cy");
    assert.deepEqual((await cy.waitFor("MODE")).tags, {}, "cy did not enable the cap");
  });
});

Deno.test("irc-framework follows away, account and real-name changes through the capabilities it asks for", async () => {
  await withAccounts({}, async (server) => {
    const client = new IRC.Client();
    const seen: string[] = [];
    const changed = Promise.withResolvers<void>();
    const ready = Promise.withResolvers<void>();
    client.on("join", (event: { nick: string }) => {
      if (event.nick === "frame") ready.resolve();
    });
    client.on("away", (event: { nick: string; message: string }) => {
      seen.push(`away ${event.nick} ${event.message}`);
    });
    client.on("account", (event: { nick: string; account: string | false }) => {
      seen.push(`account ${event.nick} ${event.account}`);
    });
    client.on("user updated", (event: { nick: string; new_gecos?: string }) => {
      if (event.new_gecos !== undefined) seen.push(`gecos ${event.nick} ${event.new_gecos}`);
      if (seen.length === 3) changed.resolve();
    });
    client.on("registered", () => client.join("#room"));
    client.connect({
      host: "127.0.0.1",
      port: server.port,
      nick: "frame",
      auto_reconnect: false,
      enable_setname: true,
    });
    const timer = setTimeout(() => {
      const error = new Error(`irc-framework saw only ${JSON.stringify(seen)}`);
      ready.reject(error);
      changed.reject(error);
    }, 10_000);
    try {
      await ready.promise;
      await using bob = await IrcTestClient.register(server.port, "bob");
      await bob.join("#room");
      await bob.send("AWAY :afk");
      await bob.send(`REGISTER * * :${PASSWORD}`);
      await bob.waitFor("900");
      await bob.send("SETNAME :Robert");
      await changed.promise;
      assert.deepEqual(seen, ["away bob afk", "account bob bob", "gecos bob Robert"]);
    } finally {
      clearTimeout(timer);
      client.quit("bye");
    }
  });
});

Deno.test("extended-monitor brings the away, account and real-name changes of monitored nicks, per capability", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann", {
      caps: ["extended-monitor", "away-notify", "account-notify", "setname"],
    });
    await using cy = await IrcTestClient.register(server.port, "cy", { caps: ["away-notify"] });
    await ann.send("MONITOR + bob");
    await cy.send("MONITOR + bob");
    await ann.waitFor("731");
    await cy.waitFor("731");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await ann.waitFor("730");
    await bob.send("AWAY :afk");
    assert.equal((await ann.waitFor("AWAY")).line, ":bob!bob@127.0.0.1 AWAY :afk");
    await bob.send(`REGISTER * * :${PASSWORD}`);
    assert.equal((await ann.waitFor("ACCOUNT")).line, ":bob!bob@127.0.0.1 ACCOUNT bob");
    await bob.send("SETNAME :Robert");
    assert.equal((await ann.waitFor("SETNAME")).params[0], "Robert");
    // cy watches bob too, but without extended-monitor: MONITOR brings it no changes.
    const quiet = await cy.reply("PING sync");
    assert.ok(!quiet.some((m) => m.command === "AWAY"), "cy lacks extended-monitor");
  });
});
