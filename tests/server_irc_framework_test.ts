/**
 * A real third-party IRC client library, irc-framework, against `serve`: registration with
 * its own CAP negotiation, JOIN, messages both ways, and history through CHATHISTORY.
 */
import assert from "node:assert/strict";
import IRC from "irc-framework";
import { withServer } from "./_irc.ts";

interface Heard {
  nick: string;
  target: string;
  message: string;
  time?: number;
}

interface BatchEnd {
  type: string;
  params: string[];
  commands: { command: string; params: string[]; tags: Record<string, string> }[];
}

/** An irc-framework client with promises for the events a test waits on. */
function frameworkClient(port: number, nick: string) {
  const client = new IRC.Client();
  client.requestCap("draft/chathistory");
  const heard: Heard[] = [];
  const batches: BatchEnd[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  let registered = false;
  let closed = false;
  const joined = new Set<string>();
  client.on("registered", () => {
    registered = true;
    notify();
  });
  client.on("join", (event: { nick: string; channel: string }) => {
    if (event.nick === nick) joined.add(event.channel);
    notify();
  });
  client.on("privmsg", (event: Heard) => {
    heard.push({
      nick: event.nick,
      target: event.target,
      message: event.message,
      time: event.time,
    });
    notify();
  });
  client.on("batch end", (batch: BatchEnd) => {
    batches.push(batch);
    notify();
  });
  client.on("close", () => {
    closed = true;
    notify();
  });
  const until = (what: string, test: () => boolean, timeoutMs = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!test()) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(
          new Error(`${nick}: no ${what} within ${timeoutMs} ms; heard ${JSON.stringify(heard)}`),
        );
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  client.connect({
    host: "127.0.0.1",
    port,
    nick,
    username: nick,
    gecos: nick,
    auto_reconnect: false,
  });
  return {
    client,
    heard,
    batches,
    until,
    registered: () => until("registration", () => registered),
    join: async (channel: string) => {
      client.join(channel);
      await until(`join ${channel}`, () => joined.has(channel));
    },
    async quit() {
      client.quit("done");
      await until("close", () => closed).catch(() => client.connection?.end?.());
    },
  };
}

Deno.test("irc-framework registers, joins, talks and reads history through CHATHISTORY", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-framework-test-" });
  try {
    await withServer({ dataDir }, async (server) => {
      const ann = frameworkClient(server.port, "ann");
      const bob = frameworkClient(server.port, "bob");
      try {
        await ann.registered();
        await bob.registered();
        assert.deepEqual(
          ["batch", "server-time", "message-tags", "draft/chathistory"].filter((cap) =>
            !ann.client.network.cap.enabled.includes(cap)
          ),
          [],
        );
        await ann.join("#lobby");
        await bob.join("#lobby");
        ann.client.say("#lobby", "hello from ann");
        await bob.until(
          "ann's message",
          () => bob.heard.some((m) => m.message === "hello from ann"),
        );
        const live = bob.heard.find((m) => m.message === "hello from ann")!;
        assert.equal(live.nick, "ann");
        assert.equal(live.target, "#lobby");
        assert.ok(live.time && Math.abs(live.time - Date.now()) < 60_000, "server-time was read");
        bob.client.say("ann", "hello ann, privately");
        await ann.until(
          "bob's private message",
          () => ann.heard.some((m) => m.message === "hello ann, privately" && m.target === "ann"),
        );
        bob.client.say("#lobby", "second line");
        await ann.until("bob's line", () => ann.heard.some((m) => m.message === "second line"));

        const carl = frameworkClient(server.port, "carl");
        try {
          await carl.registered();
          await carl.join("#lobby");
          carl.client.raw("CHATHISTORY LATEST #lobby * 10");
          await carl.until(
            "a chathistory batch",
            () => carl.batches.some((b) => b.type === "chathistory"),
          );
          const batch = carl.batches.find((b) => b.type === "chathistory")!;
          assert.deepEqual(batch.params, ["#lobby"]);
          assert.deepEqual(
            batch.commands.map((c) => [c.command, c.params[1]]),
            [["PRIVMSG", "hello from ann"], ["PRIVMSG", "second line"]],
          );
          assert.ok(batch.commands.every((c) => c.tags.msgid && c.tags.time));
        } finally {
          await carl.quit();
        }
      } finally {
        await ann.quit();
        await bob.quit();
      }
    });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
