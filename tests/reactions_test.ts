/**
 * Replies (`+draft/reply`) and reactions (`+draft/react` TAGMSG): relayed, stored with the
 * message, and returned by CHATHISTORY with their tags; typing is relayed and never stored.
 */
import assert from "node:assert/strict";
import { HistoryStore, MAX_STORED_TAG_BYTES } from "../src/chat/history.ts";
import type { Received } from "./_irc.ts";
import { registeredUser, withAccounts } from "./_accounts.ts";

const BASE = ["message-tags", "echo-message", "server-time", "batch", "draft/chathistory"];

/** The messages in the history batch of a CHATHISTORY answer: `COMMAND text {client tags}`. */
function historyOf(lines: Received[]): string[] {
  const inBatch = lines.filter((m) => m.tags.batch !== undefined);
  return inBatch.filter((m) => m.command === "PRIVMSG" || m.command === "TAGMSG").map((m) => {
    const tags = Object.entries(m.tags).filter(([name]) => name.startsWith("+"));
    const text = m.command === "TAGMSG" ? "" : ` ${m.params[1]}`;
    return `${m.command}${text} ${JSON.stringify(Object.fromEntries(tags))}`;
  });
}

Deno.test("a reply and a reaction are relayed and stored with their tags; CHATHISTORY returns them, the reaction to clients with message-tags", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann", { caps: BASE });
    await using bob = await registeredUser(server.port, "bob", { caps: BASE });
    await using cy = await registeredUser(server.port, "cy", {
      caps: ["batch", "draft/chathistory"],
    });
    await ann.join("#team");
    await bob.join("#team");
    await cy.join("#team");

    await ann.send("PRIVMSG #team :lunch?");
    const question = (await ann.waitFor("PRIVMSG")).tags.msgid;
    await bob.waitFor("PRIVMSG");
    await bob.send(`@+draft/reply=${question} PRIVMSG #team :yes`);
    const reply = await ann.waitFor("PRIVMSG");
    assert.equal(reply.tags["+draft/reply"], question);
    const answer = reply.tags.msgid;
    await ann.send(`@+draft/react=👍;+draft/reply=${answer} TAGMSG #team`);
    const reaction = await bob.waitFor("TAGMSG");
    assert.deepEqual(
      [reaction.tags["+draft/react"], reaction.tags["+draft/reply"]],
      ["👍", answer],
    );
    assert.equal((await ann.waitFor("TAGMSG")).tags.msgid, reaction.tags.msgid, "the echo");
    await ann.send("@+typing=active TAGMSG #team");
    assert.equal((await bob.waitFor("TAGMSG")).tags["+typing"], "active");

    const stored = [
      `PRIVMSG lunch? {}`,
      `PRIVMSG yes {"+draft/reply":"${question}"}`,
      `TAGMSG {"+draft/react":"👍","+draft/reply":"${answer}"}`,
    ];
    assert.deepEqual(historyOf(await ann.reply("CHATHISTORY LATEST #team * 10")), stored);
    assert.deepEqual(historyOf(await bob.reply("CHATHISTORY LATEST #team * 10")), stored);
    // Without message-tags: no tags, so no TAGMSG; the limit counts what the client is sent.
    assert.deepEqual(historyOf(await cy.reply("CHATHISTORY LATEST #team * 2")), [
      "PRIVMSG lunch? {}",
      "PRIVMSG yes {}",
    ]);
  });
});

Deno.test("a private reply and reaction are stored for both accounts and returned by CHATHISTORY", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann", { caps: BASE });
    await using bob = await registeredUser(server.port, "bob", { caps: BASE });
    await ann.send("PRIVMSG bob :are you there?");
    const question = (await bob.waitFor("PRIVMSG")).tags.msgid;
    await bob.send(`@+draft/reply=${question} PRIVMSG ann :here`);
    const answer = (await ann.waitFor("PRIVMSG")).tags.msgid;
    await ann.send(`@+draft/react=🎉;+draft/reply=${answer} TAGMSG bob`);
    await bob.waitFor("TAGMSG");
    const want = [
      "PRIVMSG are you there? {}",
      `PRIVMSG here {"+draft/reply":"${question}"}`,
      `TAGMSG {"+draft/react":"🎉","+draft/reply":"${answer}"}`,
    ];
    assert.deepEqual(historyOf(await ann.reply("CHATHISTORY LATEST bob * 10")), want);
    assert.deepEqual(historyOf(await bob.reply("CHATHISTORY LATEST ann * 10")), want);
  });
});

Deno.test("HistoryStore keeps client-only tags up to what one line may carry, and a TAGMSG only with tags", () => {
  const dir = Deno.makeTempDirSync({ prefix: "shmooze-reactions-test-" });
  const history = HistoryStore.open(dir);
  try {
    const base = {
      time: Date.now(),
      sender: "ann",
      senderMask: "ann!ann@h",
      target: "#team",
      command: "PRIVMSG",
      text: "hi",
    } as const;
    // `+x=` and the value: exactly the most one line carries.
    const fits = { "+x": "v".repeat(MAX_STORED_TAG_BYTES - 3) };
    history.append({ ...base, msgid: "m1", clientTags: fits });
    assert.deepEqual(history.query("#team", { kind: "latest" }, 1)[0].clientTags, fits);
    assert.throws(
      () => history.append({ ...base, msgid: "m2", clientTags: { "+x": `${fits["+x"]}v` } }),
      /client-only tags take 4095 bytes, over 4094/,
    );
    assert.throws(
      () => history.append({ ...base, msgid: "m3", clientTags: { msgid: "forged" } }),
      /the tag "msgid" is not client-only/,
    );
    assert.throws(
      () => history.append({ ...base, msgid: "m4", command: "TAGMSG", text: "" }),
      /a TAGMSG has client-only tags and no text/,
    );
    assert.equal(history.query("#team", { kind: "latest" }, 10).length, 1);
  } finally {
    history.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
