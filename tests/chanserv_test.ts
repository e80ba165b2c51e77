/**
 * Channel registration with ChanServ, and what survives a restart: real `shmooze serve`
 * processes on one data directory, stopped with SIGTERM or killed with SIGKILL, and raw IRC
 * clients.
 */
import assert from "node:assert/strict";
import { IrcTestClient, type Received, type ServeProcess, startServe, withServer } from "./_irc.ts";
import { PASSWORD, registeredUser, saslLogin, withAccounts } from "./_accounts.ts";

/** The next NOTICE from ChanServ. */
function fromChanServ(client: IrcTestClient): Promise<Received> {
  return client.waitFor((m) =>
    m.command === "NOTICE" && m.source?.startsWith("ChanServ!") === true
  );
}

/** The names of a 353 reply. */
function namesOf(message: Received): string[] {
  return message.params.at(-1)!.split(" ");
}

/** Connects and logs in to an account with SASL, then completes registration. */
async function loggedIn(port: number, nick: string): Promise<IrcTestClient> {
  const client = await IrcTestClient.connect(port);
  assert.equal((await saslLogin(client, nick, PASSWORD)).command, "900");
  await client.send("CAP END");
  await client.waitFor("001");
  await client.waitFor((m) => m.command === "376" || m.command === "422");
  client.nick = nick;
  return client;
}

/** Runs `body` with a temporary data directory, removed after. */
async function withDataDir(body: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-chanserv-test-" });
  try {
    await body(dataDir);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** ann registers #team, sets its topic, modes, key and a ban; each is acknowledged. */
async function registerTeam(serve: ServeProcess): Promise<void> {
  await using ann = await registeredUser(serve.port, "ann");
  await ann.join("#team");
  await ann.send("PRIVMSG ChanServ :REGISTER #team");
  assert.match((await fromChanServ(ann)).params[1], /^#team is registered to ann/);
  await ann.send("TOPIC #team :plans for friday");
  await ann.waitFor("TOPIC");
  await ann.send("MODE #team +ikb beer spam!*@*");
  assert.deepEqual((await ann.waitFor("MODE")).params, ["#team", "+ikb", "beer", "spam!*@*"]);
}

/** After a restart: #team exists, its state is back, and its founder is opped on joining. */
async function checkTeam(serve: ServeProcess): Promise<void> {
  await using bob = await IrcTestClient.register(serve.port, "bob");
  const listed = await bob.reply("LIST");
  assert.ok(
    listed.some((m) => m.command === "322" && m.params[1] === "#team" && m.params[2] === "0"),
    "a registered channel exists with nobody in it",
  );
  assert.equal((await bob.reply("JOIN #team beer")).at(-1)?.command, "473", "still +i");
  await using ann = await loggedIn(serve.port, "ann");
  await ann.send("JOIN #team");
  await ann.waitFor("JOIN");
  const opped = await ann.waitFor("MODE");
  assert.match(opped.line, /^:ChanServ!ChanServ@services MODE #team \+o ann$/);
  assert.equal((await ann.waitFor("332")).params[2], "plans for friday");
  assert.ok(namesOf(await ann.waitFor("353")).includes("@ann"));
  const status = await ann.reply("MODE #team");
  assert.deepEqual(status.find((m) => m.command === "324")?.params.slice(1), [
    "#team",
    "+intk",
    "beer",
  ]);
  const bans = (await ann.reply("MODE #team b")).filter((m) => m.command === "367");
  assert.deepEqual(bans.map((m) => m.params.slice(2, 4)), [["spam!*@*", "ann!ann@127.0.0.1"]]);
  await ann.send("CS INFO #team");
  assert.match((await fromChanServ(ann)).params[1], /^#team is registered to ann since /);
}

Deno.test("a registered channel's founder, topic, modes, key and bans survive a restart, and the founder is opped on joining", async () => {
  await withDataDir(async (dataDir) => {
    {
      await using serve = await startServe({ dataDir });
      await registerTeam(serve);
    } // SIGTERM
    await using serve = await startServe({ dataDir });
    await checkTeam(serve);
  });
});

Deno.test("moderation state survives kill -9: what was acknowledged before the kill is there after it", async () => {
  await withDataDir(async (dataDir) => {
    {
      await using serve = await startServe({ dataDir });
      await registerTeam(serve);
      serve.child.process.kill("SIGKILL");
      assert.equal((await serve.child.done).code, 137);
    }
    await using serve = await startServe({ dataDir });
    await checkTeam(serve);
  });
});

Deno.test("an unregistered channel's topic survives a restart while the channel exists, not once it emptied", async () => {
  await withDataDir(async (dataDir) => {
    {
      await using serve = await startServe({ dataDir });
      await using ann = await IrcTestClient.register(serve.port, "ann");
      for (const channel of ["#study", "#gone"]) {
        await ann.join(channel);
        await ann.send(`TOPIC ${channel} :topic of ${channel}`);
        await ann.waitFor("TOPIC");
      }
      await ann.send("PART #gone");
      await ann.waitFor("PART");
      // SIGTERM while ann is still in #study: #study exists when the server stops.
      await serve[Symbol.asyncDispose]();
    }
    await using serve = await startServe({ dataDir });
    await using bob = await IrcTestClient.register(serve.port, "bob");
    await bob.send("JOIN #study");
    const topic = await bob.waitFor((m) => m.command === "332" || m.command === "353");
    assert.deepEqual(topic.params.slice(1), ["#study", "topic of #study"]);
    assert.equal((await bob.waitFor("333")).params[2], "ann!ann@127.0.0.1");
    const gone = await bob.reply("JOIN #gone");
    assert.ok(!gone.some((m) => m.command === "332"), "#gone ceased to exist before the restart");
  });
});

Deno.test("only a logged-in operator registers a channel, and only its founder drops it", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann");
    await using bob = await registeredUser(server.port, "bob");
    await using cat = await IrcTestClient.register(server.port, "cat");
    await ann.join("#team");
    await bob.join("#team");
    await cat.join("#team");
    await cat.send("PRIVMSG ChanServ :REGISTER #team");
    assert.match((await fromChanServ(cat)).params[1], /log in to an account first/);
    await bob.send("CS REGISTER #team");
    assert.match((await fromChanServ(bob)).params[1], /you must be one of its operators/);
    await ann.send("CHANSERV REGISTER #team");
    assert.match((await fromChanServ(ann)).params[1], /^#team is registered to ann/);
    await bob.send("CS REGISTER #team");
    assert.equal((await fromChanServ(bob)).params[1], "#team is already registered to ann");
    await bob.send("CS DROP #team");
    assert.equal(
      (await fromChanServ(bob)).params[1],
      "Only #team's founder (ann) may use DROP on it",
    );
    await bob.send("CS INFO #team");
    assert.match((await fromChanServ(bob)).params[1], /^#team is registered to ann since /);
    assert.equal((await fromChanServ(bob)).params[1], "#team has modes +nt");
    await ann.send("CS DROP #team");
    assert.equal((await fromChanServ(ann)).params[1], "#team is no longer registered");
    await bob.send("CS INFO #team");
    assert.equal((await fromChanServ(bob)).params[1], "#team is not registered");
  });
});

Deno.test("ChanServ AMODE voices an account on joining, OP gives operator status, and the nick ChanServ is taken", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann");
    await (await registeredUser(server.port, "bob")).close();
    await ann.join("#team");
    await ann.send("CS REGISTER #team");
    await fromChanServ(ann);
    await ann.send("CS AMODE #team +v bob");
    assert.equal((await fromChanServ(ann)).params[1], "bob gets +v on joining #team");
    await using bob = await loggedIn(server.port, "bob");
    await bob.send("JOIN #team");
    const voiced = await ann.waitFor("MODE");
    assert.match(voiced.line, /^:ChanServ!ChanServ@services MODE #team \+v bob$/);
    await bob.send("CS AMODE #team +o bob");
    assert.match((await fromChanServ(bob)).params[1], /founder \(ann\) may use AMODE/);
    await ann.send("CS OP #team bob");
    const opped = await bob.waitFor((m) => m.command === "MODE" && m.params[1] === "+o");
    assert.match(opped.line, /^:ChanServ!ChanServ@services MODE #team \+o bob$/);
    await ann.send("CS AMODE #team");
    const list = [await fromChanServ(ann), await fromChanServ(ann), await fromChanServ(ann)];
    assert.deepEqual(list.map((m) => m.params[1]), [
      "#team: ann +o (founder)",
      "#team: bob +v",
      "End of #team's AMODE list",
    ]);
    await using imposter = await IrcTestClient.connect(server.port);
    await imposter.send("NICK ChanServ");
    await imposter.send("USER x 0 * :x");
    await imposter.waitFor("433");
  });
});

Deno.test("without a data directory there is no ChanServ: CS gets 401", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    const answer = await ann.reply("CS REGISTER #team");
    assert.deepEqual(answer.map((m) => [m.command, m.params[1]]), [["401", "ChanServ"]]);
  });
});
