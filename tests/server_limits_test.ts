import assert from "node:assert/strict";
import { waitUntil } from "./_helpers.ts";
import { IrcTestClient, withServer } from "./_irc.ts";
import { privmsgBudget } from "../src/chat/split_text.ts";

Deno.test("serve rejects a line over 512 bytes or tags over 4096 bytes with 417 and keeps the client", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await ann.join("#lobby");
    await bob.join("#lobby");
    // 510 bytes + CR LF is the longest line allowed.
    const longest = `PING :${"a".repeat(510 - "PING :".length)}`;
    await ann.send(`${longest}b`);
    assert.equal((await ann.waitFor("417")).params[1], "Input line was too long");
    await ann.send(longest);
    assert.equal((await ann.waitFor("PONG")).params[1].length, 510 - "PING :".length);
    // IRCv3 message-tags: a client may send 4094 bytes of tags, 4096 with the @ and the space.
    const tags = (size: number) => `@+big=${"x".repeat(size - "@+big= ".length)}`;
    await ann.send(`${tags(4097)} PRIVMSG #lobby :tags too long`);
    await ann.waitFor("417");
    // Tags up to the limit are fine; the rest of the line still counts up to 512.
    await ann.send(`${tags(4096)} PRIVMSG #lobby :tags fit`);
    assert.equal((await bob.waitFor("PRIVMSG")).params[1], "tags fit");
    // A line far past every buffer is dropped whole, and the next line still works.
    await ann.send(`PRIVMSG #lobby :${"z".repeat(100_000)}`);
    await ann.waitFor("417");
    await ann.send("PRIVMSG #lobby :still here");
    assert.equal((await bob.waitFor("PRIVMSG")).params[1], "still here");
  });
});

Deno.test("serve refuses with 417 a message whose relayed line would pass 512 bytes, and relays the longest that fits", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await ann.join("#lobby");
    await bob.join("#lobby");
    // What bob gets is ann's line with her prefix: it must fit in 512 bytes with CR LF.
    const room = privmsgBudget(512, "ann!ann@127.0.0.1", "#lobby");
    await ann.send(`PRIVMSG #lobby :${"a".repeat(room + 1)}`);
    assert.match((await ann.waitFor("417")).params[1], /relayed with your prefix/);
    await ann.send(
      `PRIVMSG bob :${"p".repeat(privmsgBudget(512, "ann!ann@127.0.0.1", "bob") + 1)}`,
    );
    await ann.waitFor("417");
    await ann.send(`PRIVMSG #lobby :${"a".repeat(room)}`);
    const relayed = await bob.waitFor("PRIVMSG");
    assert.equal(new TextEncoder().encode(`${relayed.line}\r\n`).length, 512);
  });
});

Deno.test("serve --max-line changes the line limit", async () => {
  await withServer({ limits: { maxLine: 100 } }, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await ann.send(`PING :${"p".repeat(100)}`);
    await ann.waitFor("417");
    await ann.send("PING :short");
    await ann.waitFor("PONG");
  });
});

Deno.test("serve answers invalid UTF-8 with FAIL INVALID_UTF8, relays nothing and keeps the client", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await ann.join("#lobby");
    await bob.join("#lobby");
    const bad = new Uint8Array([
      ...new TextEncoder().encode("PRIVMSG #lobby :caf"),
      0xc3,
      0x28,
      13,
      10,
    ]);
    await ann.sendBytes(bad);
    const fail = await ann.waitFor("FAIL");
    assert.deepEqual(fail.params.slice(0, 2), ["PRIVMSG", "INVALID_UTF8"]);
    await ann.send("PRIVMSG #lobby :café");
    assert.equal((await bob.waitFor("PRIVMSG")).params[1], "café");
  });
});

Deno.test("serve delays a flooding client (burst 5, then 2 lines a second) without dropping lines", async () => {
  await withServer({ limits: { floodBurst: 5, floodRate: 2 } }, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    const start = performance.now();
    await ann.send(Array.from({ length: 9 }, (_, i) => `PING :n${i}`).join("\r\n"));
    const pongs = await ann.waitForMany("PONG", 9, 20_000);
    const elapsed = performance.now() - start;
    assert.deepEqual(pongs.map((m) => m.params[1]), Array.from({ length: 9 }, (_, i) => `n${i}`));
    // Four lines past the burst at 2/s need at least 2 s (less a margin for timer slack).
    assert.ok(elapsed >= 1900, `9 lines took only ${elapsed.toFixed(0)} ms`);
  });
});

Deno.test("serve --flood-burst 0 turns flood control off", async () => {
  await withServer({ limits: { floodBurst: 0 } }, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    const start = performance.now();
    await ann.send(Array.from({ length: 200 }, (_, i) => `PING :n${i}`).join("\r\n"));
    await ann.waitForMany("PONG", 200);
    const elapsed = performance.now() - start;
    // With flood control on, 200 lines would take 98 s.
    assert.ok(elapsed < 10_000, `200 lines took ${elapsed.toFixed(0)} ms`);
  });
});

Deno.test("serve refuses connections past the per-IP limit with an ERROR", async () => {
  await withServer({ limits: { maxConnectionsPerIp: 2 } }, async (server) => {
    await using one = await IrcTestClient.register(server.port, "one");
    await using two = await IrcTestClient.connect(server.port);
    await using three = await IrcTestClient.connect(server.port);
    assert.match((await three.waitFor("ERROR")).params[0], /Too many connections from your IP/);
    await three.closed;
    // Closing one frees a slot once the server has seen it go.
    await one.close();
    await waitUntil(() => server.stats().connections === 1, 5000, "the server to drop one");
    await using four = await IrcTestClient.connect(server.port);
    await four.register("four");
    await two.register("two");
  });
});

Deno.test("serve closes a connection that does not register in time", async () => {
  await withServer({ limits: { registrationTimeout: 1 } }, async (server) => {
    await using idle = await IrcTestClient.connect(server.port);
    await idle.send("NICK idle");
    const error = await idle.waitFor("ERROR", 5000);
    assert.match(error.params[0], /Registration timed out/);
    await idle.closed;
  });
});

Deno.test("serve pings an idle client and drops it when it does not answer", async () => {
  await withServer({ limits: { pingInterval: 1, pingTimeout: 1 } }, async (server) => {
    await using alive = await IrcTestClient.register(server.port, "alive");
    await using mute = await IrcTestClient.register(server.port, "mute");
    await alive.join("#lobby");
    await mute.join("#lobby");
    mute.autoPong = false;
    await mute.waitFor("PING", 5000);
    assert.match((await mute.waitFor("ERROR", 5000)).params[0], /Ping timeout/);
    const quit = await alive.waitFor("QUIT", 5000);
    assert.equal(quit.source?.split("!")[0], "mute");
    // The one that answers its PINGs stays.
    await alive.waitFor("PING", 5000);
    await alive.send("PING :still");
    await alive.waitFor((m) => m.command === "PONG" && m.params[1] === "still");
  });
});

Deno.test("serve drops a client that never reads (SendQ exceeded) while the others receive everything", async () => {
  await withServer({ limits: { sendQ: 64 * 1024 } }, async (server) => {
    await using sender = await IrcTestClient.register(server.port, "sender");
    await using watcher = await IrcTestClient.register(server.port, "watcher");
    await sender.join("#lobby");
    await watcher.join("#lobby");
    // The stuck client registers and joins, then never reads a byte.
    const stuck = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await stuck.write(
      new TextEncoder().encode("NICK stuck\r\nUSER stuck 0 * :Stuck\r\nJOIN #lobby\r\n"),
    );
    await watcher.waitFor((m) => m.command === "JOIN" && m.source?.startsWith("stuck!") === true);
    // Enough to fill the kernel's socket buffers (several MB on loopback) and the SendQ.
    const count = 24_000;
    const text = "x".repeat(400);
    // Small batches, each confirmed by a PONG, so the watcher (on this same event loop)
    // is never more than a batch behind and only the stuck client's queue grows.
    const batch = 50;
    const sending = (async () => {
      for (let i = 0; i < count; i += batch) {
        const lines = [];
        for (let j = i; j < i + batch; j++) lines.push(`PRIVMSG #lobby :${j} ${text}`);
        await sender.send(`${lines.join("\r\n")}\r\nPING :batch-${i}`);
        await sender.waitFor((m) => m.command === "PONG" && m.params[1] === `batch-${i}`);
      }
    })();
    const quit = await watcher.waitFor("QUIT", 60_000);
    assert.equal(quit.source?.split("!")[0], "stuck");
    assert.equal(quit.params[0], "SendQ exceeded");
    await sending;
    await sender.send("PRIVMSG #lobby :done");
    await watcher.waitFor((m) => m.command === "PRIVMSG" && m.params[1] === "done", 60_000);
    const received = watcher.lines.filter((m) => m.command === "PRIVMSG" && m.params[1] !== "done");
    assert.deepEqual(
      received.map((m) => Number(m.params[1].split(" ")[0])),
      Array.from({ length: count }, (_, i) => i),
    );
    assert.deepEqual(server.stats().channels[0].members, ["sender", "watcher"]);
    stuck.close();
  });
});
