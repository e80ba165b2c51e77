/**
 * IRCv3 labeled-response against a real server: every reply to a labeled command carries
 * the label — one line labeled, several in a `labeled-response` batch, none as `ACK` — also
 * when the command waits (a PRIVMSG's commit to history, CHATHISTORY), and nobody else sees
 * the label.
 */
import assert from "node:assert/strict";
import { IrcTestClient, type Received, withServer } from "./_irc.ts";
import { withAccounts } from "./_accounts.ts";

const CAPS = ["labeled-response", "batch", "echo-message", "message-tags", "server-time"];

/**
 * Sends a labeled command (with more client tags, if given) and returns its whole response:
 * one line, or a batch's lines.
 */
async function labeled(
  client: IrcTestClient,
  label: string,
  line: string,
  tags = "",
): Promise<Received[]> {
  await client.send(`@label=${label}${tags} ${line}`);
  const first = await client.waitFor((m) => m.tags.label === label);
  if (first.command !== "BATCH") return [first];
  const id = first.params[0].slice(1);
  assert.equal(first.params[1], "labeled-response");
  const lines = [first];
  while (true) {
    const next = await client.waitFor(() => true);
    lines.push(next);
    if (next.command === "BATCH" && next.params[0] === `-${id}`) return lines;
  }
}

Deno.test("a labeled PING gets its PONG labeled, a labeled PONG an ACK, an unknown command a labeled 421", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann", { caps: CAPS });
    const [pong] = await labeled(ann, "p1", "PING hello");
    assert.equal(pong.command, "PONG");
    assert.equal(pong.params.at(-1), "hello");
    const [ack] = await labeled(ann, "p2", "PONG hello");
    assert.equal(ack.line, "@label=p2 :shmooze ACK");
    const [unknown] = await labeled(ann, "p3", "NOSUCHCOMMAND");
    assert.equal(unknown.command, "421");
  });
});

Deno.test("a labeled JOIN gets its JOIN and NAMES in one labeled-response batch", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann", { caps: CAPS });
    const lines = await labeled(ann, "j1", "JOIN #room");
    assert.deepEqual(lines.map((m) => m.command), ["BATCH", "JOIN", "353", "366", "BATCH"]);
    assert.equal(lines[0].tags.label, "j1");
    for (const line of lines.slice(1, -1)) {
      assert.equal(line.tags.batch, lines[0].params[0].slice(1));
    }
    assert.equal(lines[1].source, "ann!ann@127.0.0.1");
    // The JOIN still reaches the channel's other members, unlabeled.
    await using bob = await IrcTestClient.register(server.port, "bob", { caps: CAPS });
    await labeled(bob, "j2", "JOIN #room");
    const seen = await ann.waitFor("JOIN");
    assert.equal(seen.source, "bob!bob@127.0.0.1");
    assert.equal(seen.tags.label, undefined);
  });
});

Deno.test("the echo of a labeled PRIVMSG carries the label once it is stored; its recipients never see the label", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann", { caps: CAPS });
    await using bob = await IrcTestClient.register(server.port, "bob", { caps: CAPS });
    await labeled(ann, "c1", "JOIN #room");
    await labeled(bob, "c2", "JOIN #room");
    const [echo] = await labeled(ann, "m1", "PRIVMSG #room :hi all", ";+draft/reply=x");
    assert.equal(echo.command, "PRIVMSG");
    assert.equal(echo.params[1], "hi all");
    const got = await bob.waitFor("PRIVMSG");
    assert.equal(got.tags.label, undefined);
    assert.equal(got.tags["+draft/reply"], "x");
    assert.equal(got.tags.msgid, echo.tags.msgid);
    const [dm] = await labeled(ann, "m2", "PRIVMSG bob :just you");
    assert.equal(dm.params[0], "bob");
    assert.equal((await bob.waitFor("PRIVMSG")).tags.label, undefined);
    // To oneself a message comes twice, received and echoed: only the echo is labeled.
    await ann.send("@label=m3 PRIVMSG ann :me");
    const twice = await ann.waitForMany((m) => m.command === "PRIVMSG", 2);
    assert.deepEqual(twice.map((m) => m.tags.label).sort(), ["m3", undefined]);
    // Without echo-message a PRIVMSG has no reply: ACK.
    await using cy = await IrcTestClient.register(server.port, "cy", {
      caps: ["labeled-response", "batch"],
    });
    const [ack] = await labeled(cy, "m4", "PRIVMSG ann :quiet");
    assert.equal(ack.command, "ACK");
  });
});

Deno.test("a labeled CHATHISTORY nests its chathistory batch in the labeled-response batch", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann", { caps: CAPS });
    await labeled(ann, "h0", "JOIN #room");
    await labeled(ann, "h1", "PRIVMSG #room :one");
    await labeled(ann, "h2", "PRIVMSG #room :two");
    const lines = await labeled(ann, "h3", "CHATHISTORY LATEST #room * 10");
    const outer = lines[0].params[0].slice(1);
    assert.deepEqual(lines.map((m) => m.command), [
      "BATCH",
      "BATCH",
      "PRIVMSG",
      "PRIVMSG",
      "BATCH",
      "BATCH",
    ]);
    const inner = lines[1].params[0].slice(1);
    assert.equal(lines[1].params[1], "chathistory");
    assert.equal(lines[1].tags.batch, outer);
    assert.deepEqual(lines.slice(2, 4).map((m) => [m.tags.batch, m.params[1]]), [
      [inner, "one"],
      [inner, "two"],
    ]);
    assert.equal(lines[4].tags.batch, outer);
    assert.equal(lines[4].params[0], `-${inner}`);
  });
});

Deno.test("a label is ignored without the labeled-response capability", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    const replies = await ann.reply("@label=x PING plain");
    assert.deepEqual(replies.map((m) => m.line), [":shmooze PONG shmooze plain"]);
  });
});
