/**
 * One account's presence across a cluster's nodes, on real nodes: replicated hubs in this
 * process on a real `nats-server -js`, each with its own hub, NATS connection and account
 * store, and real IRC sessions (in-memory connections) as the devices. A device of an account
 * through any node attaches to the one user every node holds (an `attach` entry); the user
 * quits when its last device on any node has left; always-on is written by every node from the
 * log, and a node that reads the log from its start holds the same presences.
 */
import assert from "node:assert/strict";
import { AccountStore, hashPassword } from "../src/chat/accounts.ts";
import type { Connection } from "../src/chat/connection.ts";
import { ChatHub } from "../src/chat/hub.ts";
import { NickServ } from "../src/chat/nickserv.ts";
import { DETACHED_AWAY } from "../src/chat/presence.ts";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import { ReplicatedHub } from "../src/cluster/replicated_hub.ts";
import { DEFAULT_LIMITS } from "../src/irc/limits.ts";
import { IrcSession } from "../src/irc/session.ts";
import { waitUntil } from "./_helpers.ts";
import { natsAvailable, type NatsServer, startNats } from "./_nats.ts";

const ignore = !natsAvailable();
const COST = { memoryKiB: 64, iterations: 1 };

/** A node: its replicated hub and its own account store. */
interface Node {
  replicated: ReplicatedHub;
  accounts: AccountStore;
  dir: string;
}

/** An IRC client on an in-memory connection to a node: lines in, everything written kept. */
class Device {
  readonly session: IrcSession;
  output = "";
  readonly #queue: string[] = [];
  #wake = Promise.withResolvers<void>();
  #ended = false;
  readonly #running: Promise<void>;

  /**
   * Connects to a node as `nick`, logged in to `account` (as SASL does before registration).
   */
  constructor(node: Node, nick: string, account?: string) {
    const hub = node.replicated.hub;
    const connection: Connection = {
      transport: "memory",
      remoteAddress: "127.0.0.1",
      lines: () => this.#lines(),
      write: (chunks) => {
        for (const chunk of chunks) this.output += new TextDecoder().decode(chunk);
        return Promise.resolve();
      },
      close: () => this.#end(),
    };
    this.session = new IrcSession(connection, {
      hub,
      flusher: hub.flusher,
      limits: DEFAULT_LIMITS,
      serverName: "irc.test",
      version: "0.1.0",
      createdAt: Date.now(),
      motd: [],
      counters: { sendQDrops: 0 },
      cluster: node.replicated,
    }, () => {});
    if (account !== undefined) this.session.logIn(account);
    this.send("CAP REQ :echo-message", `NICK ${nick}`, `USER ${nick} 0 * :${nick}`, "CAP END");
    this.#running = this.session.run();
  }

  /** Queues lines from the client. */
  send(...lines: string[]): void {
    this.#queue.push(...lines);
    this.#wake.resolve();
  }

  /** Waits (bounded) until the output has a line matching `pattern`. */
  async waitFor(pattern: RegExp, what = String(pattern)): Promise<void> {
    await waitUntil(() => this.lines().some((line) => pattern.test(line)), 10_000, what);
  }

  /** The lines written to the client so far. */
  lines(): string[] {
    return this.output.split("\r\n");
  }

  /** How many lines end with `tail`. */
  count(tail: string): number {
    return this.lines().filter((line) => line.endsWith(tail)).length;
  }

  /** The connection ends (as a closed socket): the session closes. */
  async close(): Promise<void> {
    this.#end();
    await this.#running;
  }

  #end(): void {
    this.#ended = true;
    this.#wake.resolve();
  }

  async *#lines(): AsyncGenerator<Uint8Array> {
    while (true) {
      while (this.#queue.length > 0) yield new TextEncoder().encode(this.#queue.shift()!);
      if (this.#ended) return;
      await this.#wake.promise;
      this.#wake = Promise.withResolvers();
    }
  }
}

/** Starts a node on a cluster, with a fresh account store and NickServ. */
async function startNode(nats: NatsServer, cluster: string, name: string): Promise<Node> {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-cluster-presence-test-" });
  const accounts = AccountStore.open(dir, { hashCost: COST });
  const hub = new ChatHub({ alwaysOn: accounts.alwaysOn });
  NickServ.start(hub, true);
  const bus = await JetStreamBus.open(nats.url, { cluster });
  const replicated = new ReplicatedHub(hub, bus, { node: name, accounts });
  await replicated.start();
  return { replicated, accounts, dir };
}

/** Three nodes (a, b, c) on a fresh nats-server; every node and device closed after. */
async function withCluster(
  body: (nodes: Node[], start: (name: string) => Promise<Node>, devices: Device[]) => Promise<
    void
  >,
): Promise<void> {
  await using nats = await startNats();
  const cluster = `p${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
  const nodes: Node[] = [];
  const devices: Device[] = [];
  const start = async (name: string) => {
    const node = await startNode(nats, cluster, name);
    nodes.push(node);
    return node;
  };
  try {
    for (const name of ["a", "b", "c"]) await start(name);
    await body(nodes, start, devices);
  } finally {
    for (const device of devices) await device.close();
    for (const node of nodes) {
      await node.replicated.close();
      node.accounts.close();
      await Deno.remove(node.dir, { recursive: true });
    }
  }
}

/** Connects a device and waits for its welcome. */
async function connect(
  devices: Device[],
  node: Node,
  nick: string,
  account?: string,
): Promise<Device> {
  const device = new Device(node, nick, account);
  devices.push(device);
  await device.waitFor(/ 001 /, `${nick}'s welcome`);
  return device;
}

Deno.test({
  name:
    "cluster: devices of one account on two nodes are one user everywhere, which outlives the node it began on and quits with its last device",
  ignore,
  async fn() {
    await withCluster(async (nodes, _start, devices) => {
      const [a, b, c] = nodes;
      const bob = await connect(devices, b, "bob");
      bob.send("JOIN #c");
      await bob.waitFor(/ 366 bob #c /);
      const onA = await connect(devices, a, "ann", "ann");
      onA.send("JOIN #c");
      await onA.waitFor(/ 366 ann #c /);
      const onC = await connect(devices, c, "ann_phone", "ann");
      // Told of its nick, then of the user's channels.
      await onC.waitFor(/^:ann_phone!ann_phone@127\.0\.0\.1 NICK ann$/);
      await onC.waitFor(/ 366 ann #c /);
      for (const node of nodes) {
        const ann = node.replicated.hub.memberOfAccount("ann");
        assert.equal(ann?.nick, "ann");
        assert.deepEqual([...ann.channels], ["#c"]);
      }
      assert.equal(bob.count(" JOIN #c"), 2, "bob saw one JOIN of his own and one of ann's");
      // A JOIN through one node: the device on the other is shown the channel as well.
      onA.send("JOIN #e");
      await onC.waitFor(/^:ann!\S+ JOIN #e$/);
      await onC.waitFor(/ 366 ann #e /);

      bob.send("PRIVMSG #c :hello ann", "PRIVMSG ann :psst");
      onA.send("PRIVMSG #c :from A");
      onC.send("PRIVMSG #c :from C");
      for (const device of [onA, onC]) {
        await device.waitFor(/PRIVMSG ann :psst$/);
        await device.waitFor(/PRIVMSG #c :from A$/);
        await device.waitFor(/PRIVMSG #c :from C$/);
      }
      await bob.waitFor(/PRIVMSG #c :from A$/);
      await bob.waitFor(/PRIVMSG #c :from C$/);
      for (const device of [onA, onC]) {
        for (const tail of ["#c :hello ann", "ann :psst", "#c :from A", "#c :from C"]) {
          assert.equal(device.count(`PRIVMSG ${tail}`), 1, `${tail} once`);
        }
      }

      // A second device on A is one more connection of the same user, through the log too.
      const onA2 = await connect(devices, a, "ann", "ann");
      await onA2.waitFor(/ 366 ann #e /);
      assert.equal(bob.count(" JOIN #c"), 2);

      // One device on A leaves, then node a — where ann's user began — stops: its devices
      // leave with it (its node-down), and ann stays through C.
      await onA2.close();
      await a.replicated.close();
      await waitUntil(
        () => b.replicated.stats().peers.every((peer) => !peer.node.startsWith("a-")),
        10_000,
        "node a gone for node b",
      );
      bob.send("PRIVMSG #c :still there?");
      await onC.waitFor(/PRIVMSG #c :still there\?$/);
      for (const node of [b, c]) assert.ok(node.replicated.hub.memberOfAccount("ann"));
      assert.equal(bob.lines().filter((line) => /^:ann!\S+ QUIT /.test(line)).length, 0);

      // Its last device leaves: ann quits everywhere, once.
      await onC.close();
      await bob.waitFor(/^:ann!\S+ QUIT /);
      for (const node of [b, c]) {
        await waitUntil(
          () => node.replicated.hub.memberOfAccount("ann") === undefined,
          10_000,
          "ann gone",
        );
      }
      assert.equal(bob.lines().filter((line) => /^:ann!\S+ QUIT /.test(line)).length, 1);
    });
  },
});

Deno.test({
  name:
    "cluster: always-on set through one node is in every node's store, stays with no device, and a node started later holds it",
  ignore,
  async fn() {
    await withCluster(async (nodes, start, devices) => {
      const [a, b, c] = nodes;
      // ann registers through the log: every node's store has her account.
      const hash = await hashPassword("a long password", COST);
      assert.equal(await a.replicated.registerAccount(undefined, "ann", hash, Date.now()), true);
      const bob = await connect(devices, b, "bob");
      const onA = await connect(devices, a, "ann", "ann");
      const onC = await connect(devices, c, "ann", "ann");
      onA.send("JOIN #c");
      await onC.waitFor(/ 366 ann #c /);
      onC.send("PRIVMSG NickServ :SET ALWAYS-ON ON");
      for (const device of [onA, onC]) await device.waitFor(/NOTICE ann :Always-on is on/);
      for (const node of nodes) {
        await waitUntil(
          () => node.accounts.alwaysOn.get("ann") !== undefined,
          10_000,
          `ann always-on in ${node.replicated.node}'s store`,
        );
        assert.deepEqual(node.accounts.alwaysOn.get("ann")?.channels, ["#c"]);
      }
      onA.send("PART #c");
      await onC.waitFor(/ PART :?#c$/);
      onA.send("JOIN #d");
      await onC.waitFor(/ 366 ann #d /);

      await onA.close();
      await onC.close();
      for (const node of nodes) {
        await waitUntil(
          () => node.replicated.hub.memberOfAccount("ann")?.away === DETACHED_AWAY,
          10_000,
          "ann marked away with no device",
        );
        const ann = node.replicated.hub.memberOfAccount("ann")!;
        assert.deepEqual([...ann.channels], ["#d"]);
        assert.deepEqual(node.accounts.alwaysOn.get("ann")?.channels, ["#d"]);
      }
      assert.equal(bob.lines().filter((line) => /^:ann!\S+ QUIT /.test(line)).length, 0);

      // A node that starts now reads the log from its start: the same presence.
      const d = await start("d");
      const ann = d.replicated.hub.memberOfAccount("ann");
      assert.ok(ann?.alwaysOn, "always-on on the new node");
      assert.deepEqual([...ann.channels], ["#d"]);
      assert.deepEqual(d.accounts.alwaysOn.get("ann")?.channels, ["#d"]);
      // A device through it attaches: ann is back on every node.
      const onD = await connect(devices, d, "ann", "ann");
      await onD.waitFor(/ 366 ann #d /);
      for (const node of nodes) {
        await waitUntil(
          () => node.replicated.hub.memberOfAccount("ann")?.away === undefined,
          10_000,
          "ann back",
        );
      }
      // Off again through it: every store forgets it; its last device leaving is a quit.
      onD.send("NICKSERV SET ALWAYS-ON OFF");
      await onD.waitFor(/NOTICE ann :Always-on is off/);
      await onD.close();
      for (const node of nodes) {
        await waitUntil(
          () => node.replicated.hub.memberOfAccount("ann") === undefined,
          10_000,
          "ann gone",
        );
        assert.equal(node.accounts.alwaysOn.get("ann"), undefined);
      }
    });
  },
});
