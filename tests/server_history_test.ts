import assert from "node:assert/strict";
import { IrcTestClient, type Received, startServe, withServer } from "./_irc.ts";

const CAPS = ["batch", "server-time", "message-tags", "echo-message", "draft/chathistory"];

/** Sends a CHATHISTORY command and collects the lines of its batch (or its FAIL). */
async function history(client: IrcTestClient, command: string): Promise<Received[]> {
  await client.send(command);
  const start = await client.waitFor((m) =>
    (m.command === "BATCH" && m.params[0].startsWith("+")) || m.command === "FAIL"
  );
  if (start.command === "FAIL") return [start];
  const id = start.params[0].slice(1);
  const lines: Received[] = [];
  while (true) {
    const line = await client.waitFor((m) => m.tags.batch === id || m.command === "BATCH");
    if (line.command === "BATCH" && line.params[0] === `-${id}`) return lines;
    lines.push(line);
  }
}

function texts(lines: Received[]): string[] {
  return lines.map((m) => m.params[1]);
}

async function withHistoryServer(body: (port: number) => Promise<void>): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-history-test-" });
  try {
    await withServer({ dataDir }, (server) => body(server.port));
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test("CHATHISTORY LATEST, BEFORE, AFTER, AROUND and BETWEEN page through a channel", async () => {
  await withHistoryServer(async (port) => {
    await using ann = await IrcTestClient.register(port, "ann", { caps: CAPS });
    await ann.join("#lobby");
    const sent: Received[] = [];
    for (let i = 1; i <= 10; i++) {
      await ann.send(`PRIVMSG #lobby :line ${i}`);
      sent.push(await ann.waitFor("PRIVMSG"));
    }
    const latest = await history(ann, "CHATHISTORY LATEST #lobby * 3");
    assert.deepEqual(texts(latest), ["line 8", "line 9", "line 10"]);
    // Replayed lines keep their original msgid, time and source.
    assert.equal(latest[2].tags.msgid, sent[9].tags.msgid);
    assert.equal(latest[2].tags.time, sent[9].tags.time);
    assert.equal(latest[2].source, "ann!ann@127.0.0.1");
    const id = (n: number) => `msgid=${sent[n - 1].tags.msgid}`;
    assert.deepEqual(
      texts(await history(ann, `CHATHISTORY BEFORE #lobby ${id(4)} 2`)),
      ["line 2", "line 3"],
    );
    assert.deepEqual(
      texts(await history(ann, `CHATHISTORY AFTER #lobby ${id(8)} 5`)),
      ["line 9", "line 10"],
    );
    assert.deepEqual(
      texts(await history(ann, `CHATHISTORY AROUND #lobby ${id(5)} 3`)),
      ["line 4", "line 5", "line 6"],
    );
    assert.deepEqual(
      texts(await history(ann, `CHATHISTORY BETWEEN #lobby ${id(2)} ${id(6)} 10`)),
      ["line 3", "line 4", "line 5"],
    );
    assert.deepEqual(
      texts(await history(ann, `CHATHISTORY LATEST #lobby ${id(8)} 10`)),
      ["line 9", "line 10"],
    );
    const after = `timestamp=${new Date(Date.parse(sent[9].tags.time) + 1).toISOString()}`;
    assert.deepEqual(await history(ann, `CHATHISTORY BEFORE #lobby ${after} 1`).then(texts), [
      "line 10",
    ]);
    assert.deepEqual(await history(ann, `CHATHISTORY AFTER #lobby ${after} 10`), []);
  });
});

Deno.test("CHATHISTORY is served to channel members only and answers FAIL per the spec", async () => {
  await withHistoryServer(async (port) => {
    await using ann = await IrcTestClient.register(port, "ann", { caps: CAPS });
    await using eve = await IrcTestClient.register(port, "eve", { caps: CAPS });
    await ann.join("#secret");
    await ann.send("PRIVMSG #secret :for members");
    await ann.waitFor("PRIVMSG");
    const denied = await history(eve, "CHATHISTORY LATEST #secret * 10");
    assert.deepEqual(denied[0].params.slice(0, 4), [
      "CHATHISTORY",
      "INVALID_TARGET",
      "LATEST",
      "#secret",
    ]);
    await eve.join("#secret");
    assert.deepEqual(
      texts(await history(eve, "CHATHISTORY LATEST #secret * 10")),
      ["for members"],
    );
    const failures: [string, string][] = [
      ["CHATHISTORY FROBNICATE #secret * 10", "UNKNOWN_COMMAND"],
      ["CHATHISTORY LATEST #secret", "NEED_MORE_PARAMS"],
      ["CHATHISTORY LATEST #secret * zero", "INVALID_PARAMS"],
      ["CHATHISTORY BEFORE #secret yesterday 10", "INVALID_PARAMS"],
      ["CHATHISTORY LATEST #nowhere * 10", "INVALID_TARGET"],
    ];
    for (const [command, code] of failures) {
      const [fail] = await history(eve, command);
      assert.equal(fail.command, "FAIL", command);
      assert.equal(fail.params[1], code, command);
    }
  });
});

Deno.test("CHATHISTORY TARGETS lists the channels with messages in a window", async () => {
  await withHistoryServer(async (port) => {
    await using ann = await IrcTestClient.register(port, "ann", { caps: CAPS });
    await ann.join("#one");
    await ann.join("#two");
    await ann.send("PRIVMSG #one :first");
    await ann.waitFor("PRIVMSG");
    await ann.send("PRIVMSG #two :second");
    const last = await ann.waitFor("PRIVMSG");
    await ann.send(
      "CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2100-01-01T00:00:00.000Z 10",
    );
    const start = await ann.waitFor("BATCH");
    assert.equal(start.params[1], "draft/chathistory-targets");
    const one = await ann.waitFor("CHATHISTORY");
    const two = await ann.waitFor("CHATHISTORY");
    assert.deepEqual([one.params[1], two.params[1]], ["#one", "#two"]);
    assert.equal(two.params[2], last.tags.time);
    assert.equal((await ann.waitFor("BATCH")).params[0], `-${start.params[0].slice(1)}`);
  });
});

Deno.test("serve keeps every echoed message across a kill -9 restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-history-test-" });
  try {
    const echoed: string[] = [];
    {
      await using first = await startServe({ dataDir, args: ["--flood-burst", "0"] });
      await using ann = await IrcTestClient.register(first.port, "ann", { caps: CAPS });
      await ann.join("#lobby");
      // Many messages in flight at once: each echo is the acknowledgement.
      await ann.send(Array.from({ length: 200 }, (_, i) => `PRIVMSG #lobby :m${i}`).join("\r\n"));
      for (const message of await ann.waitForMany("PRIVMSG", 200)) echoed.push(message.params[1]);
      first.child.process.kill("SIGKILL");
      assert.equal((await first.child.done).code, 137);
    }
    await using second = await startServe({ dataDir, args: ["--flood-burst", "0"] });
    await using bob = await IrcTestClient.register(second.port, "bob", { caps: CAPS });
    await bob.join("#lobby");
    const newest = await history(bob, "CHATHISTORY LATEST #lobby * 100");
    const oldest = await history(
      bob,
      `CHATHISTORY BEFORE #lobby msgid=${newest[0].tags.msgid} 100`,
    );
    assert.deepEqual([...texts(oldest), ...texts(newest)], echoed);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("an empty CHATHISTORY answer is an empty batch with batch, and a NOTE without", async () => {
  await withHistoryServer(async (port) => {
    await using batched = await IrcTestClient.register(port, "ann", { caps: CAPS });
    await using plain = await IrcTestClient.register(port, "bob", { caps: ["draft/chathistory"] });
    await batched.join("#quiet");
    await plain.join("#quiet");
    await batched.waitFor((m) => m.command === "JOIN" && m.source!.startsWith("bob!"));
    const window = "timestamp=2000-01-01T00:00:00.000Z timestamp=2100-01-01T00:00:00.000Z";
    const shape = (lines: Received[]) =>
      lines.map((m) => [m.command, ...m.params.map((p) => p.replace(/^([+-])h\w+$/, "$1id"))]);

    assert.deepEqual(shape(await batched.reply("CHATHISTORY LATEST #quiet * 10")), [
      ["BATCH", "+id", "chathistory", "#quiet"],
      ["BATCH", "-id"],
    ]);
    assert.deepEqual(shape(await batched.reply(`CHATHISTORY TARGETS ${window} 10`)), [
      ["BATCH", "+id", "draft/chathistory-targets"],
      ["BATCH", "-id"],
    ]);
    assert.deepEqual(shape(await plain.reply("CHATHISTORY LATEST #Quiet * 10")), [
      ["NOTE", "CHATHISTORY", "NO_MESSAGES", "LATEST", "#quiet", "No messages to send"],
    ]);
    assert.deepEqual(shape(await plain.reply(`CHATHISTORY TARGETS ${window} 10`)), [
      ["NOTE", "CHATHISTORY", "NO_MESSAGES", "TARGETS", "*", "No messages to send"],
    ]);

    // A non-empty answer without batch is just the messages.
    await batched.send("PRIVMSG #quiet :not quiet now");
    await plain.waitFor("PRIVMSG");
    const replayed = await plain.reply("CHATHISTORY LATEST #quiet * 10");
    assert.deepEqual(replayed.map((m) => [m.command, ...m.params]), [
      ["PRIVMSG", "#quiet", "not quiet now"],
    ]);
  });
});
