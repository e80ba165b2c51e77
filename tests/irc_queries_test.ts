/**
 * The common commands clients send on connect or from their menus, against a real server:
 * WHOWAS, VERSION, ADMIN, INFO, MONITOR, SETNAME, WHOX and bot mode.
 */
import assert from "node:assert/strict";
import IRC from "irc-framework";
import { waitUntil } from "./_helpers.ts";
import { IrcTestClient, type Received, withServer } from "./_irc.ts";
import { registeredUser, withAccounts } from "./_accounts.ts";

const commands = (lines: Received[]) => lines.map((m) => m.command);

Deno.test("WHOWAS shows who last used a nick, newest first, after a quit and a nick change", async () => {
  await withServer({ name: "irc.test" }, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    for (const user of ["first", "second"]) {
      await using old = await IrcTestClient.register(server.port, "gone", { user });
      await old.send("QUIT :bye");
      await old.closed;
      await waitUntil(() => server.hub.find("gone") === undefined, 5000, "gone to quit");
    }
    const lines = await ann.reply("WHOWAS gone");
    assert.deepEqual(commands(lines), ["314", "312", "314", "312", "369"]);
    assert.deepEqual(lines[0].params, [
      "ann",
      "gone",
      "second",
      "127.0.0.1",
      "*",
      "gone the tester",
    ]);
    assert.equal(lines[2].params[2], "first");
    assert.equal(lines[1].params[2], "irc.test");
    assert.deepEqual(lines.at(-1)!.params, ["ann", "gone", "End of WHOWAS"]);
    assert.deepEqual(commands(await ann.reply("WHOWAS gone 1")), ["314", "312", "369"]);
    assert.deepEqual(commands(await ann.reply("WHOWAS gone -1")), [
      "314",
      "312",
      "314",
      "312",
      "369",
    ]);
    await ann.send("NICK anna");
    await ann.waitFor("NICK");
    assert.equal((await ann.reply("WHOWAS ann"))[0].params[1], "ann");
    assert.deepEqual(commands(await ann.reply("WHOWAS nobody")), ["406", "369"]);
    assert.deepEqual((await ann.reply("WHOWAS"))[0].params, [
      "anna",
      "WHOWAS",
      "Not enough parameters",
    ]);
  });
});

Deno.test("VERSION answers 351 and the ISUPPORT tokens; ADMIN 256 to 259; INFO 371 lines then 374", async () => {
  await withServer({ name: "irc.test" }, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    const version = await ann.reply("VERSION");
    assert.equal(version[0].command, "351");
    assert.match(version[0].params[1], /^shmooze-/);
    const tokens = version.slice(1).flatMap((m) => m.params.slice(1, -1));
    for (const token of ["WHOX", "BOT=B", "MONITOR=100"]) assert.ok(tokens.includes(token), token);
    assert.deepEqual(commands(await ann.reply("ADMIN")), ["256", "257", "258", "259"]);
    const info = await ann.reply("INFO");
    assert.equal(info.at(-1)!.command, "374");
    assert.ok(info.slice(0, -1).every((m) => m.command === "371"));
    assert.equal((await ann.reply("ADMIN irc.other"))[0].command, "402");
    assert.equal((await ann.reply("INFO ann"))[0].command, "371", "a user names this server");
  });
});

Deno.test("MONITOR tells when watched nicks come online, go offline or change, and lists and clears them", async () => {
  await withServer({ limits: { maxMonitor: 3 } }, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    const added = await ann.reply("MONITOR + bob,cy");
    assert.deepEqual(added.map((m) => [m.command, m.params[1]]), [
      ["730", "bob!bob@127.0.0.1"],
      ["731", "cy"],
    ]);
    const cy = await IrcTestClient.register(server.port, "cy");
    assert.equal((await ann.waitFor("730")).params[1], "cy!cy@127.0.0.1");
    await cy.send("NICK Cy");
    await cy.waitFor("NICK");
    await cy.send("NICK cyrus");
    assert.deepEqual((await ann.waitFor("731")).params, ["ann", "Cy"]);
    await cy.send("NICK cy");
    await ann.waitFor("730");
    await cy.send("QUIT");
    assert.equal((await ann.waitFor("731")).params[1], "cy");
    await cy.close();
    const list = await ann.reply("MONITOR L");
    assert.deepEqual(commands(list), ["732", "733"]);
    assert.deepEqual(list[0].params[1].split(",").sort(), ["bob", "cy"]);
    const status = await ann.reply("MONITOR S");
    assert.deepEqual(status.map((m) => m.command), ["730", "731"]);
    assert.deepEqual(await ann.reply("MONITOR - cy"), []);
    const full = await ann.reply("MONITOR + d1,d2,d3");
    assert.deepEqual(full.map((m) => [m.command, m.params[1]]), [["734", "3"], ["731", "d1,d2"]]);
    assert.deepEqual(full[0].params, ["ann", "3", "d3", "Monitor list is full"]);
    assert.equal((await ann.reply("MONITOR + *!*@host"))[0].command, "432");
    assert.deepEqual(await ann.reply("MONITOR C"), []);
    assert.deepEqual(commands(await ann.reply("MONITOR L")), ["733"]);
    // A cleared list hears nothing more.
    await bob.send("QUIT");
    await bob.closed;
    assert.deepEqual(commands(await ann.reply("PING sync")).filter((c) => c !== "PONG"), []);
  });
});

Deno.test("SETNAME changes the real name; those who share a channel and enabled setname are told, the client too", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann", { caps: ["setname"] });
    await using bob = await IrcTestClient.register(server.port, "bob", { caps: ["setname"] });
    await using cy = await IrcTestClient.register(server.port, "cy");
    for (const client of [ann, bob, cy]) await client.join("#room");
    await ann.send("SETNAME :Ann Example");
    assert.equal((await ann.waitFor("SETNAME")).line, ":ann!ann@127.0.0.1 SETNAME :Ann Example");
    assert.equal((await bob.waitFor("SETNAME")).params[0], "Ann Example");
    const whois = await cy.reply("WHOIS ann");
    assert.equal(whois.find((m) => m.command === "311")?.params.at(-1), "Ann Example");
    assert.ok(!cy.lines.some((m) => m.command === "SETNAME"), "cy did not enable setname");
    const fail = (await ann.reply("SETNAME :"))[0];
    assert.deepEqual(fail.params.slice(0, 2), ["SETNAME", "INVALID_REALNAME"]);
  });
});

Deno.test("WHOIS lists a secret channel only to its members, with every prefix under multi-prefix; WHO and its ban list show outsiders nobody", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann", { caps: ["multi-prefix"] });
    await using bob = await IrcTestClient.register(server.port, "bob");
    await using cy = await IrcTestClient.register(server.port, "cy");
    await ann.join("#open");
    await ann.join("#hidden");
    await ann.send("MODE #hidden +sv ann");
    await ann.waitFor((m) => m.command === "MODE" && m.params[0] === "#hidden");
    await cy.join("#hidden");
    const channelsOf = async (asker: IrcTestClient) =>
      (await asker.reply("WHOIS ann")).find((m) => m.command === "319")?.params[2];
    assert.equal(await channelsOf(bob), "@#open", "bob shares neither channel");
    assert.equal(await channelsOf(cy), "@#open @#hidden", "cy is in #hidden; no multi-prefix");
    assert.equal(await channelsOf(ann), "@#open @+#hidden", "ann asked for multi-prefix");
    assert.deepEqual(commands(await bob.reply("WHO #hidden")), ["315"]);
    await ann.send("MODE #hidden +b spy!*@*");
    await cy.waitFor((m) => m.command === "MODE" && m.params[1] === "+b");
    assert.deepEqual(commands(await bob.reply("MODE #hidden b")), ["368"]);
    assert.deepEqual(commands(await cy.reply("MODE #hidden b")), ["367", "368"]);
    assert.deepEqual(commands(await cy.reply("WHO #hidden")), ["352", "352", "315"]);
    await ann.send("MODE #open +s");
    await ann.waitFor((m) => m.command === "MODE" && m.params[0] === "#open");
    assert.deepEqual(commands(await bob.reply("WHOIS ann")), ["311", "312", "317", "318"]);
  });
});

Deno.test("WHOX answers 354 with the fields asked for, in the standard order, and the query's token", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await ann.join("#room");
    await bob.join("#room");
    await ann.send("AWAY :out");
    await ann.waitFor("306");
    const lines = await bob.reply("WHO #room %tcuihsnfdlaor,42");
    assert.deepEqual(commands(lines), ["354", "354", "315"]);
    const annLine = lines.find((m) => m.params[7] === "ann")!;
    assert.deepEqual(annLine.params, [
      "bob",
      "42",
      "#room",
      "ann",
      "127.0.0.1",
      "127.0.0.1",
      "shmooze",
      "ann",
      "G@",
      "0",
      annLine.params[10],
      "ann",
      "n/a",
      "ann the tester",
    ]);
    assert.match(annLine.params[10], /^\d+$/);
    // The order asked for does not matter; no account is 0.
    assert.deepEqual((await ann.reply("WHO bob %an"))[0].params, ["ann", "bob", "0"]);
    assert.deepEqual((await ann.reply("WHO b* %nt,7"))[0].params, ["ann", "7", "bob"]);
  });
});

Deno.test("irc-framework lists a channel's users with WHOX when the server advertises it", async () => {
  await withServer({}, async (server) => {
    await using bob = await IrcTestClient.register(server.port, "bob");
    await bob.join("#room");
    const client = new IRC.Client();
    const done = Promise.withResolvers<void>();
    client.on("registered", () => done.resolve());
    client.on("close", () => done.reject(new Error("irc-framework was disconnected")));
    client.connect({ host: "127.0.0.1", port: server.port, nick: "frame", auto_reconnect: false });
    try {
      await done.promise;
      const sent: string[] = [];
      client.on("raw", (event: { line: string; from_server: boolean }) => {
        if (!event.from_server) sent.push(event.line);
      });
      const who = Promise.withResolvers<{ users: { nick: string; away: boolean }[] }>();
      client.who(
        "#room",
        (result: { users: { nick: string; away: boolean }[] }) => who.resolve(result),
      );
      const timer = setTimeout(() => who.reject(new Error("no WHO answer in 10 s")), 10_000);
      const result = await who.promise.finally(() => clearTimeout(timer));
      assert.deepEqual(result.users.map((u) => u.nick), ["bob"]);
      assert.ok(sent.some((line) => /^WHO #room %/.test(line)), `sent ${sent.join(" | ")}`);
    } finally {
      client.quit("bye");
    }
  });
});

Deno.test("MODE +B marks a bot: 335 in WHOIS, B in WHO, and a bot tag on its messages", async () => {
  await withServer({}, async (server) => {
    await using bot = await IrcTestClient.register(server.port, "botnick", {
      caps: ["echo-message", "message-tags"],
    });
    await using ann = await IrcTestClient.register(server.port, "ann", { caps: ["message-tags"] });
    await bot.send("MODE botnick +B");
    assert.deepEqual((await bot.waitFor("MODE")).params, ["botnick", "+B"]);
    const whois = await ann.reply("WHOIS botnick");
    assert.deepEqual(whois.find((m) => m.command === "335")?.params, [
      "ann",
      "botnick",
      "is a bot",
    ]);
    await bot.join("#room");
    await ann.join("#room");
    const who = (await ann.reply("WHO #room")).find((m) => m.params[5] === "botnick")!;
    assert.equal(who.params[6], "HB@", "here, a bot, and the channel's creator");
    await bot.send("PRIVMSG #room :beep");
    const heard = await ann.waitFor("PRIVMSG");
    assert.equal(heard.tags.bot, "");
    assert.equal((await bot.waitFor("PRIVMSG")).tags.bot, "", "the echo is tagged too");
    assert.equal((await bot.reply("MODE botnick"))[0].params[1], "+B");
  });
});

Deno.test("WHO * over 1000 users and WHOWAS at its 1000-record bound stay cheap (printed for docs/security.md)", async () => {
  await withServer({}, async (server) => {
    const hub = server.hub;
    for (let i = 0; i < 1000; i++) {
      const nick = `user${i}`;
      hub.add({
        nick,
        user: nick,
        host: "local",
        realname: nick,
        transport: "local",
        channels: new Set<string>(),
        echo: false,
        deliver() {},
        disconnect() {},
      });
    }
    await using ann = await IrcTestClient.register(server.port, "ann");
    let start = performance.now();
    const lines = await ann.reply("WHO *");
    const whoMs = performance.now() - start;
    assert.equal(lines.filter((m) => m.command === "352").length, 1001);
    const bytes = lines.reduce((sum, m) => sum + m.line.length + 2, 0);
    for (let i = 0; i < 1000; i++) hub.remove(hub.find(`user${i}`)!, "bye");
    const record = { user: "u", host: "h", realname: "r" };
    for (let i = 0; i < 2000; i++) hub.whowas.add({ ...record, nick: `gone${i % 500}`, time: i });
    assert.equal(hub.whowas.size, 1000);
    start = performance.now();
    const whowas = await ann.reply("WHOWAS gone499 0");
    const whowasMs = performance.now() - start;
    assert.equal(whowas.filter((m) => m.command === "314").length, 2, "the newest 1000 kept");
    console.log(
      `WHO * of 1001 users: ${bytes} bytes in ${whoMs.toFixed(1)} ms; ` +
        `WHOWAS at 1000 records: ${whowasMs.toFixed(1)} ms`,
    );
    assert.ok(whoMs < 5000 && whowasMs < 1000);
  });
});
