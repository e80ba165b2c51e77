import assert from "node:assert/strict";
import { IrcTestClient, startServe } from "./_irc.ts";

Deno.test("serve fans out: 40 clients each broadcast 25 lines and every client receives all of them in order", async () => {
  const clientCount = 40;
  const perClient = 25;
  await using server = await startServe({
    args: ["--flood-burst", "0", "--max-conn-per-ip", String(clientCount)],
  });
  const clients: IrcTestClient[] = [];
  try {
    for (let i = 0; i < clientCount; i++) {
      const client = await IrcTestClient.register(server.port, `user${i}`, {
        caps: ["echo-message", "message-tags"],
      });
      clients.push(client);
      await client.join("#lobby");
    }
    // Everyone has seen the last join before anyone talks.
    await Promise.all(
      clients.slice(0, -1).map((c) =>
        c.waitFor((m) =>
          m.command === "JOIN" && m.source?.startsWith(`user${clientCount - 1}!`) === true
        )
      ),
    );
    await Promise.all(clients.map((c, i) =>
      c.send(
        Array.from({ length: perClient }, (_, n) => `PRIVMSG #lobby :${i} ${n}`).join("\r\n"),
      )
    ));
    const total = clientCount * perClient;
    const received = await Promise.all(clients.map((c) => c.waitForMany("PRIVMSG", total, 60_000)));
    for (const [index, lines] of received.entries()) {
      const next = new Array(clientCount).fill(0);
      const msgids = new Set<string>();
      for (const line of lines) {
        const [sender, n] = line.params[1].split(" ").map(Number);
        assert.equal(line.source?.split("!")[0], `user${sender}`);
        assert.equal(n, next[sender], `user${index} got ${sender}'s lines out of order`);
        next[sender]++;
        msgids.add(line.tags.msgid);
      }
      assert.deepEqual(next, new Array(clientCount).fill(perClient));
      assert.equal(msgids.size, total, "every message has its own msgid");
    }
    // Every recipient saw the same msgid for the same message (one encoding, shared).
    const first = received[0].map((m) => `${m.params[1]}=${m.tags.msgid}`).sort();
    const last = received[clientCount - 1].map((m) => `${m.params[1]}=${m.tags.msgid}`).sort();
    assert.deepEqual(first, last);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
});
