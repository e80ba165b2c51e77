/**
 * History store benchmark: append throughput and query latency of `HistoryStore` on a real
 * SQLite file in a temporary directory. Prints a table and writes bench/results/history.json.
 *
 *   deno run -A bench/history.ts [--messages 50000] [--queries 2000]
 *
 * Messages go to 20 channels and 50 private conversations, one autocommitted append each
 * (what the server does: a message is durable before it is echoed). Both parties of a private
 * message are logged in, so each one is indexed for two owning accounts (the most a message
 * costs). Queries use limit 50.
 */
import { parseArgs } from "node:util";
import { type HistoryAnchor, type HistorySelector, HistoryStore } from "../src/chat/history.ts";
import { positiveOption, quantile, timeOf } from "./_samples.ts";

const CHANNELS = 20;
const PRIVATE_PAIRS = 50;
const LIMIT = 50;

const { values } = parseArgs({
  options: { messages: { type: "string" }, queries: { type: "string" } },
  strict: true,
});
const messages = positiveOption("messages", values.messages ?? "50000");
const queries = positiveOption("queries", values.queries ?? "2000");

/** Percentiles of samples in ms, reported in µs. */
function summarize(samples: number[]): { p50: number; p99: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const micro = (ms: number) => Math.round(ms * 1000 * 10) / 10;
  return {
    p50: micro(quantile(sorted, 0.5)),
    p99: micro(quantile(sorted, 0.99)),
    mean: micro(samples.reduce((sum, x) => sum + x, 0) / samples.length),
  };
}

const dir = Deno.makeTempDirSync({ prefix: "shmooze-bench-history-" });
try {
  let history = HistoryStore.open(dir, { retentionMs: 0 });
  const start = Date.now() - messages;
  const appendSamples: number[] = [];
  const msgidsByChannel: string[][] = Array.from({ length: CHANNELS }, () => []);
  let channelMessages = 0;
  const began = performance.now();
  for (let i = 0; i < messages; i++) {
    const isPrivate = i % 4 === 3;
    const sender = isPrivate ? `nick${i % PRIVATE_PAIRS}` : `nick${i % 97}`;
    const channel = isPrivate ? 0 : channelMessages++ % CHANNELS;
    if (!isPrivate) msgidsByChannel[channel].push(`m${i}`);
    appendSamples.push(timeOf(() =>
      history.append({
        msgid: `m${i}`,
        time: start + i,
        sender,
        senderMask: `${sender}!user@localhost`,
        target: isPrivate ? `peer${i % PRIVATE_PAIRS}` : `#chan${channel}`,
        senderAccount: sender,
        targetAccount: isPrivate ? `peer${i % PRIVATE_PAIRS}` : undefined,
        command: "PRIVMSG",
        text: `benchmark message number ${i} with a little padding to look like chat`,
      })
    ));
  }
  const appendSeconds = (performance.now() - began) / 1000;

  const random = (n: number) => Math.floor(Math.random() * n);
  const channelMsgid = (c: number) => {
    const ids = msgidsByChannel[c];
    return ids[random(ids.length)];
  };
  const anchorIn = (c: number): HistoryAnchor =>
    random(2) ? { msgid: channelMsgid(c) } : { time: start + random(messages) };
  const selectors: Record<string, (c: number) => HistorySelector> = {
    "latest *": () => ({ kind: "latest" }),
    "before": (c) => ({ kind: "before", anchor: anchorIn(c) }),
    "after": (c) => ({ kind: "after", anchor: anchorIn(c) }),
    "around": (c) => ({ kind: "around", anchor: anchorIn(c) }),
    "between": (c) => ({ kind: "between", start: anchorIn(c), end: anchorIn(c) }),
  };
  const rows: Record<string, { p50: number; p99: number; mean: number }> = {
    append: summarize(appendSamples),
  };
  for (const [name, selector] of Object.entries(selectors)) {
    const samples: number[] = [];
    for (let q = 0; q < queries; q++) {
      const c = random(CHANNELS);
      const chosen = selector(c);
      samples.push(timeOf(() => history.query(`#chan${c}`, chosen, LIMIT)));
    }
    rows[`query ${name}`] = summarize(samples);
  }
  const privateSamples: number[] = [];
  for (let q = 0; q < queries; q++) {
    const p = random(PRIVATE_PAIRS);
    privateSamples.push(
      timeOf(() =>
        history.query({ account: `nick${p}`, partner: `peer${p}` }, { kind: "latest" }, LIMIT)
      ),
    );
  }
  rows["query private latest"] = summarize(privateSamples);
  const channelNames = Array.from({ length: CHANNELS }, (_, c) => `#chan${c}`);
  const targetSamples: number[] = [];
  for (let q = 0; q < queries; q++) {
    const n = random(PRIVATE_PAIRS);
    targetSamples.push(
      timeOf(() =>
        history.targets({ account: `nick${n}` }, channelNames, start, start + messages, LIMIT)
      ),
    );
  }
  rows["targets"] = summarize(targetSamples);
  history.close();
  const reopenMs = timeOf(() => {
    history = HistoryStore.open(dir, { retentionMs: 0 });
  });
  history.close();
  const fileBytes = [...Deno.readDirSync(dir)]
    .reduce((sum, entry) => sum + Deno.statSync(`${dir}/${entry.name}`).size, 0);

  const result = {
    benchmark: "history",
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    sqlite: "node:sqlite (WAL, synchronous=NORMAL)",
    messages,
    queriesPerKind: queries,
    limit: LIMIT,
    appendsPerSecond: Math.round(messages / appendSeconds),
    reopenMs: Math.round(reopenMs * 10) / 10,
    fileBytes,
    latencyMicroseconds: rows,
  };
  console.log(
    `${messages} appends: ${result.appendsPerSecond} per second; reopen ${result.reopenMs} ms; ` +
      `files ${(fileBytes / 1048576).toFixed(1)} MiB`,
  );
  console.table(rows);
  const out = new URL("./results/history.json", import.meta.url);
  Deno.mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
  Deno.writeTextFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${out.pathname}`);
} finally {
  Deno.removeSync(dir, { recursive: true });
}
