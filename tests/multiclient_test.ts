/**
 * Multiclient, always-on and read markers over raw TCP clients against an in-process server
 * with a data directory: several connections logged in to one account are one user; an
 * always-on account stays with none, and its next device gets what it missed.
 */
import assert from "node:assert/strict";
import { IrcTestClient, type Received } from "./_irc.ts";
import { connectDevice, registeredUser, withAccounts } from "./_accounts.ts";

/** The names of every 353 reply for a channel among `lines`. */
function namesIn(lines: Received[], channel: string): string[] {
  return lines.filter((m) => m.command === "353" && m.params[2] === channel)
    .flatMap((m) => m.params[3].split(" "));
}

/** PRIVMSG lines (`source target text`) among `lines`. */
function privmsgs(lines: Received[]): string[] {
  return lines.filter((m) => m.command === "PRIVMSG")
    .map((m) => `${m.source?.split("!")[0]} ${m.params[0]} ${m.params[1]}`);
}

Deno.test("two connections of one account are one user: one nick, each sees what the other sends, and one leaving keeps the other", async () => {
  await withAccounts({}, async (server) => {
    await using laptop = await registeredUser(server.port, "ann");
    await laptop.join("#team");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await bob.join("#team");
    await laptop.waitFor("JOIN");

    const { client: phone, welcome } = await connectDevice(server.port, "ann", {
      nick: "annphone",
    });
    await using _phone = phone;
    const nick = welcome.find((m) => m.command === "NICK");
    assert.equal(nick?.line, ":annphone!ann@127.0.0.1 NICK ann", "told its nick is the user's");
    assert.equal(phone.nick, "ann", "welcomed as ann");
    // The phone is put in ann's channel as if it had joined it.
    assert.equal((await phone.waitFor("JOIN")).line, ":ann!ann@127.0.0.1 JOIN #team");
    await phone.waitFor("366");
    const names = namesIn(await bob.reply("NAMES #team"), "#team");
    assert.deepEqual(names.sort(), ["@ann", "bob"], "one ann, whatever its devices");
    assert.equal(server.stats().clients, 2);
    assert.equal(server.stats().connections, 3);

    // What the laptop says, bob and the phone see; the laptop (no echo-message) does not.
    await laptop.send("PRIVMSG #team :from the laptop");
    assert.deepEqual(privmsgs([await bob.waitFor("PRIVMSG")]), ["ann #team from the laptop"]);
    assert.deepEqual(privmsgs([await phone.waitFor("PRIVMSG")]), ["ann #team from the laptop"]);
    // A private message from the phone reaches bob, and the laptop gets its copy.
    await phone.send("PRIVMSG bob :from the phone");
    assert.deepEqual(privmsgs([await bob.waitFor("PRIVMSG")]), ["ann bob from the phone"]);
    assert.deepEqual(privmsgs([await laptop.waitFor("PRIVMSG")]), ["ann bob from the phone"]);
    // What bob sends ann reaches both devices.
    await bob.send("PRIVMSG ann :to both");
    for (const device of [laptop, phone]) {
      assert.deepEqual(privmsgs([await device.waitFor("PRIVMSG")]), ["bob ann to both"]);
    }
    // A JOIN by one device is the user's: the other sees it, and gets the channel's NAMES.
    await phone.send("JOIN #more");
    assert.equal((await laptop.waitFor("JOIN")).params[0], "#more");
    assert.deepEqual(namesIn([await laptop.waitFor("353")], "#more"), ["@ann"]);
    // Nothing went to the laptop that it did not ask for or was not sent.
    assert.deepEqual(privmsgs(await laptop.reply("PING :sync")), []);

    // The laptop leaves: bob sees no QUIT, the phone stays.
    await laptop.send("QUIT :bye laptop");
    await laptop.closed;
    await bob.send("PRIVMSG #team :still there?");
    assert.deepEqual(privmsgs([await phone.waitFor("PRIVMSG")]), ["bob #team still there?"]);
    assert.ok(!(await bob.reply("PING :sync")).some((m) => m.command === "QUIT"));
    assert.equal(server.hub.find("ann")?.devices?.size, 1);
    // The last device leaves: now ann quits.
    await phone.send("QUIT :bye phone");
    assert.match((await bob.waitFor("QUIT")).line, /^:ann!ann@127\.0\.0\.1 QUIT :Quit: bye phone$/);
    assert.equal(server.hub.find("ann"), undefined);
  });
});

Deno.test("a client that asked for ann's nick without logging in is refused it while ann is connected", async () => {
  await withAccounts({}, async (server) => {
    await using _ann = await registeredUser(server.port, "ann");
    await using guest = await IrcTestClient.connect(server.port);
    await guest.send("NICK ann");
    await guest.send("USER guest 0 * :Guest");
    assert.equal((await guest.waitFor("433")).params[1], "ann");
  });
});

Deno.test("an always-on account with no device keeps its channels, and its next device gets what it missed once, with the read marker set on another device", async () => {
  await withAccounts({}, async (server) => {
    const caps = ["server-time", "message-tags", "draft/read-marker"];
    await using bob = await IrcTestClient.register(server.port, "bob", {
      caps: ["away-notify"],
    });
    let readUpTo: string;
    {
      await using laptop = await registeredUser(server.port, "ann", { caps });
      await laptop.send("NS SET ALWAYS-ON ON");
      assert.match((await laptop.waitFor("NOTICE")).params[1], /^Always-on is on for ann/);
      await laptop.join("#team");
      await bob.join("#team");
      await bob.send("PRIVMSG #team :read this");
      const readTime = (await laptop.waitFor("PRIVMSG")).tags.time;
      readUpTo = `timestamp=${readTime}`;
      await laptop.send(`MARKREAD #team ${readUpTo}`);
      assert.equal((await laptop.waitFor("MARKREAD")).line, `:shmooze MARKREAD #team ${readUpTo}`);
      // The replay includes messages of the very millisecond the last device left (one may
      // have come after it): leave in a later one, or "read this" is replayed as well.
      while (Date.now() <= Date.parse(readTime)) await new Promise((go) => setTimeout(go, 0));
      await laptop.send("QUIT :laptop closed");
      await laptop.closed;
    }
    // No QUIT: ann is still in #team, away.
    const away = await bob.waitFor((m) => m.command === "AWAY" || m.command === "QUIT");
    assert.equal(away.command, "AWAY");
    assert.deepEqual(namesIn(await bob.reply("NAMES #team"), "#team").sort(), ["@ann", "bob"]);
    await bob.send("PRIVMSG #team :said while ann was away");
    await bob.send("PRIVMSG ann :a private word");
    // Both are stored before they are shown, and ann has nobody to show them to: a PING
    // answered after them means they are in history.
    await bob.reply("PING :stored");

    // A phone without chathistory: put in #team, told the marker, replayed what it missed.
    const { client: phone } = await connectDevice(server.port, "ann", { caps });
    await using _phone = phone;
    await phone.waitFor("JOIN");
    const marker = await phone.waitFor((m) => m.command === "MARKREAD" || m.command === "366");
    assert.equal(marker.line, `:shmooze MARKREAD #team ${readUpTo}`, "before NAMES ends");
    const replayed = privmsgs(await phone.reply("PING :replayed"));
    assert.deepEqual(replayed, [
      "bob #team said while ann was away",
      "bob ann a private word",
    ]);
    // bob sees ann come back.
    assert.equal((await bob.waitFor("AWAY")).params.length, 0);

    // A second device now: nothing is replayed again (one device was connected), the marker
    // set on the laptop is there, and CHATHISTORY from it finds what came after.
    const { client: tablet } = await connectDevice(server.port, "ann", {
      caps: [...caps, "batch", "draft/chathistory"],
    });
    await using _tablet = tablet;
    const burst = await tablet.reply("PING :burst");
    assert.deepEqual(privmsgs(burst), [], "nothing replayed to a second device");
    const restored = burst.find((m) => m.command === "MARKREAD");
    assert.deepEqual(restored?.params, ["#team", readUpTo], "the laptop's marker");
    const history = await tablet.reply(`CHATHISTORY AFTER #team ${readUpTo} 10`);
    assert.deepEqual(privmsgs(history), ["bob #team said while ann was away"]);
  });
});

Deno.test("a read marker set on one device reaches the account's other devices, and never moves back", async () => {
  await withAccounts({}, async (server) => {
    const caps = ["draft/read-marker"];
    await using laptop = await registeredUser(server.port, "ann", { caps });
    const { client: phone } = await connectDevice(server.port, "ann", { caps });
    await using _phone = phone;
    const { client: old } = await connectDevice(server.port, "ann");
    await using _old = old;
    await laptop.send("MARKREAD bob timestamp=2025-03-01T10:00:00.000Z");
    const expected = ":shmooze MARKREAD bob timestamp=2025-03-01T10:00:00.000Z";
    assert.equal((await laptop.waitFor("MARKREAD")).line, expected);
    assert.equal((await phone.waitFor("MARKREAD")).line, expected);
    assert.ok(
      !(await old.reply("PING :sync")).some((m) => m.command === "MARKREAD"),
      "only devices that enabled draft/read-marker are told",
    );
    // An older timestamp leaves the marker: the answer is the stored one, and nobody else is told.
    await phone.send("MARKREAD bob timestamp=2025-01-01T00:00:00.000Z");
    assert.equal((await phone.waitFor("MARKREAD")).line, expected);
    assert.ok(!(await laptop.reply("PING :sync")).some((m) => m.command === "MARKREAD"));
    // A time in the future is the present.
    await laptop.send("MARKREAD #team timestamp=2999-01-01T00:00:00.000Z");
    const now = Date.parse((await laptop.waitFor("MARKREAD")).params[1].slice(10));
    assert.ok(now <= Date.now() && now > Date.now() - 60_000);
    // Bad requests.
    await laptop.send("MARKREAD");
    assert.deepEqual((await laptop.waitFor("FAIL")).params.slice(0, 2), [
      "MARKREAD",
      "NEED_MORE_PARAMS",
    ]);
    await laptop.send("MARKREAD #team *");
    assert.deepEqual((await laptop.waitFor("FAIL")).params.slice(0, 2), [
      "MARKREAD",
      "INVALID_PARAMS",
    ]);
  });
});

Deno.test("a guest's read markers last as long as its connection", async () => {
  await withAccounts({}, async (server) => {
    {
      await using guest = await IrcTestClient.register(server.port, "guest", {
        caps: ["draft/read-marker"],
      });
      await guest.send("JOIN #team");
      const joined = await guest.reply("MARKREAD #team timestamp=2025-03-01T10:00:00.000Z");
      const markers = joined.filter((m) => m.command === "MARKREAD").map((m) => m.params[1]);
      assert.deepEqual(markers, ["*", "timestamp=2025-03-01T10:00:00.000Z"]);
      const marker = (await guest.reply("MARKREAD #team")).find((m) => m.command === "MARKREAD");
      assert.equal(marker?.params[1], "timestamp=2025-03-01T10:00:00.000Z");
    }
    await using again = await IrcTestClient.register(server.port, "guest", {
      caps: ["draft/read-marker"],
    });
    const marker = (await again.reply("MARKREAD #team")).find((m) => m.command === "MARKREAD");
    assert.equal(marker?.params[1], "*");
  });
});
