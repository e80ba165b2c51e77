/**
 * Push notifications (IRCv3 `draft/webpush`, RFC 8030/8291/8292) against a real server: a
 * push service run by the test on loopback receives each push over real HTTP(S); the test
 * decrypts it with the subscription's private key and auth secret and checks the VAPID token.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { registeredUser, withAccounts } from "./_accounts.ts";
import { waitUntil } from "./_helpers.ts";
import { IrcTestClient, type Received, startServe } from "./_irc.ts";
import {
  decryptPush,
  newSubscription,
  startPushService,
  type TestPushService,
  type TestSubscription,
  verifyVapid,
} from "./_push.ts";
import { makeTestCertificate } from "./_tls.ts";
import { parseMessage } from "../src/irc/message.ts";
import { createEvent } from "../src/chat/chat_event.ts";
import { ChatHub, type StoredMessage } from "../src/chat/hub.ts";
import { HistoryStore } from "../src/chat/history.ts";
import { canMount, fill, mountTmpfs, unmount } from "./_disk.ts";
import { pushAudience } from "../src/chat/push_audience.ts";

const PUSH_CAPS = ["server-time", "message-tags", "draft/webpush"];

/** The VAPID key a client was told in ISUPPORT. */
function vapidOf(client: IrcTestClient): string {
  const token = client.lines.filter((m) => m.command === "005").flatMap((m) => m.params)
    .find((param) => param.startsWith("VAPID="));
  assert.ok(token, "ISUPPORT has VAPID");
  return token.slice("VAPID=".length);
}

/** Waits for the answer to a WEBPUSH command: its echo or a FAIL. */
function webpushAnswer(client: IrcTestClient): Promise<Received> {
  return client.waitFor((m) =>
    m.command === "WEBPUSH" || (m.command === "FAIL" && m.params[0] === "WEBPUSH")
  );
}

/**
 * Registers `nick` as an account, makes it the founder of `channel` (so the channel is one
 * of its channels when it is gone) and subscribes it to pushes at `<service>/<nick>`.
 */
async function subscribedFounder(
  port: number,
  service: TestPushService,
  nick: string,
  channel: string,
): Promise<{ client: IrcTestClient; subscription: TestSubscription; endpoint: string }> {
  const client = await registeredUser(port, nick, { caps: PUSH_CAPS });
  await client.join(channel);
  await client.send(`PRIVMSG ChanServ :REGISTER ${channel}`);
  await client.waitFor((m) => m.command === "NOTICE" && /registered/i.test(m.params[1]));
  const subscription = await newSubscription();
  const endpoint = `${service.origin}/${nick}`;
  await client.send(`WEBPUSH REGISTER ${endpoint} ${subscription.keys}`);
  const answer = await webpushAnswer(client);
  assert.deepEqual([answer.command, ...answer.params], ["WEBPUSH", "REGISTER", endpoint]);
  return { client, subscription, endpoint };
}

/** Quits and waits for the server to close the connection. */
async function leave(client: IrcTestClient): Promise<void> {
  await client.send("QUIT :gone");
  await client.closed;
}

Deno.test("decryptPush, the test's own RFC 8291 receiver, opens RFC 8291's example", async () => {
  const bytes = (text: string) => Uint8Array.fromBase64(text, { alphabet: "base64url" });
  const publicKey = bytes(
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
  );
  const privateKey = await crypto.subtle.importKey(
    "jwk",
    {
      kty: "EC",
      crv: "P-256",
      d: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
      x: publicKey.subarray(1, 33).toBase64({ alphabet: "base64url", omitPadding: true }),
      y: publicKey.subarray(33).toBase64({ alphabet: "base64url", omitPadding: true }),
    },
    { name: "ECDH", namedCurve: "P-256" },
    false,
    ["deriveBits"],
  );
  const body = bytes(
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6" +
      "TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qu" +
      "lcy4a-fN",
  );
  const auth = bytes("BTBZMqHH6r4Tts7J_aSIgg");
  assert.equal(
    await decryptPush(body, { privateKey, publicKey, auth }),
    "When I grow up, I want to be a watermelon",
  );
});

Deno.test("a mention of an account with no connected session is pushed over HTTPS: it decrypts to the IRC line with time and msgid, and its VAPID token names the push service, expires within a day and is signed with the advertised key", async () => {
  await using certificate = await makeTestCertificate("localhost", ["127.0.0.1"]);
  await using service = startPushService(certificate);
  await withAccounts(
    { push: { allowInternal: true, caCerts: [certificate.cert], concurrency: 1 } },
    async (server) => {
      const ann = await subscribedFounder(server.port, service, "ann", "#team");
      const vapid = vapidOf(ann.client);
      await leave(ann.client);
      await using bob = await IrcTestClient.register(server.port, "bob", {
        caps: ["echo-message", "message-tags"],
      });
      await bob.join("#team");
      await bob.send("PRIVMSG #team :hello, whoever is here");
      await bob.send("PRIVMSG #team :ann: lunch at noon?");
      const echo = await bob.waitFor((m) =>
        m.command === "PRIVMSG" && m.params[1].includes("ann:")
      );
      const sentAt = Date.now();

      const push = await service.nth(1);
      assert.equal(push.path, "/ann");
      assert.equal(push.headers.get("content-encoding"), "aes128gcm");
      assert.equal(push.headers.get("ttl"), "86400");
      assert.equal(push.headers.get("urgency"), "normal");
      const claims = await verifyVapid(push.headers.get("authorization")!, vapid);
      assert.equal(claims.aud, service.origin);
      assert.equal(claims.sub, "mailto:push@shmooze");
      const lifetime = claims.exp - sentAt / 1000;
      assert.ok(lifetime > 0 && lifetime <= 24 * 3600, `the token expires in ${lifetime} s`);

      const line = await decryptPush(push.body, ann.subscription);
      const message = parseMessage(line)!;
      assert.equal(message.source, "bob!bob@127.0.0.1");
      assert.deepEqual([message.command, ...message.params], [
        "PRIVMSG",
        "#team",
        "ann: lunch at noon?",
      ]);
      assert.equal(message.tags.msgid, echo.tags.msgid, "the msgid the message was given");
      assert.ok(Math.abs(Date.parse(message.tags.time) - sentAt) < 10_000, message.tags.time);
      assert.ok(!line.endsWith("\r\n"));
      // The message that mentioned nobody was not pushed: only one push came, after it.
      assert.equal(service.received.length, 1);
      await waitUntil(() => server.stats().push?.delivered === 1, 10_000, "the 201 to be read");
      assert.deepEqual(server.stats().push, {
        delivered: 1,
        gone: 0,
        failed: 0,
        dropped: 0,
        pending: 0,
      });
    },
  );
});

Deno.test("an account with a connected session gets no push; the first mention after it leaves is pushed", async () => {
  await using service = startPushService();
  await withAccounts({ push: { allowInternal: true, concurrency: 1 } }, async (server) => {
    const ann = await subscribedFounder(server.port, service, "ann", "#team");
    await using bob = await IrcTestClient.register(server.port, "bob");
    await bob.join("#team");
    await bob.send("PRIVMSG #team :ann: are you there?");
    await ann.client.waitFor((m) =>
      m.command === "PRIVMSG" && m.params[1] === "ann: are you there?"
    );
    await bob.send("PRIVMSG ann :a private word");
    await ann.client.waitFor((m) => m.command === "PRIVMSG" && m.params[1] === "a private word");
    await leave(ann.client);
    await bob.waitFor((m) => m.command === "QUIT" && m.source?.startsWith("ann!") === true);
    await bob.send("PRIVMSG #team :ann: now you are gone");
    const push = await service.nth(1);
    assert.match(await decryptPush(push.body, ann.subscription), / :ann: now you are gone$/);
    assert.equal(service.received.length, 1, "nothing was pushed while ann was connected");
  });
});

Deno.test("an always-on account with no device connected is pushed a private message and a mention, though it stays in its channels", async () => {
  await using service = startPushService();
  await withAccounts({ push: { allowInternal: true, concurrency: 1 } }, async (server) => {
    const ann = await subscribedFounder(server.port, service, "ann", "#team");
    await ann.client.send("NS SET ALWAYS-ON ON");
    await ann.client.waitFor((m) => m.command === "NOTICE" && /^Always-on is on/.test(m.params[1]));
    await using bob = await IrcTestClient.register(server.port, "bob", { caps: ["away-notify"] });
    await bob.join("#team");
    await leave(ann.client);
    // ann stays in #team, away: no QUIT.
    const away = await bob.waitFor((m) => m.command === "AWAY" || m.command === "QUIT");
    assert.equal(away.command, "AWAY");
    await bob.send("PRIVMSG ann :a private word");
    const first = await service.nth(1);
    assert.match(await decryptPush(first.body, ann.subscription), / PRIVMSG ann :a private word$/);
    await bob.send("PRIVMSG #team :ann: lunch?");
    const second = await service.nth(2);
    assert.match(await decryptPush(second.body, ann.subscription), / PRIVMSG #team :ann: lunch\?$/);
  });
});

Deno.test("a push service that answers 410 makes the server forget the subscription", async () => {
  await using service = startPushService();
  await withAccounts({ push: { allowInternal: true } }, async (server, dataDir) => {
    const ann = await subscribedFounder(server.port, service, "ann", "#team");
    service.answers.set("/ann", [410]);
    await leave(ann.client);
    await using bob = await IrcTestClient.register(server.port, "bob");
    await bob.join("#team");
    await bob.send("PRIVMSG #team :ann: still subscribed?");
    await service.nth(1);
    await waitUntil(() => server.stats().push?.gone === 1, 10_000, "the 410 to be handled");
    const db = new DatabaseSync(join(dataDir, "push.sqlite"), { readOnly: true });
    try {
      const rows = db.prepare("SELECT endpoint FROM subscriptions").all();
      assert.deepEqual(rows, [], "the subscription is gone from push.sqlite");
    } finally {
      db.close();
    }
  });
});

Deno.test("a push service that never answers delays neither the chat nor the server's shutdown", async () => {
  await using service = startPushService();
  const timeoutMs = 500;
  let closedIn = 0;
  await withAccounts(
    { push: { allowInternal: true, timeoutMs, maxAttempts: 1, concurrency: 1 } },
    async (server) => {
      const ann = await subscribedFounder(server.port, service, "ann", "#team");
      service.answers.set("/ann", Array(20).fill("hang"));
      await leave(ann.client);
      await using bob = await IrcTestClient.register(server.port, "bob", {
        caps: ["echo-message"],
      });
      await using cat = await IrcTestClient.register(server.port, "cat");
      await bob.join("#team");
      await cat.join("#team");
      const count = 20;
      const started = performance.now();
      for (let i = 0; i < count; i++) await bob.send(`PRIVMSG #team :ann: ping ${i}`);
      await cat.waitForMany(
        (m) => m.command === "PRIVMSG" && m.params[1].startsWith("ann: ping"),
        count,
      );
      const chatMs = performance.now() - started;
      console.log(
        `${count} mentions reached the channel in ${
          chatMs.toFixed(0)
        } ms with the push service hanging`,
      );
      assert.ok(chatMs < timeoutMs, `the chat waited for the push service (${chatMs} ms)`);
      await service.nth(1);
      // The hanging request is given up at its deadline; the rest wait their turn.
      await waitUntil(() => server.stats().push!.failed >= 1, 5 * timeoutMs, "the deadline");
      const closing = performance.now();
      await server.close();
      closedIn = performance.now() - closing;
      assert.equal(server.stats().push!.pending, 0);
    },
  );
  console.log(`server closed in ${closedIn.toFixed(0)} ms with pushes queued`);
  assert.ok(closedIn < 3000, `the shutdown waited for the push service (${closedIn} ms)`);
});

Deno.test("WEBPUSH is refused without an account, and a bad endpoint or keys get INVALID_PARAMS with the reason", async () => {
  await withAccounts({ push: { maxPerAccount: 2 } }, async (server) => {
    await using guest = await IrcTestClient.register(server.port, "guest", { caps: PUSH_CAPS });
    const keys = (await newSubscription()).keys;
    await guest.send(`WEBPUSH REGISTER https://192.0.2.1/x ${keys}`);
    const refused = await webpushAnswer(guest);
    assert.deepEqual(refused.params.slice(0, 4), [
      "WEBPUSH",
      "ACCOUNT_REQUIRED",
      "REGISTER",
      "https://192.0.2.1/x",
    ]);

    await using ann = await registeredUser(server.port, "ann", { caps: PUSH_CAPS });
    assert.match(vapidOf(ann), /^B[A-Za-z0-9_-]{86}$/);
    const cases: [string, RegExp][] = [
      ["WEBPUSH REGISTER https://10.1.2.3/x " + keys, /10\.1\.2\.3, an internal address/],
      ["WEBPUSH REGISTER https://127.0.0.1:9/x " + keys, /internal address/],
      ["WEBPUSH REGISTER http://192.0.2.1/x " + keys, /must use https/],
      ["WEBPUSH REGISTER not-a-url " + keys, /not a URL/],
      ["WEBPUSH REGISTER https://192.0.2.1/x p256dh=abc;auth=def", /auth key must be 16 bytes/],
      [
        "WEBPUSH REGISTER https://192.0.2.1/x " + keys.replace(/p256dh=B/, "p256dh=C"),
        /p256dh key/,
      ],
      ["WEBPUSH REGISTER https://192.0.2.1/x auth=abc", /p256dh and auth/],
      ["WEBPUSH REGISTER https://192.0.2.1/x", /Usage: WEBPUSH REGISTER <endpoint> <keys>/],
      ["WEBPUSH LIST", /Unknown subcommand/],
    ];
    for (const [line, reason] of cases) {
      await ann.send(line);
      const answer = await webpushAnswer(ann);
      assert.equal(answer.command, "FAIL", line);
      assert.equal(answer.params[1], "INVALID_PARAMS", line);
      assert.match(answer.params.at(-1)!, reason, line);
    }
    for (const path of ["a", "b", "a"]) {
      await ann.send(`WEBPUSH REGISTER https://192.0.2.1/${path} ${keys}`);
      assert.deepEqual((await webpushAnswer(ann)).params, [
        "REGISTER",
        `https://192.0.2.1/${path}`,
      ]);
    }
    await ann.send(`WEBPUSH REGISTER https://192.0.2.1/c ${keys}`);
    assert.deepEqual((await webpushAnswer(ann)).params.slice(0, 4), [
      "WEBPUSH",
      "MAX_REGISTRATIONS",
      "REGISTER",
      "https://192.0.2.1/c",
    ]);
    await ann.send("WEBPUSH UNREGISTER https://192.0.2.1/never-registered");
    assert.deepEqual((await webpushAnswer(ann)).params, [
      "UNREGISTER",
      "https://192.0.2.1/never-registered",
    ]);
  });
});

Deno.test("push subscriptions and the VAPID key survive a restart of serve", async () => {
  await using service = startPushService();
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-push-restart-" });
  try {
    const args = ["--push-allow-internal", "--push-contact", "mailto:ops@chat.example"];
    let vapid: string;
    let subscription: TestSubscription;
    {
      await using serve = await startServe({ dataDir, args });
      const ann = await subscribedFounder(serve.port, service, "ann", "#team");
      vapid = vapidOf(ann.client);
      subscription = ann.subscription;
      await leave(ann.client);
    }
    await using serve = await startServe({ dataDir, args });
    await using bob = await IrcTestClient.register(serve.port, "bob", { caps: PUSH_CAPS });
    assert.equal(vapidOf(bob), vapid, "the same VAPID key after the restart");
    await bob.join("#team");
    await bob.send("PRIVMSG #team :ann: welcome back");
    const push = await service.nth(1);
    assert.match(await decryptPush(push.body, subscription), / :ann: welcome back$/);
    const claims = await verifyVapid(push.headers.get("authorization")!, vapid);
    assert.equal(claims.sub, "mailto:ops@chat.example");
    const mode = (await Deno.stat(join(dataDir, "push.sqlite"))).mode! & 0o777;
    assert.equal(mode, 0o600);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a private message to an account with no device is pushed with high urgency, a mention in a channel that is not the account's is not (the audience, with the device check of #13 stood in for)", () => {
  const hub = new ChatHub();
  const subscribed = () => true;
  const noDevice = () => false;
  const privately = {
    event: createEvent({ kind: "privmsg", source: "bob!b@h", target: "ann", text: "psst" }),
    senderAccount: "bob",
    targetAccount: "Ann",
  };
  assert.deepEqual(pushAudience(hub, privately, subscribed, noDevice), [
    { account: "Ann", reason: "private" },
  ]);
  assert.deepEqual(
    pushAudience(hub, { ...privately, senderAccount: "ann" }, subscribed, noDevice),
    [],
  );
  const elsewhere = {
    event: createEvent({ kind: "privmsg", source: "bob!b@h", target: "#lobby", text: "ann: hi" }),
  };
  assert.deepEqual(pushAudience(hub, elsewhere, subscribed, noDevice), []);
});

Deno.test({
  name:
    "the hub tells its push listener only of messages history committed: with the disk full, the refused ones are never pushed",
  ignore: !canMount,
  async fn() {
    const mount = mountTmpfs("1m")!;
    const history = HistoryStore.open(join(mount, "data"), { deferCommit: true });
    try {
      const told: StoredMessage[] = [];
      const hub = new ChatHub({ history, onStored: (message) => told.push(message) });
      const member = (nick: string) => ({
        nick,
        user: nick,
        host: "h",
        realname: nick,
        transport: "test",
        account: nick,
        channels: new Set<string>(),
        echo: false,
        deliver() {},
        disconnect() {},
      });
      const ann = member("ann");
      hub.add(ann);
      hub.join(ann, "#lobby");
      await fill(join(mount, "filler"), 128 * 1024);
      const stored: string[] = [];
      let refused = 0;
      for (let i = 0; i < 400; i++) {
        const result = await hub.send(ann, "privmsg", "#lobby", `bob: ${i} ${"x".repeat(300)}`);
        if (typeof result === "string") refused++;
        else stored.push(result.msgid);
      }
      assert.ok(refused > 0, `the disk never filled up (${stored.length} stored)`);
      assert.ok(stored.length > 0, "nothing was stored before the disk filled up");
      assert.deepEqual(told.map((message) => message.event.msgid), stored);
      assert.ok(told.every((message) => message.senderAccount === "ann"));
    } finally {
      history.close();
      unmount(mount);
    }
  },
});
