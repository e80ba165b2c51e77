/**
 * The cluster's bus on a real `nats-server -js`: one log in one order for every reader,
 * appends made idempotent by the event id (`Nats-Msg-Id`), bad bytes refused the same way by
 * every reader, heartbeats, and a reader that goes on by itself after nats-server is killed and
 * started again.
 */
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import type { LogEntry } from "../src/cluster/bus.ts";
import type { ClusterEvent, Heartbeat } from "../src/cluster/cluster_event.ts";
import { natsAvailable, startNats } from "./_nats.ts";
import { postgresAvailable, startPostgres } from "./_postgres.ts";
import postgres from "postgres";

const ignore = !natsAvailable();

function quit(id: string, node = "a"): ClusterEvent {
  return { v: 1, id, node, conn: "1", kind: "quit", reason: id };
}

/** Collects a reader's entries; `until(n)` waits (bounded) for the n-th. */
function collector() {
  const entries: LogEntry[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  return {
    entries,
    apply(entry: LogEntry) {
      entries.push(entry);
      for (const waiter of [...waiters]) {
        if (entries.length >= waiter.count) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    },
    until(count: number, timeoutMs = 10_000): Promise<void> {
      if (entries.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`Only ${entries.length} of ${count} entries in ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

Deno.test({
  name: "JetStreamBus: every reader gets the same entries in the same order, each id once",
  ignore,
  async fn() {
    await using nats = await startNats();
    const [one, two] = await Promise.all([
      JetStreamBus.open(nats.url, { cluster: "order" }),
      JetStreamBus.open(nats.url, { cluster: "order" }),
    ]);
    try {
      const first = collector();
      const second = collector();
      const readers = [await one.read(1, first.apply), await two.read(1, second.apply)];
      // Two writers at once, every event appended twice (a retry): 200 entries, not 400.
      const ids = Array.from({ length: 200 }, (_, i) => `m${i}`);
      await Promise.all(ids.map((id, i) => (i % 2 ? one : two).append(quit(id))));
      const seqs = await Promise.all(ids.map((id, i) => (i % 2 ? two : one).append(quit(id))));
      assert.equal(new Set(seqs).size, 200);
      assert.equal(await one.head(), 200);
      await Promise.all([first.until(200), second.until(200)]);
      assert.deepEqual(first.entries, second.entries);
      assert.deepEqual(first.entries.map((e) => e.seq), ids.map((_, i) => i + 1));
      assert.deepEqual(new Set(first.entries.map((e) => e.event?.id)), new Set(ids));
      // A reader that starts later, from a point, gets the rest in the same order.
      const late = collector();
      readers.push(await one.read(151, late.apply));
      await late.until(50);
      assert.deepEqual(late.entries, first.entries.slice(150));
      for (const reader of readers) await reader.stop();
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  },
});

Deno.test({
  name: "JetStreamBus: bytes that are no valid event are handed over as an error, in their place",
  ignore,
  async fn() {
    await using nats = await startNats();
    const bus = await JetStreamBus.open(nats.url, { cluster: "bad" });
    const raw = await connect({ servers: nats.url });
    try {
      await bus.append(quit("before"));
      const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
      // Anyone on the bus can publish to the subject: a node must not trust it.
      for (
        const bytes of [
          new Uint8Array([0xff, 0xfe]),
          encode({ v: 9, kind: "quit" }),
          encode({ ...quit("x"), reason: "a\r\nQUIT" }),
        ]
      ) {
        await raw.request("shmooze.bad.log", bytes);
      }
      await bus.append(quit("after"));
      const seen = collector();
      const reader = await bus.read(1, seen.apply);
      await seen.until(5);
      await reader.stop();
      const expected = [
        /^before$/,
        /^Not UTF-8 JSON: /,
        /^Version 9 is not 1$/,
        /^"reason" holds NUL, CR or LF$/,
        /^after$/,
      ];
      seen.entries.forEach((e, i) =>
        assert.match(e.event?.id ?? e.error?.message ?? "", expected[i])
      );
    } finally {
      await raw.close();
      await bus.close();
    }
  },
});

Deno.test({
  name: "JetStreamBus: heartbeats reach every node, and a malformed one is dropped",
  ignore,
  async fn() {
    await using nats = await startNats();
    const [one, two] = await Promise.all([
      JetStreamBus.open(nats.url, { cluster: "beat" }),
      JetStreamBus.open(nats.url, { cluster: "beat" }),
    ]);
    const raw = await connect({ servers: nats.url });
    try {
      const heard = Promise.withResolvers<Heartbeat>();
      two.onBeat((beat) => heard.resolve(beat));
      await raw.flush();
      raw.publish("shmooze.beat.beat", new TextEncoder().encode('{"v":1,"node":""}'));
      const beat = { v: 1, node: "one", applied: 3, clients: 2 } as const;
      // The subscription is in place once NATS has answered a round trip from its connection.
      await raw.flush();
      one.beat(beat);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const got = await Promise.race([
        heard.promise,
        new Promise<never>((_, reject) =>
          timer = setTimeout(() => reject(new Error("No heartbeat within 5 s")), 5000)
        ),
      ]);
      clearTimeout(timer);
      assert.deepEqual(got, beat);
    } finally {
      await raw.close();
      await Promise.all([one.close(), two.close()]);
    }
  },
});

Deno.test({
  name: "JetStreamBus: after nats-server is killed and started again, appends and reading go on",
  ignore,
  async fn() {
    await using nats = await startNats();
    const bus = await JetStreamBus.open(nats.url, { cluster: "crash", appendTimeoutMs: 15_000 });
    try {
      const seen = collector();
      const reader = await bus.read(1, seen.apply);
      await bus.append(quit("one"));
      await seen.until(1);
      await nats.kill();
      // Appended while NATS is down: retried with its id until the server is back.
      const pending = bus.append(quit("two"));
      await nats.restart();
      assert.equal(await pending, 2);
      assert.equal(await bus.append(quit("two")), 2, "a retry after the restart is no new entry");
      await bus.append(quit("three"));
      await seen.until(3, 15_000);
      assert.deepEqual(seen.entries.map((e) => e.event?.id), ["one", "two", "three"]);
      await reader.stop();
    } finally {
      await bus.close();
    }
  },
});

Deno.test({
  name: "the throwaway PostgreSQL answers queries, and comes back with its data after a stop",
  ignore: !postgresAvailable(),
  async fn() {
    await using server = await startPostgres();
    const connectSql = () => postgres(server.url, { onnotice: () => {}, max: 1 });
    let sql = connectSql();
    try {
      await sql`create table t (id bigint primary key)`;
      await sql`insert into t values (1)`;
      await sql.end();
      await server.stop();
      await server.restart();
      sql = connectSql();
      // postgres.js hands bigint columns over as strings.
      assert.deepEqual([...await sql`select id from t`], [{ id: "1" }]);
    } finally {
      await sql.end();
    }
  },
});

Deno.test({
  name: "JetStreamBus: a reader whose consumer is deleted under it reads on from where it was",
  ignore,
  async fn() {
    await using nats = await startNats();
    const bus = await JetStreamBus.open(nats.url, { cluster: "gone" });
    const raw = await connect({ servers: nats.url });
    try {
      const seen = collector();
      const reader = await bus.read(1, seen.apply);
      await bus.append(quit("one"));
      await seen.until(1);
      const manager = await jetstreamManager(raw);
      for await (const info of manager.consumers.list("SHMOOZE_gone")) {
        await manager.consumers.delete("SHMOOZE_gone", info.name);
      }
      await bus.append(quit("two"));
      await bus.append(quit("three"));
      await seen.until(3, 15_000);
      assert.deepEqual(seen.entries.map((e) => e.event?.id), ["one", "two", "three"]);
      await reader.stop();
    } finally {
      await raw.close();
      await bus.close();
    }
  },
});
