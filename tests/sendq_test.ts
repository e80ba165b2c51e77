/**
 * The SendQ bounds what a client has not read of other people's traffic; the answers to its
 * own commands are delivered whole however big, and a client dropped for not reading is
 * told why.
 */
import assert from "node:assert/strict";
import { waitUntil } from "./_helpers.ts";
import { IrcTestClient, startServe, withServer } from "./_irc.ts";

Deno.test("serve answers a LIST and a WHO bigger than the SendQ in full and keeps the client", async () => {
  await withServer({ limits: { sendQ: 4096, maxConnectionsPerIp: 200 } }, async (server) => {
    await using asker = await IrcTestClient.register(server.port, "asker");
    const topic = "t".repeat(300);
    // One channel at a time: a client that sends faster than it reads is what the SendQ
    // is for (flood control is off here).
    for (let i = 0; i < 30; i++) {
      await asker.send(`JOIN #room${i}`);
      await asker.send(`TOPIC #room${i} :${topic} ${i}`);
      await asker.waitFor((m) => m.command === "TOPIC" && m.params[0] === `#room${i}`);
    }
    const others: IrcTestClient[] = [];
    try {
      for (let i = 0; i < 60; i++) {
        const other = await IrcTestClient.register(server.port, `member${i}`);
        others.push(other);
        await other.join("#lobby");
      }
      await asker.join("#lobby");
      // Both replies are far over 4 KiB: 30 × 300-byte topics, 61 WHO lines.
      await asker.send("LIST");
      await asker.send("WHO #lobby");
      await asker.waitFor("323", 10_000);
      await asker.waitFor("315", 10_000);
      const listed = asker.lines.filter((m) =>
        m.command === "322" && m.params[1].startsWith("#room")
      );
      assert.equal(listed.length, 30);
      const who = asker.lines.filter((m) => m.command === "352");
      assert.equal(who.length, 61);
      // Still connected and answering.
      await asker.send("PING :still");
      await asker.waitFor((m) => m.command === "PONG" && m.params[1] === "still");
      assert.ok(server.stats().channels.some((c) => c.members.includes("asker")));
    } finally {
      for (const other of others) await other[Symbol.asyncDispose]();
    }
  });
});

Deno.test("serve reads no further command from a client that does not read its answers", async () => {
  await withServer({ limits: { sendQ: 4096 } }, async (server) => {
    await using filler = await IrcTestClient.register(server.port, "filler");
    for (let i = 0; i < 30; i++) {
      await filler.send(`JOIN #c${i}`);
      await filler.send(`TOPIC #c${i} :${"u".repeat(350)}`);
      await filler.waitFor((m) => m.command === "TOPIC" && m.params[0] === `#c${i}`);
    }
    // A raw socket that sends many LISTs and reads nothing.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    try {
      const encoder = new TextEncoder();
      await conn.write(encoder.encode("NICK greedy\r\nUSER greedy 0 * :Greedy\r\n"));
      const lists = 2000;
      // Written from another task: the server stops reading, so these writes block.
      const writing = (async () => {
        for (let i = 0; i < lists; i++) await conn.write(encoder.encode("LIST\r\n"));
        await conn.write(encoder.encode("QUIT :bye\r\n"));
      })().catch(() => {});
      // 2000 LIST replies of ~12 KiB would be ~24 MiB; the server holds no more than one
      // reply over the SendQ at a time, whatever the kernel's buffers took.
      const session = () => [...server.hub.members.values()].find((m) => m.nick === "greedy");
      await waitUntil(() => session() !== undefined, 10_000, "greedy to register");
      // The reader reads everything now and counts the LIST replies: all of them come.
      const decoder = new TextDecoder();
      const buffer = new Uint8Array(65536);
      let text = "";
      let ends = 0;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const n = await conn.read(buffer);
        if (n === null) break;
        text += decoder.decode(buffer.subarray(0, n), { stream: true });
        const lines = text.split("\r\n");
        text = lines.pop()!;
        ends += lines.filter((line) => / 323 /.test(line)).length;
        for (const line of lines) {
          const queued = (session() as { queuedBytes?: number } | undefined)?.queuedBytes ?? 0;
          assert.ok(queued < 4096 + 16384, `${queued} bytes queued for greedy (${line})`);
        }
      }
      await writing;
      assert.equal(ends, lists);
    } finally {
      conn.close();
    }
  });
});

Deno.test("serve tells a client it drops for not reading why (ERROR SendQ exceeded) and logs it", async () => {
  await using server = await startServe({
    args: ["--flood-burst", "0", "--sendq", "65536", "--log-level", "warning"],
  });
  await using sender = await IrcTestClient.register(server.port, "sender");
  await using watcher = await IrcTestClient.register(server.port, "watcher");
  await sender.join("#lobby");
  await watcher.join("#lobby");
  const stuck = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await stuck.write(
      new TextEncoder().encode("NICK stuck\r\nUSER stuck 0 * :Stuck\r\nJOIN #lobby\r\n"),
    );
    await watcher.waitFor((m) => m.command === "JOIN" && m.source?.startsWith("stuck!") === true);
    const text = "x".repeat(400);
    let quit = false;
    const quitting = watcher.waitFor("QUIT", 120_000).then((m) => {
      quit = true;
      return m;
    });
    for (let i = 0; !quit && i < 100_000; i += 50) {
      const lines = [];
      for (let j = i; j < i + 50; j++) lines.push(`PRIVMSG #lobby :${j} ${text}`);
      await sender.send(`${lines.join("\r\n")}\r\nPING :batch-${i}`);
      await sender.waitFor((m) => m.command === "PONG" && m.params[1] === `batch-${i}`, 30_000);
    }
    const message = await quitting;
    assert.equal(message.source?.split("!")[0], "stuck");
    assert.equal(message.params[0], "SendQ exceeded");
    // The stuck client now reads what reached it: it ends with the reason.
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(1 << 16);
    let tail = "";
    for (;;) {
      const n = await stuck.read(buffer);
      if (n === null) break;
      tail = (tail + decoder.decode(buffer.subarray(0, n), { stream: true })).slice(-1024);
    }
    assert.match(tail, /ERROR :Closing Link: \S+ \(SendQ exceeded\)\r\n$/);
  } finally {
    stuck.close();
  }
  await server[Symbol.asyncDispose]();
  const { stderr } = await server.child.done;
  assert.match(stderr, /Dropped "stuck" \("127\.0\.0\.1"\): SendQ exceeded/);
});
