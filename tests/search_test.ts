import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { IrcTestClient, type Received, startServe } from "./_irc.ts";
import { connectDevice, PASSWORD, registeredUser, withAccounts } from "./_accounts.ts";
import { HistoryStore } from "../src/chat/history.ts";
import { SCHEMA_VERSION } from "../src/chat/_history_schema.ts";
import { SEARCH_LIMIT } from "../src/irc/commands/search.ts";
import { DEFAULT_LIMITS } from "../src/irc/limits.ts";

const SEARCH_BUDGET = DEFAULT_LIMITS.searchBudget;
/** Enough searches for a test that sends many. */
const MANY_SEARCHES = { limits: { searchBudget: 1000 } };

const CAPS = ["batch", "server-time", "message-tags", "echo-message", "soju.im/search"];

/** Sends a SEARCH and collects the lines of its batch, or returns its FAIL. */
async function search(client: IrcTestClient, attributes: string): Promise<Received[]> {
  await client.send(`SEARCH ${attributes}`);
  const start = await client.waitFor((m) =>
    (m.command === "BATCH" && m.params[0].startsWith("+")) || m.command === "FAIL"
  );
  if (start.command === "FAIL") return [start];
  assert.equal(start.params[1], "soju.im/search");
  const id = start.params[0].slice(1);
  const lines: Received[] = [];
  while (true) {
    const line = await client.waitFor((m) => m.tags.batch === id || m.command === "BATCH");
    if (line.command === "BATCH" && line.params[0] === `-${id}`) return lines;
    lines.push(line);
  }
}

async function texts(client: IrcTestClient, attributes: string): Promise<string[]> {
  const lines = await search(client, attributes);
  assert.ok(lines.every((m) => m.command !== "FAIL"), `SEARCH ${attributes}: ${lines[0]?.line}`);
  return lines.map((m) => m.params[1]);
}

/** Says something and waits for its echo: once echoed, it is stored. */
async function say(client: IrcTestClient, target: string, text: string): Promise<Received> {
  await client.send(`PRIVMSG ${target} :${text}`);
  return await client.waitFor((m) =>
    m.command === "PRIVMSG" && m.params[0] === target && m.params[1] === text
  );
}

Deno.test("SEARCH finds a channel's messages only for those who were in it when they were sent", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann", { caps: CAPS });
    await ann.join("#team");
    await say(ann, "#team", "alpha before bob came");
    await using bob = await registeredUser(server.port, "bob", { caps: CAPS });
    await bob.join("#team");
    await say(ann, "#team", "alpha while bob was here");
    await bob.send("PART #team");
    await bob.waitFor("PART");
    await say(ann, "#team", "alpha after bob left");
    await using guest = await IrcTestClient.register(server.port, "guest", { caps: CAPS });
    await guest.join("#team");
    await say(ann, "#team", "alpha for the guest too");

    assert.deepEqual(await texts(ann, "text=alpha"), [
      "alpha before bob came",
      "alpha while bob was here",
      "alpha after bob left",
      "alpha for the guest too",
    ]);
    assert.deepEqual(await texts(bob, "text=alpha"), ["alpha while bob was here"]);
    assert.deepEqual(await texts(guest, "text=alpha"), ["alpha for the guest too"]);
    // Results are messages as they were sent: source, msgid and time.
    const [found] = await search(bob, "text=alpha");
    assert.equal(found.source, "ann!ann@127.0.0.1");
    assert.ok(found.tags.msgid && found.tags.time);

    // An account's stretches are stored: a new connection finds the same, the guest's
    // stretch ended with its connection and a new guest starts with nothing.
    await bob.send("QUIT");
    await bob.closed;
    const { client: bobAgain } = await connectDevice(server.port, "bob", { caps: CAPS });
    await using _bob = bobAgain;
    assert.deepEqual(await texts(bobAgain, "text=alpha"), ["alpha while bob was here"]);
    await guest.send("QUIT");
    await guest.closed;
    await using guest2 = await IrcTestClient.register(server.port, "guest", { caps: CAPS });
    assert.deepEqual(await texts(guest2, "text=alpha"), []);
  });
});

Deno.test("SEARCH gives an account the stretch of the channels its connection joined before it registered", async () => {
  await withAccounts({}, async (server) => {
    await using bob = await IrcTestClient.register(server.port, "bob", { caps: CAPS });
    await bob.join("#team");
    await using ann = await IrcTestClient.register(server.port, "ann", { caps: CAPS });
    await ann.join("#team");
    await say(bob, "#team", "kappa said before ann registered");
    await ann.send(`REGISTER * * :${PASSWORD}`);
    await ann.waitFor("900");
    await say(bob, "#team", "kappa said after");
    await ann.send("QUIT");
    await ann.closed;
    const { client: again } = await connectDevice(server.port, "ann", { caps: CAPS });
    await using _ann = again;
    assert.deepEqual(await texts(again, "text=kappa"), [
      "kappa said before ann registered",
      "kappa said after",
    ]);
  });
});

Deno.test("SEARCH never shows a secret channel's messages to someone outside it", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann", { caps: CAPS });
    await ann.join("#hidden");
    await ann.send("MODE #hidden +s");
    await ann.waitFor("MODE");
    await say(ann, "#hidden", "launch codes are 1234");
    await using eve = await registeredUser(server.port, "eve", { caps: CAPS });
    await eve.join("#lobby");
    assert.deepEqual(await texts(eve, "text=launch"), []);
    assert.deepEqual(await texts(eve, "text=launch;in=#hidden"), []);
    assert.deepEqual(await texts(eve, "in=#hidden"), []);
    assert.deepEqual(await texts(ann, "text=launch;in=#HIDDEN"), ["launch codes are 1234"]);
  });
});

Deno.test("SEARCH finds private messages only for the accounts that own them, never by nick", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann", { caps: CAPS });
    await using bob = await registeredUser(server.port, "bob", { caps: CAPS });
    await using dan = await IrcTestClient.register(server.port, "dan", { caps: CAPS });
    await say(ann, "bob", "secret plan for friday");
    await say(ann, "dan", "secret note for dan");
    await bob.waitFor((m) => m.command === "PRIVMSG" && m.params[1] === "secret plan for friday");

    assert.deepEqual(await texts(ann, "text=secret"), [
      "secret plan for friday",
      "secret note for dan",
    ]);
    assert.deepEqual(await texts(ann, "text=secret;in=BOB"), ["secret plan for friday"]);
    assert.deepEqual(await texts(bob, "text=secret"), ["secret plan for friday"]);
    assert.deepEqual(await texts(bob, "text=secret;from=ann"), ["secret plan for friday"]);
    assert.deepEqual(await texts(bob, "text=secret;from=dan"), []);
    // A guest owns nothing, not even what was said to its nick.
    assert.deepEqual(await texts(dan, "text=secret"), []);
    // Whoever takes the nick later and registers it finds nothing said to the guest before,
    // nor anything of the other accounts' conversations.
    await dan.send("QUIT");
    await dan.closed;
    await using dan2 = await registeredUser(server.port, "dan", { caps: CAPS });
    assert.deepEqual(await texts(dan2, "text=secret"), []);
    assert.deepEqual(await texts(dan2, "in=ann"), []);
  });
});

Deno.test("SEARCH answers bad attributes and FTS syntax with FAIL or a plain search, and keeps the connection", async () => {
  await withAccounts(MANY_SEARCHES, async (server) => {
    await using ann = await registeredUser(server.port, "ann", { caps: CAPS });
    await ann.join("#team");
    await say(ann, "#team", "the unbalanced near and not operator words");
    const fails: [attributes: string, expected: RegExp][] = [
      ["text=*", /^FAIL SEARCH INVALID_PARAMS text :The search text has no word/],
      ["text=-", /^FAIL SEARCH INVALID_PARAMS text :The search text has no word/],
      ['text=()\\s"\\s^', /^FAIL SEARCH INVALID_PARAMS text :The search text has no word/],
      ["text=n*", /^FAIL SEARCH INVALID_PARAMS text :"n\*" is too short a prefix/],
      [
        `text=${"word ".repeat(9)}`,
        /^FAIL SEARCH INVALID_PARAMS text :The search text has 9 words/,
      ],
      [`text=${"a".repeat(301)}`, /^FAIL SEARCH INVALID_PARAMS text :The search text is 301/],
      ["text=x;colour=red", /^FAIL SEARCH INVALID_PARAMS colour :Unknown attribute/],
      ["text=x;text=y", /^FAIL SEARCH INVALID_PARAMS text :Attribute given twice/],
      ["text=", /^FAIL SEARCH INVALID_PARAMS text :Attribute has no value/],
      ["after=yesterday", /^FAIL SEARCH INVALID_PARAMS after :Not a timestamp/],
      ["before=2026-13-45T99:00:00.000Z", /^FAIL SEARCH INVALID_PARAMS before :Not a timestamp/],
      ["limit=0", /^FAIL SEARCH INVALID_PARAMS limit :Not a whole number/],
      ["limit=-5", /^FAIL SEARCH INVALID_PARAMS limit :Not a whole number/],
      ["in=#a,#b", /^FAIL SEARCH INVALID_PARAMS in :Not a channel or nick/],
    ];
    for (const [attributes, expected] of fails) {
      const [reply] = await search(ann, attributes);
      const line = reply.line.replace(/^:\S+ /, "");
      assert.match(line, expected, `SEARCH ${attributes}: ${line}`);
    }
    // FTS5 operators are words here: no syntax error, a search for the words.
    const plain: [attributes: string, found: number][] = [
      ['text="unbalanced', 1],
      ["text=NEAR(unbalanced", 1],
      ["text=AND", 1],
      ["text=unbalanced\\sNOT\\soperator", 1],
      ["text=unbalanced\\s-operator", 1],
      ["text=text:unbalanced", 0],
      ["text=')\\:\\sDROP\\sTABLE\\smessages\\:\\s--", 0],
      ["text=unbal*", 1],
    ];
    for (const [attributes, found] of plain) {
      assert.equal((await texts(ann, attributes)).length, found, `SEARCH ${attributes}`);
    }
    // A NUL never reaches the search: the line is refused as it is read.
    await ann.sendBytes(new TextEncoder().encode("SEARCH text=a\0b\r\n"));
    await ann.waitFor((m) => m.command === "FAIL" && m.params[1] === "INVALID_CHARACTERS");
    // A 10 KB query is over the line length.
    await ann.send(`SEARCH text=${"x".repeat(10_000)}`);
    await ann.waitFor("417");
    await ann.send("SEARCH");
    await ann.waitFor((m) => m.command === "461" && m.params[1] === "SEARCH");
    // The connection is alive and the history intact.
    await ann.send("PING still-here");
    await ann.waitFor((m) => m.command === "PONG" && m.params.at(-1) === "still-here");
    assert.deepEqual(await texts(ann, "text=unbalanced"), [
      "the unbalanced near and not operator words",
    ]);
  });
});

Deno.test("SEARCH caps the messages it returns and the searches a client may send", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann", { caps: CAPS });
    await ann.join("#team");
    for (let i = 1; i <= SEARCH_LIMIT + 5; i++) await ann.send(`PRIVMSG #team :needle ${i}`);
    await ann.waitForMany((m) => m.command === "PRIVMSG", SEARCH_LIMIT + 5);
    const all = await texts(ann, "text=needle;limit=100000");
    assert.equal(all.length, SEARCH_LIMIT);
    // The newest, oldest first; with after=, the first ones from then.
    assert.equal(all.at(-1), `needle ${SEARCH_LIMIT + 5}`);
    assert.equal(all[0], "needle 6");
    const firstTwo = await texts(ann, "text=needle;after=2000-01-01T00:00:00.000Z;limit=2");
    assert.deepEqual(firstTwo, ["needle 1", "needle 2"]);
    for (let i = 2; i < SEARCH_BUDGET; i++) await texts(ann, "text=needle;limit=1");
    const [refused] = await search(ann, "text=needle");
    assert.equal(refused.command, "FAIL");
    assert.deepEqual(refused.params.slice(0, 2), ["SEARCH", "RATE_LIMITED"]);
  });
});

Deno.test("SEARCH without batch sends the lines alone, or NOTE SEARCH NO_MESSAGES for none", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann", { caps: ["echo-message"] });
    await ann.join("#team");
    await say(ann, "#team", "plain old lines");
    await ann.send("SEARCH text=plain");
    const found = await ann.waitFor("PRIVMSG");
    assert.equal(found.line, ":ann!ann@127.0.0.1 PRIVMSG #team :plain old lines");
    await ann.send("SEARCH text=nothing");
    const none = await ann.waitFor("NOTE");
    assert.deepEqual(none.params, ["SEARCH", "NO_MESSAGES", "No messages match"]);
  });
});

Deno.test("SEARCH that runs out of time sends what it found and WARN SEARCH INCOMPLETE", async () => {
  await withAccounts({ limits: { searchTimeMs: 0 } }, async (server) => {
    await using ann = await registeredUser(server.port, "ann", { caps: CAPS });
    await ann.join("#team");
    await say(ann, "#team", "slow search");
    assert.deepEqual(await search(ann, "text=slow"), []);
    const warning = await ann.waitFor("WARN");
    assert.deepEqual(warning.params.slice(0, 2), ["SEARCH", "INCOMPLETE"]);
    assert.match(warning.params[2], /stopped after 0 ms; narrow it with in=/);
  });
});

Deno.test("SEARCH with a label answers inside the labeled batch, before the next command's answer", async () => {
  await withAccounts({}, async (server) => {
    await using ann = await registeredUser(server.port, "ann", {
      caps: [...CAPS, "labeled-response"],
    });
    await ann.join("#team");
    await say(ann, "#team", "labeled result");
    await ann.send("@label=s1 SEARCH text=labeled");
    await ann.send("@label=p1 PING after");
    const outer = await ann.waitFor("BATCH");
    assert.equal(outer.tags.label, "s1");
    assert.equal(outer.params[1], "labeled-response");
    const inner = await ann.waitFor("BATCH");
    assert.equal(inner.params[1], "soju.im/search");
    const found = await ann.waitFor("PRIVMSG");
    assert.equal(found.params[1], "labeled result");
    assert.equal(found.tags.batch, inner.params[0].slice(1));
    await ann.waitFor((m) =>
      m.command === "BATCH" && m.params[0] === `-${inner.params[0].slice(1)}`
    );
    await ann.waitFor((m) =>
      m.command === "BATCH" && m.params[0] === `-${outer.params[0].slice(1)}`
    );
    const pong = await ann.waitFor("PONG");
    assert.equal(pong.tags.label, "p1");
  });
});

Deno.test("SEARCH finds a message echoed just before a kill -9 once the server is back", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-search-test-" });
  try {
    {
      await using serve = await startServe({ dataDir });
      await using ann = await registeredUser(serve.port, "ann", { caps: CAPS });
      await ann.join("#crash");
      await say(ann, "#crash", "survives the crash");
      serve.child.process.kill("SIGKILL");
      await serve.child.done;
    }
    await using serve = await startServe({ dataDir });
    const { client: ann } = await connectDevice(serve.port, "ann", { caps: CAPS });
    await using _ann = ann;
    // What is said in #crash now, with ann no longer in it, is not hers to find: the stretch
    // the kill left open ended when the server came back.
    await using bob = await IrcTestClient.register(serve.port, "bob", { caps: CAPS });
    await bob.join("#crash");
    await say(bob, "#crash", "crash aftermath");
    // Ann is in no channel now: she finds it because she was in #crash when it was said.
    assert.deepEqual(await texts(ann, "text=crash"), ["survives the crash"]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("HistoryStore.open indexes the messages of a schema-3 database for search", () => {
  const dir = Deno.makeTempDirSync({ prefix: "shmooze-search-migration-test-" });
  try {
    // A history as shmooze 3 left it (before search): messages, private owners, no index.
    const db = new DatabaseSync(join(dir, "history.sqlite"));
    db.exec(`
      CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT, conv TEXT NOT NULL, msgid TEXT NOT NULL UNIQUE,
        time INTEGER NOT NULL, sender TEXT NOT NULL, sender_mask TEXT NOT NULL,
        target TEXT NOT NULL, command TEXT NOT NULL, text TEXT NOT NULL, tags TEXT
      );
      CREATE INDEX messages_conv_id ON messages (conv, id);
      CREATE INDEX messages_time ON messages (time);
      CREATE TABLE private_index (
        owner TEXT NOT NULL, partner TEXT NOT NULL, id INTEGER NOT NULL,
        PRIMARY KEY (owner, partner, id)
      ) WITHOUT ROWID;
      CREATE INDEX private_index_id ON private_index (id);
      INSERT INTO messages (conv, msgid, time, sender, sender_mask, target, command, text)
      VALUES ('#old', 'o1', 1000, 'bob', 'bob!b@h', '#old', 'PRIVMSG', 'Café opens at nine'),
             ('', 'o2', 2000, 'bob', 'bob!b@h', 'ann', 'PRIVMSG', 'café tomorrow?'),
             ('#old', 'o3', 3000, 'bob', 'bob!b@h', '#old', 'TAGMSG', '');
      INSERT INTO private_index VALUES ('ann', 'bob', 2);
      PRAGMA user_version = 3;
    `);
    db.close();
    const history = HistoryStore.open(dir, { retentionMs: 0 });
    try {
      // Nobody's stretches are known for old messages: the channel's members of the day
      // find them (as CHATHISTORY serves them); private ones go to their owners.
      const member = history.search({ channels: ["#OLD"] }, { text: "cafe" }, 10);
      assert.deepEqual(member.records.map((m) => m.msgid), ["o1"]);
      const owner = history.search({ owner: { account: "ann" } }, { text: "cafe" }, 10);
      assert.deepEqual(owner.records.map((m) => m.msgid), ["o2"]);
      assert.deepEqual(history.search({}, { text: "cafe" }, 10).records, []);
      // New messages are indexed as they are stored; old ones are not open to new members.
      history.beginPresence("carol", "#old", history.lastId());
      history.append({
        msgid: "n1",
        time: 4000,
        sender: "ann",
        senderMask: "ann!a@h",
        target: "#old",
        command: "PRIVMSG",
        text: "the café is closed",
      });
      const carol = history.search({ owner: { account: "carol" } }, { text: "café" }, 10);
      assert.deepEqual(carol.records.map((m) => m.msgid), ["n1"]);
    } finally {
      history.close();
    }
    const check = new DatabaseSync(join(dir, "history.sqlite"));
    assert.equal(check.prepare("PRAGMA user_version").get()!.user_version, SCHEMA_VERSION);
    check.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("HistoryStore.search stops when its time budget is spent and says so", () => {
  const dir = Deno.makeTempDirSync({ prefix: "shmooze-search-budget-test-" });
  const history = HistoryStore.open(dir, { retentionMs: 0 });
  try {
    history.beginPresence("ann", "#a", 0);
    history.append({
      msgid: "m1",
      time: 1000,
      sender: "bob",
      senderMask: "bob!b@h",
      target: "#a",
      command: "PRIVMSG",
      text: "found in time",
    });
    const reader = { owner: { account: "ann" } };
    assert.deepEqual(history.search(reader, { text: "found" }, 10, { timeBudgetMs: 0 }), {
      records: [],
      complete: false,
    });
    const found = history.search(reader, { text: "found" }, 10);
    assert.equal(found.complete, true);
    assert.equal(found.records.length, 1);
  } finally {
    history.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("HistoryStore.prune takes pruned messages out of the search index", () => {
  const dir = Deno.makeTempDirSync({ prefix: "shmooze-search-prune-test-" });
  const history = HistoryStore.open(dir, { retentionMs: 60_000 });
  try {
    history.beginPresence("ann", "#a", 0);
    const now = Date.now();
    for (const [msgid, time] of [["old", now - 120_000], ["new", now]] as const) {
      history.append({
        msgid,
        time,
        sender: "bob",
        senderMask: "bob!b@h",
        target: "#a",
        command: "PRIVMSG",
        text: `kept or pruned ${msgid}`,
      });
    }
    assert.equal(history.prune(now), 1);
    const found = history.search({ owner: { account: "ann" } }, { text: "pruned" }, 10);
    assert.deepEqual(found.records.map((m) => m.msgid), ["new"]);
  } finally {
    history.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("HistoryStore.search never finds a message whose text a deletion erased", () => {
  const dir = Deno.makeTempDirSync({ prefix: "shmooze-search-erase-test-" });
  const history = HistoryStore.open(dir, { retentionMs: 0 });
  try {
    history.beginPresence("ann", "#a", 0);
    for (const msgid of ["kept", "erased"]) {
      history.append({
        msgid,
        time: Date.now(),
        sender: "bob",
        senderMask: "bob!b@h",
        target: "#a",
        command: "PRIVMSG",
        text: `zanzibar ${msgid}`,
      });
    }
    // What a deletion (draft/message-redaction) does to the stored message.
    const db = new DatabaseSync(join(dir, "history.sqlite"));
    db.exec("UPDATE messages SET text = '', tags = NULL WHERE msgid = 'erased'");
    db.close();
    const reader = { owner: { account: "ann" } };
    const byText = history.search(reader, { text: "zanzibar" }, 10).records;
    assert.deepEqual(byText.map((m) => m.msgid), ["kept"]);
    const byChannel = history.search(reader, { in: "#a" }, 10).records;
    assert.deepEqual(byChannel.map((m) => m.msgid), ["kept"]);
    assert.deepEqual(history.search(reader, { text: "erased" }, 10).records, []);
  } finally {
    history.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
