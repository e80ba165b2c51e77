import assert from "node:assert/strict";
import { IrcTestClient, withServer } from "./_irc.ts";

/** An IPv4 address of this machine that is not loopback, if it has one. */
function outsideAddress(): string | undefined {
  return Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."))
    ?.address;
}

Deno.test("serve closes a client that sends more than 16 KiB before registering", async () => {
  await withServer({}, async (server) => {
    await using client = await IrcTestClient.connect(server.port);
    const filler = `PING ${"x".repeat(400)}`;
    for (let i = 0; i < 50; i++) await client.send(filler).catch(() => {});
    const error = await client.waitFor("ERROR");
    assert.match(error.params[0], /Sent more than 16384 bytes before registering/);
    await client.closed;
    // A client that registers is not limited by it.
    await using ann = await IrcTestClient.register(server.port, "ann");
    for (let i = 0; i < 50; i++) await ann.send(filler);
    await ann.send("PING end");
    await ann.waitFor((m) => m.command === "PONG" && m.params[1] === "end");
  });
});

Deno.test({
  name: "serve refuses new connections from an address past its rate a minute, loopback exempt",
  ignore: outsideAddress() === undefined,
  fn: async () => {
    const address = outsideAddress()!;
    await withServer(
      { hostname: "0.0.0.0", limits: { connectionsPerMinute: 3 } },
      async (server) => {
        for (let i = 0; i < 3; i++) {
          await using client = await IrcTestClient.connect(server.port, address);
          await client.register(`user${i}`);
        }
        await using refused = await IrcTestClient.connect(server.port, address);
        const error = await refused.waitFor("ERROR");
        assert.match(
          error.params[0],
          /Too many new connections from your IP address \(3 a minute\)/,
        );
        for (let i = 0; i < 5; i++) {
          await using local = await IrcTestClient.connect(server.port);
          await local.register(`local${i}`);
        }
      },
    );
  },
});

Deno.test("CHATHISTORY past the per-client budget answers FAIL and the client stays", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-abuse-test-" });
  try {
    await withServer({ dataDir, limits: { historyBudget: 3 } }, async (server) => {
      await using ann = await IrcTestClient.register(server.port, "ann");
      await ann.join("#lobby");
      for (let i = 0; i < 3; i++) {
        await ann.send("CHATHISTORY LATEST #lobby * 10");
        await ann.send(`PING ${i}`);
        await ann.waitFor("PONG");
      }
      assert.ok(!ann.lines.some((m) => m.command === "FAIL"));
      await ann.send("CHATHISTORY LATEST #lobby * 10");
      const fail = await ann.waitFor("FAIL");
      assert.deepEqual(fail.params.slice(0, 4), [
        "CHATHISTORY",
        "MESSAGE_ERROR",
        "LATEST",
        "#lobby",
      ]);
      assert.match(fail.params[4], /Too many history requests \(3 in 10 s\); try again in \d+ s/);
      await ann.send("PRIVMSG #lobby :still here");
      await ann.send("PING alive");
      await ann.waitFor((m) => m.command === "PONG" && m.params[1] === "alive");
    });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("JOIN past CHANLIMIT answers 405 and ISUPPORT announces the limit", async () => {
  await withServer({ limits: { maxChannels: 2 } }, async (server) => {
    await using ann = await IrcTestClient.connect(server.port);
    await ann.register("ann");
    assert.ok(ann.lines.some((m) => m.command === "005" && m.params.includes("CHANLIMIT=#:2")));
    await ann.join("#one");
    await ann.join("#two");
    await ann.send("JOIN #three");
    const refused = await ann.waitFor("405");
    assert.equal(refused.params[1], "#three");
  });
});

Deno.test("A half line never finished is dropped by the registration or ping timeout", async () => {
  await withServer(
    { limits: { registrationTimeout: 1, pingInterval: 1, pingTimeout: 1 } },
    async (server) => {
      await using unregistered = await IrcTestClient.connect(server.port);
      await unregistered.sendBytes(new TextEncoder().encode("NICK slow"));
      await using registered = await IrcTestClient.register(server.port, "ann");
      registered.autoPong = false;
      await registered.sendBytes(new TextEncoder().encode("PRIVMSG #lobby :never fini"));
      const started = Date.now();
      const [first, second] = await Promise.all([
        unregistered.waitFor("ERROR", 8000),
        registered.waitFor("ERROR", 8000),
      ]);
      assert.match(first.params[0], /Registration timed out/);
      assert.match(second.params[0], /Ping timeout/);
      await Promise.all([unregistered.closed, registered.closed]);
      assert.ok(Date.now() - started < 8000);
      assert.equal(server.stats().connections, 0);
    },
  );
});
