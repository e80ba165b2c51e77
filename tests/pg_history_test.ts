/**
 * The cluster's PostgreSQL history (src/cluster/pg_history.ts) on a real, throwaway PostgreSQL:
 * a batch written twice is stored once; every CHATHISTORY selector answers as the SQLite store
 * does on the same messages; private history belongs to accounts; retention drops a whole month.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { type HistorySelector, HistoryStore } from "../src/chat/history.ts";
import { HistoryArchiver } from "../src/cluster/history_archiver.ts";
import { type ArchivedMessage, PgHistory } from "../src/cluster/pg_history.ts";
import { postgresAvailable, startPostgres } from "./_postgres.ts";

const ignore = !postgresAvailable();
const DAY_MS = 24 * 60 * 60 * 1000;

function message(seq: number, fields: Partial<ArchivedMessage> = {}): ArchivedMessage {
  return {
    seq,
    msgid: `m${seq}`,
    time: Date.now() - 1000 + seq,
    sender: "ann",
    senderMask: "ann!a@h",
    target: "#Lobby",
    command: "PRIVMSG",
    text: `line ${seq}`,
    ...fields,
  };
}

Deno.test({
  name: "PgHistory stores a batch written twice, from two connections at once, once",
  ignore,
  async fn() {
    await using server = await startPostgres();
    const a = PgHistory.open(server.url);
    const b = PgHistory.open(server.url);
    try {
      const batch = Array.from({ length: 300 }, (_, i) => message(i + 1));
      await Promise.all([a.write(batch), b.write(batch)]);
      await a.write(batch.slice(100, 200));
      const sql = postgres(server.url, { max: 1, onnotice: () => {} });
      try {
        const [{ count }] = await sql`SELECT count(*) FROM shmooze_history`;
        assert.equal(Number(count), 300);
      } finally {
        await sql.end();
      }
      const latest = await b.query("#lobby", { kind: "latest" }, 1000);
      assert.deepEqual(latest.map((m) => m.msgid), batch.map((m) => m.msgid));
      assert.equal(typeof latest[0].id, "number");
      assert.equal(typeof latest[0].time, "number");
    } finally {
      await a.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "PgHistory answers every CHATHISTORY selector as the SQLite store does",
  ignore,
  async fn() {
    await using server = await startPostgres();
    const pg = PgHistory.open(server.url, { retentionMs: 0 });
    const dir = await Deno.makeTempDir({ prefix: "shmooze-pg-parity-" });
    const sqlite = HistoryStore.open(dir, { retentionMs: 0 });
    try {
      // Two channels interleaved, times that repeat (two messages in one ms), a reaction.
      const messages: ArchivedMessage[] = [];
      for (let seq = 1; seq <= 40; seq++) {
        const reaction = seq % 7 === 0;
        messages.push(message(seq, {
          time: 1_000_000 + Math.floor(seq / 2),
          target: seq % 3 === 0 ? "#other" : "#lobby",
          command: reaction ? "TAGMSG" : "PRIVMSG",
          text: reaction ? "" : `line ${seq}`,
          clientTags: reaction ? { "+draft/react": "👍", "+draft/reply": "m1" } : undefined,
        }));
      }
      await pg.write(messages);
      for (const { seq: _, ...entry } of messages) sqlite.append(entry);
      const anchors = [
        { msgid: "m10" },
        { msgid: "m11" },
        { msgid: "m3" },
        { msgid: "nope" },
        { time: 1_000_005 },
        { time: 999_000 },
        { time: 2_000_000 },
      ];
      const selectors: HistorySelector[] = [{ kind: "latest" }];
      for (const anchor of anchors) {
        selectors.push(
          { kind: "latest", after: anchor },
          { kind: "before", anchor },
          { kind: "after", anchor },
          { kind: "around", anchor },
        );
        for (const end of anchors) selectors.push({ kind: "between", start: anchor, end });
      }
      for (const selector of selectors) {
        for (const limit of [1, 3, 100]) {
          for (const tagmsg of [false, true]) {
            const want = sqlite.query("#LOBBY", selector, limit, { tagmsg });
            const got = await pg.query("#LOBBY", selector, limit, { tagmsg });
            assert.deepEqual(
              got.map(({ id: _, ...rest }) => rest),
              want.map(({ id: _, ...rest }) => rest),
              `${JSON.stringify(selector)} limit ${limit} tagmsg ${tagmsg}`,
            );
          }
        }
      }
      const targets = await pg.targets(undefined, ["#Lobby", "#other", "#none"], 0, 2e6, 10);
      assert.deepEqual(
        targets,
        sqlite.targets(undefined, ["#Lobby", "#other", "#none"], 0, 2e6, 10),
      );
    } finally {
      await pg.close();
      sqlite.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "PgHistory keeps private history for accounts: never for a later holder of the nick",
  ignore,
  async fn() {
    await using server = await startPostgres();
    const pg = PgHistory.open(server.url, { retentionMs: 0 });
    try {
      const to = (seq: number, fields: Partial<ArchivedMessage>) =>
        message(seq, { target: "Bob", time: 1000 * seq, ...fields });
      await pg.write([
        to(1, { senderAccount: "Ann", targetAccount: "bob", text: "for bob" }),
        to(2, { text: "nobody's" }),
        to(3, {
          sender: "Bob",
          senderMask: "Bob!b@h",
          target: "ann",
          senderAccount: "bob",
          text: "reply",
        }),
        to(4, {
          target: "ann",
          sender: "ann",
          senderAccount: "ann",
          targetAccount: "ann",
          text: "self",
        }),
      ]);
      const bob = await pg.query({ account: "BOB", partner: "ANN" }, { kind: "latest" }, 10);
      assert.deepEqual(bob.map((m) => m.text), ["for bob", "reply"]);
      // ann was not logged in when bob replied: that reply is not her account's.
      const ann = await pg.query({ account: "ann", partner: "bob" }, { kind: "latest" }, 10);
      assert.deepEqual(ann.map((m) => m.text), ["for bob"]);
      assert.deepEqual(
        (await pg.query({ account: "ann", partner: "ann" }, { kind: "latest" }, 10)).map((m) =>
          m.text
        ),
        ["self"],
      );
      // An account "bob" registered after these were sent (a new holder of the name) reads none.
      const later = { account: "bob", partner: "ann", since: 3500 };
      assert.deepEqual(await pg.query(later, { kind: "latest" }, 10), []);
      assert.deepEqual(await pg.query(later, { kind: "after", anchor: { msgid: "m1" } }, 10), []);
      assert.deepEqual(await pg.targets({ account: "bob" }, [], 0, 10_000, 10), [
        { target: "ann", latest: 3000 },
      ]);
      assert.deepEqual(await pg.targets({ account: "bob", since: 3500 }, [], 0, 10_000, 10), []);
    } finally {
      await pg.close();
    }
  },
});

Deno.test({
  name:
    "PgHistory retention drops a whole old month and keeps the current one; a node that missed the drop makes the month again",
  ignore,
  async fn() {
    await using server = await startPostgres();
    const forever = PgHistory.open(server.url, { retentionMs: 0 });
    const month = PgHistory.open(server.url, { retentionMs: 30 * DAY_MS });
    try {
      const now = Date.now();
      await forever.write([
        message(1, { time: now - 100 * DAY_MS, text: "old" }),
        message(2, { time: now, text: "new" }),
      ]);
      // The store with a retention does not write what is past it.
      await month.write([message(3, { time: now - 100 * DAY_MS, text: "too old" })]);
      const old = new Date(now - 100 * DAY_MS);
      const oldMonth = `${old.getUTCFullYear()}${String(old.getUTCMonth() + 1).padStart(2, "0")}`;
      assert.deepEqual(await month.prune(now), [oldMonth]);
      const left = await forever.query("#lobby", { kind: "latest" }, 10);
      assert.deepEqual(left.map((m) => m.text), ["new"]);
      assert.deepEqual(await month.prune(now), []);
      // The other store still takes the old month for there: its write fails once, and the
      // retry makes the month again instead of failing for ever.
      const late = message(4, { time: now - 100 * DAY_MS, text: "late" });
      await assert.rejects(forever.write([late]), /no partition/);
      await forever.write([late]);
      const back = await forever.query("#lobby", { kind: "latest" }, 10);
      assert.deepEqual(back.map((m) => m.text), ["new", "late"]);
    } finally {
      await forever.close();
      await month.close();
    }
  },
});

Deno.test({
  name: "PgHistory gives up a query in time when PostgreSQL is away, and answers when it is back",
  ignore,
  async fn() {
    await using server = await startPostgres();
    const pg = PgHistory.open(server.url, { timeoutMs: 2000 });
    try {
      await pg.write([message(1)]);
      await server.stop();
      await assert.rejects(pg.query("#lobby", { kind: "latest" }, 10));
      await assert.rejects(pg.write([message(2)]));
      await server.restart();
      await pg.write([message(2)]);
      const latest = await pg.query("#lobby", { kind: "latest" }, 10);
      assert.deepEqual(latest.map((m) => m.msgid), ["m1", "m2"]);
    } finally {
      await pg.close();
    }
  },
});

Deno.test("HistoryArchiver keeps at most its memory bound while the store refuses, and writes it in order later", async () => {
  let up = false;
  const written: string[] = [];
  const refused = Promise.withResolvers<void>();
  const store = {
    write(batch: readonly ArchivedMessage[]) {
      if (!up) {
        refused.resolve();
        return Promise.reject(new Error("PostgreSQL is away"));
      }
      written.push(...batch.map((m) => m.msgid));
      return Promise.resolve();
    },
    prune: () => Promise.resolve(),
  };
  const archiver = new HistoryArchiver(store, {
    maxPendingBytes: 100_000,
    retryMs: 1,
    maxRetryMs: 20,
    batch: 7,
  });
  try {
    // ~2.2 KB each as held: about 45 fit in 100 KB.
    const big = (seq: number) => message(seq, { text: "x".repeat(1000) });
    for (let seq = 1; seq <= 100; seq++) archiver.add(big(seq));
    await refused.promise;
    const { pending, dropped } = archiver.stats();
    assert.ok(pending > 0 && pending < 50, `${pending} waiting`);
    assert.equal(pending + dropped, 100);
    up = true;
    await archiver.idle();
    assert.deepEqual(written, Array.from({ length: pending }, (_, i) => `m${i + 1}`));
    assert.equal(archiver.stats().pending, 0);
  } finally {
    await archiver.close();
  }
});

Deno.test("PgHistory gives a query up after its timeout when the server accepts and never answers", async () => {
  // A PostgreSQL that hangs (stopped with SIGSTOP, a full disk, a lock): the port takes the
  // connection and says nothing.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  const { port } = listener.addr as Deno.NetAddr;
  const pg = PgHistory.open(`postgres://nobody@127.0.0.1:${port}/none`, { timeoutMs: 500 });
  try {
    const started = performance.now();
    await assert.rejects(
      pg.query("#lobby", { kind: "latest" }, 10),
      /PostgreSQL did not answer in 500 ms/,
    );
    const waited = performance.now() - started;
    assert.ok(waited >= 450 && waited < 3000, `gave up after ${waited} ms`);
  } finally {
    listener.close();
    for (const conn of held) conn.close();
    await accepting.catch(() => {});
    await pg.close();
  }
});

Deno.test({
  name:
    "PgHistory keeps a deleted message as the SQLite store does — text erased, its REDACT kept, shown only to those who ask — also when the message is written after its deletion",
  ignore,
  async fn() {
    await using server = await startPostgres();
    const a = PgHistory.open(server.url, { retentionMs: 0 });
    const late = PgHistory.open(server.url, { retentionMs: 0 });
    const dir = await Deno.makeTempDir({ prefix: "shmooze-pg-redact-" });
    const sqlite = HistoryStore.open(dir, { retentionMs: 0 });
    try {
      const kept = message(1);
      const secret = message(2, { clientTags: { "+draft/reply": "m1" } });
      const whisper = message(3, {
        target: "bob",
        senderAccount: "ann",
        targetAccount: "bob",
        text: "private",
      });
      const gone = (m: ArchivedMessage, seq: number) => ({
        seq,
        redacts: m.msgid,
        time: m.time,
        redaction: { msgid: `r${seq}`, time: m.time + 5, source: "ann!a@h", reason: "oops" },
      });
      await a.write([kept, secret, whisper]);
      await a.write([gone(secret, 4), gone(whisper, 5)]);
      // A node that archives late writes the messages again after the deletions: they stay
      // deleted; and a deletion written twice changes nothing more.
      await late.write([kept, secret, whisper, { ...gone(secret, 4), redaction: {} as never }]);
      const latest = (options = {}) => a.query("#lobby", { kind: "latest" }, 10, options);
      assert.deepEqual((await latest()).map((m) => m.msgid), ["m1"]);
      for (const [account, partner] of [["ann", "bob"], ["bob", "ann"]]) {
        assert.deepEqual(await a.query({ account, partner }, { kind: "latest" }, 10), []);
      }
      // Asked with deleted messages, as the SQLite store answers the same history.
      for (const m of [kept, secret]) sqlite.append(m);
      sqlite.redact(sqlite.locate("m2")!.id, gone(secret, 4).redaction);
      const strip = (records: { id?: number }[]) => records.map(({ id: _, ...rest }) => rest);
      assert.deepEqual(
        strip(await latest({ redacted: true })),
        strip(sqlite.query("#lobby", { kind: "latest" }, 10, { redacted: true })),
      );
      // The deletion first, on a store that never saw the message: it is never shown either.
      const fresh = message(6);
      await late.write([gone(fresh, 7)]);
      await a.write([fresh]);
      assert.deepEqual((await latest()).map((m) => m.msgid), ["m1"]);
      assert.equal((await latest({ redacted: true })).at(-1)?.redaction?.msgid, "r7");
    } finally {
      sqlite.close();
      await Deno.remove(dir, { recursive: true });
      await a.close();
      await late.close();
    }
  },
});
