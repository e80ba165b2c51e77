/**
 * CHGHOST, an operator's change of a user's user name and host, against an in-process server:
 * who sees it (IRCv3 `chghost`), what is refused, and the operator console's /chghost.
 */
import assert from "node:assert/strict";
import { IrcTestClient, type Received, withServer } from "./_irc.ts";
import { operUser, writeOperFile } from "./_opers.ts";
import { runConsole } from "../src/server/operator_console.ts";
import type { ChatServer } from "../src/server/server.ts";

/** Runs `body` against a server whose only operator is ann. */
async function withOperAnn(body: (server: ChatServer) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-chghost-test-" });
  try {
    const operFile = await writeOperFile(dir, ["ann"]);
    await withServer({ operFile }, body);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const commands = (lines: Received[]) => lines.map((m) => m.command);

Deno.test("CAP LS offers chghost", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.connect(server.port);
    await ann.send("CAP LS 302");
    assert.ok((await ann.waitFor("CAP")).params.at(-1)!.split(" ").includes("chghost"));
  });
});

Deno.test("CHGHOST shows the change from the old mask to the user and to channel neighbours with chghost; the others see only the new mask later", async () => {
  await withOperAnn(async (server) => {
    await using ann = await operUser(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob", { caps: ["chghost"] });
    await using cy = await IrcTestClient.register(server.port, "cy", { caps: ["chghost"] });
    await using dan = await IrcTestClient.register(server.port, "dan");
    await using eve = await IrcTestClient.register(server.port, "eve", { caps: ["chghost"] });
    for (const client of [bob, cy, dan]) await client.join("#room");
    await ann.send("CHGHOST cy staff staff.example");
    const audit = await ann.waitFor((m) => m.command === "NOTICE" && m.line.includes("CHGHOST"));
    assert.equal(
      audit.params[1],
      "*** CHGHOST cy (cy!cy@127.0.0.1) is now cy!staff@staff.example, by ann",
    );
    const change = ":cy!cy@127.0.0.1 CHGHOST staff staff.example";
    assert.equal((await bob.waitFor("CHGHOST")).line, change);
    assert.equal((await cy.waitFor("CHGHOST")).line, change);
    assert.equal(
      (await cy.waitFor("NOTICE")).params[1],
      "*** Your user name and host are now staff@staff.example (an operator changed them)",
    );
    // dan shares the channel without the capability; eve asked for it but shares nothing.
    await cy.send("PRIVMSG #room :hello");
    assert.equal(
      (await dan.waitFor("PRIVMSG")).line,
      ":cy!staff@staff.example PRIVMSG #room :hello",
    );
    assert.ok(!commands(dan.lines).includes("CHGHOST"));
    assert.ok(!commands(await eve.reply("PING sync")).includes("CHGHOST"));
    const whois = await eve.reply("WHOIS cy");
    assert.deepEqual(whois.find((m) => m.command === "311")?.params.slice(1, 4), [
      "cy",
      "staff",
      "staff.example",
    ]);
    const who = (await eve.reply("WHO cy")).find((m) => m.command === "352");
    assert.deepEqual(who?.params.slice(2, 4), ["staff", "staff.example"]);
    // The same user name and host again changes nothing, and nobody is told.
    await ann.reply("CHGHOST cy staff staff.example");
    assert.ok(!commands(await bob.reply("PING sync")).includes("CHGHOST"));
    assert.equal(server.hub.find("cy")?.host, "staff.example");
  });
});

Deno.test("CHGHOST refuses a user name or host that cannot be one with FAIL, an unknown nick with 401, a short line with 461 and a non-operator with 481", async () => {
  await withOperAnn(async (server) => {
    await using ann = await operUser(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    const refusals: [string, string][] = [
      ["CHGHOST bob a@b host.example", "a user name is letters, digits and ._~-, nothing else"],
      ["CHGHOST bob b :", "a host cannot be empty"],
      ["CHGHOST bob b ::x.example", "a host cannot start with '.', ':' or '-'"],
      ["CHGHOST bob b :a b.example", "a host is letters, digits and ._/:-, nothing else"],
      ["CHGHOST bob b a!b.example", "a host is letters, digits and ._/:-, nothing else"],
      ["CHGHOST bob b a@b.example", "a host is letters, digits and ._/:-, nothing else"],
      ["CHGHOST bob b x\x01.example", "a host is letters, digits and ._/:-, nothing else"],
      ["CHGHOST bob b local", "a host holds a '.', ':' or '/' (a name, an address or a cloak)"],
      [`CHGHOST bob b ${"h".repeat(61)}.org`, "a host cannot be longer than 64 characters"],
      [`CHGHOST bob ${"u".repeat(17)} h.org`, "a user name cannot be longer than 16 characters"],
    ];
    for (const [line, problem] of refusals) {
      const fail = (await ann.reply(line)).find((m) => m.command === "FAIL");
      assert.deepEqual(fail?.params, [
        "CHGHOST",
        "INVALID_PARAMS",
        "bob",
        `Cannot change the host of bob: ${problem}`,
      ], line);
    }
    assert.deepEqual(commands(await ann.reply("CHGHOST nobody u h.example")), ["401"]);
    assert.deepEqual(commands(await ann.reply("CHGHOST bob u")), ["461"]);
    assert.deepEqual(commands(await bob.reply("CHGHOST bob u h.example")), ["481"]);
    // A member without a send queue is a bridged room's participant or a service: it keeps
    // its host (the bridge tells its own members by theirs).
    server.hub.add({
      nick: "ann|local",
      user: "shm",
      host: "local",
      realname: "ann in local room lobby",
      transport: "local",
      channels: new Set(),
      echo: false,
      deliver() {},
      disconnect() {},
    });
    const local = (await ann.reply("CHGHOST ann|local u h.example")).find((m) =>
      m.command === "FAIL"
    );
    assert.equal(
      local?.params.at(-1),
      "Cannot change the host of ann|local: it is not a network client (a bridged room's participant or a service)",
    );
    assert.equal(server.hub.find("bob")?.host, "127.0.0.1");
  });
});

Deno.test("the operator console's /chghost changes a host and says what is wrong with a bad one", async () => {
  await withOperAnn(async (server) => {
    await using ann = await operUser(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob", { caps: ["chghost"] });
    const printed: string[] = [];
    const typed = [
      "/chghost bob helper help.example",
      "/chghost bob x bad!host.example",
      "/chghost bob x bad host",
      "/chghost bob",
    ].join("\n");
    await runConsole(server, {
      input: ReadableStream.from([new TextEncoder().encode(`${typed}\n`)]),
      interactive: false,
      print: (line) => printed.push(line),
    });
    assert.deepEqual(printed, [
      "bob is now bob!helper@help.example",
      "Cannot change the host of bob: a host is letters, digits and ._/:-, nothing else",
      "usage: /chghost NICK USER HOST",
      "usage: /chghost NICK USER HOST",
    ]);
    assert.equal(
      (await bob.waitFor("CHGHOST")).line,
      ":bob!bob@127.0.0.1 CHGHOST helper help.example",
    );
    const audit = await ann.waitFor((m) => m.command === "NOTICE" && m.line.includes("CHGHOST"));
    assert.equal(
      audit.params[1],
      "*** CHGHOST bob (bob!bob@127.0.0.1) is now bob!helper@help.example, by console",
    );
  });
});

Deno.test("KLINE by the nick of a user given another host bans its address, and disconnects it", async () => {
  await withOperAnn(async (server) => {
    await using ann = await operUser(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await ann.reply("CHGHOST bob b vhost.example");
    await ann.send("KLINE 5 bob :by nick");
    const audit = await ann.waitFor((m) => m.command === "NOTICE" && m.line.includes("KLINE"));
    assert.match(
      audit.params[1],
      /^\*\*\* KLINE \*!\*@127\.0\.0\.1 \(5m\) by ann: by nick; disconnected bob$/,
    );
    await bob.closed;
  });
});
