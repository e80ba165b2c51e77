/**
 * Deletion benchmark: what one REDACT costs the history store — finding the message, writing
 * the deletion, the commit and the WAL checkpoint that empties the log — on a real SQLite file
 * with `--messages` stored, and what deleted messages cost the CHATHISTORY query (latest 50 of
 * a channel) when 1 in 10 is deleted. Prints a table.
 *
 *   deno run -A bench/redaction.ts [--messages 100000] [--deletions 200]
 *
 * The store runs as the server runs it: deferred commits, 100 messages a commit.
 */
import { parseArgs } from "node:util";
import { HistoryStore } from "../src/chat/history.ts";
import { positiveOption, quantile, timeOf } from "./_samples.ts";

const CHANNELS = 20;
const QUERIES = 2000;

const { values } = parseArgs({
  options: { messages: { type: "string" }, deletions: { type: "string" } },
  strict: true,
});
const messages = positiveOption("messages", values.messages ?? "100000");
const deletions = positiveOption("deletions", values.deletions ?? "200");

/** p50 and p99 of samples in ms, as text in ms. */
function percentiles(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return `p50 ${quantile(sorted, 0.5).toFixed(3)} ms, p99 ${quantile(sorted, 0.99).toFixed(3)} ms`;
}

const dir = Deno.makeTempDirSync({ prefix: "shmooze-bench-redaction-" });
const history = HistoryStore.open(dir, { retentionMs: 0, deferCommit: true });
try {
  const start = Date.now() - messages;
  for (let i = 0; i < messages; i++) {
    history.append({
      msgid: `m${i}`,
      time: start + i,
      sender: `nick${i % 97}`,
      senderMask: `nick${i % 97}!user@localhost`,
      senderAccount: `nick${i % 97}`,
      target: `#chan${i % CHANNELS}`,
      command: "PRIVMSG",
      text: `benchmark message number ${i} with a little padding to look like chat`,
    });
    if (i % 100 === 99) history.commit();
  }
  history.commit();

  const latest = (redacted: boolean) =>
    Array.from(
      { length: QUERIES },
      (_, i) =>
        timeOf(() => history.query(`#chan${i % CHANNELS}`, { kind: "latest" }, 50, { redacted })),
    );
  const before = latest(false);

  const samples: number[] = [];
  for (let k = 0; k < deletions; k++) {
    const msgid = `m${Math.floor((k * messages) / deletions)}`;
    samples.push(timeOf(() => {
      const found = history.locate(msgid)!;
      history.redact(found.id, { msgid: `r${k}`, time: Date.now(), source: "op!op@h", reason: "" });
      history.commit();
    }));
  }
  // Then 1 in 10 of the newest messages of every channel deleted, as a busy moderator would.
  for (let i = messages - 1, k = 0; i >= Math.max(0, messages - 1000); i -= 10, k++) {
    const found = history.locate(`m${i}`);
    if (found && !found.redacted) {
      history.redact(found.id, { msgid: `s${k}`, time: Date.now(), source: "op!op@h", reason: "" });
    }
  }
  history.commit();
  const without = latest(false);
  const withDeleted = latest(true);

  console.log(`${messages} messages stored, ${deletions} deleted one at a time:`);
  console.log(`  REDACT (locate, write, commit, checkpoint): ${percentiles(samples)}`);
  console.log(`  CHATHISTORY LATEST 50, nothing deleted:      ${percentiles(before)}`);
  console.log(`  … 1 in 10 deleted, left out:                 ${percentiles(without)}`);
  console.log(`  … 1 in 10 deleted, with placeholders:        ${percentiles(withDeleted)}`);
} finally {
  history.close();
  Deno.removeSync(dir, { recursive: true });
}
