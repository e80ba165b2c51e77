import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import {
  defaultDataDir,
  type HistoryRecord,
  type HistorySelector,
  HistoryStore,
} from "../src/chat/history.ts";
import { spawn } from "./_helpers.ts";

/** A temporary data directory removed when the test ends. */
function tempDir(): { path: string } & Disposable {
  const path = Deno.makeTempDirSync({ prefix: "shmooze-history-test-" });
  return { path, [Symbol.dispose]: () => Deno.removeSync(path, { recursive: true }) };
}

function message(
  msgid: string,
  time: number,
  sender: string,
  target: string,
  text = msgid,
): Omit<HistoryRecord, "id"> {
  return {
    msgid,
    time,
    sender,
    senderMask: `${sender}!${sender.toLowerCase()}@localhost`,
    target,
    command: "PRIVMSG",
    text,
  };
}

/** A store that keeps everything, holding `[msgid, time, sender, target]` messages in order. */
function storeWith(dir: string, messages: [string, number, string, string][]): HistoryStore {
  const history = HistoryStore.open(dir, { retentionMs: 0 });
  for (const fields of messages) history.append(message(...fields));
  return history;
}

/**
 * Ten #Lobby messages c1…c10 at 1010, 1020 … 1100 ms, each followed by one in #other
 * (o1…o10) at the same time, so the two conversations' ids interleave.
 */
function lobbyFixture(dir: string): HistoryStore {
  const history = HistoryStore.open(dir, { retentionMs: 0 });
  for (let i = 1; i <= 10; i++) {
    history.append(message(`c${i}`, 1000 + 10 * i, "ann", "#Lobby"));
    history.append(message(`o${i}`, 1000 + 10 * i, "bob", "#other"));
  }
  return history;
}

function texts(records: HistoryRecord[]): string[] {
  return records.map((record) => record.text);
}

Deno.test("HistoryStore.query() answers every selector as CHATHISTORY specifies", () => {
  using dir = tempDir();
  const history = lobbyFixture(dir.path);
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
      texts(history.query("#lobby", selector, limit)),
      expected,
      `${JSON.stringify(selector)} limit ${limit}`,
    );
  }
  history.close();
});

Deno.test("HistoryStore.query() returns nothing for a msgid it does not know or from another conversation", () => {
  using dir = tempDir();
  const history = lobbyFixture(dir.path);
  const selectors: HistorySelector[] = [
    { kind: "latest", after: { msgid: "nope" } },
    { kind: "before", anchor: { msgid: "nope" } },
    { kind: "after", anchor: { msgid: "o3" } },
    { kind: "around", anchor: { msgid: "o3" } },
    { kind: "between", start: { msgid: "c2" }, end: { msgid: "o8" } },
    { kind: "between", start: { msgid: "nope" }, end: { time: 1090 } },
  ];
  for (const selector of selectors) {
    assert.deepEqual(history.query("#lobby", selector, 10), [], JSON.stringify(selector));
  }
  history.close();
});

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

Deno.test("HistoryStore keeps a private conversation symmetric and hidden from other pairs", () => {
  using dir = tempDir();
  const history = storeWith(dir.path, [
    ["p1", 1000, "ann", "bob"],
    ["p2", 1001, "Bob", "ann"],
    ["p3", 1002, "ann", "Carol"],
  ]);
  history.append({ ...message("p4", 1003, "carol", "bob"), command: "NOTICE" });
  history.append(message("p5", 1004, "ANN", "BOB"));
  for (const pair of [["ann", "bob"], ["BOB", "Ann"]] as [string, string][]) {
    assert.deepEqual(texts(history.query(pair, { kind: "latest" }, 10)), ["p1", "p2", "p5"]);
  }
  assert.deepEqual(texts(history.query(["carol", "ann"], { kind: "latest" }, 10)), ["p3"]);
  const carolBob = history.query(["bob", "carol"], { kind: "latest" }, 10);
  assert.deepEqual(texts(carolBob), ["p4"]);
  assert.equal(carolBob[0].command, "NOTICE");
  assert.deepEqual(history.query(["ann", "dave"], { kind: "latest" }, 10), []);
  assert.deepEqual(
    texts(history.query(["bob", "ann"], { kind: "before", anchor: { msgid: "p5" } }, 1)),
    ["p2"],
  );
  assert.deepEqual(
    history.query(["bob", "ann"], { kind: "after", anchor: { msgid: "p3" } }, 10),
    [],
    "an anchor from ann↔carol does not place ann↔bob",
  );
  history.close();
});

Deno.test("HistoryStore.targets() lists channels and private partners by latest activity", () => {
  using dir = tempDir();
  const history = storeWith(dir.path, [
    ["l1", 1000, "zed", "#lobby"],
    ["c1", 1200, "ann", "carol"],
    ["b1", 1500, "ann", "bob"],
    ["l2", 2000, "ann", "#Lobby"],
    ["x1", 2200, "ann", "#other"],
    ["b2", 2500, "Bob", "ann"],
    ["cb", 3000, "carol", "bob"],
  ]);
  const channels = ["#lobby", "#quiet"];
  assert.deepEqual(history.targets("ann", channels, 0, 10_000, 10), [
    { target: "carol", latest: 1200 },
    { target: "#lobby", latest: 2000 },
    { target: "Bob", latest: 2500 },
  ]);
  assert.deepEqual(history.targets("ANN", channels, 0, 2100, 10), [
    { target: "carol", latest: 1200 },
    { target: "bob", latest: 1500 },
    { target: "#lobby", latest: 2000 },
  ]);
  assert.deepEqual(history.targets("ann", channels, 0, 10_000, 2), [
    { target: "carol", latest: 1200 },
    { target: "#lobby", latest: 2000 },
  ]);
  assert.deepEqual(history.targets("ann", channels, 10_000, 0, 2), [
    { target: "#lobby", latest: 2000 },
    { target: "Bob", latest: 2500 },
  ]);
  assert.deepEqual(history.targets("ann", channels, 1200, 1500, 10), [], "bounds are exclusive");
  assert.deepEqual(history.targets("dave", [], 0, 10_000, 10), []);
  assert.deepEqual(history.targets("carol", [], 0, 10_000, 10), [
    { target: "ann", latest: 1200 },
    { target: "bob", latest: 3000 },
  ]);
  history.close();
});

Deno.test("HistoryStore.prune() deletes what is older than the retention and never reuses ids", () => {
  using dir = tempDir();
  const now = 1_000_000;
  const history = HistoryStore.open(dir.path, { retentionMs: 1000 });
  history.append(message("old1", now - 5000, "ann", "#lobby"));
  history.append(message("old2", now - 2000, "ann", "bob"));
  const kept = history.append(message("new", now - 500, "ann", "#lobby"));
  assert.equal(history.prune(now), 2);
  assert.equal(history.prune(now), 0);
  assert.deepEqual(texts(history.query("#lobby", { kind: "latest" }, 10)), ["new"]);
  assert.deepEqual(history.query(["ann", "bob"], { kind: "latest" }, 10), []);
  assert.deepEqual(history.targets("ann", [], 0, now, 10), []);
  assert.equal(history.prune(now + 10_000), 1);
  const next = history.append(message("after", now + 10_000, "ann", "bob"));
  assert.ok(next.id > kept.id, `id ${next.id} reused after pruning ${kept.id}`);
  assert.deepEqual(texts(history.query(["bob", "ann"], { kind: "latest" }, 10)), ["after"]);
  history.close();
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
  assert.equal(db.prepare("PRAGMA user_version").get()!.user_version, 1);
  db.close();
  history.close();
});

Deno.test("HistoryStore.open() refuses a database from a newer schema version", () => {
  using dir = tempDir();
  HistoryStore.open(dir.path).close();
  const db = new DatabaseSync(join(dir.path, "history.sqlite"));
  db.exec("PRAGMA user_version = 99");
  db.close();
  assert.throws(() => HistoryStore.open(dir.path), /schema version 99, newer than the 1/);
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
    assert.throws(() => history.targets("ann", [], 0, 1, limit), /limit must be/);
  }
  assert.throws(() => history.query("", { kind: "latest" }, 1), /the channel is empty/);
  assert.throws(() => history.query(["ann", ""], { kind: "latest" }, 1), /the nick is empty/);
  assert.throws(() => history.query("bob", { kind: "latest" }, 1), /"bob" is not a channel name/);
  assert.throws(() => history.targets("", [], 0, 1, 1), /the nick is empty/);
  assert.throws(() => history.append(message("m2", 1, "", "#lobby")), /the sender is empty/);
  assert.throws(() => history.append(message("m2", 1, "ann", "")), /the target is empty/);
  assert.throws(() => history.append(message("", 1, "ann", "#lobby")), /the msgid is empty/);
  assert.throws(() => history.append(message("m2", 1.5, "ann", "#lobby")), /time must be/);
  assert.throws(
    () => history.append(message("m2", 1, "ann bob", "#lobby")),
    /the sender "ann bob" contains a space/,
  );
  assert.throws(
    () => history.append(message("m2", 1, "ann", "#lobby", "a\0b")),
    /the text contains a NUL character/,
  );
  assert.throws(
    () => history.append({ ...message("m2", 1, "ann", "#lobby"), command: "JOIN" as "NOTICE" }),
    /command must be PRIVMSG or NOTICE, got JOIN/,
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
