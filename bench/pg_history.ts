/**
 * A cluster's history in PostgreSQL beside a node's SQLite, at the same size, in one run: the
 * archive rate (rows/s, batches of `--batch`) and the latency of "the latest 100 of a channel"
 * (p50, p99). Starts a throwaway PostgreSQL (tests/_postgres.ts: initdb in a temporary
 * directory, `fsync=off`), prints a table and the plan of the latest-100 query, and writes
 * bench/results/pg_history.json.
 *
 *   deno run -A bench/pg_history.ts [--messages 200000] [--queries 1000] [--batch 1000]
 *
 * Messages go to 20 channels and 50 private conversations (one in four; both parties logged
 * in, so PostgreSQL stores two rows and SQLite two owner rows for each), as bench/history.ts.
 * SQLite appends in the server's way (deferred commit), committing once per batch.
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { HistoryStore } from "../src/chat/history.ts";
import { type ArchivedMessage, PgHistory } from "../src/cluster/pg_history.ts";
import { startPostgres } from "../tests/_postgres.ts";
import { positiveOption, quantile } from "./_samples.ts";
import { markdownTable } from "./_table.ts";

const CHANNELS = 20;
const PRIVATE_PAIRS = 50;
const LIMIT = 100;

const { values } = parseArgs({
  options: {
    messages: { type: "string" },
    queries: { type: "string" },
    batch: { type: "string" },
  },
  strict: true,
});
const count = positiveOption("messages", values.messages ?? "200000");
const queries = positiveOption("queries", values.queries ?? "1000");
const batchSize = positiveOption("batch", values.batch ?? "1000");

const start = Date.now() - count;
const messages: ArchivedMessage[] = Array.from({ length: count }, (_, i) => {
  const isPrivate = i % 4 === 3;
  const sender = isPrivate ? `nick${i % PRIVATE_PAIRS}` : `nick${i % 97}`;
  return {
    seq: i + 1,
    msgid: `m${i}`,
    time: start + i,
    sender,
    senderMask: `${sender}!user@localhost`,
    target: isPrivate ? `peer${i % PRIVATE_PAIRS}` : `#chan${Math.floor(i / 4) % CHANNELS}`,
    senderAccount: sender,
    targetAccount: isPrivate ? `peer${i % PRIVATE_PAIRS}` : undefined,
    command: "PRIVMSG",
    text: `message number ${i} with some ordinary words in it`,
  };
});

/** p50 and p99 of samples, ms. */
function percentiles(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return { p50: round(quantile(sorted, 0.5)), p99: round(quantile(sorted, 0.99)) };
}

const channelOf = (i: number) => `#chan${i % CHANNELS}`;

await using server = await startPostgres();
const pg = PgHistory.open(server.url, { retentionMs: 0, timeoutMs: 60_000 });
const dir = await Deno.makeTempDir({ prefix: "shmooze-bench-pg-history-" });
const sqlite = HistoryStore.open(dir, { retentionMs: 0, deferCommit: true });
try {
  let began = performance.now();
  for (let i = 0; i < count; i += batchSize) await pg.write(messages.slice(i, i + batchSize));
  const pgArchive = count / ((performance.now() - began) / 1000);

  began = performance.now();
  for (let i = 0; i < count; i += batchSize) {
    for (const { seq: _, ...entry } of messages.slice(i, i + batchSize)) sqlite.append(entry);
    sqlite.commit();
  }
  const sqliteArchive = count / ((performance.now() - began) / 1000);

  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  await sql`ANALYZE shmooze_history`;
  const plan = await sql.unsafe(
    `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
     SELECT seq, time, msgid, sender, sender_mask, target, command, text, tags
     FROM shmooze_history WHERE owner = '' AND conv = '#chan7' AND time >= 0
     AND command <> 'TAGMSG' ORDER BY seq DESC LIMIT ${LIMIT}`,
  );
  await sql.end();

  const pgSamples: number[] = [];
  const sqliteSamples: number[] = [];
  for (let i = 0; i < queries; i++) {
    let t = performance.now();
    const fromPg = await pg.query(channelOf(i), { kind: "latest" }, LIMIT);
    pgSamples.push(performance.now() - t);
    t = performance.now();
    const fromSqlite = sqlite.query(channelOf(i), { kind: "latest" }, LIMIT);
    sqliteSamples.push(performance.now() - t);
    if (fromPg.length !== LIMIT || fromSqlite.length !== LIMIT) {
      throw new Error(`A latest-${LIMIT} query gave ${fromPg.length} and ${fromSqlite.length}`);
    }
  }
  const report = {
    messages: count,
    batch: batchSize,
    queries,
    postgres: { archiveRowsPerSecond: Math.round(pgArchive), latest100Ms: percentiles(pgSamples) },
    sqlite: {
      archiveRowsPerSecond: Math.round(sqliteArchive),
      latest100Ms: percentiles(sqliteSamples),
    },
    plan: plan.map((row) => row["QUERY PLAN"] as string),
  };
  console.log(markdownTable(
    ["store", "archive (msg/s)", "latest-100 p50 ms", "latest-100 p99 ms"],
    (["postgres", "sqlite"] as const).map((store) => [
      store === "postgres" ? "PostgreSQL" : "SQLite",
      report[store].archiveRowsPerSecond.toLocaleString("en-US"),
      report[store].latest100Ms.p50.toFixed(3),
      report[store].latest100Ms.p99.toFixed(3),
    ]),
    1,
  ));
  console.log(`\n${count} messages, batches of ${batchSize}, ${queries} queries\n`);
  console.log(report.plan.join("\n"));
  const out = new URL("./results/pg_history.json", import.meta.url);
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nresults written to ${out.pathname}`);
} finally {
  await pg.close();
  sqlite.close();
  await Deno.remove(dir, { recursive: true });
}
