/**
 * Deleting messages (IRCv3 `draft/message-redaction`): who may delete what, who is told (with
 * which source and tags), what CHATHISTORY gives clients with and without the capability
 * afterwards, and what bad input gets.
 */
import assert from "node:assert/strict";
import { connectDevice, registeredUser, withAccounts } from "./_accounts.ts";
import { IrcTestClient, type Received } from "./_irc.ts";

const REDACTION = "draft/message-redaction";
const BASE = ["message-tags", "echo-message", "server-time", "batch", "draft/chathistory"];
const CAPS = [...BASE, REDACTION, "account-tag"];

/** Sends a PRIVMSG and returns the msgid of its echo. */
async function say(client: IrcTestClient, target: string, text: string): Promise<string> {
  await client.send(`PRIVMSG ${target} :${text}`);
  const echo = await client.waitFor((m) => m.command === "PRIVMSG" && m.params[1] === text);
  return echo.tags.msgid;
}

/** The next REDACT or FAIL REDACT the client gets. */
function answer(client: IrcTestClient): Promise<Received> {
  return client.waitFor((m) =>
    m.command === "REDACT" || (m.command === "FAIL" && m.params[0] === "REDACT")
  );
}

/** A FAIL REDACT's code and context, without its description. */
function failure(m: Received): string[] {
  assert.equal(m.command, "FAIL", m.line);
  return m.params.slice(1, -1);
}

/** The lines of a CHATHISTORY answer's batch, as `COMMAND params…` without tags. */
function historyOf(lines: Received[]): string[] {
  return lines.filter((m) => m.tags.batch !== undefined && m.command !== "BATCH")
    .map((m) => [m.command, ...m.params].join(" "));
}

Deno.test("REDACT deletes one's own channel message: members with draft/message-redaction get it with the deleter's source and tags, others nothing", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann", { caps: CAPS });
    await using bob = await registeredUser(server.port, "bob", { caps: CAPS });
    await using cy = await IrcTestClient.register(server.port, "cy", { caps: BASE });
    for (const client of [ann, bob, cy]) await client.join("#team");
    await say(ann, "#team", "before");
    const msgid = await say(ann, "#team", "my password is hunter2");
    await say(ann, "#team", "after");

    await ann.send(`REDACT #team ${msgid} :oops, wrong window`);
    const echo = await answer(ann);
    const relayed = await answer(bob);
    for (const redact of [echo, relayed]) {
      assert.equal(redact.source, `ann!ann@127.0.0.1`);
      assert.deepEqual(redact.params, ["#team", msgid, "oops, wrong window"]);
      assert.equal(redact.tags.account, "ann");
      assert.match(redact.tags.time, /^\d{4}-\d\d-\d\dT/);
      assert.notEqual(redact.tags.msgid, msgid, "the REDACT has an id of its own");
    }
    assert.equal(relayed.tags.msgid, echo.tags.msgid);
    // The monitor page and the status board show recent messages: not this one any more.
    const recent = server.stats().recentMessages.map((m) => m.text);
    assert.deepEqual(recent.filter((text) => text.includes("hunter2")), []);
    assert.ok(recent.includes("after"));
    // cy never negotiated the capability: no REDACT, and no fallback either.
    assert.deepEqual((await cy.reply("PING :x")).filter((m) => m.command === "REDACT"), []);

    // History: the deleted message as a placeholder followed by its REDACT, for a client with
    // the capability; left out entirely for one without.
    const withCap = historyOf(await bob.reply("CHATHISTORY LATEST #team * 10"));
    assert.deepEqual(withCap, [
      "PRIVMSG #team before",
      "PRIVMSG #team [deleted]",
      `REDACT #team ${msgid} oops, wrong window`,
      "PRIVMSG #team after",
    ]);
    const bobHistory = await bob.reply(`CHATHISTORY AROUND #team msgid=${msgid} 1`);
    const placeholder = bobHistory.find((m) => m.command === "PRIVMSG")!;
    assert.equal(placeholder.tags.msgid, msgid);
    const replayed = bobHistory.find((m) => m.command === "REDACT")!;
    assert.deepEqual(
      [replayed.source, replayed.tags.msgid, replayed.tags.time, replayed.tags.account],
      [echo.source, echo.tags.msgid, echo.tags.time, "ann"],
    );
    assert.deepEqual(historyOf(await cy.reply("CHATHISTORY LATEST #team * 10")), [
      "PRIVMSG #team before",
      "PRIVMSG #team after",
    ]);
    // The limit counts what the client is given: two for cy are "before" and "after".
    assert.deepEqual(historyOf(await cy.reply("CHATHISTORY LATEST #team * 2")), [
      "PRIVMSG #team before",
      "PRIVMSG #team after",
    ]);
  });
});

Deno.test("an account deletes its message from another device and after reconnecting; a guest only what it sent on this connection", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann", { caps: CAPS });
    await ann.join("#team");
    const first = await say(ann, "#team", "first");
    const second = await say(ann, "#team", "second");
    const { client: phone } = await connectDevice(server.port, "ann", { caps: CAPS });
    await using _phone = phone;
    await phone.send(`REDACT #team ${first}`);
    assert.deepEqual((await answer(phone)).params, ["#team", first]);
    assert.deepEqual((await answer(ann)).params, ["#team", first], "the other device is told");
    await ann.close();
    await phone.close();

    const { client: later } = await connectDevice(server.port, "ann", { caps: CAPS });
    await using _later = later;
    await later.join("#team");
    await later.send(`REDACT #team ${second}`);
    assert.equal((await answer(later)).command, "REDACT");

    await using guest = await IrcTestClient.register(server.port, "guest", { caps: CAPS });
    await guest.join("#team");
    const mine = await say(guest, "#team", "guest line");
    const left = await say(guest, "#team", "left behind");
    await guest.send(`REDACT #team ${mine}`);
    assert.equal((await answer(guest)).command, "REDACT");
    await guest.close();
    await using again = await IrcTestClient.register(server.port, "guest", { caps: CAPS });
    await again.join("#team");
    await again.send(`REDACT #team ${left}`);
    assert.deepEqual(failure(await answer(again)), ["REDACT_FORBIDDEN", "#team", left]);
  });
});

Deno.test("REDACT refuses another's message; a channel operator deletes anyone's in its channel and not in another", async () => {
  await withAccounts({}, async (server) => {
    await using op = await registeredUser(server.port, "op", { caps: CAPS });
    await using bob = await registeredUser(server.port, "bob", { caps: CAPS });
    await using cy = await registeredUser(server.port, "cy", { caps: CAPS });
    await using dee = await IrcTestClient.register(server.port, "dee", { caps: CAPS });
    await op.join("#ops"); // first in: its operator
    await bob.join("#ops");
    await cy.join("#ops");
    await bob.join("#other"); // bob's channel, where op is a plain member
    await op.join("#other");
    const spam = await say(bob, "#ops", "buy cheap watches");
    const elsewhere = await say(bob, "#other", "hello other");

    await cy.send(`REDACT #ops ${spam}`);
    assert.deepEqual(failure(await answer(cy)), ["REDACT_FORBIDDEN", "#ops", spam]);
    await dee.send(`REDACT #ops ${spam}`);
    assert.deepEqual(failure(await answer(dee)), ["INVALID_TARGET", "#ops"], "not in #ops");
    await op.send(`REDACT #other ${elsewhere} :not mine to delete`);
    assert.deepEqual(failure(await answer(op)), ["REDACT_FORBIDDEN", "#other", elsewhere]);
    // A message of #other named as one of #ops: not there.
    await op.send(`REDACT #ops ${elsewhere}`);
    assert.deepEqual(failure(await answer(op)), ["UNKNOWN_MSGID", "#ops", elsewhere]);

    await op.send(`REDACT #ops ${spam} spam`);
    const done = await answer(op);
    assert.equal(done.source, "op!op@127.0.0.1");
    for (const client of [bob, cy]) {
      const redact = await answer(client);
      assert.deepEqual([redact.source, ...redact.params], [
        "op!op@127.0.0.1",
        "#ops",
        spam,
        "spam",
      ]);
    }
    const other = await bob.reply("CHATHISTORY LATEST #other * 10");
    assert.deepEqual(historyOf(other), ["PRIVMSG #other hello other"]);
  });
});

Deno.test("a private message may be deleted by its sender only; both parties' devices are told, a third party hears of nothing", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann", { caps: CAPS });
    await using bob = await registeredUser(server.port, "bob", { caps: CAPS });
    await using cy = await registeredUser(server.port, "cy", { caps: CAPS });
    const secret = await say(ann, "bob", "the door code is 4711");
    await bob.waitFor((m) => m.command === "PRIVMSG" && m.tags.msgid === secret);
    const reply = await say(bob, "ann", "thanks");

    await bob.send(`REDACT ann ${secret}`);
    assert.deepEqual(failure(await answer(bob)), ["REDACT_FORBIDDEN", "ann", secret]);
    await cy.send(`REDACT bob ${secret}`);
    assert.deepEqual(failure(await answer(cy)), ["UNKNOWN_MSGID", "bob", secret]);
    await cy.send(`REDACT ann ${reply}`);
    assert.deepEqual(failure(await answer(cy)), ["UNKNOWN_MSGID", "ann", reply]);

    const { client: bobPhone } = await connectDevice(server.port, "bob", { caps: CAPS });
    await using _bobPhone = bobPhone;
    await ann.send(`REDACT bob ${secret}`);
    assert.deepEqual((await answer(ann)).params, ["bob", secret]);
    for (const device of [bob, bobPhone]) {
      const redact = await answer(device);
      assert.deepEqual([redact.source, ...redact.params], ["ann!ann@127.0.0.1", "bob", secret]);
    }
    assert.deepEqual(historyOf(await bob.reply("CHATHISTORY LATEST ann * 10")), [
      "PRIVMSG bob [deleted]",
      `REDACT bob ${secret}`,
      "PRIVMSG ann thanks",
    ]);
  });
});

Deno.test("REDACT answers bad input with the spec's FAIL codes and keeps the connection", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann", { caps: CAPS });
    await using plain = await IrcTestClient.register(server.port, "plain", { caps: BASE });
    await ann.join("#team");
    await plain.join("#team");
    const msgid = await say(ann, "#team", "to delete");

    await plain.send(`REDACT #team ${msgid}`);
    const refused = await plain.waitFor("421");
    assert.match(refused.params.at(-1)!, /Enable the draft\/message-redaction capability/);
    await ann.send("REDACT #team");
    assert.equal((await ann.waitFor("461")).params[1], "REDACT");
    await ann.send("REDACT #team no-such-msgid");
    assert.deepEqual(failure(await answer(ann)), ["UNKNOWN_MSGID", "#team", "no-such-msgid"]);
    await ann.send(`REDACT #nowhere ${msgid}`);
    assert.deepEqual(failure(await answer(ann)), ["INVALID_TARGET", "#nowhere"]);
    await ann.send(`REDACT #team,#x ${msgid}`);
    assert.deepEqual(failure(await answer(ann)), ["INVALID_TARGET", "#team,#x"]);
    // What is echoed back is cut, so that no FAIL is longer than a line.
    const huge = ["m".repeat(470), `#${"c".repeat(470)}`, "n".repeat(470)];
    for (
      const line of [`REDACT #team ${huge[0]}`, `REDACT ${huge[1]} m1`, `REDACT ${huge[2]} m1`]
    ) {
      await ann.send(line);
      const fail = await answer(ann);
      assert.equal(fail.command, "FAIL");
      assert.ok(new TextEncoder().encode(`${fail.line}\r\n`).length <= 512, fail.line);
    }

    // A reason is cut to KICKLEN characters, and to what fits one relayed line (the sender's
    // prefix makes this one too long by some 20 bytes), never inside a character.
    await ann.send(`REDACT #team no-such-msgid :${"x".repeat(400)}`);
    await answer(ann);
    const long = await say(ann, "#team", "long reason");
    await ann.send(`REDACT #team ${long} :${"x".repeat(400)}`);
    assert.equal((await answer(ann)).params[2], "x".repeat(390));
    await ann.send(`REDACT #team ${msgid} :${"é".repeat(235)}`);
    const deleted = await answer(ann);
    assert.equal(deleted.command, "REDACT");
    const reason = deleted.params[2];
    assert.ok(/^é+$/.test(reason) && reason.length < 235, `reason of ${reason.length} é`);
    const relayed = new TextEncoder().encode(`${deleted.line.replace(/^@\S+ /, "")}\r\n`);
    assert.ok(relayed.length <= 512 && relayed.length > 500, `${relayed.length} bytes`);

    // Deleted already; the REDACT's own id; a JOIN's id: no message to delete.
    await ann.send(`REDACT #team ${msgid}`);
    assert.deepEqual(failure(await answer(ann)), ["UNKNOWN_MSGID", "#team", msgid]);
    await ann.send(`REDACT #team ${deleted.tags.msgid}`);
    assert.deepEqual(failure(await answer(ann)), ["UNKNOWN_MSGID", "#team", deleted.tags.msgid]);
    await ann.send("@+typing=active TAGMSG #team");
    const typing = await ann.waitFor("TAGMSG");
    await ann.send(`REDACT #team ${typing.tags.msgid}`);
    assert.deepEqual(failure(await answer(ann)), ["UNKNOWN_MSGID", "#team", typing.tags.msgid]);

    // A reaction is a stored TAGMSG: its sender may delete it.
    const other = await say(ann, "#team", "react to me");
    await ann.send(`@+draft/react=👍;+draft/reply=${other} TAGMSG #team`);
    const reaction = await ann.waitFor((m) => m.command === "TAGMSG" && "+draft/react" in m.tags);
    await ann.send(`REDACT #team ${reaction.tags.msgid}`);
    assert.deepEqual((await answer(ann)).params, ["#team", reaction.tags.msgid]);
    const history = await ann.reply("CHATHISTORY LATEST #team * 2");
    const tagmsg = history.find((m) => m.command === "TAGMSG")!;
    assert.deepEqual(Object.keys(tagmsg.tags).filter((name) => name.startsWith("+")), []);

    const pong = await ann.reply("PING :still here");
    assert.ok(pong.some((m) => m.command === "PONG"), "the connection survived every refusal");
  });
});

Deno.test("REDACT lines are paced by flood control like any other line", async () => {
  await withAccounts({ limits: { floodBurst: 3, floodRate: 5 } }, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann", { caps: CAPS });
    await ann.join("#team");
    const count = 13;
    const started = performance.now();
    await ann.send(
      Array.from({ length: count }, (_, i) => `REDACT #team nothing-${i}`).join("\r\n"),
    );
    const answers = await ann.waitForMany((m) => m.command === "FAIL", count, 20_000);
    const elapsed = performance.now() - started;
    assert.deepEqual(
      answers.map((m) => m.params[3]),
      Array.from({ length: count }, (_, i) => `nothing-${i}`),
    );
    // 3 at once, then 5 a second: the last of 13 waits (13 - 3) / 5 = 2 s.
    assert.ok(elapsed >= 1800, `13 REDACTs answered in ${elapsed.toFixed(0)} ms`);
  });
});
