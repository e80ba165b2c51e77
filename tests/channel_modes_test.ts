/**
 * Channel operators and modes over raw IRC clients on a real server: who is an operator,
 * what each mode keeps out or quiets, INVITE and KICK, the lists and their numerics, and the
 * ISUPPORT tokens checked against what the server really does.
 */
import assert from "node:assert/strict";
import { IrcTestClient, type Received, withServer } from "./_irc.ts";
import { PASSWORD, registeredUser, saslLogin, withAccounts } from "./_accounts.ts";

/** The names of a 353 reply. */
function namesOf(message: Received): string[] {
  return message.params.at(-1)!.split(" ");
}

/** Sends NAMES and returns the names listed. */
async function names(client: IrcTestClient, channel: string): Promise<string[]> {
  const lines = await replies(client, `NAMES ${channel}`);
  return lines.filter((m) => m.command === "353").flatMap(namesOf);
}

/**
 * The server's own lines (numerics, FAIL) a command got, before the PONG that follows it:
 * what other users did meanwhile (JOIN, MODE …) comes from their masks and is left out.
 */
async function replies(client: IrcTestClient, line: string): Promise<Received[]> {
  return (await client.reply(line)).filter((m) => !m.source?.includes("!"));
}

/** The commands (numerics) of {@link replies}. */
async function answer(client: IrcTestClient, line: string): Promise<string[]> {
  return (await replies(client, line)).map((m) => m.command);
}

/** The ISUPPORT tokens of a client's welcome, as NAME → value ("" for a bare token). */
function isupport(client: IrcTestClient): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const line of client.lines.filter((m) => m.command === "005")) {
    for (const token of line.params.slice(1, -1)) {
      const [name, value = ""] = token.split(/=(.*)/s);
      tokens.set(name, value);
    }
  }
  return tokens;
}

Deno.test("the creator of a channel is its operator; NAMES shows @ and +, multi-prefix both", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob", { caps: ["multi-prefix"] });
    await ann.join("#team");
    await bob.join("#team");
    assert.deepEqual(await names(bob, "#team"), ["@ann", "bob"]);
    await ann.send("MODE #team +v ann");
    await bob.waitFor((m) => m.command === "MODE" && m.params.join(" ") === "#team +v ann");
    await ann.send("MODE #team +v bob");
    await ann.waitFor((m) => m.command === "MODE" && m.params.join(" ") === "#team +v bob");
    assert.deepEqual(await names(ann, "#team"), ["@ann", "+bob"], "the highest prefix only");
    assert.deepEqual(await names(bob, "#team"), ["@+ann", "+bob"], "multi-prefix: every prefix");
    // #lobby is nobody's creation: nobody is its operator by joining first.
    await ann.join("#lobby");
    assert.deepEqual(await names(ann, "#lobby"), ["ann"]);
  });
});

Deno.test("+t lets only operators set the topic; others get 482", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await ann.join("#team");
    await bob.join("#team");
    assert.ok(
      (await replies(ann, "MODE #team")).some((m) => m.params[2] === "+nt"),
      "new channels are +nt",
    );
    assert.deepEqual(await answer(bob, "TOPIC #team :mine now"), ["482"]);
    await ann.send("MODE #team -t");
    await bob.waitFor((m) => m.command === "MODE" && m.params.join(" ") === "#team -t");
    await bob.send("TOPIC #team :mine now");
    assert.equal((await ann.waitFor("TOPIC")).params[1], "mine now");
    await ann.send("MODE #team +t");
    await bob.waitFor((m) => m.command === "MODE" && m.params.join(" ") === "#team +t");
    assert.deepEqual(await answer(bob, "TOPIC #team :again"), ["482"]);
  });
});

Deno.test("+n keeps out messages from outside the channel; with -n they come in, echoed to the sender", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using out = await IrcTestClient.register(server.port, "out", { caps: ["echo-message"] });
    await ann.join("#team");
    assert.deepEqual(await answer(out, "PRIVMSG #team :hello?"), ["404"]);
    await ann.send("MODE #team -n");
    await ann.waitFor("MODE");
    await out.send("PRIVMSG #team :hello from outside");
    await ann.waitFor(/:out!\S+ PRIVMSG #team :hello from outside$/);
    await out.waitFor(/:out!\S+ PRIVMSG #team :hello from outside$/);
  });
});

Deno.test("+m silences members without voice (404) until they are voiced", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await ann.join("#team");
    await bob.join("#team");
    await ann.send("MODE #team +m");
    await bob.waitFor("MODE");
    assert.deepEqual(await answer(bob, "PRIVMSG #team :can I speak?"), ["404"]);
    await ann.send("PRIVMSG #team :operators can");
    await bob.waitFor(/PRIVMSG #team :operators can$/);
    await ann.send("MODE #team +v bob");
    await bob.waitFor((m) => m.command === "MODE" && m.params.join(" ") === "#team +v bob");
    await bob.send("PRIVMSG #team :now I can");
    await ann.waitFor(/:bob!\S+ PRIVMSG #team :now I can$/);
  });
});

Deno.test("+k needs the key (475), +l caps the members (471); a bad key or limit gets 696", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await using cat = await IrcTestClient.register(server.port, "cat");
    await ann.join("#team");
    await ann.send("MODE #team +kl beer 2");
    assert.deepEqual((await ann.waitFor("MODE")).params, ["#team", "+kl", "beer", "2"]);
    const badKey = await replies(ann, "MODE #team +k :two words");
    assert.deepEqual(badKey.map((m) => m.params.slice(1, 4)), [["#team", "k", "*"]]);
    assert.equal(badKey[0].command, "696");
    const badLimit = await replies(ann, "MODE #team +l 0");
    assert.deepEqual(badLimit.map((m) => [m.command, ...m.params.slice(1, 4)]), [
      ["696", "#team", "l", "0"],
    ]);
    assert.deepEqual(await answer(bob, "JOIN #team"), ["475"]);
    assert.deepEqual(await answer(bob, "JOIN #team wine"), ["475"]);
    await bob.send("JOIN #team beer");
    await bob.waitFor((m) => m.command === "366" && m.params[1] === "#team");
    assert.deepEqual(await answer(cat, "JOIN #team beer"), ["471"], "two members: full");
    await bob.send("PART #team");
    await ann.waitFor("PART");
    await cat.send("JOIN #team beer");
    await cat.waitFor((m) => m.command === "366" && m.params[1] === "#team");
  });
});

Deno.test("+i needs an invitation (473); INVITE lets one in once and operators with invite-notify see it", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using dan = await IrcTestClient.register(server.port, "dan", { caps: ["invite-notify"] });
    await using eve = await IrcTestClient.register(server.port, "eve");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await ann.join("#team");
    await dan.join("#team");
    await eve.join("#team");
    await ann.send("MODE #team +io dan");
    await dan.waitFor((m) => m.command === "MODE" && m.params.join(" ") === "#team +io dan");
    assert.deepEqual(await answer(bob, "JOIN #team"), ["473"]);
    assert.deepEqual(await answer(eve, "INVITE bob #team"), ["482"], "+i: operators only");
    assert.deepEqual(await answer(ann, "INVITE ghost #team"), ["401"]);
    assert.deepEqual(await answer(ann, "INVITE eve #team"), ["443"]);
    assert.deepEqual(await answer(bob, "INVITE eve #team"), ["442"]);
    const inviting = await replies(ann, "INVITE bob #team");
    assert.deepEqual(inviting.map((m) => [m.command, ...m.params]), [[
      "341",
      "ann",
      "bob",
      "#team",
    ]]);
    const invited = await bob.waitFor("INVITE");
    assert.match(invited.line, /^:ann!\S+ INVITE bob #team$/);
    // dan is an operator who asked for invite-notify; eve neither.
    assert.match((await dan.waitFor("INVITE")).line, /^:ann!\S+ INVITE bob #team$/);
    assert.ok(!eve.lines.some((m) => m.command === "INVITE"));
    const pending = await replies(bob, "INVITE");
    assert.deepEqual(pending.map((m) => [m.command, ...m.params.slice(1)]), [
      ["336", "#team"],
      ["337", "End of /INVITE list"],
    ]);
    await bob.join("#team");
    await bob.send("PART #team");
    await bob.waitFor("PART");
    assert.deepEqual(await answer(bob, "JOIN #team"), ["473"], "an invitation is used up");
  });
});

Deno.test("+b keeps a mask out (474) and quiets a banned member; +e excepts; 367/368 list it", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "Bob");
    await using cat = await IrcTestClient.register(server.port, "cat");
    await ann.join("#team");
    await cat.join("#team");
    await ann.send("MODE #team +b BOB");
    assert.deepEqual((await ann.waitFor("MODE")).params, ["#team", "+b", "BOB!*@*"]);
    assert.deepEqual(await answer(bob, "JOIN #team"), ["474"]);
    const list = await replies(ann, "MODE #team +b");
    assert.deepEqual(list.map((m) => m.command), ["367", "368"]);
    assert.deepEqual(list[0].params.slice(1, 4), ["#team", "BOB!*@*", "ann!ann@127.0.0.1"]);
    assert.ok(Math.abs(Number(list[0].params[4]) - Date.now() / 1000) < 60);
    await ann.send("MODE #team +e *!bob@*");
    await ann.waitFor((m) => m.command === "MODE" && m.params[1] === "+e");
    const exceptions = await replies(cat, "MODE #team e");
    assert.deepEqual(exceptions.map((m) => m.command), ["348", "349"]);
    await bob.join("#team");
    // A ban on someone already in: they stay, but may not speak.
    await ann.send("MODE #team +b cat!*@*");
    await cat.waitFor((m) => m.command === "MODE" && m.params[2] === "cat!*@*");
    assert.deepEqual(await answer(cat, "PRIVMSG #team :still here?"), ["404"]);
    await ann.send("MODE #team -b cat");
    await cat.waitFor((m) => m.command === "MODE" && m.params.join(" ") === "#team -b cat!*@*");
    await cat.send("PRIVMSG #team :yes");
    await ann.waitFor(/:cat!\S+ PRIVMSG #team :yes$/);
  });
});

Deno.test("+b ~a:ACCOUNT keeps that account out whatever its nick, and not a nick without it", async () => {
  await withAccounts({}, async (server) => {
    await (await registeredUser(server.port, "bob")).close();
    await using ann = await IrcTestClient.register(server.port, "ann");
    await ann.join("#team");
    await ann.send("MODE #team +b ~a:BOB");
    assert.deepEqual((await ann.waitFor("MODE")).params, ["#team", "+b", "~a:BOB"]);
    // Logged in to bob (the nick is bob's: a registered nick needs its account).
    await using bob = await IrcTestClient.connect(server.port);
    assert.equal((await saslLogin(bob, "bob", PASSWORD)).command, "900");
    await bob.send("CAP END");
    await bob.waitFor("001");
    await bob.send("NICK robert");
    await bob.waitFor("NICK");
    assert.deepEqual(await answer(bob, "JOIN #team"), ["474"]);
    // The same nick without the account is not banned: the extban matches accounts.
    await ann.send("MODE #team +b ~a:ann");
    await ann.waitFor((m) => m.command === "MODE" && m.params[2] === "~a:ann");
    await using notAnn = await IrcTestClient.register(server.port, "notann");
    await notAnn.join("#team");
    // +I with an account extban lets the account into a +i channel.
    await ann.send("MODE #team +i-b+I ~a:bob ~a:bob");
    await ann.waitFor((m) => m.command === "MODE" && m.params[1] === "+i-b+I");
    await bob.join("#team");
  });
});

Deno.test("KICK with a reason is seen by everyone in the channel; 482, 441, 442 and 401 otherwise", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await using cat = await IrcTestClient.register(server.port, "cat");
    await using out = await IrcTestClient.register(server.port, "out");
    await ann.join("#team");
    await bob.join("#team");
    await cat.join("#team");
    assert.deepEqual(await answer(bob, "KICK #team cat :no"), ["482"]);
    assert.deepEqual(await answer(out, "KICK #team cat"), ["442"]);
    assert.deepEqual(await answer(ann, "KICK #team out"), ["441"]);
    assert.deepEqual(await answer(ann, "KICK #team ghost"), ["401"]);
    await ann.send("KICK #team bob :off topic");
    for (const client of [ann, bob, cat]) {
      const kick = await client.waitFor("KICK");
      assert.match(kick.line, /^:ann!\S+ KICK #team bob :off topic$/);
    }
    assert.deepEqual(await names(ann, "#team"), ["@ann", "cat"]);
    await ann.send("KICK #team cat");
    assert.deepEqual(
      (await cat.waitFor("KICK")).params,
      ["#team", "cat", "ann"],
      "the kicker's nick by default",
    );
  });
});

Deno.test("MODE #chan shows 324 with the key and limit to members only, and 329; unknown letters get 472", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using out = await IrcTestClient.register(server.port, "out");
    await ann.join("#team");
    await ann.send("MODE #team +sikl beer 10");
    await ann.waitFor("MODE");
    const mine = await replies(ann, "MODE #team");
    assert.deepEqual(mine.map((m) => [m.command, ...m.params.slice(1)])[0], [
      "324",
      "#team",
      "+instkl",
      "beer",
      "10",
    ]);
    assert.equal(mine[1].command, "329");
    const theirs = await replies(out, "MODE #team");
    assert.deepEqual(theirs[0].params.slice(1), ["#team", "+instkl"]);
    const unknown = await replies(ann, "MODE #team +xz");
    assert.deepEqual(unknown.map((m) => [m.command, m.params[1]]), [["472", "x"], ["472", "z"]]);
    // A secret channel is hidden from LIST and NAMES for those outside it.
    assert.ok(
      !(await replies(out, "LIST")).some((m) => m.command === "322" && m.params[1] === "#team"),
    );
    assert.deepEqual((await replies(out, "NAMES #team")).map((m) => m.command), ["366"]);
  });
});

Deno.test("+o from a non-operator gets 482, for a missing nick 401, for someone outside 441", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    // out exists but is in no channel: +o out is 441.
    await using _out = await IrcTestClient.register(server.port, "out");
    await ann.join("#team");
    await bob.join("#team");
    assert.deepEqual(await answer(bob, "MODE #team +o bob"), ["482"]);
    assert.deepEqual(await answer(ann, "MODE #team +o ghost"), ["401"]);
    assert.deepEqual(await answer(ann, "MODE #team +o out"), ["441"]);
    await ann.send("MODE #team +o bob");
    assert.deepEqual((await bob.waitFor("MODE")).params, ["#team", "+o", "bob"]);
    await bob.send("MODE #team -o ann");
    await ann.waitFor((m) => m.command === "MODE" && m.params.join(" ") === "#team -o ann");
    assert.deepEqual(await answer(bob, "MODE #team +t"), [], "already set: nothing to say");
    assert.deepEqual(await answer(ann, "MODE #team -t"), ["482"], "no longer an operator");
  });
});

Deno.test("the ISUPPORT channel tokens are what the server does: CHANMODES, PREFIX, MODES, MAXLIST, KEYLEN", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    const tokens = isupport(ann);
    assert.equal(tokens.get("PREFIX"), "(ov)@+");
    assert.equal(tokens.get("CHANMODES"), "beI,k,l,imnst");
    assert.equal(tokens.get("EXCEPTS"), "e");
    assert.equal(tokens.get("INVEX"), "I");
    assert.equal(tokens.get("EXTBAN"), "~,a");
    assert.equal(tokens.get("ACCOUNTEXTBAN"), "a");
    const modes = Number(tokens.get("MODES"));
    const maxList = Number(tokens.get("MAXLIST")!.split(",")[0].split(":")[1]);
    const keyLength = Number(tokens.get("KEYLEN"));
    assert.match(tokens.get("MAXLIST")!, /^b:\d+,e:\d+,I:\d+$/);
    await ann.join("#team");
    // Every letter CHANMODES names is a mode here: none is unknown (472).
    const [lists, key, limit, flags] = tokens.get("CHANMODES")!.split(",");
    const setAll = await ann.reply(`MODE #team +${lists}${key}${limit}${flags} a b c k 5`);
    assert.ok(!setAll.some((m) => m.command === "472"), setAll.map((m) => m.line).join("\n"));
    assert.deepEqual(setAll.filter((m) => m.command === "MODE")[0].params[1], "+beIklims");
    // MODES: one command makes at most that many changes with a parameter.
    const masks = Array.from({ length: modes + 2 }, (_, i) => `m${i}!*@*`);
    const many = await ann.reply(`MODE #team +${"b".repeat(masks.length)} ${masks.join(" ")}`);
    const applied = many.filter((m) => m.command === "MODE").flatMap((m) => m.params.slice(2));
    assert.deepEqual(applied, masks.slice(0, modes));
    // MAXLIST: the ban list holds that many (one is there already); then 478.
    for (let i = modes + 1; i < maxList; i += modes) {
      const batch = Array.from({ length: Math.min(modes, maxList - i) }, (_, j) => `x${i + j}`);
      await ann.reply(`MODE #team +${"b".repeat(batch.length)} ${batch.join(" ")}`);
    }
    const bans = (await replies(ann, "MODE #team b")).filter((m) => m.command === "367");
    assert.equal(bans.length, maxList);
    assert.deepEqual((await replies(ann, "MODE #team +b one!more@*")).map((m) => m.command), [
      "478",
    ]);
    // KEYLEN: a key of that length is taken, one longer refused.
    assert.equal(
      (await ann.reply(`MODE #team +k ${"k".repeat(keyLength)}`))[0].command,
      "MODE",
    );
    assert.equal((await ann.reply(`MODE #team +k ${"k".repeat(keyLength + 1)}`))[0].command, "696");
  });
});

Deno.test("the longest masks a MODE line can carry are shown in MODE lines that each fit 512 bytes", async () => {
  await withServer({}, async (server) => {
    const nick = "n".repeat(32);
    await using op = await IrcTestClient.register(server.port, nick, { user: "u".repeat(16) });
    const channel = `#${"c".repeat(63)}`;
    await op.join(channel);
    const masks = Array.from(
      { length: 3 },
      (_, i) => `${i}${"x".repeat(59)}!${"y".repeat(30)}@${"z".repeat(36)}`,
    );
    assert.ok(masks.every((mask) => mask.length === 128));
    const command = `MODE ${channel} +bbb ${masks.join(" ")}`;
    assert.ok(command.length + 2 <= 512, "the command itself fits");
    const lines = (await op.reply(command)).filter((m) => m.command === "MODE");
    for (const line of lines) assert.ok(new TextEncoder().encode(`${line.line}\r\n`).length <= 512);
    assert.deepEqual(lines.flatMap((m) => m.params.slice(2)), masks);
  });
});
