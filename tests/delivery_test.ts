import assert from "node:assert/strict";
import type { Connection } from "../src/chat/connection.ts";
import { ChatHub } from "../src/chat/hub.ts";
import { HistoryStore } from "../src/chat/history.ts";
import type { Device } from "../src/chat/member.ts";
import { Presence } from "../src/chat/presence.ts";
import { SendQueue } from "../src/chat/delivery.ts";
import { encodeEvent, VARIANT_TAGS } from "../src/irc/encode.ts";
import { IrcTestClient, withServer } from "./_irc.ts";

/** A connection that keeps what it is asked to write, as the chunks it was given. */
function recordingConnection(): Connection & { writes: Uint8Array[][] } {
  const writes: Uint8Array[][] = [];
  return {
    transport: "memory",
    remoteAddress: "127.0.0.1",
    writes,
    async *lines() {},
    write(chunks: Uint8Array[]) {
      writes.push(chunks);
      return Promise.resolve();
    },
    close() {},
  };
}

/** Flushes, then waits until every member's write has completed. */
async function flush(hub: ChatHub, members: { queue: SendQueue }[]): Promise<void> {
  hub.flusher.flush();
  await Promise.all(members.map((member) => member.queue.drained()));
}

/** A hub member with one device: a real send queue over a recording connection. */
function queuedMember(
  hub: ChatHub,
  nick: string,
  options: { echo?: boolean; variant?: number; limit?: number; onOverflow?: () => void } = {},
  connection = recordingConnection(),
) {
  const queue = new SendQueue(connection, {
    flusher: hub.flusher,
    limit: options.limit ?? 1 << 20,
    encode: encodeEvent,
    onOverflow: options.onOverflow,
  });
  queue.variant = options.variant ?? 0;
  const presence = new Presence({ nick, user: nick, host: "test", realname: nick });
  const device: Device & { queue: SendQueue; writes: Uint8Array[][]; text(): string[] } = {
    member: presence,
    transport: "memory",
    echo: options.echo ?? false,
    queue,
    deliver(event) {
      const bytes = encodeEvent(event, queue.variant);
      if (bytes.length > 0) queue.push(bytes, "event", event);
    },
    disconnect() {},
    writes: connection.writes,
    text() {
      const decoder = new TextDecoder();
      return connection.writes.flat().map((chunk) => decoder.decode(chunk)).join("")
        .split("\r\n").filter((line) => line !== "")
        .map((line) => line.replace(/^@\S+ /, "").replace(/^:(\S+?)!\S+/, "$1"));
    },
  };
  hub.add(presence);
  hub.attach(device);
  return device;
}

Deno.test("members of a channel get one shared buffer per flush, whatever the number of messages", async () => {
  const hub = new ChatHub();
  const members = ["ann", "bob", "cy"].map((nick) => queuedMember(hub, nick));
  for (const member of members) hub.join(member, "#c");
  await flush(hub, members);
  const [ann, bob, cy] = members;
  for (const member of members) member.writes.length = 0;
  for (let i = 0; i < 5; i++) hub.send(ann, "privmsg", "#c", `line ${i}`);
  await flush(hub, members);
  assert.equal(bob.writes.length, 1);
  assert.equal(bob.writes[0].length, 1, "one chunk: the channel's lines of the tick");
  assert.equal(bob.writes[0][0], cy.writes[0][0], "the same bytes object for both");
  assert.deepEqual(bob.text(), [0, 1, 2, 3, 4].map((i) => `ann PRIVMSG #c :line ${i}`));
  assert.deepEqual(ann.writes, [], "a sender without echo-message gets none of its own lines");
});

Deno.test("a channel stream keeps each member's order across channels, private messages, joins and parts", async () => {
  const hub = new ChatHub();
  const ann = queuedMember(hub, "ann", { echo: true });
  const bob = queuedMember(hub, "bob");
  const cy = queuedMember(hub, "cy");
  for (const member of [ann, bob]) {
    hub.join(member, "#a");
    hub.join(member, "#b");
  }
  await flush(hub, [ann, bob, cy]);
  for (const member of [ann, bob, cy]) member.writes.length = 0;
  // All in one tick: the streams of #a and #b interleave with private lines and a member
  // who joins and leaves in the middle.
  hub.send(ann, "privmsg", "#a", "1");
  hub.send(bob, "privmsg", "#b", "2");
  hub.send(ann, "privmsg", "bob", "3");
  hub.join(cy, "#a");
  hub.send(ann, "privmsg", "#a", "4");
  hub.send(bob, "privmsg", "#b", "5");
  hub.part(cy, "#a", "bye");
  hub.send(bob, "privmsg", "#a", "6");
  await flush(hub, [ann, bob, cy]);
  assert.deepEqual(bob.text(), [
    "ann PRIVMSG #a :1",
    "ann PRIVMSG bob :3",
    "cy JOIN #a",
    "ann PRIVMSG #a :4",
    "cy PART #a :bye",
  ]);
  assert.deepEqual(ann.text(), [
    "ann PRIVMSG #a :1",
    "bob PRIVMSG #b :2",
    "ann PRIVMSG bob :3",
    "cy JOIN #a",
    "ann PRIVMSG #a :4",
    "bob PRIVMSG #b :5",
    "cy PART #a :bye",
    "bob PRIVMSG #a :6",
  ]);
  assert.deepEqual(cy.text(), ["cy JOIN #a", "ann PRIVMSG #a :4", "cy PART #a :bye"]);
});

Deno.test("a channel stream encodes per variant and gives TAGMSG only to tag readers", async () => {
  const hub = new ChatHub();
  const ann = queuedMember(hub, "ann");
  const plain = queuedMember(hub, "plain");
  const tagged = queuedMember(hub, "tagged", { variant: VARIANT_TAGS });
  for (const member of [ann, plain, tagged]) hub.join(member, "#c");
  await flush(hub, [ann, plain, tagged]);
  for (const member of [plain, tagged]) member.writes.length = 0;
  hub.send(ann, "privmsg", "#c", "hi");
  hub.tag(ann, "#c", { "+typing": "active" });
  hub.send(ann, "privmsg", "#c", "there");
  await flush(hub, [ann, plain, tagged]);
  assert.deepEqual(plain.text(), ["ann PRIVMSG #c :hi", "ann PRIVMSG #c :there"]);
  assert.deepEqual(tagged.text(), [
    "ann PRIVMSG #c :hi",
    "ann TAGMSG #c",
    "ann PRIVMSG #c :there",
  ]);
  const raw = new TextDecoder().decode(tagged.writes[0][0]);
  assert.match(raw, /^@msgid=\S+ :ann!/);
  assert.match(raw, /@\+typing=active;msgid=|@msgid=\S+;\+typing=active /);
});

Deno.test("a queue that overflows on a channel's stream is dropped and the others keep everything", async () => {
  const hub = new ChatHub();
  const ann = queuedMember(hub, "ann");
  const bob = queuedMember(hub, "bob");
  let overflowed = 0;
  // Its first write never completes, as for a client that stopped reading.
  const stuck = queuedMember(hub, "stuck", { limit: 4096, onOverflow: () => overflowed++ }, {
    ...recordingConnection(),
    write: () => new Promise(() => {}),
  });
  for (const member of [ann, bob, stuck]) hub.join(member, "#c");
  for (let tick = 0; tick < 20; tick++) {
    for (let i = 0; i < 10; i++) hub.send(ann, "privmsg", "#c", `${tick} ${i} ${"x".repeat(40)}`);
    await flush(hub, [ann, bob]);
  }
  assert.equal(overflowed, 1);
  assert.equal(stuck.queue.push(new Uint8Array(1)), false, "the overflowed queue takes no more");
  assert.equal(bob.text().filter((line) => line.includes("PRIVMSG")).length, 200);
});

Deno.test("serve keeps one client's order across channels, private messages and topics sent in one write", async () => {
  await withServer({}, async (server) => {
    await using sender = await IrcTestClient.register(server.port, "sender", {
      caps: ["echo-message"],
    });
    await using reader = await IrcTestClient.register(server.port, "reader");
    for (const client of [sender, reader]) {
      await client.join("#a");
      await client.join("#b");
    }
    await sender.send(
      [
        "PRIVMSG #a :1",
        "PRIVMSG #b :2",
        "PRIVMSG reader :3",
        "PRIVMSG #a :4",
        "TOPIC #b :5",
        "PRIVMSG #b :6",
        "PING :done",
      ].join("\r\n"),
    );
    const want = [
      "PRIVMSG #a 1",
      "PRIVMSG #b 2",
      "PRIVMSG reader 3",
      "PRIVMSG #a 4",
      "TOPIC #b 5",
      "PRIVMSG #b 6",
    ];
    const seen = (client: IrcTestClient) =>
      client.waitForMany((m) => m.command === "PRIVMSG" || m.command === "TOPIC", 6)
        .then((lines) => lines.map((m) => `${m.command} ${m.params.join(" ")}`));
    assert.deepEqual(await seen(reader), want);
    assert.deepEqual(await seen(sender), want, "the echoes, in the same order");
  });
});

Deno.test("a message waiting for its commit keeps its place before later replies, and is written only after the commit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-delivery-test-" });
  const history = HistoryStore.open(dir, { deferCommit: true });
  try {
    const hub = new ChatHub({ history });
    const ann = queuedMember(hub, "ann");
    const bob = queuedMember(hub, "bob");
    hub.join(ann, "#c");
    hub.join(bob, "#c");
    await flush(hub, [ann, bob]);
    bob.writes.length = 0;
    // In one tick: ann's messages, then a reply to bob's own command (a PONG).
    const channel = hub.send(ann, "privmsg", "#c", "to the channel");
    const direct = hub.send(ann, "privmsg", "bob", "to bob");
    bob.queue.push(new TextEncoder().encode(":shmooze PONG shmooze :sync\r\n"), "reply");
    assert.deepEqual(bob.writes, [], "nothing written before the commit");
    await flush(hub, [ann, bob]);
    assert.notEqual(typeof await channel, "string");
    assert.notEqual(typeof await direct, "string");
    assert.deepEqual(bob.text(), [
      "ann PRIVMSG #c :to the channel",
      "ann PRIVMSG bob :to bob",
      ":shmooze PONG shmooze :sync",
    ]);
  } finally {
    history.close();
    await Deno.remove(dir, { recursive: true });
  }
});
