/**
 * Passwords in clear text are taken from loopback in every form a socket reports it: a
 * server on `::` sees `::1`, and sees an IPv4 client as `::ffff:127.0.0.1`; a server on
 * `::1` sees `::1`. Any other address still has to use TLS.
 */
import assert from "node:assert/strict";
import { spawn } from "./_helpers.ts";
import { IrcTestClient, outsideAddress, startServe } from "./_irc.ts";
import { PASSWORD, registeredUser, saslLogin, withAccounts } from "./_accounts.ts";

/** A global IPv6 address of this machine (not loopback, not link-local), if it has one. */
function outsideAddress6(): string | undefined {
  return Deno.networkInterfaces().find((i) =>
    i.family === "IPv6" && i.address !== "::1" && !i.address.startsWith("fe80:")
  )?.address;
}

/** Registers and logs in over plain TCP from `hostname`; returns the host the server saw. */
async function registerAndLogIn(port: number, hostname: string, nick: string): Promise<string> {
  const registered = await registeredUser(port, nick, { hostname });
  const mask = registered.lines.find((m) => m.command === "900")!.params[1];
  await registered.close();
  await using again = await IrcTestClient.connect(port, hostname);
  const answer = await saslLogin(again, nick, PASSWORD);
  assert.equal(answer.command, "900", answer.line);
  await again.waitFor("903");
  return mask.slice(mask.indexOf("@") + 1);
}

Deno.test("A server on :: takes REGISTER and SASL PLAIN without TLS from ::1", async () => {
  await withAccounts({ hostname: "::" }, async (server) => {
    assert.equal(await registerAndLogIn(server.port, "::1", "ann"), "0::1");
  });
});

Deno.test("A server on :: takes REGISTER and SASL PLAIN without TLS from 127.0.0.1, which it sees as ::ffff:127.0.0.1", async () => {
  await withAccounts({ hostname: "::" }, async (server) => {
    // IRC cannot start a host with ':', so the server writes Deno's "::ffff:127.0.0.1" as
    // "0::ffff:127.0.0.1".
    assert.equal(await registerAndLogIn(server.port, "127.0.0.1", "ann"), "0::ffff:127.0.0.1");
  });
});

Deno.test("A server on ::1 takes REGISTER and SASL PLAIN without TLS", async () => {
  await withAccounts({ hostname: "::1" }, async (server) => {
    assert.equal(await registerAndLogIn(server.port, "::1", "ann"), "0::1");
  });
});

Deno.test({
  name:
    "A server on :: refuses REGISTER and SASL PLAIN without TLS from this machine's other addresses",
  ignore: outsideAddress() === undefined && outsideAddress6() === undefined,
  fn: async () => {
    await withAccounts({ hostname: "::" }, async (server) => {
      for (const address of [outsideAddress(), outsideAddress6()]) {
        if (address === undefined) continue;
        await using sasl = await IrcTestClient.connect(server.port, address);
        const refused = await saslLogin(sasl, "ann", PASSWORD);
        assert.equal(refused.command, "904");
        assert.match(refused.params[1], /clear text; connect with TLS/);
        await using register = await IrcTestClient.connect(server.port, address);
        await register.register("bob");
        await register.send(`REGISTER * * :${PASSWORD}`);
        const fail = await register.waitFor("FAIL");
        assert.deepEqual(fail.params.slice(0, 2), ["REGISTER", "TLS_REQUIRED"], address);
      }
    });
  },
});

Deno.test("shmooze client registers over ::1 and logs in over 127.0.0.1 to shmooze serve --host ::", async () => {
  await using serve = await startServe({ args: ["--host", "::"] });
  assert.match(serve.child.lines[0], /^listening on :::\d+$/);
  {
    await using ann = spawn([
      "main.ts",
      "client",
      "--host",
      "::1",
      "--port",
      String(serve.port),
      "--nick",
      "ann",
    ]);
    await ann.waitForLine("joined #lobby");
    await ann.writeLine(`/register ${PASSWORD}`);
    await ann.waitForLine("logged in as ann");
    await ann.closeStdin();
    assert.equal((await ann.done).code, 0);
  }
  await using again = spawn(
    ["main.ts", "client", "--port", String(serve.port), "--nick", "ann", "--account", "ann"],
    { env: { SHMOOZE_PASSWORD: PASSWORD } },
  );
  await again.waitForLine("logged in as ann");
  await again.waitForLine("joined #lobby");
  await again.closeStdin();
  assert.equal((await again.done).code, 0);
});
