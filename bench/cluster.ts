/**
 * The cluster's bus, measured: three {@link ReplicatedHub} nodes in this process on a fresh
 * `nats-server -js`, one user per node in #lobby. Node A's user sends messages with a fixed
 * number in flight; the script reports how long the sender waits for its answer (append,
 * then the entry back and applied), how long until the user of node C has it, the rate, and
 * what each node's NATS connection carried per message (bytes and NATS messages, both ways) —
 * the per-node cost that decides how far more nodes go.
 *
 * Run: `deno run -A bench/cluster.ts [--messages N] [--in-flight N]`.
 *
 * @module
 */
import { ChatHub } from "../src/chat/hub.ts";
import type { ChatEvent } from "../src/chat/chat_event.ts";
import type { Member } from "../src/chat/member.ts";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import { ReplicatedHub } from "../src/cluster/replicated_hub.ts";
import { intOption, parseCommandArgs } from "../src/cli/_args.ts";
import { startNats } from "../tests/_nats.ts";
import { type Histogram, percentiles, record } from "./_histogram.ts";
import { markdownTable } from "./_table.ts";
import { readOptions } from "./_usage.ts";

const { messages, inFlight } = readOptions(() => {
  const { values } = parseCommandArgs("bench cluster", Deno.args, {
    messages: { type: "string" },
    "in-flight": { type: "string" },
  });
  return {
    messages: intOption(values, "messages", 20_000, { min: 100, max: 1_000_000 }),
    inFlight: intOption(values, "in-flight", 64, { min: 1, max: 10_000 }),
  };
});

/** A user that notes when each message reached it. */
function user(nick: string, arrived: Map<string, number>, done: () => void): Member {
  return {
    nick,
    user: nick,
    host: "bench",
    realname: nick,
    transport: "bench",
    channels: new Set(),
    echo: false,
    deliver(event: ChatEvent) {
      if (event.kind !== "privmsg") return;
      arrived.set(event.text, performance.now());
      if (arrived.size === messages) done();
    },
    disconnect() {},
  };
}

await using nats = await startNats();
const buses: JetStreamBus[] = [];
const nodes: ReplicatedHub[] = [];
for (const name of ["a", "b", "c"]) {
  const bus = await JetStreamBus.open(nats.url, { cluster: "bench" });
  const node = new ReplicatedHub(new ChatHub(), bus, { node: name });
  await node.start();
  buses.push(bus);
  nodes.push(node);
}
const arrivals = [new Map<string, number>(), new Map<string, number>(), new Map<string, number>()];
const finished = arrivals.map(() => Promise.withResolvers<void>());
const users = nodes.map((_, i) => user(`u${i}`, arrivals[i], finished[i].resolve));
for (const [i, node] of nodes.entries()) {
  await node.connect(users[i]);
  await node.join(users[i], "#lobby");
}
// Each join was answered on its own node; the messages come after them in the log.
const before = buses.map((bus) => bus.traffic());
const sentAt = new Map<string, number>();
const answer: Histogram = {};
let next = 0;
const started = performance.now();
async function sender(): Promise<void> {
  while (next < messages) {
    const text = String(next++);
    const at = performance.now();
    sentAt.set(text, at);
    const result = await nodes[0].send(users[0], "privmsg", "#lobby", text);
    if (typeof result === "string") throw new Error(`Message ${text} was refused: ${result}`);
    record(answer, (performance.now() - at) * 1000);
  }
}
await Promise.all(Array.from({ length: inFlight }, sender));
await Promise.all(finished.slice(1).map((f) => f.promise));
const seconds = (performance.now() - started) / 1000;
const after = buses.map((bus) => bus.traffic());
const remote: Histogram = {};
for (const [text, at] of arrivals[2]) record(remote, (at - sentAt.get(text)!) * 1000);
await Promise.all(nodes.map((node) => node.close()));

const ms = (value: number) => value.toFixed(2);
const [answered, reached] = [percentiles(answer), percentiles(remote)];
console.log(
  `${messages} messages from node A, ${inFlight} in flight, ${
    (messages / seconds).toFixed(0)
  } msg/s\n`,
);
console.log(markdownTable(["latency", "p50 ms", "p99 ms", "p99.9 ms"], [
  ["A's user answered (append + applied)", ms(answered.p50), ms(answered.p99), ms(answered.p999)],
  ["C's user has it", ms(reached.p50), ms(reached.p99), ms(reached.p999)],
], 1));
console.log();
const per = (n: number) => (n / messages).toFixed(2);
console.log(markdownTable(
  ["node", "bytes in / msg", "bytes out / msg", "NATS msgs in / msg", "NATS msgs out / msg"],
  after.map((t, i) => [
    ["A (sender)", "B", "C"][i],
    per(t.inBytes - before[i].inBytes),
    per(t.outBytes - before[i].outBytes),
    per(t.inMsgs - before[i].inMsgs),
    per(t.outMsgs - before[i].outMsgs),
  ]),
  1,
));
