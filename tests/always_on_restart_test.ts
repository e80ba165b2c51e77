/**
 * Always-on across restarts of a real `shmooze serve` process: the account is back in its
 * channels before any of its devices connects, and its read markers are kept.
 */
import assert from "node:assert/strict";
import { IrcTestClient, type Received, startServe } from "./_irc.ts";
import { connectDevice, registeredUser } from "./_accounts.ts";

/** Runs `body` with a temporary data directory, removed after. */
async function withDataDir(body: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-always-on-test-" });
  try {
    await body(dataDir);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** The names of the 353 replies for a channel among `lines`. */
function namesIn(lines: Received[], channel: string): string[] {
  return lines.filter((m) => m.command === "353" && m.params[2] === channel)
    .flatMap((m) => m.params[3].split(" "));
}

const MARKER = "timestamp=2025-06-01T12:00:00.000Z";

for (const stop of ["SIGTERM", "SIGKILL"] as const) {
  Deno.test(`an always-on account is back in its channels after a restart (${stop}), with its read markers`, async () => {
    await withDataDir(async (dataDir) => {
      {
        await using serve = await startServe({ dataDir });
        await using ann = await registeredUser(serve.port, "ann", { caps: ["draft/read-marker"] });
        await ann.send("NS SET ALWAYS-ON ON");
        await ann.waitFor("NOTICE");
        await ann.join("#team");
        await ann.join("#gone");
        await ann.send("PART #gone");
        await ann.waitFor("PART");
        await ann.send(`MARKREAD #team ${MARKER}`);
        await ann.waitFor("MARKREAD");
        if (stop === "SIGKILL") {
          serve.child.process.kill("SIGKILL");
          assert.equal((await serve.child.done).code, 137);
        }
      } // SIGTERM when not killed: every client, ann's device included, is closed on the way
      await using serve = await startServe({ dataDir });
      // Before any device of ann connects, bob finds ann in #team (away), not in #gone.
      await using bob = await IrcTestClient.register(serve.port, "bob");
      const joined = await bob.reply("JOIN #team");
      assert.deepEqual(
        namesIn(joined, "#team").sort(),
        ["ann", "bob"],
        "back, but not an operator for coming back first",
      );
      const whois = await bob.reply("WHOIS ann");
      assert.ok(whois.some((m) => m.command === "301"), "ann is away while no device is on");
      assert.deepEqual(namesIn(await bob.reply("JOIN #gone"), "#gone"), ["@bob"]);
      await bob.send("PRIVMSG #team :welcome back");
      await bob.reply("PING :stored");

      const { client: phone } = await connectDevice(serve.port, "ann", {
        caps: ["draft/read-marker", "draft/chathistory", "batch"],
      });
      await using _phone = phone;
      const burst = await phone.reply("PING :burst");
      assert.deepEqual(
        burst.filter((m) => m.command === "JOIN").map((m) => m.params[0]),
        ["#team"],
      );
      assert.deepEqual(
        burst.find((m) => m.command === "MARKREAD")?.params,
        ["#team", MARKER],
      );
      const history = await phone.reply(`CHATHISTORY AFTER #team ${MARKER} 10`);
      assert.deepEqual(
        history.filter((m) => m.command === "PRIVMSG").map((m) => m.params[1]),
        ["welcome back"],
      );
    });
  });
}

Deno.test("an account that turned always-on off is not brought back after a restart", async () => {
  await withDataDir(async (dataDir) => {
    {
      await using serve = await startServe({ dataDir });
      await using ann = await registeredUser(serve.port, "ann");
      await ann.send("NS SET ALWAYS-ON ON");
      await ann.waitFor("NOTICE");
      await ann.join("#team");
      await ann.send("NS SET ALWAYS-ON OFF");
      assert.match((await ann.waitFor("NOTICE")).params[1], /^Always-on is off/);
    }
    await using serve = await startServe({ dataDir });
    await using bob = await IrcTestClient.register(serve.port, "bob");
    assert.deepEqual(namesIn(await bob.reply("JOIN #team"), "#team"), ["@bob"]);
  });
});
