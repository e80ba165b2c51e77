/**
 * The operator console has the operators' powers: /kill, /kline, /unkline, /klines, /wallops,
 * /opers and /rehash, with the same audit notices.
 */
import assert from "node:assert/strict";
import { IrcTestClient, withServer } from "./_irc.ts";
import { closedWithin, operUser, writeOperFile } from "./_opers.ts";
import { runConsole } from "../src/server/operator_console.ts";

Deno.test("the operator console kills, bans, lists, lifts, writes WALLOPS, lists operators and rehashes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-opers-console-test-" });
  try {
    const operFile = await writeOperFile(dir, ["ann", "dan"]);
    await withServer({ operFile }, async (server) => {
      await using ann = await operUser(server.port, "ann");
      await using bob = await IrcTestClient.register(server.port, "bob");
      await using carl = await IrcTestClient.register(server.port, "carl");
      await using eve = await IrcTestClient.register(server.port, "eve");
      const typed = [
        "/opers",
        "/kill bob bye now",
        "/kill nobody",
        "/kline 1h carl!*@* spam in #lobby",
        "/kline *@*",
        "/klines",
        "/wallops hello operators",
        "/unkline carl!*@*",
        "/unkline carl!*@*",
        "/rehash",
      ];
      const printed: string[] = [];
      await runConsole(server, {
        input: ReadableStream.from([new TextEncoder().encode(`${typed.join("\n")}\n`)]),
        interactive: false,
        print: (line) => printed.push(line),
      });
      assert.equal(printed.length, 12, printed.join("\n"));
      assert.deepEqual(printed.slice(0, 6), [
        "2 operator(s) configured: ann, dan",
        "  ann is oper ann",
        "killed bob",
        "no user named nobody",
        "banned carl!*@* (1h): spam in #lobby; disconnected carl",
        'Cannot ban "*@*": it would ban everyone',
      ]);
      assert.equal(printed[6], "1 server ban(s)");
      assert.match(
        printed[7],
        /^ {2}carl!\*@\* \(1h, until \d{4}-.*Z\) set by console: spam in #lobby$/,
      );
      assert.deepEqual(printed.slice(8), [
        "wallops sent to 1 user(s)",
        "lifted the ban on carl!*@*",
        "no server ban on carl!*@*",
        `2 operator(s) from ${operFile}`,
      ]);
      assert.equal(
        (await bob.waitFor("ERROR")).params[0],
        "Closing Link: 127.0.0.1 (Killed (shmooze (bye now)))",
      );
      assert.equal(
        (await carl.waitFor("ERROR")).params[0],
        "Closing Link: 127.0.0.1 (Banned: spam in #lobby)",
      );
      await closedWithin(bob);
      await closedWithin(carl);
      const seen = await ann.waitForMany(
        (m) => m.command === "NOTICE" || m.command === "WALLOPS",
        5,
      );
      assert.deepEqual(seen.map((m) => m.line), [
        ":shmooze NOTICE ann :*** KILL bob (bob!bob@127.0.0.1) by console: bye now",
        ":shmooze NOTICE ann :*** KLINE carl!*@* (1h) by console: spam in #lobby; disconnected carl",
        ":shmooze WALLOPS :hello operators",
        ":shmooze NOTICE ann :*** UNKLINE carl!*@* by console (set by console: spam in #lobby)",
        `:shmooze NOTICE ann :*** REHASH by console: 2 operator(s) from ${operFile}`,
      ]);
      // eve is neither an operator nor +w: she saw none of it.
      await eve.reply("PING after-the-console");
      assert.ok(!eve.lines.some((m) => m.command === "WALLOPS" || m.command === "NOTICE"));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the console's /rehash without --oper-file says so and keeps the list", async () => {
  await withServer({}, async (server) => {
    const printed: string[] = [];
    await runConsole(server, {
      input: ReadableStream.from([new TextEncoder().encode("/rehash\n/opers\n/klines\n")]),
      interactive: false,
      print: (line) => printed.push(line),
    });
    assert.deepEqual(printed, [
      "rehash failed, keeping 0 operator(s): the operators were not read from a file (serve --oper-file)",
      "0 operator(s) configured",
      "0 server ban(s)",
    ]);
  });
});
