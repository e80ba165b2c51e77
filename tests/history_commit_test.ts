import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { HistoryStore } from "../src/chat/history.ts";

function message(msgid: string) {
  return {
    msgid,
    time: Date.now(),
    sender: "ann",
    senderMask: "ann!ann@localhost",
    target: "#lobby",
    command: "PRIVMSG" as const,
    text: `text of ${msgid}`,
  };
}

/** What another connection to the file sees: only committed messages. */
function committedMsgids(dir: string): string[] {
  const db = new DatabaseSync(join(dir, "history.sqlite"), { readOnly: true });
  try {
    return db.prepare("SELECT msgid FROM messages ORDER BY id").all().map((row) =>
      String(row.msgid)
    );
  } finally {
    db.close();
  }
}

Deno.test("HistoryStore with deferCommit shows appends to its queries and the file only after commit()", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-history-commit-" });
  const history = HistoryStore.open(dir, { deferCommit: true });
  const latest = () => history.query("#lobby", { kind: "latest" }, 10).map((r) => r.msgid);
  try {
    history.append(message("m1"));
    history.append(message("m2"));
    // A commit may still fail: a query must not show what it could lose.
    assert.deepEqual(latest(), []);
    assert.deepEqual(committedMsgids(dir), []);
    assert.equal(history.commit(), 2);
    assert.deepEqual(latest(), ["m1", "m2"]);
    assert.deepEqual(committedMsgids(dir), ["m1", "m2"]);
    assert.equal(history.commit(), 0, "nothing pending: nothing to commit");
    // A failed append (duplicate msgid) leaves the batch usable.
    history.append(message("m3"));
    assert.throws(() => history.append(message("m3")), /already stored/);
    history.append(message("m4"));
    assert.equal(history.commit(), 2);
    assert.deepEqual(committedMsgids(dir), ["m1", "m2", "m3", "m4"]);
    history.append(message("m5"));
  } finally {
    history.close();
  }
  assert.deepEqual(committedMsgids(dir), ["m1", "m2", "m3", "m4", "m5"], "close() commits");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("HistoryStore without deferCommit commits each append", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-history-commit-" });
  const history = HistoryStore.open(dir);
  try {
    history.append(message("m1"));
    assert.deepEqual(committedMsgids(dir), ["m1"]);
    assert.equal(history.commit(), 0);
  } finally {
    history.close();
  }
  await Deno.remove(dir, { recursive: true });
});
