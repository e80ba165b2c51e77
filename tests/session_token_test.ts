/**
 * Session tokens (TOKEN GENERATE / REVOKE, SASL IRCV3BEARER) against a real server, and their
 * expiry and per-account bound in the store.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { AccountStore } from "../src/chat/accounts.ts";
import { IrcTestClient, outsideAddress, type Received } from "./_irc.ts";
import { makeTestCertificate } from "./_tls.ts";
import { connectDevice, PASSWORD, registeredUser, withAccounts } from "./_accounts.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Asks for a token on a logged-in client. */
async function generate(client: IrcTestClient): Promise<string> {
  await client.send("TOKEN GENERATE");
  const answer = await client.waitFor((m) => m.command === "TOKEN" || m.command === "FAIL");
  assert.equal(answer.command, "TOKEN", answer.line);
  return answer.params[0];
}

/** Tries SASL IRCV3BEARER on a new connection; returns the line that ended it (900 or 904). */
async function bearer(
  client: IrcTestClient,
  token: string,
  type = "shmooze",
): Promise<Received> {
  await client.send("CAP LS 302");
  await client.send("NICK someone");
  await client.send("USER someone 0 * :someone");
  await client.send("CAP REQ :sasl");
  await client.waitFor((m) => m.command === "CAP" && m.params[1] === "ACK");
  await client.send("AUTHENTICATE IRCV3BEARER");
  const next = await client.waitFor((m) => m.command === "AUTHENTICATE" || m.command === "904");
  if (next.command === "904") return next;
  await client.send(`AUTHENTICATE ${btoa(`\0${type}\0${token}`)}`);
  return await client.waitFor((m) => m.command === "900" || m.command === "904");
}

Deno.test("a session token from TOKEN GENERATE logs in with SASL IRCV3BEARER until TOKEN REVOKE", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann");
    const token = await generate(ann);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    const { client: browser } = await connectDevice(server.port, "ann", { token });
    await using _browser = browser;
    assert.equal(browser.nick, "ann");
    const whois = await browser.reply("WHOIS ann");
    assert.equal(whois.find((m) => m.command === "330")?.params[2], "ann");
    // Logging out: the token this connection logged in with.
    assert.equal(
      (await browser.reply("TOKEN REVOKE")).find((m) => m.command === "TOKEN")?.line,
      ":shmooze TOKEN REVOKED",
    );
    await using later = await IrcTestClient.connect(server.port);
    const refused = await bearer(later, token);
    assert.equal(refused.command, "904");
    assert.match(refused.params[1], /invalid or expired session token/);
  });
});

Deno.test("IRCV3BEARER refuses a wrong token, another token type and a guest's TOKEN GENERATE", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann");
    const token = await generate(ann);
    await using wrong = await IrcTestClient.connect(server.port);
    assert.equal(
      (await bearer(wrong, token.replace(/^./, (c) => c === "A" ? "B" : "A"))).command,
      "904",
    );
    await using typed = await IrcTestClient.connect(server.port);
    const other = await bearer(typed, token, "oauth2");
    assert.equal(other.command, "904");
    assert.match(other.params[1], /the only token type is shmooze/);
    await using guest = await IrcTestClient.register(server.port, "guest");
    const fail = (await guest.reply("TOKEN GENERATE")).find((m) => m.command === "FAIL");
    assert.deepEqual(fail?.params.slice(0, 2), ["TOKEN", "ACCOUNT_REQUIRED"]);
    // The refusals changed nothing: the token still works.
    await using right = await IrcTestClient.connect(server.port);
    assert.equal((await bearer(right, token)).command, "900");
  });
});

Deno.test("a session token nobody used for its idle days expires", async () => {
  await withAccounts({ sessionTokens: { idleDays: 30 } }, async (server, dataDir) => {
    await using ann = await registeredUser(server.port, "ann");
    const [stale, fresh] = [await generate(ann), await generate(ann)];
    // The first was last used 31 days ago, the second 29 days ago (the server's own database,
    // changed by a second connection as another process would).
    const db = new DatabaseSync(join(dataDir, "accounts.sqlite"));
    const rows = db.prepare("SELECT hash FROM session_tokens ORDER BY created_at, hash").all();
    assert.equal(rows.length, 2);
    const age = db.prepare("UPDATE session_tokens SET last_used_at = ? WHERE hash = ?");
    const hashOf = async (token: string) =>
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
    age.run(Date.now() - 31 * DAY_MS, await hashOf(stale));
    age.run(Date.now() - 29 * DAY_MS, await hashOf(fresh));
    db.close();
    await using first = await IrcTestClient.connect(server.port);
    assert.equal((await bearer(first, stale)).command, "904");
    await using second = await IrcTestClient.connect(server.port);
    assert.equal((await bearer(second, fresh)).command, "900");
  });
});

Deno.test("SessionTokens expire after idle days counted from the last use, and keep the newest N per account", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-token-test-" });
  try {
    const accounts = AccountStore.open(dir, {
      hashCost: { memoryKiB: 64, iterations: 1 },
      sessionTokens: { idleDays: 30, maxPerAccount: 3 },
    });
    await accounts.register("ann", PASSWORD, "127.0.0.1");
    const tokens = accounts.sessionTokens;
    const t0 = Date.now();
    const token = tokens.generate("ann", t0);
    assert.equal(tokens.verify(token, t0 + 29 * DAY_MS), "ann", "used within 30 days");
    assert.equal(tokens.verify(token, t0 + 58 * DAY_MS), "ann", "idle time counts from last use");
    assert.equal(tokens.verify(token, t0 + 89 * DAY_MS), undefined, "31 days unused");
    const made = [1, 2, 3, 4].map((i) => tokens.generate("ann", t0 + i));
    assert.equal(tokens.count("ann"), 3);
    assert.equal(tokens.verify(made[0], t0 + 5), undefined, "the oldest was dropped");
    for (const kept of made.slice(1)) assert.equal(tokens.verify(kept, t0 + 5), "ann");
    assert.equal(tokens.verify("not a token"), undefined);
    accounts.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "IRCV3BEARER is refused in clear text off loopback, and works over TLS",
  ignore: outsideAddress() === undefined,
  fn: async () => {
    const address = outsideAddress()!;
    await using cert = await makeTestCertificate("localhost", ["127.0.0.1", address]);
    await withAccounts(
      { hostname: "0.0.0.0", tls: { cert: cert.cert, key: cert.key, port: 0 } },
      async (server) => {
        await using secure = await IrcTestClient.connectTls(server.tlsPort!, cert.cert, address);
        await secure.register("ann");
        await secure.send(`REGISTER * * :${PASSWORD}`);
        await secure.waitFor("900");
        const token = await generate(secure);
        await using plainTcp = await IrcTestClient.connect(server.port, address);
        const refused = await bearer(plainTcp, token);
        assert.equal(refused.command, "904");
        assert.match(refused.params[1], /IRCV3BEARER would send your session token in clear text/);
        await using tls = await IrcTestClient.connectTls(server.tlsPort!, cert.cert, address);
        assert.equal((await bearer(tls, token)).command, "900");
      },
    );
  },
});
