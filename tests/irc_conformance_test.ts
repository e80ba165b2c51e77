/**
 * Protocol defects irctest found in shmooze (issue #12, item 6), each against a real server:
 * replies keep command order when a command waits, REGISTER before connection registration,
 * an abandoned SASL exchange, an empty real name, LUSERS, WHOIS of a logged-in user, WHO with
 * a mask, TIME, multi-prefix, and the password policy.
 */
import assert from "node:assert/strict";
import { spawn, waitUntil } from "./_helpers.ts";
import { IrcTestClient, startServe, withServer } from "./_irc.ts";
import { PASSWORD, plain, registeredUser, withAccounts } from "./_accounts.ts";

Deno.test("replies keep command order: a SASL login's 900 and 903 come before the PONG of a PING sent after it", async () => {
  await withAccounts({}, async (server) => {
    (await registeredUser(server.port, "ann")).close();
    await using ann = await IrcTestClient.connect(server.port);
    await ann.send("CAP LS 302\r\nNICK ann\r\nUSER ann 0 * :Ann\r\nCAP REQ :sasl");
    await ann.waitFor((m) => m.command === "CAP" && m.params[1] === "ACK");
    await ann.send("AUTHENTICATE PLAIN");
    await ann.waitFor("AUTHENTICATE");
    // One write: the password check takes milliseconds, the PING none.
    await ann.send(`AUTHENTICATE ${plain("ann", PASSWORD)}\r\nPING after-login`);
    const next = await ann.waitFor((m) => ["900", "903", "904", "PONG"].includes(m.command));
    assert.equal(next.command, "900");
    assert.equal((await ann.waitFor((m) => m.command !== "900")).command, "903");
    assert.equal((await ann.waitFor("PONG")).params.at(-1), "after-login");
  });
});

Deno.test("replies keep command order: REGISTER SUCCESS comes before the PONG of a PING sent after it", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await ann.send(`REGISTER * * :${PASSWORD}\r\nPING after-register`);
    const next = await ann.waitFor((m) => m.command === "REGISTER" || m.command === "PONG");
    assert.deepEqual(next.params.slice(0, 2), ["SUCCESS", "ann"]);
    await ann.waitFor("900");
    await ann.waitFor("PONG");
  });
});

Deno.test("REGISTER before connection registration gets FAIL REGISTER COMPLETE_CONNECTION_REQUIRED", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await IrcTestClient.connect(server.port);
    await ann.send(`REGISTER ann * :${PASSWORD}`);
    const fail = await ann.waitFor((m) => m.command === "FAIL" || m.command === "451");
    assert.deepEqual(fail.params.slice(0, 3), ["REGISTER", "COMPLETE_CONNECTION_REQUIRED", "ann"]);
  });
});

Deno.test("CAP END with a SASL exchange open aborts it with 906 and registers the client at once", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await IrcTestClient.connect(server.port);
    await ann.send("CAP LS 302\r\nCAP REQ :sasl");
    await ann.waitFor((m) => m.command === "CAP" && m.params[1] === "ACK");
    await ann.send("AUTHENTICATE PLAIN");
    await ann.waitFor("AUTHENTICATE");
    await ann.send("NICK ann\r\nUSER ann 0 * :Ann\r\nCAP END");
    // The registration timeout is 60 s: this must not wait for it.
    const aborted = await ann.waitFor((m) => m.command === "906" || m.command === "001", 5000);
    assert.equal(aborted.command, "906");
    await ann.waitFor("001", 5000);
    await ann.send("WHOIS ann");
    await ann.waitFor("318");
    assert.ok(!ann.lines.some((m) => m.command === "330"), "no account after an aborted login");
  });
});

Deno.test("USER with an empty real name gets 461 and registration waits for a real one", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.connect(server.port);
    await ann.send("NICK ann\r\nUSER ann 0 * :");
    assert.deepEqual((await ann.waitFor((m) => ["461", "001"].includes(m.command))).params, [
      "ann",
      "USER",
      "Not enough parameters",
    ]);
    await ann.send("USER ann 0 * :Ann Example");
    await ann.waitFor("001");
  });
});

Deno.test("LUSERS counts invisible users apart and adds 265 and 266 with the peak", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    const bob = await IrcTestClient.register(server.port, "bob");
    await bob.send("MODE bob +i");
    await bob.waitFor("MODE");
    const params = async (numeric: string) =>
      (await ann.reply("LUSERS")).find((m) => m.command === numeric)?.params;
    assert.equal((await params("251"))?.[1], "There are 1 users and 1 invisible on 1 servers");
    assert.deepEqual(await params("265"), ["ann", "2", "2", "Current local users 2, max 2"]);
    assert.deepEqual(await params("266"), ["ann", "2", "2", "Current global users 2, max 2"]);
    await bob.close();
    await waitUntil(() => server.hub.members.size === 1, 5000, "bob to be gone");
    // The count falls; the peak stays.
    assert.deepEqual(await params("266"), ["ann", "1", "2", "Current global users 1, max 2"]);
  });
});

Deno.test("WHOIS of a logged-in user includes 330 with the account", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann");
    await using bob = await IrcTestClient.register(server.port, "bob");
    const lines = await bob.reply("WHOIS ann");
    const account = lines.find((m) => m.command === "330");
    assert.deepEqual(account?.params, ["bob", "ann", "ann", "is logged in as"]);
    const own = await ann.reply("WHOIS bob");
    assert.ok(!own.some((m) => m.command === "330"), "bob is not logged in");
  });
});

Deno.test("WHO * and WHO with a wildcard mask match nicks, users, hosts and real names, and skip invisible strangers", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    await using eva = await IrcTestClient.register(server.port, "evan");
    await using cy = await IrcTestClient.register(server.port, "cy");
    const nicks = (lines: { command: string; params: string[] }[]) =>
      lines.filter((m) => m.command === "352").map((m) => m.params[5]).sort();
    assert.deepEqual(nicks(await ann.reply("WHO *")), ["ann", "cy", "evan"]);
    assert.deepEqual(nicks(await ann.reply("WHO eva*")), ["evan"]);
    assert.deepEqual(nicks(await ann.reply("WHO *the?tester")), ["ann", "cy", "evan"]);
    const end = (await ann.reply("WHO EVA*")).at(-1)!;
    assert.deepEqual(end.params.slice(0, 2), ["ann", "EVA*"]);
    await eva.send("MODE evan +i");
    await eva.waitFor("MODE");
    assert.deepEqual(nicks(await ann.reply("WHO eva*")), []);
    // A plain nick shows its holder all the same, and so does a shared channel.
    assert.deepEqual(nicks(await ann.reply("WHO evan")), ["evan"]);
    await eva.join("#shared");
    await ann.join("#shared");
    assert.deepEqual(nicks(await ann.reply("WHO eva*")), ["evan"]);
    assert.deepEqual(nicks(await cy.reply("WHO eva*")), []);
  });
});

Deno.test("TIME answers 391 with the server's name and time; another server gets 402", async () => {
  await withServer({ name: "irc.test" }, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    const [time] = await ann.reply("TIME");
    assert.equal(time.command, "391");
    assert.equal(time.params[1], "irc.test");
    const shown = Date.parse(time.params[2]);
    assert.ok(Math.abs(shown - Date.now()) < 5000, `a time near now: ${time.params[2]}`);
    assert.equal((await ann.reply("TIME irc.test"))[0].command, "391");
    assert.deepEqual((await ann.reply("TIME irc.elsewhere"))[0].params, [
      "ann",
      "irc.elsewhere",
      "No such server",
    ]);
  });
});

Deno.test("multi-prefix and userhost-in-names are offered: NAMES then shows every prefix and full masks", async () => {
  await withServer({}, async (server) => {
    await using ann = await IrcTestClient.register(server.port, "ann", {
      caps: ["multi-prefix", "userhost-in-names"],
    });
    await ann.join("#room");
    await ann.send("MODE #room +v ann");
    await ann.waitFor("MODE");
    const names = (await ann.reply("NAMES #room")).find((m) => m.command === "353")!;
    assert.equal(names.params.at(-1), "@+ann!ann@127.0.0.1", "the creator is op, then voiced");
  });
});

Deno.test("serve --min-password-length lets REGISTER take shorter passwords; the default refuses them", async () => {
  const short = "sesame";
  {
    await using server = await startServe();
    await using ann = await IrcTestClient.register(server.port, "ann");
    await ann.send(`REGISTER * * ${short}`);
    const fail = await ann.waitFor("FAIL");
    assert.deepEqual(fail.params.slice(1, 3), ["WEAK_PASSWORD", "ann"]);
    assert.equal(fail.params[3], "Password must be 8 to 256 characters long");
  }
  await using server = await startServe({ args: ["--min-password-length", "6"] });
  await using ann = await IrcTestClient.register(server.port, "ann");
  await ann.send(`REGISTER * * ${short}`);
  await ann.waitFor((m) => m.command === "REGISTER" && m.params[0] === "SUCCESS");
});

Deno.test("serve refuses --min-password-length 0 as a usage error, exit 2", async () => {
  await using child = spawn(["main.ts", "serve", "--no-http", "--min-password-length", "0"]);
  await child.closeStdin();
  const { code, stderr } = await child.done;
  assert.equal(code, 2);
  assert.match(stderr, /--min-password-length must be a whole number from 1 to 256, not "0"/);
});
