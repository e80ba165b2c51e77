import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { defaultDataDir } from "../src/chat/data_directory.ts";
import {
  type HistoryEntry,
  type HistoryRecord,
  type HistorySelector,
  HistoryStore,
  type PrivateConversation,
} from "../src/chat/history.ts";
import { migrateSchema } from "../src/chat/_sqlite.ts";
import { SCHEMA_VERSION } from "../src/chat/_history_schema.ts";
import { spawn } from "./_helpers.ts";

/** A temporary data directory removed when the test ends. */
function tempDir(): { path: string } & Disposable {
  const path = Deno.makeTempDirSync({ prefix: "shmooze-history-test-" });
  return { path, [Symbol.dispose]: () => Deno.removeSync(path, { recursive: true }) };
}

/** Who owns a private message: the accounts its sender and recipient were logged in to. */
type Owners = Pick<HistoryEntry, "senderAccount" | "targetAccount">;

function message(
  msgid: string,
  time: number,
  sender: string,
  target: string,
  owners: Owners = {},
  text = msgid,
): HistoryEntry {
  return {
    msgid,
    time,
    sender,
    senderMask: `${sender}!${sender.toLowerCase()}@localhost`,
    target,
    command: "PRIVMSG",
    text,
    ...owners,
  };
}

/** A store that keeps everything, holding `[msgid, time, sender, target, owners]` in order. */
function storeWith(
  dir: string,
  messages: [string, number, string, string, Owners?][],
): HistoryStore {
  const history = HistoryStore.open(dir, { retentionMs: 0 });
  for (const fields of messages) history.append(message(...fields));
  return history;
}

/**
 * Ten messages c1…c10 at 1010, 1020 … 1100 ms from ann (logged in to account ann) to
 * `target`, each followed by one to `other` (o1…o10) at the same time, so the two
 * conversations' ids interleave.
 */
function fixture(dir: string, target: string, other: string): HistoryStore {
  const history = HistoryStore.open(dir, { retentionMs: 0 });
  for (let i = 1; i <= 10; i++) {
    history.append(message(`c${i}`, 1000 + 10 * i, "ann", target, { senderAccount: "ann" }));
    history.append(message(`o${i}`, 1000 + 10 * i, "ann", other, { senderAccount: "ann" }));
  }
  return history;
}

/** The two shapes of one conversation: #Lobby beside #other, ann's account with Bob beside carol. */
const SHAPES: {
  name: string;
  conversation: string | PrivateConversation;
  make: (dir: string) => HistoryStore;
}[] = [
  { name: "a channel", conversation: "#lobby", make: (dir) => fixture(dir, "#Lobby", "#other") },
  {
    name: "a private conversation",
    conversation: { account: "ANN", partner: "bob" },
    make: (dir) => fixture(dir, "Bob", "carol"),
  },
];

function lobbyFixture(dir: string): HistoryStore {
  return fixture(dir, "#Lobby", "#other");
}

function texts(records: HistoryRecord[]): string[] {
  return records.map((record) => record.text);
}

for (const shape of SHAPES) {
  Deno.test(`HistoryStore.query() answers every selector as CHATHISTORY specifies in ${shape.name}`, () => {
    using dir = tempDir();
    const history = shape.make(dir.path);
    const cases: [HistorySelector, number, string[]][] = [
      [{ kind: "latest" }, 3, ["c8", "c9", "c10"]],
      [{ kind: "latest", after: { msgid: "c7" } }, 2, ["c9", "c10"]],
      [{ kind: "latest", after: { msgid: "c7" } }, 10, ["c8", "c9", "c10"]],
      [{ kind: "latest", after: { time: 1075 } }, 10, ["c8", "c9", "c10"]],
      [{ kind: "latest", after: { time: 1080 } }, 10, ["c9", "c10"]],
      [{ kind: "latest", after: { msgid: "c10" } }, 10, []],
      [{ kind: "before", anchor: { msgid: "c5" } }, 3, ["c2", "c3", "c4"]],
      [{ kind: "before", anchor: { time: 1050 } }, 3, ["c2", "c3", "c4"]],
      [{ kind: "before", anchor: { time: 1055 } }, 2, ["c4", "c5"]],
      [{ kind: "before", anchor: { msgid: "c1" } }, 5, []],
      [{ kind: "before", anchor: { time: 5000 } }, 2, ["c9", "c10"]],
      [{ kind: "after", anchor: { msgid: "c5" } }, 3, ["c6", "c7", "c8"]],
      [{ kind: "after", anchor: { time: 1050 } }, 2, ["c6", "c7"]],
      [{ kind: "after", anchor: { time: 0 } }, 2, ["c1", "c2"]],
      [{ kind: "after", anchor: { time: 2000 } }, 5, []],
      [{ kind: "around", anchor: { msgid: "c5" } }, 5, ["c3", "c4", "c5", "c6", "c7"]],
      [{ kind: "around", anchor: { msgid: "c5" } }, 4, ["c3", "c4", "c5", "c6"]],
      [{ kind: "around", anchor: { msgid: "c5" } }, 1, ["c5"]],
      [{ kind: "around", anchor: { msgid: "c2" } }, 5, ["c1", "c2", "c3", "c4", "c5"]],
      [{ kind: "around", anchor: { msgid: "c10" } }, 4, ["c7", "c8", "c9", "c10"]],
      [{ kind: "around", anchor: { time: 1055 } }, 4, ["c4", "c5", "c6", "c7"]],
      [
        { kind: "around", anchor: { time: 1055 } },
        100,
        Array.from({ length: 10 }, (_, i) => `c${i + 1}`),
      ],
      [{ kind: "between", start: { msgid: "c2" }, end: { msgid: "c6" } }, 10, ["c3", "c4", "c5"]],
      [{ kind: "between", start: { msgid: "c2" }, end: { msgid: "c9" } }, 3, ["c3", "c4", "c5"]],
      [{ kind: "between", start: { msgid: "c9" }, end: { msgid: "c2" } }, 3, ["c6", "c7", "c8"]],
      [{ kind: "between", start: { time: 1020 }, end: { time: 1060 } }, 10, ["c3", "c4", "c5"]],
      [{ kind: "between", start: { time: 1100 }, end: { time: 1000 } }, 2, ["c8", "c9"]],
      [{ kind: "between", start: { msgid: "c2" }, end: { time: 1055 } }, 10, ["c3", "c4", "c5"]],
      [{ kind: "between", start: { time: 1050 }, end: { time: 1050 } }, 10, []],
    ];
    for (const [selector, limit, expected] of cases) {
      assert.deepEqual(
        texts(history.query(shape.conversation, selector, limit)),
        expected,
        `${JSON.stringify(selector)} limit ${limit}`,
      );
    }
    history.close();
  });

  Deno.test(`HistoryStore.query() returns nothing for a msgid it does not know or from another conversation in ${shape.name}`, () => {
    using dir = tempDir();
    const history = shape.make(dir.path);
    const selectors: HistorySelector[] = [
      { kind: "latest", after: { msgid: "nope" } },
      { kind: "before", anchor: { msgid: "nope" } },
      { kind: "after", anchor: { msgid: "o3" } },
      { kind: "around", anchor: { msgid: "o3" } },
      { kind: "between", start: { msgid: "c2" }, end: { msgid: "o8" } },
      { kind: "between", start: { msgid: "nope" }, end: { time: 1090 } },
    ];
    for (const selector of selectors) {
      assert.deepEqual(
        history.query(shape.conversation, selector, 10),
        [],
        JSON.stringify(selector),
      );
    }
    history.close();
  });
}

Deno.test("HistoryStore keeps channels apart, folds case and returns whole records", () => {
  using dir = tempDir();
  const history = lobbyFixture(dir.path);
  assert.deepEqual(texts(history.query("#OTHER", { kind: "latest" }, 2)), ["o9", "o10"]);
  const [record] = history.query("#LoBbY", { kind: "latest" }, 1);
  assert.deepEqual(record, {
    id: 19,
    msgid: "c10",
    time: 1100,
    sender: "ann",
    senderMask: "ann!ann@localhost",
    target: "#Lobby",
    command: "PRIVMSG",
    text: "c10",
  });
  assert.deepEqual(history.query("#empty", { kind: "latest" }, 5), []);
  history.close();
});

Deno.test("HistoryStore serves a private message to its owners' accounts only, each by its partner", () => {
  using dir = tempDir();
  const history = storeWith(dir.path, [
    ["p1", 1000, "ann", "bob", { senderAccount: "ann", targetAccount: "bob" }],
    ["p2", 1001, "Bob", "ann", { senderAccount: "bob", targetAccount: "ann" }],
    ["p3", 1002, "ann", "Carol", { senderAccount: "ann" }],
    ["p5", 1004, "ANN", "BOB", { senderAccount: "Ann" }],
    ["p6", 1005, "eve", "dave"],
  ]);
  history.append({
    ...message("p4", 1003, "carol", "bob", { targetAccount: "bob" }),
    command: "NOTICE",
  });
  const read = (conversation: PrivateConversation) =>
    texts(history.query(conversation, { kind: "latest" }, 10));
  assert.deepEqual(read({ account: "ann", partner: "bob" }), ["p1", "p2", "p5"]);
  assert.deepEqual(read({ account: "ANN", partner: "Bob" }), ["p1", "p2", "p5"]);
  assert.deepEqual(
    read({ account: "bob", partner: "ann" }),
    ["p1", "p2"],
    "bob was logged out for p5",
  );
  assert.deepEqual(read({ account: "ann", partner: "carol" }), ["p3"]);
  assert.deepEqual(read({ account: "carol", partner: "ann" }), [], "carol had no account");
  const carolBob = history.query({ account: "bob", partner: "carol" }, { kind: "latest" }, 10);
  assert.deepEqual(texts(carolBob), ["p4"]);
  assert.equal(carolBob[0].command, "NOTICE");
  for (const [account, partner] of [["eve", "dave"], ["dave", "eve"], ["ann", "dave"]]) {
    assert.deepEqual(read({ account, partner }), [], `${account} with ${partner}`);
  }
  assert.deepEqual(
    texts(
      history.query(
        { account: "ann", partner: "bob" },
        { kind: "before", anchor: { msgid: "p5" } },
        1,
      ),
    ),
    ["p2"],
  );
  assert.deepEqual(
    history.query(
      { account: "bob", partner: "ann" },
      { kind: "after", anchor: { msgid: "p5" } },
      10,
    ),
    [],
    "a msgid bob does not own places nothing in his history",
  );
  assert.deepEqual(
    history.query(
      { account: "ann", partner: "bob" },
      { kind: "after", anchor: { msgid: "p3" } },
      10,
    ),
    [],
    "an anchor from ann↔carol does not place ann↔bob",
  );
  history.close();
});

Deno.test("HistoryStore keeps an account's private history across its nicks, by the partner's nick at the time", () => {
  using dir = tempDir();
  const history = storeWith(dir.path, [
    ["n1", 1000, "ann", "bob", { senderAccount: "ann" }],
    ["n2", 1001, "bob", "ann_", { targetAccount: "ann" }],
    ["n3", 1002, "ann_", "bob", { senderAccount: "ann" }],
    ["n4", 1003, "ann_", "bobby", { senderAccount: "ann" }],
  ]);
  assert.deepEqual(
    texts(history.query({ account: "ann", partner: "bob" }, { kind: "latest" }, 10)),
    ["n1", "n2", "n3"],
  );
  assert.deepEqual(
    texts(history.query({ account: "ann", partner: "bobby" }, { kind: "latest" }, 10)),
    ["n4"],
  );
  history.close();
});

Deno.test("HistoryStore gives an account nothing stored before it was created", () => {
  using dir = tempDir();
  const history = storeWith(dir.path, [
    ["old", 1000, "bob", "ann", { targetAccount: "ann" }],
    ["gone", 1500, "carol", "ann", { targetAccount: "ann" }],
    ["same", 2000, "bob", "ann", { targetAccount: "ann" }],
    ["new", 3000, "bob", "ann", { targetAccount: "ann" }],
  ]);
  const ann = { account: "ann", partner: "bob", since: 2000 };
  assert.deepEqual(texts(history.query(ann, { kind: "latest" }, 10)), ["same", "new"]);
  assert.deepEqual(history.query(ann, { kind: "after", anchor: { msgid: "old" } }, 10), []);
  assert.deepEqual(texts(history.query(ann, { kind: "before", anchor: { time: 5000 } }, 10)), [
    "same",
    "new",
  ]);
  assert.deepEqual(history.targets({ account: "ann", since: 2000 }, [], 0, 10_000, 10), [
    { target: "bob", latest: 3000 },
  ]);
  history.close();
});

Deno.test("HistoryStore.targets() lists channels and an account's private partners by latest activity", () => {
  using dir = tempDir();
  const ann = { senderAccount: "ann" };
  const history = storeWith(dir.path, [
    ["l1", 1000, "zed", "#lobby"],
    ["c1", 1200, "ann", "carol", ann],
    ["b1", 1500, "ann", "bob", ann],
    ["l2", 2000, "ann", "#Lobby", ann],
    ["x1", 2200, "ann", "#other", ann],
    ["b2", 2500, "Bob", "ann", { targetAccount: "ann" }],
    ["cb", 3000, "carol", "bob"],
    ["d1", 3500, "ann_", "Dave", ann],
  ]);
  const channels = ["#lobby", "#quiet"];
  const owner = { account: "ann" };
  assert.deepEqual(history.targets(owner, channels, 0, 10_000, 10), [
    { target: "carol", latest: 1200 },
    { target: "#lobby", latest: 2000 },
    { target: "Bob", latest: 2500 },
    { target: "Dave", latest: 3500 },
  ]);
  assert.deepEqual(history.targets({ account: "ANN" }, channels, 0, 2100, 10), [
    { target: "carol", latest: 1200 },
    { target: "#lobby", latest: 2000 },
  ], "bob's latest message (2500) is after the window");
  assert.deepEqual(history.targets(owner, channels, 0, 10_000, 2), [
    { target: "carol", latest: 1200 },
    { target: "#lobby", latest: 2000 },
  ]);
  assert.deepEqual(history.targets(owner, channels, 10_000, 0, 2), [
    { target: "Bob", latest: 2500 },
    { target: "Dave", latest: 3500 },
  ]);
  assert.deepEqual(history.targets(owner, channels, 1200, 1500, 10), [], "bounds are exclusive");
  assert.deepEqual(history.targets(undefined, channels, 0, 10_000, 10), [
    { target: "#lobby", latest: 2000 },
  ]);
  assert.deepEqual(history.targets({ account: "dave" }, [], 0, 10_000, 10), []);
  assert.deepEqual(
    history.targets({ account: "carol" }, [], 0, 10_000, 10),
    [],
    "carol had no account",
  );
  history.close();
});

Deno.test("HistoryStore.targets() leaves out a conversation whose latest message is after the window", () => {
  using dir = tempDir();
  const ann = { senderAccount: "ann" };
  const history = storeWith(dir.path, [
    ["l1", 1000, "ann", "#lobby", ann],
    ["b1", 1100, "ann", "bob", ann],
    ["q1", 1200, "ann", "#quiet", ann],
    ["l2", 3000, "ann", "#lobby", ann],
    ["b2", 3100, "bob", "ann", { targetAccount: "ann" }],
  ]);
  const channels = ["#lobby", "#quiet"];
  // A client asking what changed up to 2000 must not be told of #lobby or bob as of then:
  // both have moved on since (irctest testChathistoryTargetsExcludesUpdatedTargets).
  assert.deepEqual(history.targets({ account: "ann" }, channels, 0, 2000, 10), [
    { target: "#quiet", latest: 1200 },
  ]);
  assert.deepEqual(history.targets({ account: "ann" }, channels, 2000, 0, 10), [
    { target: "#quiet", latest: 1200 },
  ]);
  assert.deepEqual(history.targets({ account: "ann" }, channels, 1500, 4000, 10), [
    { target: "#lobby", latest: 3000 },
    { target: "bob", latest: 3100 },
  ]);
  history.close();
});

Deno.test("HistoryStore.prune() deletes what is older than the retention and never reuses ids", () => {
  using dir = tempDir();
  const now = 1_000_000;
  const history = HistoryStore.open(dir.path, { retentionMs: 1000 });
  history.append(message("old1", now - 5000, "ann", "#lobby"));
  history.append(
    message("old2", now - 2000, "ann", "bob", { senderAccount: "ann", targetAccount: "bob" }),
  );
  const kept = history.append(message("new", now - 500, "ann", "#lobby"));
  assert.equal(history.prune(now), 2);
  assert.equal(history.prune(now), 0);
  assert.deepEqual(texts(history.query("#lobby", { kind: "latest" }, 10)), ["new"]);
  assert.deepEqual(history.query({ account: "ann", partner: "bob" }, { kind: "latest" }, 10), []);
  assert.deepEqual(history.targets({ account: "ann" }, [], 0, now, 10), []);
  assert.equal(history.prune(now + 10_000), 1);
  const next = history.append(
    message("after", now + 10_000, "ann", "bob", { targetAccount: "bob" }),
  );
  assert.ok(next.id > kept.id, `id ${next.id} reused after pruning ${kept.id}`);
  assert.deepEqual(
    texts(history.query({ account: "bob", partner: "ann" }, { kind: "latest" }, 10)),
    ["after"],
  );
  history.close();
  const db = new DatabaseSync(join(dir.path, "history.sqlite"), { readOnly: true });
  const owners = db.prepare("SELECT owner, partner, id FROM private_index").all();
  assert.deepEqual(owners.map((row) => ({ ...row })), [{
    owner: "bob",
    partner: "ann",
    id: next.id,
  }]);
  db.close();
});
Deno.test("HistoryStore.open() prunes old messages, and retention 0 keeps them forever", () => {
  using dir = tempDir();
  const forever = HistoryStore.open(dir.path, { retentionMs: 0 });
  forever.append(message("ancient", 1, "ann", "#lobby"));
  forever.append(message("recent", Date.now(), "ann", "#lobby"));
  assert.equal(forever.prune(), 0);
  forever.close();
  const reopened = HistoryStore.open(dir.path, { retentionMs: 60_000 });
  assert.deepEqual(texts(reopened.query("#lobby", { kind: "latest" }, 10)), ["recent"]);
  reopened.close();
});

Deno.test("HistoryStore.open() creates a private directory and a WAL database", () => {
  using dir = tempDir();
  const dataDir = join(dir.path, "nested", "data");
  const history = HistoryStore.open(dataDir);
  history.append(message("m1", Date.now(), "ann", "#lobby"));
  if (Deno.build.os !== "windows") {
    assert.equal(Deno.statSync(dataDir).mode! & 0o777, 0o700);
    for (const file of ["history.sqlite", "history.sqlite-wal"]) {
      assert.equal(Deno.statSync(join(dataDir, file)).mode! & 0o777, 0o600, file);
    }
  }
  const db = new DatabaseSync(join(dataDir, "history.sqlite"), { readOnly: true });
  assert.equal(db.prepare("PRAGMA journal_mode").get()!.journal_mode, "wal");
  assert.equal(db.prepare("PRAGMA user_version").get()!.user_version, SCHEMA_VERSION);
  db.close();
  history.close();
});

Deno.test("HistoryStore.open() refuses a database from a newer schema version", () => {
  using dir = tempDir();
  HistoryStore.open(dir.path).close();
  const db = new DatabaseSync(join(dir.path, "history.sqlite"));
  db.exec("PRAGMA user_version = 99");
  db.close();
  assert.throws(
    () => HistoryStore.open(dir.path),
    new RegExp(`schema version 99, newer than the ${SCHEMA_VERSION} `),
  );
});

/** A real version 1 database in `dir`, made by the v1 schema with v1 rows. */
function writeV1Database(dir: string, extraSql = ""): string {
  const path = join(dir, "history.sqlite");
  const db = new DatabaseSync(path);
  db.exec(Deno.readTextFileSync(new URL("./fixtures/history_v1.sql", import.meta.url)) + extraSql);
  db.close();
  return path;
}

function schemaOf(path: string): Record<string, unknown>[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").all()
      .map((row) => ({ ...row }));
  } finally {
    db.close();
  }
}

Deno.test("HistoryStore.open() migrates a version 1 database: channel history kept, old private messages owned by nobody", () => {
  using dir = tempDir();
  const path = writeV1Database(dir.path);
  const history = HistoryStore.open(dir.path, { retentionMs: 0 });
  const lobby = history.query("#lobby", { kind: "latest" }, 10);
  assert.deepEqual(lobby.map((m) => [m.id, m.msgid, m.text]), [
    [1, "v1-c1", "hello lobby"],
    [4, "v1-c2", "bye lobby"],
  ]);
  assert.deepEqual(
    texts(history.query("#lobby", { kind: "after", anchor: { msgid: "v1-c1" } }, 10)),
    ["bye lobby"],
  );
  for (const [account, partner] of [["bob", "carol"], ["carol", "bob"]]) {
    assert.deepEqual(history.query({ account, partner }, { kind: "latest" }, 10), []);
    assert.deepEqual(history.targets({ account }, [], 0, 10_000, 10), []);
  }
  const next = history.append(message("v2-p1", 5000, "bob", "carol", { senderAccount: "bob" }));
  assert.equal(next.id, 5, "ids go on from the v1 ones");
  assert.deepEqual(
    texts(history.query({ account: "bob", partner: "carol" }, { kind: "latest" }, 10)),
    ["v2-p1"],
  );
  history.close();

  using fresh = tempDir();
  HistoryStore.open(fresh.path).close();
  assert.deepEqual(schemaOf(path), schemaOf(join(fresh.path, "history.sqlite")));
  const db = new DatabaseSync(path, { readOnly: true });
  assert.equal(db.prepare("PRAGMA user_version").get()!.user_version, SCHEMA_VERSION);
  // The old private messages stay until retention prunes them, reachable by no query.
  const conversations = db.prepare("SELECT msgid, conv FROM messages ORDER BY id").all();
  assert.deepEqual(conversations.map((row) => [row.msgid, row.conv]), [
    ["v1-c1", "#lobby"],
    ["v1-p1", ""],
    ["v1-p2", ""],
    ["v1-c2", "#lobby"],
    ["v2-p1", ""],
  ]);
  db.close();
});

Deno.test("HistoryStore.open() leaves a version 1 database untouched when its migration fails", () => {
  using dir = tempDir();
  // An index of that name in the way makes the 1 → 2 step fail after its first statement.
  const path = writeV1Database(dir.path, "CREATE INDEX private_index_id ON messages (id);");
  const before = schemaOf(path);
  assert.throws(
    () => HistoryStore.open(dir.path),
    /Cannot open history database ".*history\.sqlite": index private_index_id already exists/,
  );
  assert.deepEqual(schemaOf(path), before);
  const db = new DatabaseSync(path, { readOnly: true });
  assert.equal(db.prepare("PRAGMA user_version").get()!.user_version, 1);
  assert.equal(
    db.prepare("SELECT count(*) AS n FROM messages WHERE conv = 'bob carol'").get()!.n,
    2,
  );
  db.close();
});

Deno.test("migrateSchema() refuses a database it has no migration step for and changes nothing", () => {
  using dir = tempDir();
  const path = join(dir.path, "notes.sqlite");
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE notes (text TEXT); PRAGMA user_version = 1;");
  assert.throws(
    () =>
      migrateSchema(db, path, "notes", "CREATE TABLE notes (text TEXT, time INTEGER);", 3, [
        "ALTER TABLE notes ADD COLUMN time INTEGER;",
      ]),
    /Cannot open notes database ".*notes\.sqlite": this shmooze has no migration from schema version 2 to 3/,
  );
  assert.equal(db.prepare("PRAGMA user_version").get()!.user_version, 1);
  assert.deepEqual(
    db.prepare("SELECT name FROM pragma_table_info('notes')").all().map((r) => r.name),
    ["text"],
  );
  db.close();
});

Deno.test("HistoryStore rejects bad input with clear errors", () => {
  using dir = tempDir();
  const history = HistoryStore.open(dir.path);
  history.append(message("m1", 1000, "ann", "#lobby"));
  for (const limit of [0, -1, 1.5, NaN]) {
    assert.throws(
      () => history.query("#lobby", { kind: "latest" }, limit),
      /Cannot query history: limit must be a whole number of at least 1/,
    );
    assert.throws(() => history.targets(undefined, [], 0, 1, limit), /limit must be/);
  }
  assert.throws(() => history.query("", { kind: "latest" }, 1), /the channel is empty/);
  assert.throws(
    () => history.query({ account: "ann", partner: "" }, { kind: "latest" }, 1),
    /the partner is empty/,
  );
  assert.throws(
    () => history.query({ account: "", partner: "bob" }, { kind: "latest" }, 1),
    /the account is empty/,
  );
  assert.throws(
    () => history.query({ account: "ann", partner: "#lobby" }, { kind: "latest" }, 1),
    /the partner "#lobby" is a channel, not a nick/,
  );
  assert.throws(() => history.query("bob", { kind: "latest" }, 1), /"bob" is not a channel name/);
  assert.throws(() => history.targets({ account: "" }, [], 0, 1, 1), /the account is empty/);
  assert.throws(
    () => history.append(message("m2", 1, "ann", "bob", { senderAccount: "" })),
    /the sender account is empty/,
  );
  assert.throws(() => history.append(message("m2", 1, "", "#lobby")), /the sender is empty/);
  assert.throws(() => history.append(message("m2", 1, "ann", "")), /the target is empty/);
  assert.throws(() => history.append(message("", 1, "ann", "#lobby")), /the msgid is empty/);
  assert.throws(() => history.append(message("m2", 1.5, "ann", "#lobby")), /time must be/);
  assert.throws(
    () => history.append(message("m2", 1, "ann bob", "#lobby")),
    /the sender "ann bob" contains a space/,
  );
  assert.throws(
    () => history.append(message("m2", 1, "ann", "#lobby", {}, "a\0b")),
    /the text contains a NUL character/,
  );
  assert.throws(
    () => history.append({ ...message("m2", 1, "ann", "#lobby"), command: "JOIN" as "NOTICE" }),
    /command must be PRIVMSG, NOTICE or TAGMSG, got JOIN/,
  );
  assert.throws(
    () => history.append(message("m1", 2000, "ann", "#lobby")),
    /msgid "m1" is already stored/,
  );
  assert.throws(() => HistoryStore.open(dir.path, { retentionMs: -1 }), /retentionMs must be/);
  history.close();
  history.close();
  assert.throws(() => history.query("#lobby", { kind: "latest" }, 1), /history store is closed/);
});

Deno.test("HistoryStore keeps every acknowledged message when its process is killed with SIGKILL", async () => {
  using dir = tempDir();
  await using writer = spawn(["tests/fixtures/history_writer.ts", dir.path, "0"]);
  await writer.waitForLine(/^appended 300 /, 20_000);
  writer.process.kill("SIGKILL");
  const { code } = await writer.done;
  assert.notEqual(code, 0, "the writer was still appending when killed");
  const acknowledged = writer.lines.flatMap((line) => {
    const match = /^appended (\d+) (\S+) end$/.exec(line);
    return match ? [{ id: Number(match[1]), msgid: match[2] }] : [];
  });
  assert.ok(acknowledged.length >= 300);
  const history = HistoryStore.open(dir.path, { retentionMs: 0 });
  const stored = history.query("#lobby", { kind: "latest" }, acknowledged.length + 1000);
  const byId = new Map(stored.map((record) => [record.id, record.msgid]));
  for (const { id, msgid } of acknowledged) assert.equal(byId.get(id), msgid, `id ${id} lost`);
  history.close();
});

Deno.test("HistoryStore opens a database another live process is writing", async () => {
  using dir = tempDir();
  await using writer = spawn(["tests/fixtures/history_writer.ts", dir.path, "50"]);
  await writer.waitForLine("done");
  const history = HistoryStore.open(dir.path, { retentionMs: 0 });
  history.append(message("mine", Date.now(), "ann", "#lobby"));
  const latest = history.query("#lobby", { kind: "latest" }, 100);
  assert.equal(latest.length, 51);
  assert.equal(latest.at(-1)!.msgid, "mine");
  history.close();
  await writer.closeStdin();
  assert.equal((await writer.done).code, 0);
});

Deno.test("HistoryStore fails clearly when another process keeps the database locked", async () => {
  using dir = tempDir();
  await using locker = spawn(["tests/fixtures/history_writer.ts", dir.path, "lock"]);
  await locker.waitForLine("locked");
  const reader = HistoryStore.open(dir.path, { retentionMs: 0 });
  assert.deepEqual(reader.query("#lobby", { kind: "latest" }, 5), [], "reads do not wait");
  assert.throws(
    () => reader.append(message("m1", Date.now(), "ann", "#lobby")),
    /Cannot append to history in ".*history\.sqlite": database is locked \(another process kept it locked for 5000 ms\)/,
  );
  reader.close();
  await locker.closeStdin();
  assert.equal((await locker.done).code, 0);
  const writer = HistoryStore.open(dir.path, { retentionMs: 0 });
  assert.equal(writer.append(message("m1", Date.now(), "ann", "#lobby")).msgid, "m1");
  writer.close();
});

Deno.test("defaultDataDir() prefers SHMOOZE_DATA, then the OS's user data directory", () => {
  const saved = { data: Deno.env.get("SHMOOZE_DATA"), xdg: Deno.env.get("XDG_DATA_HOME") };
  const restore = (name: string, value: string | undefined) =>
    value === undefined ? Deno.env.delete(name) : Deno.env.set(name, value);
  try {
    Deno.env.set("SHMOOZE_DATA", "/srv/chat");
    assert.equal(defaultDataDir(), "/srv/chat");
    Deno.env.delete("SHMOOZE_DATA");
    if (Deno.build.os === "linux") {
      Deno.env.set("XDG_DATA_HOME", "/x/data");
      assert.equal(defaultDataDir(), "/x/data/shmooze");
      Deno.env.delete("XDG_DATA_HOME");
      assert.equal(defaultDataDir(), `${Deno.env.get("HOME")}/.local/share/shmooze`);
    }
  } finally {
    restore("SHMOOZE_DATA", saved.data);
    restore("XDG_DATA_HOME", saved.xdg);
  }
});
