import assert from "node:assert/strict";
import { objectName } from "../src/ipc/mod.ts";
import { relayDestination, relayRoute } from "../src/ipc/relay.ts";
import { assertNoLeftovers, type Child, spawn, waitUntil } from "./_helpers.ts";

/** Every OS object of the relay a demo process makes starts with this. */
function relayPrefix(demo: Child): string {
  return objectName("relay", String(demo.process.pid));
}

/** The relay client processes a demo process started: client number → pid. */
function clientPids(demo: Child): Map<number, number> {
  const marker = new RegExp(`\0relay-client\0--label\0${demo.process.pid}\0--client\0(\\d+)\0`);
  const pids = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const match = marker.exec(Deno.readTextFileSync(`/proc/${entry.name}/cmdline`));
      if (match) pids.set(Number(match[1]), Number(entry.name));
    } catch { /* exited while we looked */ }
  }
  return pids;
}

const RECEIVED =
  /^client (\d+): received packet (\d+) from client (\d+): "This is message \2 from client \3"/;

/** Runs the demo and checks its transcript against the route it should have taken. */
async function assertRelayPasses(clients: number, rounds: number): Promise<void> {
  const demo = spawn([
    "main.ts",
    "demo",
    "relay",
    "--clients",
    String(clients),
    "--rounds",
    String(rounds),
  ]);
  await using _ = demo;
  await demo.closeStdin();
  const result = await demo.done;
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const packets = clients * rounds;
  assert.match(
    result.stdout,
    new RegExp(`^PASS: all ${packets} packets arrived once and in order`, "m"),
  );
  // The printed transcript, in the order the lines came out, is the route itself.
  const route = relayRoute(clients, packets);
  const received = demo.lines.flatMap((line) => {
    const match = RECEIVED.exec(line);
    return match
      ? [{ to: Number(match[1]), packet: Number(match[2]), from: Number(match[3]) }]
      : [];
  });
  assert.deepEqual(received, route);
  assert.equal(demo.lines.filter((line) => line.includes("tells everyone to stop")).length, 1);
  assertNoLeftovers(relayPrefix(demo));
  assert.equal(clientPids(demo).size, 0);
}

Deno.test("relayDestination() follows the seed's table for three clients", () => {
  for (let i = 0; i < 10; i++) {
    assert.equal(relayDestination(1, i, 3), 2 + i % 2);
    assert.equal(relayDestination(2, i, 3), 1 + 2 * (i % 2));
    assert.equal(relayDestination(3, i, 3), 1 + i % 2);
  }
});

Deno.test("relayRoute() hands each packet on from the client that received the one before", () => {
  const route = relayRoute(5, 40);
  assert.deepEqual(route[0], { packet: 0, from: 5, to: 1 });
  for (let i = 1; i < route.length; i++) {
    assert.equal(route[i].from, route[i - 1].to);
    assert.notEqual(route[i].from, route[i].to);
  }
  // Every client both sends and receives.
  assert.deepEqual(new Set(route.map((hop) => hop.to)), new Set([1, 2, 3, 4, 5]));
});

Deno.test("shmooze demo relay with 3 client processes passes its order check and leaves nothing", async () => {
  await assertRelayPasses(3, 5);
});

Deno.test("shmooze demo relay with 5 client processes passes its order check and leaves nothing", async () => {
  await assertRelayPasses(5, 4);
});

Deno.test("shmooze demo relay stops on SIGINT, ends its clients and removes its objects", async () => {
  const demo = spawn(["main.ts", "demo", "relay", "--clients", "4", "--rounds", "10000"]);
  await using _ = demo;
  await demo.waitForLine(/received packet 200 /);
  assert.equal(clientPids(demo).size, 4);
  demo.process.kill("SIGINT");
  const result = await demo.done;
  assert.equal(result.code, 130, result.stderr);
  assert.match(result.stdout, /^interrupted: the relay was stopped and its OS objects removed$/m);
  assert.doesNotMatch(result.stdout, /^PASS/m);
  assertNoLeftovers(relayPrefix(demo));
  await waitUntil(() => clientPids(demo).size === 0, 5_000, "the clients to exit");
});

Deno.test("shmooze demo relay reports FAIL when a client process is killed mid-relay", async () => {
  const demo = spawn(["main.ts", "demo", "relay", "--clients", "3", "--rounds", "10000"]);
  await using _ = demo;
  await demo.waitForLine(/received packet 200 /);
  Deno.kill(clientPids(demo).get(2)!, "SIGKILL");
  const result = await demo.done;
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stdout,
    new RegExp(
      `^FAIL: \\d+ of 30000 packets arrived; client 2 was killed by SIGKILL; `,
      "m",
    ),
  );
  assertNoLeftovers(relayPrefix(demo));
  await waitUntil(() => clientPids(demo).size === 0, 5_000, "the clients to exit");
});
