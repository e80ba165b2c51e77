/**
 * A deletion is stored like a message: committed before anyone is told (so it survives kill -9
 * right after its echo), refused with `FAIL REDACT TEMPORARILY_UNAVAILABLE` and told to nobody
 * when the disk is full, and it erases the words from the database files themselves.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { HistoryStore } from "../src/chat/history.ts";
import { canMount, fill, mountTmpfs, unmount } from "./_disk.ts";
import { IrcTestClient, type Received, startServe } from "./_irc.ts";

const CAPS = [
  "message-tags",
  "echo-message",
  "server-time",
  "batch",
  "draft/chathistory",
  "draft/message-redaction",
];

/** Sends a PRIVMSG and returns the msgid of its echo. */
async function say(client: IrcTestClient, target: string, text: string): Promise<string> {
  await client.send(`PRIVMSG ${target} :${text}`);
  const echo = await client.waitFor((m) => m.command === "PRIVMSG" && m.params[1] === text);
  return echo.tags.msgid;
}

/** Whether `text` is anywhere in the history database or its write-ahead log, as bytes. */
function inDatabaseFiles(dataDir: string, text: string): boolean {
  const needle = new TextEncoder().encode(text);
  return ["history.sqlite", "history.sqlite-wal"].some((name) => {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(join(dataDir, name));
    } catch {
      return false; // no log: nothing in it
    }
    search: for (let i = 0; i + needle.length <= bytes.length; i++) {
      for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue search;
      return true;
    }
    return false;
  });
}

/** The lines of a CHATHISTORY answer's batch, as `COMMAND params…` without tags. */
function historyOf(lines: Received[]): string[] {
  return lines.filter((m) => m.tags.batch !== undefined && m.command !== "BATCH")
    .map((m) => [m.command, ...m.params].join(" "));
}

Deno.test("a deletion echoed just before kill -9 is still there after a restart, and its words are in neither database file", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-redaction-test-" });
  const secret = `secret-${crypto.randomUUID()}`;
  const kept = `kept-${crypto.randomUUID()}`;
  try {
    let msgid: string;
    {
      await using serve = await startServe({ dataDir, args: ["--flood-burst", "0"] });
      await using ann = await IrcTestClient.register(serve.port, "ann", { caps: CAPS });
      await ann.join("#team");
      await say(ann, "#team", kept);
      msgid = await say(ann, "#team", `the vault code is ${secret}`);
      assert.ok(inDatabaseFiles(dataDir, secret), "the words were stored");
      await ann.send(`REDACT #team ${msgid}`);
      await ann.waitFor("REDACT");
      serve.child.process.kill("SIGKILL");
      assert.notEqual((await serve.child.done).code, 0);
    }
    assert.ok(!inDatabaseFiles(dataDir, secret), "the deleted words are gone from the files");
    assert.ok(inDatabaseFiles(dataDir, kept), "what was not deleted is still there");

    await using serve = await startServe({ dataDir });
    await using bob = await IrcTestClient.register(serve.port, "bob", { caps: CAPS });
    await using cy = await IrcTestClient.register(serve.port, "cy", {
      caps: CAPS.filter((cap) => cap !== "draft/message-redaction"),
    });
    await bob.join("#team");
    await cy.join("#team");
    assert.deepEqual(historyOf(await bob.reply("CHATHISTORY LATEST #team * 10")), [
      `PRIVMSG #team ${kept}`,
      "PRIVMSG #team [deleted]",
      `REDACT #team ${msgid}`,
    ]);
    assert.deepEqual(historyOf(await cy.reply("CHATHISTORY LATEST #team * 10")), [
      `PRIVMSG #team ${kept}`,
    ]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test({
  name:
    "serve refuses a deletion it cannot store when the disk is full: FAIL to the asker, nothing to anyone, nothing deleted",
  ignore: !canMount,
  async fn() {
    const mount = mountTmpfs("2m")!;
    try {
      await using server = await startServe({
        dataDir: join(mount, "data"),
        args: ["--flood-burst", "0"],
      });
      await using ann = await IrcTestClient.register(server.port, "ann", { caps: CAPS });
      await using bob = await IrcTestClient.register(server.port, "bob", { caps: CAPS });
      await ann.join("#team");
      await bob.join("#team");
      const msgid = await say(ann, "#team", "delete me later");
      await fill(join(mount, "filler"));
      await ann.send(`REDACT #team ${msgid}`);
      const refused = await ann.waitFor((m) => m.command === "FAIL" || m.command === "REDACT");
      assert.deepEqual(refused.params.slice(0, 3), ["REDACT", "TEMPORARILY_UNAVAILABLE", "#team"]);
      const seen = await bob.reply("PING :after the refusal");
      assert.deepEqual(seen.filter((m) => m.command === "REDACT"), [], "bob was told nothing");
      const still = await bob.reply("CHATHISTORY LATEST #team * 10");
      assert.deepEqual(historyOf(still), ["PRIVMSG #team delete me later"]);

      // Room again: the same REDACT now works, without a restart.
      await Deno.remove(join(mount, "filler"));
      await ann.send(`REDACT #team ${msgid}`);
      assert.deepEqual((await ann.waitFor("REDACT", 10_000)).params, ["#team", msgid]);
      assert.deepEqual((await bob.waitFor("REDACT", 10_000)).params, ["#team", msgid]);
    } finally {
      unmount(mount);
    }
  },
});

Deno.test("HistoryStore.redact() erases a message's words and tags from the database file and its log, overflow pages included", () => {
  const dir = Deno.makeTempDirSync({ prefix: "shmooze-redaction-test-" });
  const history = HistoryStore.open(dir, { deferCommit: true, retentionMs: 0 });
  try {
    const secret = `secret-${crypto.randomUUID()}`;
    const from = { sender: "ann", senderMask: "ann!ann@h", target: "#team" } as const;
    for (let i = 0; i < 20; i++) {
      // Message 10 carries a reply tag long enough to spill onto an overflow page.
      const tags = i === 10
        ? { clientTags: { "+draft/reply": `${"r".repeat(3000)}${secret}` } }
        : {};
      const text = i === 10 ? `the code is ${secret}` : `line ${i}`;
      history.append({ ...from, msgid: `m${i}`, time: i + 1, command: "PRIVMSG", text, ...tags });
    }
    history.commit();
    assert.ok(inDatabaseFiles(dir, secret));
    const { id } = history.locate("m10")!;
    history.redact(id, { msgid: "r1", time: 100, source: "ann!ann@h", reason: "" });
    history.commit();
    assert.ok(!inDatabaseFiles(dir, secret), "the words are in neither file");
    assert.ok(inDatabaseFiles(dir, "line 11"), "the other messages are");
    const [deleted] = history.query("#team", { kind: "around", anchor: { msgid: "m10" } }, 1, {
      redacted: true,
    });
    assert.deepEqual([deleted.text, deleted.clientTags, deleted.redaction?.msgid], [
      "",
      undefined,
      "r1",
    ]);
  } finally {
    history.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
