/**
 * Server operators over IRC against an in-process server: OPER, user modes, KILL, KLINE and
 * UNKLINE (by mask and by account, with expiry), STATS, WALLOPS, REHASH and the audit notices.
 */
import assert from "node:assert/strict";
import { IrcTestClient, withServer } from "./_irc.ts";
import { PASSWORD, registeredUser, saslLogin, withAccounts } from "./_accounts.ts";
import {
  closedWithin,
  OPER_PASSWORD,
  operUser,
  refusedRegistration,
  writeOperFile,
} from "./_opers.ts";
import { waitUntil } from "./_helpers.ts";
import type { ServerOptions } from "../src/server/server.ts";
import type { ChatServer } from "../src/server/server.ts";

/** Runs `body` against a server whose operator file names `operators` (password OPER_PASSWORD). */
async function withOpers(
  operators: string[],
  body: (server: ChatServer, operFile: string) => Promise<void>,
  options: ServerOptions = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-opers-test-" });
  try {
    const operFile = await writeOperFile(dir, operators);
    await withServer({ operFile, ...options }, (server) => body(server, operFile));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("OPER with the right password answers 381 and MODE +o, shown in 221, WHOIS 313, LUSERS 252 and WHO H*", async () => {
  await withOpers(["operuser"], async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    const reply = await ann.reply(`OPER operuser ${OPER_PASSWORD}`);
    const commands = reply.map((m) => m.command);
    assert.ok(commands.includes("381"), commands.join(" "));
    const modes = reply.filter((m) => m.command === "MODE");
    assert.deepEqual(modes.map((m) => m.params), [["ann", "+o"]]);
    assert.ok(!commands.includes("464") && !commands.includes("491"));
    const notice = reply.find((m) => m.command === "NOTICE");
    assert.equal(notice?.params[1], "*** OPER ann (ann!ann@127.0.0.1) logged in as oper operuser");
    await ann.send("MODE ann");
    assert.equal((await ann.waitFor("221")).params[1], "+o");
    await bob.send("WHOIS ann");
    const whois = await bob.waitFor((m) => m.command === "313" || m.command === "318");
    assert.deepEqual(whois.params, ["bob", "ann", "is an IRC operator"]);
    await bob.send("LUSERS");
    assert.equal((await bob.waitFor("252")).params[1], "1");
    await bob.send("WHO ann");
    assert.equal((await bob.waitFor("352")).params[6], "H*");
    assert.equal(server.hub.find("ann")?.oper, "operuser");
  });
});

Deno.test("OPER with a wrong password or an unknown name answers 464; no operator file answers 491", async () => {
  await withOpers(["operuser"], async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    for (const line of ["OPER operuser nottheoperpassword", "OPER notanoperuser operpassword"]) {
      const reply = await ann.reply(line);
      assert.deepEqual(reply.filter((m) => /^\d+$/.test(m.command)).map((m) => m.params), [
        ["ann", "Password incorrect"],
      ]);
      assert.equal(reply[0].command, "464");
    }
    await ann.send("OPER operuser");
    await ann.waitFor("461");
    assert.equal(server.hub.find("ann")?.oper, undefined);
  });
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await ann.send(`OPER operuser ${OPER_PASSWORD}`);
    assert.deepEqual((await ann.waitFor("491")).params, [
      "ann",
      "No operators are configured on this server",
    ]);
  });
});

Deno.test("OPER failures are throttled like logins: the fourth wrong password from one address waits", async () => {
  await withOpers(["operuser"], async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    const took: number[] = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      const started = performance.now();
      await ann.send("OPER operuser wrong-password");
      await ann.waitFor("464");
      took.push(performance.now() - started);
    }
    assert.ok(took.slice(0, 3).every((ms) => ms < 900), `free attempts took ${took}`);
    assert.ok(took[3] >= 900, `the fourth attempt took ${took[3]} ms, not the throttle's 1 s`);
    // The right password still works after its wait.
    const started = performance.now();
    await ann.send(`OPER operuser ${OPER_PASSWORD}`);
    await ann.waitFor("381", 15_000);
    took.push(performance.now() - started);
    console.log(
      `OPER answers, 4 wrong then right: ${took.map((ms) => ms.toFixed(0)).join(", ")} ms`,
    );
  });
});

Deno.test("MODE nick -o drops operator status; +o is ignored; +w and -w are the user's", async () => {
  await withOpers(["ann"], async (server) => {
    await using ann = await operUser(server.port, "ann");
    await ann.send("MODE ann +w");
    assert.deepEqual((await ann.waitFor("MODE")).params, ["ann", "+w"]);
    await ann.send("MODE ann -o");
    assert.deepEqual((await ann.waitFor("MODE")).params, ["ann", "-o"]);
    assert.equal(server.hub.find("ann")?.oper, undefined);
    const reply = await ann.reply("MODE ann +o");
    assert.deepEqual(reply.filter((m) => m.command === "MODE"), []);
    await ann.send("MODE ann");
    assert.equal((await ann.waitFor("221")).params[1], "+w");
    await ann.send("KILL ann :no longer allowed");
    await ann.waitFor("481");
  });
});

Deno.test("KILL by an operator closes the victim with Killed (oper (reason)) and shows others a QUIT", async () => {
  await withOpers(["ann"], async (server) => {
    await using ann = await operUser(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await using carl = await IrcTestClient.register(server.port, "carl");
    await bob.join("#lobby");
    await carl.join("#lobby");
    await bob.send("KILL carl :some arbitrary reason");
    assert.deepEqual((await bob.waitFor("481")).params, [
      "bob",
      "Permission Denied - You're not an IRC operator",
    ]);
    await ann.send("KILL bob :flooding");
    const error = await bob.waitFor("ERROR");
    assert.equal(error.params[0], "Closing Link: 127.0.0.1 (Killed (ann (flooding)))");
    await closedWithin(bob);
    const quit = await carl.waitFor("QUIT");
    assert.equal(quit.source, "bob!bob@127.0.0.1");
    assert.equal(quit.params[0], "Killed (ann (flooding))");
    const audit = await ann.waitFor((m) => m.command === "NOTICE" && /KILL/.test(m.line));
    assert.equal(audit.params[1], "*** KILL bob (bob!bob@127.0.0.1) by ann: flooding");
    await ann.send("KILL nobody :gone");
    await ann.waitFor("401");
    await ann.send("KILL carl");
    await closedWithin(carl);
  });
});

Deno.test("KLINE by mask disconnects the matching user and refuses its new connections with 465", async () => {
  await withOpers(["ann"], async (server) => {
    await using ann = await operUser(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await ann.send("KLINE bob!*@* :spamming the lobby");
    const error = await bob.waitFor("ERROR");
    assert.equal(error.params[0], "Closing Link: 127.0.0.1 (Banned: spamming the lobby)");
    await closedWithin(bob);
    const audit = await ann.waitFor((m) => m.command === "NOTICE" && /KLINE/.test(m.line));
    assert.equal(
      audit.params[1],
      "*** KLINE bob!*@* (permanent) by ann: spamming the lobby; disconnected bob",
    );
    assert.deepEqual(await refusedRegistration(server.port, "bob"), {
      banned: "You are banned from this server: spamming the lobby",
      error: "Closing Link: 127.0.0.1 (Banned: spamming the lobby)",
    });
    // Another nick from the same address is still welcome: the mask names bob.
    await using carl = await IrcTestClient.register(server.port, "carl");
    // The operator's own host matches *@127.0.0.1, but operators are not disconnected.
    await ann.send("KLINE 10 carl :a nick stands for its host");
    await closedWithin(carl);
    assert.ok(server.hub.find("ann"));
    const listed = await ann.reply("STATS k");
    assert.deepEqual(listed.filter((m) => m.command === "216").map((m) => m.params.slice(1, 3)), [
      ["K", "bob!*@*"],
      ["K", "*!*@127.0.0.1"],
    ]);
    assert.equal(listed.at(-1)?.command, "219");
  });
});

Deno.test("a KLINE mask of many wildcards costs a registration microseconds, not seconds of a frozen server", async () => {
  await withOpers(["ann"], async (server) => {
    await using ann = await operUser(server.port, "ann");
    // A backtracking matcher tries every way to place 12 stars in 32 letters (seconds, with
    // the whole server waiting); the project's wildcard matcher retries from one star only.
    const mask = `${"*a".repeat(12)}*b!*@*`;
    await ann.send(`KLINE ${mask} :nobody has a b`);
    await ann.waitFor((m) => m.command === "NOTICE" && m.line.includes(`KLINE ${mask}`));
    const started = performance.now();
    await using _victim = await IrcTestClient.register(server.port, "a".repeat(32));
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1000, `registration took ${elapsed.toFixed(0)} ms`);
    assert.deepEqual(server.moderation.bans.list().map((ban) => ban.mask), [mask]);
  });
});

Deno.test("KLINE refuses a mask that bans everyone or is not a mask, and non-operators get 481", async () => {
  await withOpers(["ann"], async (server) => {
    await using ann = await operUser(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    for (
      const [line, problem] of [
        ["KLINE *@* :everyone", 'Cannot ban "*@*": it would ban everyone'],
        [
          "KLINE 1h nobody :x",
          'Cannot ban "nobody": it is not nick!user@host, user@host or ~a:account',
        ],
      ]
    ) {
      await ann.send(line);
      const fail = await ann.waitFor("FAIL");
      assert.deepEqual(fail.params, ["KLINE", "INVALID_PARAMS", problem]);
    }
    for (const line of ["KLINE *@192.0.2.1 :x", "UNKLINE *@192.0.2.1", "STATS k", "REHASH"]) {
      await bob.send(line);
      await bob.waitFor("481");
    }
    await bob.send("STATS u");
    assert.match((await bob.waitFor("242")).params[1], /^Server Up 0 days 0:00:\d\d$/);
    await bob.waitFor("219");
  });
});

Deno.test("UNKLINE lifts a ban: the user can connect again, and STATS k no longer lists it", async () => {
  await withOpers(["ann"], async (server) => {
    await using ann = await operUser(server.port, "ann");
    await ann.send("KLINE bob!*@* :go away");
    await ann.waitFor((m) => m.command === "NOTICE" && /KLINE/.test(m.line));
    await refusedRegistration(server.port, "bob");
    await ann.send("UNKLINE bob!*@*");
    const audit = await ann.waitFor((m) => m.command === "NOTICE" && /UNKLINE/.test(m.line));
    assert.equal(audit.params[1], "*** UNKLINE bob!*@* by ann (set by ann: go away)");
    await using bob = await IrcTestClient.register(server.port, "bob");
    assert.equal(server.hub.find("bob")?.nick, bob.nick);
    const listed = await ann.reply("STATS K");
    assert.deepEqual(listed.map((m) => m.command), ["219"]);
    await ann.send("UNKLINE bob!*@*");
    assert.deepEqual((await ann.waitFor("FAIL")).params, [
      "UNKLINE",
      "NO_SUCH_BAN",
      "bob!*@*",
      "There is no server ban on bob!*@*",
    ]);
  });
});

Deno.test("A KLINE with a duration expires: the user is refused, then let in again", async () => {
  await withOpers(["ann"], async (server) => {
    await using ann = await operUser(server.port, "ann");
    const setAt = Date.now();
    await ann.send("KLINE 2s bob!*@* :cool off");
    const audit = await ann.waitFor((m) => m.command === "NOTICE" && /KLINE/.test(m.line));
    assert.equal(audit.params[1], "*** KLINE bob!*@* (2s) by ann: cool off");
    const listed = await ann.reply("STATS k");
    const expiry = Date.parse(listed.find((m) => m.command === "216")!.params[3]);
    assert.ok(expiry >= setAt + 2000 && expiry <= Date.now() + 2000, `expires at ${expiry}`);
    await refusedRegistration(server.port, "bob");
    // Bounded: the ban ends two seconds after it was set; a connection after that is welcome.
    await waitUntil(() => Date.now() > expiry, 5000, "the ban's expiry");
    await using bob = await IrcTestClient.register(server.port, "bob");
    assert.equal(server.hub.find("bob")?.nick, bob.nick);
    assert.deepEqual((await ann.reply("STATS k")).map((m) => m.command), ["219"]);
  });
});

Deno.test("KLINE ~a:account disconnects the user logged in to it and refuses its SASL logins", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-opers-test-" });
  try {
    const operFile = await writeOperFile(dir, ["ann"]);
    await withAccounts({ operFile }, async (server) => {
      await using ann = await operUser(server.port, "ann");
      await using spammer = await registeredUser(server.port, "spammer");
      await ann.send("KLINE ~a:Spammer :account sold to spammers");
      await spammer.waitFor("ERROR");
      await closedWithin(spammer);
      // A login to the account before registration is refused at registration…
      await using again = await IrcTestClient.connect(server.port);
      assert.equal((await saslLogin(again, "spammer", PASSWORD)).command, "900");
      await again.send("CAP END");
      assert.equal(
        (await again.waitFor("465")).params[1],
        "You are banned from this server: account sold to spammers",
      );
      await closedWithin(again);
      // …and one after registration disconnects at once.
      await using later = await IrcTestClient.register(server.port, "someone");
      await later.send("AUTHENTICATE PLAIN");
      await later.waitFor("AUTHENTICATE");
      const payload = btoa(`\0spammer\0${PASSWORD}`);
      await later.send(`AUTHENTICATE ${payload}`);
      await later.waitFor("903");
      const error = await later.waitFor("ERROR");
      assert.match(error.params[0], /\(Banned: account sold to spammers\)$/);
      await closedWithin(later);
      // Nobody else is affected.
      await using carl = await IrcTestClient.register(server.port, "carl");
      assert.equal(server.hub.find("carl")?.nick, carl.nick);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("WALLOPS reaches operators and +w users only; non-operators get 481", async () => {
  await withOpers(["nick1"], async (server) => {
    await using nick1 = await operUser(server.port, "nick1");
    await using nick2 = await IrcTestClient.register(server.port, "nick2");
    await using nick3 = await IrcTestClient.register(server.port, "nick3");
    await nick3.send("MODE nick3 +w");
    await nick3.waitFor("MODE");
    await nick2.send("WALLOPS :not allowed");
    await nick2.waitFor("481");
    const sent = await nick1.reply("WALLOPS :hi everyone");
    assert.deepEqual(sent.map((m) => m.line), [":nick1!nick1@127.0.0.1 WALLOPS :hi everyone"]);
    assert.equal(
      (await nick3.waitFor("WALLOPS")).line,
      ":nick1!nick1@127.0.0.1 WALLOPS :hi everyone",
    );
    // The hub hands a WALLOPS to every recipient at once: nick3 has it, so nick2 would too.
    await nick2.reply("PING after-wallops");
    assert.ok(!nick2.lines.some((m) => m.command === "WALLOPS"));
  });
});

Deno.test("REHASH reads a changed operator file, demotes removed operators, and keeps the list when the file is broken", async () => {
  await withOpers(["ann", "bob"], async (server, operFile) => {
    await using ann = await operUser(server.port, "ann");
    await using bob = await operUser(server.port, "bob");
    const text = await Deno.readTextFile(operFile);
    const annLine = text.split("\n").find((line) => line.startsWith("ann "))!;
    await Deno.writeTextFile(operFile, `${annLine}\n`);
    await ann.send("REHASH");
    const audit = await ann.waitFor((m) => m.command === "NOTICE" && /REHASH/.test(m.line));
    assert.equal(
      audit.params[1],
      `*** REHASH by ann: 1 operator(s) from ${operFile}; no longer operators: bob`,
    );
    assert.deepEqual((await ann.waitFor("382")).params, ["ann", operFile, "Rehashing"]);
    const demoted = await bob.waitFor((m) => m.command === "NOTICE" && /no longer/.test(m.line));
    assert.equal(
      demoted.params[1],
      "*** You are no longer an operator: oper bob is not in the operator file any more",
    );
    assert.equal(server.hub.find("bob")?.oper, undefined);
    await Deno.writeTextFile(operFile, `${annLine}\ncarl hunter2\n`);
    await ann.send("REHASH");
    const fail = await ann.waitFor("FAIL");
    assert.deepEqual(fail.params.slice(0, 2), ["REHASH", "CANNOT_REHASH"]);
    assert.match(fail.params[2], /line 2: the password of carl is not an argon2id hash/);
    assert.ok(server.moderation.operators.has("ann"));
    assert.ok(!server.moderation.operators.has("carl"));
    await bob.send(`OPER bob ${OPER_PASSWORD}`);
    await bob.waitFor("464");
  });
});

Deno.test("Audit notices reach every operator and never the text of a private message", async () => {
  await withOpers(["ann", "dan"], async (server) => {
    await using ann = await operUser(server.port, "ann");
    await using dan = await operUser(server.port, "dan");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await using carl = await IrcTestClient.register(server.port, "carl");
    await bob.send("PRIVMSG carl :the secret is swordfish");
    await carl.waitFor("PRIVMSG");
    await bob.send("OPER ann wrong-password");
    await bob.waitFor("464");
    await ann.send("KILL bob :bye");
    await closedWithin(bob);
    await ann.send("KLINE carl!*@* :spam");
    await closedWithin(carl);
    assert.deepEqual(await waitForAudit(dan, 3), [
      "*** OPER failed for bob!bob@127.0.0.1 as oper ann",
      "*** KILL bob (bob!bob@127.0.0.1) by ann: bye",
      "*** KLINE carl!*@* (permanent) by ann: spam; disconnected carl",
    ]);
    for (const line of [...ann.lines, ...dan.lines]) assert.doesNotMatch(line.line, /swordfish/);
  });
});

/** The next `count` audit notices a client gets. */
async function waitForAudit(client: IrcTestClient, count: number): Promise<string[]> {
  const lines = await client.waitForMany((m) => m.command === "NOTICE", count);
  return lines.map((m) => m.params[1]);
}
