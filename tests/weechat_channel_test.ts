/**
 * weechat as a channel operator against a real `shmooze serve`, driven through tmux: the
 * commands a moderator types (/op, /deop, /mode, /topic, /ban, /kick, /invite) reach a raw
 * IRC client as the server should relay them, and weechat shows what happened; as a plain
 * member, weechat shows the server's refusal.
 */
import assert from "node:assert/strict";
import { IrcTestClient, startServe } from "./_irc.ts";
import { Weechat, weechatAvailable } from "./_weechat.ts";

Deno.test({
  name: "weechat creates a channel and moderates it: op, deop, topic lock, ban, kick and invite",
  ignore: !weechatAvailable,
  async fn() {
    await using serve = await startServe();
    await using weechat = await Weechat.connect(serve.port, "ann");
    await weechat.type("/join #team");
    await weechat.waitFor("Channel #team: 1 nick (1 op");
    await using bob = await IrcTestClient.register(serve.port, "bob");
    await bob.join("#team");
    await weechat.waitFor("bob (bob the tester) (bob@127.0.0.1) has joined #team");
    const fromAnn = (command: string, params: string) =>
      bob.waitFor((m) =>
        m.source === "ann!ann@127.0.0.1" && m.command === command && m.params.join(" ") === params
      );

    await weechat.type("/op bob");
    await fromAnn("MODE", "#team +o bob");
    await weechat.waitFor("Mode #team [+o bob] by ann");
    await weechat.type("/deop bob");
    await fromAnn("MODE", "#team -o bob");
    await weechat.waitFor("Mode #team [-o bob] by ann");

    // A new channel is +nt; unlocked, anyone sets the topic; locked again, only operators.
    await weechat.type("/mode -t");
    await fromAnn("MODE", "#team -t");
    await bob.send("TOPIC #team :bob's topic");
    await weechat.waitFor(`bob has changed topic for #team to "bob's topic"`);
    await weechat.type("/mode +t");
    await fromAnn("MODE", "#team +t");
    const locked = await bob.reply("TOPIC #team :bob's second topic");
    assert.deepEqual(locked.map((m) => m.command), ["482"]);
    await weechat.type("/topic plans for friday");
    await fromAnn("TOPIC", "#team plans for friday");
    await weechat.waitFor(
      `ann has changed topic for #team from "bob's topic" to "plans for friday"`,
    );

    // weechat bans by the user and host it knows from bob's JOIN (irc.network.ban_mask_default).
    await weechat.type("/ban bob");
    await fromAnn("MODE", "#team +b *!bob@127.0.0.1");
    await weechat.waitFor("Mode #team [+b *!bob@127.0.0.1] by ann");
    await weechat.type("/kick bob off topic");
    await fromAnn("KICK", "#team bob off topic");
    await weechat.waitFor("ann has kicked bob (off topic)");
    const banned = await bob.reply("JOIN #team");
    assert.deepEqual(banned.map((m) => m.command), ["474"]);

    // bob, out of the channel, sees no MODE; weechat does.
    await weechat.type("/mode -b+i *!bob@127.0.0.1");
    await weechat.waitFor("Mode #team [-b+i *!bob@127.0.0.1] by ann");
    const closed = await bob.reply("JOIN #team");
    assert.deepEqual(closed.map((m) => m.command), ["473"]);
    await weechat.type("/invite bob");
    await fromAnn("INVITE", "bob #team");
    await bob.join("#team");
    await weechat.waitFor(
      /has kicked bob \(off topic\)[^]*bob \(bob the tester\) .*has joined #team/,
    );
  },
});

Deno.test({
  name: "weechat shows the server's refusal when it sets the topic of a locked channel as a member",
  ignore: !weechatAvailable,
  async fn() {
    await using serve = await startServe();
    await using bob = await IrcTestClient.register(serve.port, "bob");
    await bob.join("#bobs");
    await using weechat = await Weechat.connect(serve.port, "ann");
    await weechat.type("/join #bobs");
    await weechat.waitFor("Channel #bobs: 2 nicks (1 op, 0 voices, 1 normal)");
    await weechat.type("/topic mine now");
    await weechat.waitFor("#bobs: You're not channel operator");

    await bob.send("MODE #bobs +o ann");
    await weechat.waitFor("Mode #bobs [+o ann] by bob");
    await weechat.type("/topic mine now");
    await weechat.waitFor(`ann has changed topic for #bobs to "mine now"`);
    const topic = await bob.waitFor("TOPIC");
    assert.deepEqual(topic.params, ["#bobs", "mine now"]);
  },
});
