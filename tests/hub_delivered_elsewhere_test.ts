/**
 * Users of other cluster nodes (`RemoteMember`: a presence with no device on this node) are in
 * the channel for everything the channel shows (NAMES, WHO, the member count) but out of its
 * delivery: a channel's events go to devices' queues, and such a user has none here, so a large
 * channel spread over many nodes costs each node only its own users.
 */
import assert from "node:assert/strict";
import { ChatHub } from "../src/chat/hub.ts";
import type { ChatEvent } from "../src/chat/chat_event.ts";
import type { Member } from "../src/chat/member.ts";
import { RemoteMember } from "../src/cluster/_remote_member.ts";

/** A device-less local member that records the kinds and texts of what it is handed. */
function recorder(nick: string): Member & { seen: string[] } {
  const seen: string[] = [];
  return {
    nick,
    user: nick,
    host: "test",
    realname: nick,
    transport: "test",
    channels: new Set<string>(),
    echo: false,
    seen,
    deliver: (event: ChatEvent) => seen.push(`${event.kind} ${event.text}`),
    disconnect() {},
  };
}

/** Another node's user, recording what the hub hands it. */
class FarUser extends RemoteMember {
  readonly seen: string[] = [];
  constructor(nick: string) {
    super({
      v: 1,
      id: `far-${nick}`,
      node: "far-1",
      conn: nick,
      kind: "connect",
      nick,
      user: nick,
      host: "far",
      realname: nick,
      time: 0,
    });
  }
  override deliver(event: ChatEvent): void {
    this.seen.push(`${event.kind} ${event.text}`);
    super.deliver(event);
  }
}

Deno.test("a channel message is not handed to another node's user", async () => {
  const hub = new ChatHub();
  const ann = recorder("ann");
  const bob = recorder("bob");
  const far = new FarUser("far");
  for (const member of [ann, bob, far]) {
    assert.ok(hub.add(member));
    hub.join(member, "#lobby");
  }
  bob.seen.length = 0;
  far.seen.length = 0;
  const sent = await hub.send(ann, "privmsg", "#lobby", "hello all");
  assert.notEqual(typeof sent, "string");
  assert.deepEqual(bob.seen, ["privmsg hello all"]);
  assert.deepEqual(far.seen, []);
  // Still a member for what the channel shows.
  assert.ok(hub.channel("#lobby")?.members.has(far));
  assert.deepEqual([...far.channels], ["#lobby"]);
});

Deno.test("another node's user still sends to the channel and is handed private messages", async () => {
  const hub = new ChatHub();
  const ann = recorder("ann");
  const far = new FarUser("far");
  for (const member of [ann, far]) {
    assert.ok(hub.add(member));
    hub.join(member, "#lobby");
  }
  ann.seen.length = 0;
  far.seen.length = 0;
  await hub.send(far, "privmsg", "#lobby", "from afar");
  assert.deepEqual(ann.seen, ["privmsg from afar"]);
  await hub.send(ann, "privmsg", "far", "just you");
  assert.deepEqual(far.seen, ["privmsg just you"]);
});

Deno.test("another node's user that parts and joins again stays out of the channel's delivery", async () => {
  const hub = new ChatHub();
  const ann = recorder("ann");
  const far = new FarUser("far");
  for (const member of [ann, far]) assert.ok(hub.add(member));
  hub.join(ann, "#lobby");
  hub.join(far, "#lobby");
  hub.part(far, "#lobby", "");
  hub.join(far, "#lobby");
  far.seen.length = 0;
  await hub.send(ann, "privmsg", "#lobby", "again");
  assert.deepEqual(far.seen, []);
});
