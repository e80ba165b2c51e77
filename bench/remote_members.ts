/**
 * What other nodes' users cost a node's hub per channel message: a `ChatHub.send` to a
 * channel with one local recipient and 0, 1 000 and 10 000 members of other nodes,
 * either as a cluster node holds them (`RemoteMember`: a presence with no device on this node,
 * out of the channel's delivery) or as device-less members handed every message to drop it (as
 * before #15's merge of presences across nodes). One process, no history,
 * sides in turn `--rounds` times.
 *
 * Run: `deno task bench remote-members [--sends 20000] [--rounds 3]`.
 *
 * @module
 */
import { ChatHub } from "../src/chat/hub.ts";
import type { Member } from "../src/chat/member.ts";
import { RemoteMember } from "../src/cluster/_remote_member.ts";
import { intOption, parseCommandArgs } from "../src/cli/_args.ts";
import { markdownTable } from "./_table.ts";
import { readOptions } from "./_usage.ts";

const { sends, rounds } = readOptions(() => {
  const { values } = parseCommandArgs("bench remote-members", Deno.args, {
    sends: { type: "string" },
    rounds: { type: "string" },
  });
  return {
    sends: intOption(values, "sends", 20_000, { min: 100, max: 1_000_000 }),
    rounds: intOption(values, "rounds", 3, { min: 1, max: 20 }),
  };
});

function member(nick: string, remote: boolean, count?: { n: number }): Member {
  if (remote) {
    return new RemoteMember({
      v: 1,
      id: nick,
      node: "far-1",
      conn: nick,
      kind: "connect",
      nick,
      user: nick,
      host: "bench",
      realname: nick,
      time: 0,
    });
  }
  return {
    nick,
    user: nick,
    host: "bench",
    realname: nick,
    transport: "bench",
    channels: new Set<string>(),
    echo: false,
    deliver: count ? () => count.n++ : () => {},
    disconnect() {},
  };
}

/** µs per send to #lobby with `remote` other nodes' users in it. */
async function measure(remote: number, skipped: boolean): Promise<number> {
  const hub = new ChatHub();
  const sender = member("sender", false);
  const received = { n: 0 };
  const local = member("local", false, received);
  for (const m of [sender, local]) {
    hub.add(m);
    hub.join(m, "#lobby");
  }
  for (let i = 0; i < remote; i++) {
    const m = member(`r${i}`, skipped);
    hub.add(m);
    hub.join(m, "#lobby");
  }
  for (let i = 0; i < 1000; i++) await hub.send(sender, "privmsg", "#lobby", "warm-up");
  received.n = 0;
  const start = performance.now();
  for (let i = 0; i < sends; i++) await hub.send(sender, "privmsg", "#lobby", "hello");
  const us = (performance.now() - start) * 1000 / sends;
  if (received.n !== sends) throw new Error(`The local member got ${received.n} of ${sends}`);
  return us;
}

const counts = [0, 1000, 10_000];
const results = new Map<string, number[]>();
for (let round = 1; round <= rounds; round++) {
  for (const remote of counts) {
    for (const skipped of [false, true]) {
      const key = `${remote}|${skipped}`;
      const us = await measure(remote, skipped);
      results.set(key, [...results.get(key) ?? [], us]);
      console.error(
        `round ${round}, ${remote} remote, ${skipped ? "skipped" : "handed"}: ${us.toFixed(1)} µs`,
      );
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(markdownTable(
  [
    "other nodes' users in #lobby",
    "µs per send, handed each message (before)",
    "µs per send, left out (now)",
  ],
  counts.map((remote) => {
    const show = (skipped: boolean) => {
      const xs = results.get(`${remote}|${skipped}`)!;
      return `${median(xs).toFixed(1)} (${xs.map((x) => x.toFixed(1)).join(", ")})`;
    };
    return [remote.toLocaleString("en-US"), show(false), show(true)];
  }),
  1,
));
console.log(`\n${sends} sends per side, median (and each round), sides in turn ${rounds} times`);
