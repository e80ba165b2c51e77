import assert from "node:assert/strict";
import { IrcTestClient, withServer } from "./_irc.ts";

Deno.test("serve welcomes a client with 001-005, ISUPPORT and the MOTD", async () => {
  await withServer({ motd: "line one\nline two" }, async (server) => {
    await using ann = await IrcTestClient.connect(server.port);
    await ann.send("NICK ann");
    await ann.send("USER ann 0 * :Ann Example");
    const welcome = await ann.waitFor("001");
    assert.match(welcome.params[1], /ann!ann@127\.0\.0\.1/);
    await ann.waitFor("002");
    await ann.waitFor("003");
    await ann.waitFor("004");
    const tokens = (await ann.waitFor("005")).params.join(" ") +
      (await ann.waitFor("005")).params.join(" ");
    for (const token of ["CASEMAPPING=ascii", "CHANTYPES=#", "NICKLEN=32", "LINELEN=512"]) {
      assert.ok(tokens.includes(token), `ISUPPORT lacks ${token}`);
    }
    await ann.waitFor("375");
    assert.equal((await ann.waitFor("372")).params[1], "- line one");
    assert.equal((await ann.waitFor("372")).params[1], "- line two");
    await ann.waitFor("376");
  });
});

Deno.test("serve answers 422 when there is no MOTD", async () => {
  await withServer({ motd: "" }, async (server) => {
    await using ann = await IrcTestClient.connect(server.port);
    await ann.send("NICK ann");
    await ann.send("USER ann 0 * :Ann");
    await ann.waitFor("422");
  });
});

Deno.test("serve rejects commands before registration (451), bad nicks (432) and taken nicks (433)", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.connect(server.port);
    await bob.send("JOIN #lobby");
    await bob.waitFor("451");
    await bob.send("NICK 9lives");
    assert.equal((await bob.waitFor("432")).params[1], "9lives");
    await bob.send(`NICK ${"x".repeat(33)}`);
    await bob.waitFor("432");
    await bob.send("NICK");
    await bob.waitFor("431");
    await bob.send("NICK ANN");
    assert.equal((await bob.waitFor("433")).params[1], "ANN");
    await bob.send("USER bob 0 *");
    await bob.waitFor("461");
    await bob.send("NICK bob");
    await bob.send("USER bob 0 * :Bob");
    await bob.waitFor("001");
    await bob.send("USER bob 0 * :Bob");
    await bob.waitFor("462");
    await bob.send("FROBNICATE now");
    assert.equal((await bob.waitFor("421")).params[1], "FROBNICATE");
    await bob.send("NICK ann");
    await bob.waitFor("433");
    assert.ok(ann.nick === "ann");
  });
});

Deno.test("serve negotiates capabilities and tags messages with time and msgid", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.connect(server.port);
    await ann.send("CAP LS 302");
    const ls = await ann.waitFor((m) => m.command === "CAP" && m.params[1] === "LS");
    for (
      const cap of ["server-time", "message-tags", "batch", "echo-message", "draft/chathistory"]
    ) {
      assert.ok(ls.params[2].split(" ").includes(cap), `CAP LS lacks ${cap}`);
    }
    await ann.send("NICK ann");
    await ann.send("USER ann 0 * :Ann");
    await ann.send("CAP REQ :server-time unknown-cap");
    await ann.waitFor((m) => m.command === "CAP" && m.params[1] === "NAK");
    await ann.send("CAP REQ :server-time message-tags echo-message");
    await ann.waitFor((m) => m.command === "CAP" && m.params[1] === "ACK");
    await ann.send("CAP LIST");
    const list = await ann.waitFor((m) => m.command === "CAP" && m.params[1] === "LIST");
    // CAP LS 302 enables cap-notify without a request (IRCv3 capability negotiation 3.2).
    assert.deepEqual(list.params[2].split(" ").sort(), [
      "cap-notify",
      "echo-message",
      "message-tags",
      "server-time",
    ]);
    // Registration waits for CAP END.
    await ann.send("CAP END");
    await ann.waitFor("001");
    await ann.join("#lobby");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await bob.join("#lobby");
    await ann.send("@+typing=done PRIVMSG #lobby :tagged hello");
    const echoed = await ann.waitFor((m) => m.command === "PRIVMSG");
    assert.match(echoed.tags.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(echoed.tags.msgid.length > 0);
    assert.equal(echoed.tags["+typing"], "done");
    const plain = await bob.waitFor("PRIVMSG");
    assert.equal(plain.line, ":ann!ann@127.0.0.1 PRIVMSG #lobby :tagged hello");
  });
});

Deno.test("serve carries channel and private messages and reports 401, 403, 404, 442", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await ann.join("#lobby");
    await bob.join("#lobby");
    await ann.waitFor((m) => m.command === "JOIN" && m.source?.startsWith("bob!") === true);
    await ann.send("PRIVMSG #lobby :hello everyone");
    assert.equal((await bob.waitFor("PRIVMSG")).params[1], "hello everyone");
    await bob.send("PRIVMSG ANN :just you");
    const direct = await ann.waitFor("PRIVMSG");
    assert.deepEqual(direct.params, ["ann", "just you"]);
    await bob.send("NOTICE ann :a notice");
    assert.equal((await ann.waitFor("NOTICE")).params[1], "a notice");
    await ann.send("PRIVMSG nobody :hi");
    await ann.waitFor("401");
    await ann.send("PRIVMSG #nowhere :hi");
    await ann.waitFor("403");
    await ann.join("#side");
    await bob.send("PRIVMSG #side :let me in");
    await bob.waitFor("404");
    await bob.send("PART #side");
    await bob.waitFor("442");
    await bob.send("PRIVMSG #lobby");
    await bob.waitFor("412");
    await bob.send("PRIVMSG");
    await bob.waitFor("411");
    await bob.send("JOIN");
    await bob.waitFor("461");
  });
});

Deno.test("serve handles JOIN, PART, NAMES and TOPIC", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await ann.send("JOIN #Study");
    await ann.waitFor((m) => m.command === "JOIN" && m.params[0] === "#Study");
    const names = await ann.waitFor("353");
    assert.deepEqual(names.params.slice(1), ["=", "#Study", "@ann"], "its creator is its operator");
    await ann.send("TOPIC #study :exam on friday");
    assert.equal((await ann.waitFor("TOPIC")).params[1], "exam on friday");
    await bob.send("JOIN #study");
    assert.equal((await bob.waitFor("332")).params[2], "exam on friday");
    assert.equal((await bob.waitFor("333")).params[2], "ann!ann@127.0.0.1");
    assert.deepEqual((await bob.waitFor("353")).params[3].split(" "), ["@ann", "bob"]);
    await bob.send("NAMES #study");
    assert.equal((await bob.waitFor("353")).params[3], "@ann bob");
    await bob.waitFor("366");
    await bob.send("PART #study :see you");
    const part = await ann.waitFor("PART");
    assert.deepEqual(part.params, ["#Study", "see you"]);
    await bob.send("TOPIC #study");
    await bob.waitFor("332");
    await bob.send("TOPIC #study :not a member");
    await bob.waitFor("442");
    await ann.send("PART #study");
    await ann.waitFor("PART");
    await ann.send("TOPIC #study");
    await ann.waitFor("403");
    assert.deepEqual(server.stats().channels.map((c) => c.name), ["#lobby"]);
  });
});

Deno.test("serve answers WHO, WHOIS, LIST, MODE, AWAY, USERHOST and ISON", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await ann.join("#lobby");
    await bob.join("#lobby");
    await bob.send("AWAY :at lunch");
    await bob.waitFor("306");
    await ann.send("WHO #lobby");
    const who = [await ann.waitFor("352"), await ann.waitFor("352")];
    assert.deepEqual(who.map((m) => [m.params[5], m.params[6]]), [["ann", "H"], ["bob", "G"]]);
    await ann.waitFor("315");
    await ann.send("WHOIS bob");
    assert.equal((await ann.waitFor("311")).params[5], "bob the tester");
    assert.equal((await ann.waitFor("319")).params[2], "#lobby");
    assert.equal((await ann.waitFor("301")).params[2], "at lunch");
    await ann.waitFor("318");
    await ann.send("WHOIS ghost");
    await ann.waitFor("401");
    await ann.waitFor("318");
    await ann.send("PRIVMSG bob :are you there?");
    assert.equal((await ann.waitFor("301")).params[2], "at lunch");
    await bob.send("AWAY");
    await bob.waitFor("305");
    await ann.send("LIST");
    await ann.waitFor("321");
    assert.deepEqual((await ann.waitFor("322")).params.slice(1), ["#lobby", "2", ""]);
    await ann.waitFor("323");
    await ann.send("MODE #lobby");
    assert.equal((await ann.waitFor("324")).params[2], "+n");
    await ann.waitFor("329");
    await ann.send("MODE #lobby b");
    await ann.waitFor("368");
    await ann.send("MODE #lobby +m");
    await ann.waitFor("482");
    await ann.send("MODE ann +i");
    assert.deepEqual((await ann.waitFor("MODE")).params, ["ann", "+i"]);
    await ann.send("MODE ann");
    assert.equal((await ann.waitFor("221")).params[1], "+i");
    await ann.send("MODE bob +i");
    await ann.waitFor("502");
    await ann.send("USERHOST bob");
    assert.equal((await ann.waitFor("302")).params[1], "bob=+bob@127.0.0.1");
    await ann.send("ISON bob ghost");
    assert.equal((await ann.waitFor("303")).params[1], "bob");
    await ann.send("PING :token-1");
    assert.deepEqual((await ann.waitFor("PONG")).params, ["shmooze", "token-1"]);
  });
});

Deno.test("serve shows a QUIT to others when a client quits or its connection drops", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    const bob = await IrcTestClient.register(server.port, "bob");
    const carl = await IrcTestClient.register(server.port, "carl");
    await ann.join("#lobby");
    await bob.join("#lobby");
    await carl.join("#lobby");
    await bob.send("QUIT :gone home");
    assert.match((await bob.waitFor("ERROR")).params[0], /Quit: gone home/);
    await bob.closed;
    const quit = await ann.waitFor("QUIT");
    assert.equal(quit.source, "bob!bob@127.0.0.1");
    assert.equal(quit.params[0], "Quit: gone home");
    await carl.close();
    const dropped = await ann.waitFor("QUIT");
    assert.equal(dropped.source, "carl!carl@127.0.0.1");
    // The nick is free again.
    await using _carl = await IrcTestClient.register(server.port, "carl");
    assert.deepEqual(server.stats().channels[0].members, ["ann"]);
    assert.equal(server.stats().clients, 2);
  });
});

Deno.test("serve changes nicks and tells the channel", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await ann.join("#lobby");
    await bob.join("#lobby");
    await bob.send("NICK robert");
    const own = await bob.waitFor("NICK");
    assert.equal(own.source, "bob!bob@127.0.0.1");
    assert.deepEqual(own.params, ["robert"]);
    assert.deepEqual((await ann.waitFor("NICK")).params, ["robert"]);
    await ann.send("PRIVMSG robert :hi robert");
    assert.equal((await bob.waitFor("PRIVMSG")).params[1], "hi robert");
  });
});

Deno.test("serve stats() counts clients, channels and messages", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await ann.join("#lobby");
    await ann.send("PRIVMSG #lobby :one");
    await ann.send("PRIVMSG #lobby :two");
    await ann.send("PING :sync");
    await ann.waitFor("PONG");
    const stats = server.stats();
    assert.equal(stats.clients, 1);
    assert.deepEqual(stats.clientsByTransport, { tcp: 1 });
    assert.deepEqual(stats.channels, [{ name: "#lobby", topic: "", members: ["ann"] }]);
    assert.equal(stats.totalMessages, 2);
    assert.equal(stats.messagesPerSecondSeries.length, 60);
    assert.equal(stats.messagesPerSecondSeries.reduce((a, b) => a + b, 0), 2);
    assert.deepEqual(stats.recentMessages.map((m) => m.text), ["one", "two"]);
  });
});

Deno.test("serve relays TAGMSG client tags only to clients that read tags", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann", { caps: ["message-tags"] });
    await using bob = await IrcTestClient.register(server.port, "bob", { caps: ["message-tags"] });
    await using carl = await IrcTestClient.register(server.port, "carl");
    for (const client of [ann, bob, carl]) await client.join("#lobby");
    await ann.send("@+typing=active TAGMSG #lobby");
    const typing = await bob.waitFor("TAGMSG");
    assert.equal(typing.tags["+typing"], "active");
    assert.deepEqual(typing.params, ["#lobby"]);
    await ann.send("PRIVMSG #lobby :done typing");
    await bob.waitFor("PRIVMSG");
    // carl's next line after the joins is the message: no TAGMSG reached him.
    const next = await carl.waitFor((m) => m.command === "TAGMSG" || m.command === "PRIVMSG");
    assert.equal(next.command, "PRIVMSG");
    assert.equal(server.stats().totalMessages, 1, "TAGMSG is not a chat message");
  });
});

Deno.test("serve keeps nicks ending in |local for the bridge's local users (432)", async () => {
  await withServer({}, async (server) => {
    await using eve = await IrcTestClient.connect(server.port);
    await eve.send("NICK ann|local");
    assert.match((await eve.waitFor("432")).params.at(-1)!, /\|local belong to/);
    await eve.send("NICK ann|LOCAL2");
    await eve.waitFor("432");
    await eve.register("eve");
    await eve.send("NICK bob|local");
    assert.equal((await eve.waitFor("432")).params[1], "bob|local");
    await eve.send("NICK eve|locals");
    await eve.waitFor((m) => m.command === "NICK" && m.params[0] === "eve|locals");
  });
});
