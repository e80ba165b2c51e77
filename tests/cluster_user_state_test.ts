/**
 * User and account state through a cluster's log, on real nodes: replicated hubs in this
 * process on a real `nats-server -js`, each with its own hub, NATS connection and (for the
 * account tests) its own SQLite account store. AWAY, SETNAME, CHGHOST, logins, registrations
 * and session tokens made through one node must hold on every node; JOIN, PART, NICK and QUIT
 * lines carry the event's id everywhere; bad events from the bus are refused alike.
 */
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { AccountStore, hashPassword } from "../src/chat/accounts.ts";
import type { ChatEvent } from "../src/chat/chat_event.ts";
import { ChatHub } from "../src/chat/hub.ts";
import type { Member } from "../src/chat/member.ts";
import { mintToken } from "../src/chat/session_tokens.ts";
import { JetStreamBus } from "../src/cluster/jetstream_bus.ts";
import { ReplicatedHub } from "../src/cluster/replicated_hub.ts";
import { waitUntil } from "./_helpers.ts";
import { natsAvailable, type NatsServer, startNats } from "./_nats.ts";
import { Recorder } from "./_cluster.ts";

const ignore = !natsAvailable();
const COST = { memoryKiB: 64, iterations: 1 };
const PASSWORD = "a long password";

interface Cluster {
  nats: NatsServer;
  name: string;
  nodes: ReplicatedHub[];
  accounts: AccountStore[];
}

/** Three nodes on a fresh nats-server, each with an account store of its own; closed after. */
async function withCluster(body: (cluster: Cluster) => Promise<void>): Promise<void> {
  await using nats = await startNats();
  const name = `u${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
  const dirs: string[] = [];
  const accounts: AccountStore[] = [];
  const nodes: ReplicatedHub[] = [];
  try {
    for (const node of ["a", "b", "c"]) {
      const dir = await Deno.makeTempDir({ prefix: "shmooze-cluster-user-test-" });
      dirs.push(dir);
      const store = AccountStore.open(dir, { hashCost: COST });
      accounts.push(store);
      const bus = await JetStreamBus.open(nats.url, { cluster: name });
      const replicated = new ReplicatedHub(new ChatHub(), bus, { node, accounts: store });
      nodes.push(replicated);
      await replicated.start();
    }
    await body({ nats, name, nodes, accounts });
  } finally {
    await Promise.all(nodes.map((node) => node.close()));
    for (const store of accounts) store.close();
    for (const dir of dirs) await Deno.remove(dir, { recursive: true });
  }
}

/** One user per node, all in #lobby, once every node has seen every join. */
async function usersInLobby(nodes: ReplicatedHub[], nicks: string[]): Promise<Recorder[]> {
  const users = nicks.map((nick) => new Recorder(nick));
  for (const [i, user] of users.entries()) {
    assert.equal(await nodes[i].connect(user), true);
    assert.ok(typeof await nodes[i].join(user, "#lobby") === "object");
  }
  const last = nicks[nicks.length - 1];
  for (const user of users) {
    await user.waitFor((e) => e.kind === "join" && e.source.startsWith(`${last}!`));
  }
  return users;
}

/** Waits until every node's copy of `nick` satisfies `check`. */
async function onEveryNode(
  nodes: ReplicatedHub[],
  nick: string,
  check: (member: Member) => boolean,
  what: string,
): Promise<void> {
  await waitUntil(
    () =>
      nodes.every((node) => {
        const member = node.hub.find(nick);
        return member !== undefined && check(member);
      }),
    10_000,
    what,
  );
}

Deno.test({
  name: "cluster: AWAY, SETNAME and CHGHOST made through one node hold on every node",
  ignore,
  async fn() {
    await withCluster(async ({ nodes }) => {
      const [ann, bob, cat] = await usersInLobby(nodes, ["ann", "bob", "cat"]);

      assert.equal(await nodes[0].setAway(ann, "at lunch"), true);
      for (const user of [bob, cat]) {
        const away = await user.waitFor((e) => e.kind === "away" && e.source.startsWith("ann!"));
        assert.equal(away.text, "at lunch");
      }
      await onEveryNode(nodes, "ann", (m) => m.away === "at lunch", "ann away everywhere");
      // WHOIS and WHO on node C read the hub: ann is away there too.
      assert.equal(nodes[2].hub.find("ann")!.away, "at lunch");
      assert.equal(await nodes[0].setAway(ann, ""), true);
      await onEveryNode(nodes, "ann", (m) => m.away === undefined, "ann back everywhere");
      assert.equal(await nodes[0].setAway(ann, ""), false, "back already changes nothing");

      assert.equal(await nodes[1].setRealname(bob, "Bob Builder"), true);
      await onEveryNode(nodes, "bob", (m) => m.realname === "Bob Builder", "bob's new name");
      const named = await cat.waitFor((e) => e.kind === "setname");
      assert.equal(named.text, "Bob Builder");

      // An operator on C changes the host of ann, who is on A.
      assert.equal(await nodes[2].changeHost(cat, "ann", "staff", "staff.example"), true);
      await onEveryNode(
        nodes,
        "ann",
        (m) => `${m.user}@${m.host}` === "staff@staff.example",
        "ann's new host everywhere",
      );
      for (const user of [ann, bob]) {
        const changed = await user.waitFor((e) => e.kind === "chghost");
        assert.equal(changed.source, "ann!ann@test");
        assert.equal(`${changed.target} ${changed.text}`, "staff staff.example");
      }
      // ann's own node tells her in a notice too (those without the capability see it).
      const notice = await ann.waitFor((e) => e.kind === "notice");
      assert.match(notice.text, /now staff@staff\.example \(an operator changed them\)/);
      assert.equal(await nodes[2].changeHost(cat, "nobody", "x", "y.example"), "no-such-nick");
    });
  },
});

Deno.test({
  name: "cluster: JOIN, PART, NICK and QUIT lines carry the event's id as msgid on every node",
  ignore,
  async fn() {
    await withCluster(async ({ nodes }) => {
      const [ann, bob, cat] = await usersInLobby(nodes, ["ann", "bob", "cat"]);
      const sameOnAll = async (match: (e: ChatEvent) => boolean) => {
        const seen = await Promise.all([ann, bob, cat].map((user) => user.waitFor(match)));
        assert.ok(seen[0].msgid.startsWith("c-"), `the id of node c's event: ${seen[0].msgid}`);
        assert.deepEqual(seen.map((e) => e.msgid), Array(3).fill(seen[0].msgid));
      };
      await sameOnAll((e) => e.kind === "join" && e.source.startsWith("cat!"));
      assert.equal(await nodes[2].changeNick(cat, "kit"), true);
      await sameOnAll((e) => e.kind === "nick" && e.target === "kit");
      assert.equal(await nodes[2].part(cat, "#lobby", "brb"), true);
      await sameOnAll((e) => e.kind === "part" && e.source.startsWith("kit!"));
      assert.ok(typeof await nodes[2].join(cat, "#lobby") === "object");
      await nodes[2].quit(cat, "bye");
      const quits = await Promise.all(
        [ann, bob].map((user) => user.waitFor((e) => e.kind === "quit")),
      );
      assert.ok(quits[0].msgid.startsWith("c-"));
      assert.equal(quits[1].msgid, quits[0].msgid);
    });
  },
});

Deno.test({
  name:
    "cluster: an account registered through A logs in through C, once for a name raced from two nodes",
  ignore,
  async fn() {
    await withCluster(async ({ nodes, accounts }) => {
      const [ann, bob, cat] = await usersInLobby(nodes, ["ann", "bob", "cat"]);
      const hash = await hashPassword(PASSWORD, COST);
      const time = Date.now();
      // ann registers through A, as a registered user: she is logged in on every node.
      assert.equal(await nodes[0].registerAccount(ann, "ann", hash, time), true);
      await onEveryNode(nodes, "ann", (m) => m.account === "ann", "ann logged in everywhere");
      const notified = await bob.waitFor((e) => e.kind === "account");
      assert.equal(notified.target, "ann");
      for (const store of accounts) {
        await waitUntil(() => store.find("ann") !== undefined, 10_000, "the account stored");
        assert.equal(store.find("ann")!.createdAt, time);
      }
      // The password works through C; the store there holds the hash, not the password.
      const login = await accounts[2].login("ann", PASSWORD, "127.0.0.9");
      assert.ok(login.ok);
      assert.equal(await nodes[2].registerAccount(cat, "ann", hash, time), false);

      // Two registrations of one name at once, through B and C: the first in the log wins.
      const [first, second] = await Promise.all([
        nodes[1].registerAccount(undefined, "dan", await hashPassword("dan's password", COST), 1),
        nodes[2].registerAccount(undefined, "dan", await hashPassword("other password", COST), 2),
      ]);
      assert.deepEqual([first, second].sort(), [false, true]);
      for (const store of accounts) {
        await waitUntil(() => store.find("dan") !== undefined, 10_000, "dan stored");
      }
      const winner = first === true ? "dan's password" : "other password";
      const createdAt = accounts.map((store) => store.find("dan")!.createdAt);
      assert.deepEqual(createdAt, Array(3).fill(first === true ? 1 : 2));
      assert.ok((await accounts[0].login("dan", winner, "127.0.0.9")).ok);

      // cat, registered without an account, logs in through C (SASL after registration).
      assert.equal(await nodes[2].registerAccount(undefined, "cat", hash, time), true);
      assert.equal(await nodes[2].logIn(cat, "cat"), true);
      await onEveryNode(nodes, "cat", (m) => m.account === "cat", "cat logged in everywhere");
      await ann.waitFor((e) => e.kind === "account" && e.source.startsWith("cat!"));
      // One user per account, on every node alike.
      assert.equal(await nodes[1].logIn(bob, "cat"), false);
      await onEveryNode(nodes, "bob", (m) => m.account === undefined, "bob not logged in");
    });
  },
});

Deno.test({
  name:
    "cluster: a session token issued through A works through C until revoked through B; read markers follow",
  ignore,
  async fn() {
    await withCluster(async ({ nodes, accounts }) => {
      const hash = await hashPassword(PASSWORD, COST);
      assert.equal(await nodes[0].registerAccount(undefined, "ann", hash, Date.now()), true);
      const minted = mintToken();
      assert.equal(await nodes[0].issueToken("ann", minted.hash), true);
      await waitUntil(
        () => accounts[2].sessionTokens.count("ann") === 1,
        10_000,
        "the token on node c",
      );
      assert.equal(accounts[2].sessionTokens.verify(minted.token), "ann");
      assert.equal(await nodes[1].revokeToken(minted.hash), true);
      for (const store of accounts) {
        await waitUntil(() => store.sessionTokens.count("ann") === 0, 10_000, "revoked");
        assert.equal(store.sessionTokens.verify(minted.token), undefined);
      }
      assert.equal(await nodes[1].revokeToken(minted.hash), false, "revoked once");

      // A read marker moved through A is in every store; an older one through C changes nothing.
      assert.equal(await nodes[0].markRead("ann", "#lobby", 5_000), 5_000);
      assert.equal(await nodes[2].markRead("ann", "#LOBBY", 4_000), 5_000);
      for (const store of accounts) {
        await waitUntil(() => store.readMarkers.get("ann", "#lobby") === 5_000, 10_000, "marker");
      }
    });
  },
});

Deno.test({
  name: "cluster: bad user and account events from the bus are refused alike by every node",
  ignore,
  async fn() {
    await withCluster(async ({ nats, name, nodes, accounts }) => {
      const [ann] = await usersInLobby(nodes, ["ann", "bob", "cat"]);
      const raw = await connect({ servers: nats.url });
      try {
        const conn = "1";
        const origin = (id: string) => ({ v: 1, id, node: nodes[0].node, conn });
        const bad = [
          // A password where the hash should be: never stored, never shown.
          { ...origin("r1"), kind: "account-register", account: "eve", hash: PASSWORD, time: 1 },
          { ...origin("r2"), kind: "token-issue", account: "ann", hash: "abc", time: 1 },
          { ...origin("r3"), kind: "away", text: "gone\r\nPRIVMSG #lobby :spoofed" },
          { ...origin("r4"), kind: "setname", realname: "" },
          { ...origin("r5"), kind: "chghost", target: "ann", user: "a b", host: "h" },
          { ...origin("r6"), kind: "login", account: 7 },
          {
            ...origin("r7"),
            kind: "account-register",
            account: "mallory",
            // A real hash's form, of a cost that would take 4 TiB to check a password against.
            hash: "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
            time: 1,
          },
        ];
        for (const event of bad) {
          await raw.request(`shmooze.${name}.log`, new TextEncoder().encode(JSON.stringify(event)));
        }
        // A good event after them: once applied everywhere, the bad ones were read before it.
        assert.equal(await nodes[0].setAway(ann, "after"), true);
        await onEveryNode(nodes, "ann", (m) => m.away === "after", "the good event");
        for (const node of nodes) assert.equal(node.refused, bad.length);
        for (const store of accounts) {
          assert.equal(store.find("eve"), undefined);
          assert.equal(store.find("mallory"), undefined);
        }
        await onEveryNode(nodes, "ann", (m) => m.host === "test", "ann's host unchanged");
      } finally {
        await raw.close();
      }
    });
  },
});
