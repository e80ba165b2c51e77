/**
 * Search benchmark: full-text search (`HistoryStore.search`, SQLite FTS5) over a history of a
 * million messages. Prints a table and writes bench/results/search.json.
 *
 *   deno task bench search [--messages 1000000] [--queries 200]
 *
 * The history is written as a schema-3 database (no full-text index), the way one stored
 * before search existed, then opened: the migration to schema 4 builds the index, and its
 * time and the file sizes before and after are the index's cost. Messages go to 40 channels
 * (a tenth are private, owned by both parties' accounts), 3 to 16 words each from a
 * vocabulary of 400 words drawn with a Zipf spread (the most common word in about a third of
 * the messages, the rarest in a few hundred). Queries are timed one at a time with limit 50,
 * as an account that was in every channel all along (the usual reader) and, for the worst
 * case, as one that was only in a silent channel, so the whole match list is walked in vain.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { HistoryStore, type SearchReader } from "../src/chat/history.ts";
import { DEFAULT_LIMITS } from "../src/irc/limits.ts";
import { benchEnvironment, describeEnvironment } from "./_env.ts";
import { markdownTable } from "./_table.ts";
import { positiveOption, quantile } from "./_samples.ts";

const CHANNELS = 40;
const ACCOUNTS = 200;
const VOCABULARY = 400;
const LIMIT = 50;

const { values } = parseArgs({
  options: { messages: { type: "string" }, queries: { type: "string" } },
  strict: true,
});
const messages = positiveOption("messages", values.messages ?? "1000000");
const queries = positiveOption("queries", values.queries ?? "200");

/** A small deterministic generator (mulberry32), so every run searches the same text. */
function generator(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COMMON = [
  "the",
  "to",
  "and",
  "is",
  "it",
  "you",
  "that",
  "of",
  "in",
  "for",
  "on",
  "this",
  "we",
  "be",
  "have",
  "not",
  "with",
  "are",
  "but",
  "just",
  "so",
  "can",
  "if",
  "was",
  "what",
  "do",
  "at",
  "there",
  "think",
  "deploy",
  "build",
  "test",
  "server",
  "fix",
  "merge",
  "review",
  "release",
  "branch",
  "error",
  "log",
  "config",
  "meeting",
  "lunch",
  "today",
  "tomorrow",
  "coffee",
];
const SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qu", "dor", "fen"];

/** The vocabulary, most common first: real chat words, then made-up ones. */
function vocabulary(): string[] {
  const words = [...COMMON];
  for (let i = 0; words.length < VOCABULARY; i++) {
    const a = SYLLABLES[i % SYLLABLES.length];
    const b = SYLLABLES[Math.floor(i / SYLLABLES.length) % SYLLABLES.length];
    const c = SYLLABLES[Math.floor(i / 169) % SYLLABLES.length];
    words.push(`${a}${b}${c}${i % 7 === 0 ? "s" : ""}`);
  }
  return words;
}

const words = vocabulary();
/** Cumulative Zipf (s = 1) weights of the vocabulary. */
const cumulative: number[] = [];
words.reduce((sum, _, rank) => (cumulative.push(sum + 1 / (rank + 1)), sum + 1 / (rank + 1)), 0);
const total = cumulative[cumulative.length - 1];
const random = generator(14);

function word(): string {
  const x = random() * total;
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (cumulative[mid] < x) low = mid + 1;
    else high = mid;
  }
  return words[low];
}

function sentence(): string {
  const length = 3 + Math.floor(random() * 14);
  return Array.from({ length }, word).join(" ");
}

/** The schema-3 history, as shmooze wrote it before search (see _history_schema.ts). */
const SCHEMA_3 = `
CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT, conv TEXT NOT NULL, msgid TEXT NOT NULL UNIQUE,
  time INTEGER NOT NULL, sender TEXT NOT NULL, sender_mask TEXT NOT NULL, target TEXT NOT NULL,
  command TEXT NOT NULL, text TEXT NOT NULL, tags TEXT
);
CREATE INDEX messages_conv_id ON messages (conv, id);
CREATE INDEX messages_time ON messages (time);
CREATE TABLE private_index (
  owner TEXT NOT NULL, partner TEXT NOT NULL, id INTEGER NOT NULL,
  PRIMARY KEY (owner, partner, id)
) WITHOUT ROWID;
CREATE INDEX private_index_id ON private_index (id);
PRAGMA user_version = 3;
`;

function fileBytes(dir: string): number {
  return [...Deno.readDirSync(dir)]
    .reduce((sum, entry) => sum + Deno.statSync(join(dir, entry.name)).size, 0);
}

function writeSchema3(dir: string, start: number): void {
  const db = new DatabaseSync(join(dir, "history.sqlite"));
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(SCHEMA_3);
  const insert = db.prepare(
    `INSERT INTO messages (conv, msgid, time, sender, sender_mask, target, command, text)
     VALUES (?, ?, ?, ?, ?, ?, 'PRIVMSG', ?)`,
  );
  const own = db.prepare(
    "INSERT OR IGNORE INTO private_index (owner, partner, id) VALUES (?, ?, ?)",
  );
  db.exec("BEGIN");
  for (let i = 0; i < messages; i++) {
    const sender = `user${Math.floor(random() * ACCOUNTS)}`;
    if (i % 10 === 9) {
      const partner = `user${Math.floor(random() * ACCOUNTS)}`;
      const { lastInsertRowid } = insert.run(
        "",
        `m${i}`,
        start + i,
        sender,
        `${sender}!u@h`,
        partner,
        sentence(),
      );
      own.run(sender, partner, lastInsertRowid);
      own.run(partner, sender, lastInsertRowid);
    } else {
      const channel = `#chan${Math.floor(random() * CHANNELS)}`;
      insert.run(channel, `m${i}`, start + i, sender, `${sender}!u@h`, channel, sentence());
    }
    if (i % 50_000 === 49_999) db.exec("COMMIT; BEGIN");
  }
  db.exec("COMMIT");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
}

interface Row {
  query: string;
  reader: string;
  matches: number;
  p50: number;
  p99: number;
  found: number;
  complete: boolean;
}

const dir = Deno.makeTempDirSync({ prefix: "shmooze-bench-search-" });
try {
  const start = Date.now() - messages;
  let began = performance.now();
  writeSchema3(dir, start);
  const writeSeconds = (performance.now() - began) / 1000;
  const bytesWithout = fileBytes(dir);

  began = performance.now();
  const history = HistoryStore.open(dir, { retentionMs: 0 });
  const migrationSeconds = (performance.now() - began) / 1000;
  history.close();
  // The index's size once checkpointed, as a server's file settles.
  const db = new DatabaseSync(join(dir, "history.sqlite"));
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  const bytesWith = fileBytes(dir);

  const reopened = HistoryStore.open(dir, { retentionMs: 0 });
  // The usual reader was in every channel from the start; the worst one all along in a
  // channel where nothing was said: every match is walked, and none may be read.
  for (let c = 0; c < CHANNELS; c++) reopened.beginPresence("user1", `#chan${c}`, 0);
  const everywhere: SearchReader = { owner: { account: "user1" } };
  const nowhere: SearchReader = {
    presence: [{ channel: "#quiet", afterId: 0 }],
  };
  const cases: [label: string, text: string, match: string][] = [
    ["common word", words[0], `"${words[0]}"`],
    ["rare word", words[VOCABULARY - 1], `"${words[VOCABULARY - 1]}"`],
    ["two words", `${words[29]} ${words[40]}`, `"${words[29]}" "${words[40]}"`],
    ["prefix (2 letters)", "re*", `"re"*`],
    ["prefix (4 letters)", `${words[40].slice(0, 4)}*`, `"${words[40].slice(0, 4)}"*`],
  ];
  const rows: Row[] = [];
  const countDb = new DatabaseSync(join(dir, "history.sqlite"), { readOnly: true });
  const countOf = (match: string) =>
    countDb.prepare("SELECT count(*) AS n FROM messages_fts WHERE messages_fts MATCH ?").get(
      match,
    )!.n as number;
  const measure = (
    label: string,
    who: string,
    reader: SearchReader,
    text: string,
    match: string,
  ) => {
    const samples: number[] = [];
    let last = reopened.search(reader, { text }, LIMIT, { timeBudgetMs: 60_000 });
    for (let q = 0; q < queries; q++) {
      const t0 = performance.now();
      last = reopened.search(reader, { text }, LIMIT, { timeBudgetMs: 60_000 });
      samples.push(performance.now() - t0);
    }
    samples.sort((a, b) => a - b);
    rows.push({
      query: `${label}: ${text}`,
      reader: who,
      matches: countOf(match),
      p50: Math.round(quantile(samples, 0.5) * 100) / 100,
      p99: Math.round(quantile(samples, 0.99) * 100) / 100,
      found: last.records.length,
      complete: last.complete,
    });
  };
  for (const [label, text, match] of cases) {
    measure(label, "in every channel", everywhere, text, match);
  }
  // The worst: every match walked, none readable; first with no budget (the full cost),
  // then with the server's (searchTimeMs), which stops it.
  const worstQueries = Math.max(5, Math.floor(queries / 20));
  const serverBudget = DEFAULT_LIMITS.searchTimeMs;
  for (const budget of [60_000, serverBudget]) {
    for (const [label, text, match] of [cases[0], cases[3]]) {
      const samples: number[] = [];
      let complete = true;
      for (let q = 0; q < worstQueries; q++) {
        const t0 = performance.now();
        complete = reopened.search(nowhere, { text }, LIMIT, { timeBudgetMs: budget }).complete;
        samples.push(performance.now() - t0);
      }
      samples.sort((a, b) => a - b);
      rows.push({
        query: `${label}: ${text}`,
        reader: budget === serverBudget
          ? `may read nothing, ${budget} ms budget`
          : "may read nothing (worst)",
        matches: countOf(match),
        p50: Math.round(samples[Math.floor(samples.length / 2)] * 100) / 100,
        p99: Math.round(samples[samples.length - 1] * 100) / 100,
        found: 0,
        complete,
      });
    }
  }
  countDb.close();
  reopened.close();

  const environment = benchEnvironment();
  const result = {
    benchmark: "search",
    environment,
    messages,
    channels: CHANNELS,
    vocabulary: VOCABULARY,
    queriesPerCase: queries,
    limit: LIMIT,
    writeSchema3Seconds: Math.round(writeSeconds * 10) / 10,
    migrationSeconds: Math.round(migrationSeconds * 10) / 10,
    bytesWithoutIndex: bytesWithout,
    bytesWithIndex: bytesWith,
    latencyMs: rows,
  };
  const mib = (bytes: number) => (bytes / 1048576).toFixed(0);
  console.log(describeEnvironment(environment));
  console.log(
    `${messages} messages: written (schema 3, no index) in ${result.writeSchema3Seconds} s; ` +
      `migration to schema 4 (builds the index) ${result.migrationSeconds} s; ` +
      `database ${mib(bytesWithout)} MiB without the index, ${mib(bytesWith)} MiB with it`,
  );
  console.log(
    markdownTable(
      ["query (limit 50)", "reader", "matches", "p50 ms", "p99 ms", "found", "complete"],
      rows.map((row) => [
        row.query,
        row.reader,
        String(row.matches),
        row.p50.toFixed(2),
        row.p99.toFixed(2),
        String(row.found),
        row.complete ? "yes" : "no",
      ]),
      2,
    ),
  );
  const out = new URL("./results/search.json", import.meta.url);
  Deno.mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
  Deno.writeTextFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${out.pathname}`);
} finally {
  Deno.removeSync(dir, { recursive: true });
}
